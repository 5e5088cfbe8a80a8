// Ends what can be ended: finalizes tasks whose consensus is revealed (after pinning the result on
// the scheduler's node), reopens a consensus nobody revealed, and refunds tasks whose deadline
// passed (unstarted ones in batches per deal). Every decision is re-checked against the chain
// before the transaction, so a restart or a second scheduler pass never acts twice.
import type { SunpoolClient } from "@sunpool/sdk";
import { toUtf8Bytes } from "ethers";
import type { Logger } from "pino";

import type { Pinner } from "../ipfs/pinner.js";
import { TransactionReverted, type TransactionSender } from "../chain/transactions.js";
import type { Pool, TaskRow } from "./pool.js";

export class Settlement {
  constructor(
    private readonly chain: SunpoolClient,
    private readonly pool: Pool,
    private readonly sender: TransactionSender,
    private readonly pinner: Pinner,
    private readonly log: Logger,
  ) {}

  async settle(chainNow: number): Promise<void> {
    const tasks = this.pool.tasksToSettle(chainNow);
    const unstarted = new Map<string, number[]>();
    for (const task of tasks) {
      try {
        if (task.status === "revealing") await this.finalizeOrReopen(task, chainNow);
        else if (task.status === "waiting") unstarted.set(task.deal_id, [...(unstarted.get(task.deal_id) ?? []), task.idx]);
        else await this.claim(task);
      } catch (error) {
        this.log.warn({ err: error, taskId: task.task_id }, "could not settle task; retrying on the next pass");
      }
    }
    for (const [dealId, indexes] of unstarted) {
      for (const [first, count] of ranges(indexes)) {
        await this.tolerate(`claimUnstarted ${dealId} ${first.toString()}+${count.toString()}`, () =>
          this.sender.send("claimUnstarted", () => this.chain.hub.claimUnstarted(dealId, first, count)),
        );
      }
    }
  }

  private async finalizeOrReopen(task: TaskRow, chainNow: number): Promise<void> {
    const state = await this.chain.hub.task(task.task_id);
    const everyoneRevealed = state.revealCount > 0n && state.revealCount === state.winnerCount;
    const revealWindowOver = chainNow > Number(state.revealDeadline);
    if (everyoneRevealed || (revealWindowOver && state.revealCount > 0n)) {
      const revealed = this.pool.revealedLocation(task.task_id);
      if (revealed === undefined || task.result_digest === null) {
        if (!revealWindowOver) return; // the revealer's report (with the location) is on its way
        this.log.warn({ taskId: task.task_id }, "a consensus was revealed but no revealer reported where the result is");
        return;
      }
      // Results must stay available while the worker sleeps: pin before paying for them.
      await this.pinner.ensurePinned(revealed.location, this.pool.workerPeers(revealed.worker), revealed.worker);
      await this.tolerate(`finalize ${task.task_id}`, () =>
        this.sender.send("finalize", () =>
          this.chain.hub.finalize(
            task.deal_id,
            task.idx,
            task.result_digest!,
            toUtf8Bytes(revealed.location),
            this.pool.contributors(task.task_id),
          ),
        ),
      );
    } else if (revealWindowOver) {
      await this.tolerate(`reopen ${task.task_id}`, () =>
        this.sender.send("reopen", () => this.chain.hub.reopen(task.deal_id, task.idx)),
      );
    }
  }

  private async claim(task: TaskRow): Promise<void> {
    await this.tolerate(`claim ${task.task_id}`, () =>
      this.sender.send("claim", () => this.chain.hub.claim(task.deal_id, task.idx, this.pool.contributors(task.task_id))),
    );
  }

  /** Reverts that mean "someone already did it" (or "not yet") are expected; log the rest. */
  private async tolerate(what: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (
        error instanceof TransactionReverted &&
        ["TaskAlreadyEnded", "TaskDeadlineNotReached", "TaskWrongStatus"].includes(error.errorName)
      ) {
        this.log.debug({ what, error: error.errorName }, "settlement skipped");
        return;
      }
      throw error;
    }
  }
}

/** Contiguous runs of sorted indexes, as [first, count]. */
export function ranges(indexes: readonly number[]): [number, number][] {
  const sorted = [...indexes].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const index of sorted) {
    const last = runs.at(-1);
    if (last !== undefined && last[0] + last[1] === index) last[1] += 1;
    else runs.push([index, 1]);
  }
  return runs;
}
