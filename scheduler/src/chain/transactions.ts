// Every transaction the scheduler sends goes through one queue: one at a time from one key, each
// awaited to its receipt, so nonces never collide and a decision is never acted on twice in
// flight. Network errors are retried with backoff; a revert is returned decoded (callers decide
// whether it means "already done" or a real problem) and never retried.
import { decodeRevert } from "@sunpool/sdk";
import { isError, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";
import type { Logger } from "pino";

import { NotLeaderError } from "../leader/lease.js";
import type { Metrics } from "../metrics.js";

export class TransactionReverted extends Error {
  override name = "TransactionReverted";
  constructor(
    readonly label: string,
    readonly errorName: string,
    readonly args: unknown[],
  ) {
    super(`${label} reverted with ${errorName}(${args.map(String).join(", ")})`);
  }
}

const RETRIES = 5;

export class TransactionSender {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /**
     * Asked right before each transaction is signed and sent: false once this replica no longer
     * leads (or is about to lose its lease), and the transaction is refused (NotLeaderError).
     */
    private readonly mayAct: () => boolean = () => true,
  ) {}

  send(label: string, build: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    const run = this.queue.then(() => this.attempt(label, build));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async attempt(label: string, build: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    for (let attempt = 1; ; attempt++) {
      if (!this.mayAct()) {
        this.metrics.transactions.inc({ kind: label, result: "refused" });
        throw new NotLeaderError(`${label} not sent: this replica does not lead the pool (or its lease is about to end)`);
      }
      try {
        const response = await build();
        // Every transaction this process broadcast, with when: replicas' logs show who sent what.
        this.log.info(
          { event: "transaction-sent", label, hash: response.hash, nonce: response.nonce, at: Date.now() },
          "transaction sent",
        );
        const receipt = await response.wait();
        if (receipt === null) throw new Error(`no receipt for ${response.hash}`);
        this.metrics.transactions.inc({ kind: label, result: "mined" });
        this.log.debug({ label, hash: receipt.hash, gasUsed: receipt.gasUsed.toString() }, "transaction mined");
        return receipt;
      } catch (error) {
        if (isError(error, "CALL_EXCEPTION")) {
          const decoded = decodeRevert(error.data);
          this.metrics.transactions.inc({ kind: label, result: "reverted" });
          throw new TransactionReverted(label, decoded?.name ?? error.reason ?? "unknown", decoded?.args ?? []);
        }
        if (attempt >= RETRIES) {
          this.metrics.transactions.inc({ kind: label, result: "failed" });
          throw error;
        }
        const delay = 250 * 2 ** attempt;
        this.log.warn({ label, attempt, delay, err: error }, "transaction failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
