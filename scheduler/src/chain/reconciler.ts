// Follows the hub: reads its logs from the last block this scheduler processed up to the chain
// head (minus a confirmation depth), and applies them to the database in one transaction per
// range together with the new cursor. Whether a new block woke it, a timer did, or the RPC was
// down for an hour, the next pass reads everything it has not applied yet: a missed event delays
// work, it never loses it.
import { getApp, getDataset, TASK_OUTCOMES, type SunpoolClient } from "@sunpool/sdk";
import { toUtf8String, type Log, type LogDescription } from "ethers";
import type { Logger } from "pino";

import type { OrderBook } from "../book/orderBook.js";
import { getMeta, setMeta, transaction, type Database } from "../store/database.js";
import type { DealInfo, Pool } from "../tasks/pool.js";

const EVENTS = [
  "DealCreated",
  "OrderCancelled",
  "TaskStarted",
  "ContributionAccepted",
  "RevealOpened",
  "ContributionRevealed",
  "ConsensusReached",
  "TaskReopened",
  "TaskEnded",
] as const;

const CURSOR = "chain.cursor";

export interface ReconcilerOptions {
  workerpool: string;
  /** First block to read on a fresh database (the deployment block). */
  fromBlock: number;
  confirmations: number;
  /** Blocks per eth_getLogs call. */
  chunk: number;
}

export class Reconciler {
  /** Latest chain time seen (seconds): deadlines are judged by the chain's clock, not ours. */
  chainTime = 0;
  lastSyncMs = 0;
  private readonly topics: string[];

  constructor(
    private readonly db: Database,
    private readonly chain: SunpoolClient,
    private readonly pool: Pool,
    private readonly book: OrderBook,
    private readonly options: ReconcilerOptions,
    private readonly log: Logger,
  ) {
    this.topics = EVENTS.map((name) => chain.hub.interface.getEvent(name).topicHash);
  }

  get cursor(): number {
    return Number(getMeta(this.db, CURSOR) ?? this.options.fromBlock - 1);
  }

  /** The chain's "now": the later of the head block's timestamp and the wall clock. */
  now(): number {
    return Math.max(this.chainTime, Math.floor(Date.now() / 1000));
  }

  async sync(): Promise<number> {
    const head = await this.chain.provider.getBlock("latest");
    if (head === null) throw new Error("the RPC endpoint returned no latest block");
    this.chainTime = head.timestamp;
    const target = head.number - this.options.confirmations;
    let applied = 0;
    for (let from = this.cursor + 1; from <= target; from += this.options.chunk) {
      const to = Math.min(target, from + this.options.chunk - 1);
      const logs = await this.chain.provider.getLogs({
        address: this.chain.deployment.hub,
        fromBlock: from,
        toBlock: to,
        topics: [this.topics],
      });
      const events = logs
        .map((log) => ({ log, parsed: this.chain.hub.interface.parseLog(log) }))
        .filter((event): event is { log: Log; parsed: LogDescription } => event.parsed !== null);
      const deals = await this.loadDeals(events);
      transaction(this.db, () => {
        for (const event of events) this.apply(event.parsed, event.log, deals);
        setMeta(this.db, CURSOR, to.toString());
      });
      // The book's cache of consumed volume follows the same events (after the commit: it is
      // memory, re-read from the chain when in doubt).
      for (const { parsed } of events) {
        if (parsed.name === "DealCreated") {
          this.book.onDealCreated({
            dealId: parsed.args.dealId as string,
            app: parsed.args.app as string,
            dataset: parsed.args.dataset as string,
            workerpool: parsed.args.workerpool as string,
            requestHash: parsed.args.requestOrderHash as string,
          });
        } else if (parsed.name === "OrderCancelled") {
          this.book.onOrderCancelled(parsed.args.orderHash as string);
        }
      }
      applied += events.length;
    }
    this.lastSyncMs = Date.now();
    return applied;
  }

  /** Reads what the transaction below needs about new deals of this pool (async, before it). */
  private async loadDeals(events: { log: Log; parsed: LogDescription }[]): Promise<Map<string, DealInfo>> {
    const deals = new Map<string, DealInfo>();
    for (const { log, parsed } of events) {
      if (parsed.name !== "DealCreated") continue;
      const args = parsed.args;
      if ((args.workerpool as string).toLowerCase() !== this.options.workerpool.toLowerCase()) continue;
      const dealId = args.dealId as string;
      const terms = await this.chain.hub.deal(dealId);
      const requestHash = (args.requestOrderHash as string).toLowerCase();
      const dataset = args.dataset as string;
      const params = this.book.get(requestHash)?.params;
      const info: DealInfo = {
        dealId,
        requestHash,
        requester: terms.requester,
        trust: Number(terms.trust),
        category: Number(terms.category),
        volume: Number(terms.volume),
        startDeadline: Number(terms.startDeadline),
        app: await getApp(this.chain, args.app as string),
        block: log.blockNumber,
      };
      if (BigInt(dataset) !== 0n) info.dataset = await getDataset(this.chain, dataset);
      if (params !== undefined) info.params = params;
      deals.set(dealId, info);
    }
    return deals;
  }

  private apply(event: LogDescription, log: Log, deals: Map<string, DealInfo>): void {
    const args = event.args;
    const now = Date.now();
    if (event.name === "DealCreated") {
      const deal = deals.get(args.dealId as string);
      if (deal === undefined) return;
      if (this.pool.addDeal(deal, now)) {
        this.book.recordDeal(deal.requestHash, deal.dealId);
        this.log.info({ dealId: deal.dealId, volume: deal.volume, trust: deal.trust, block: log.blockNumber }, "deal created");
      }
      return;
    }
    if (event.name === "OrderCancelled") return;
    const taskId = (args.taskId as string).toLowerCase();
    if (this.pool.task(taskId) === undefined) return;
    switch (event.name) {
      case "TaskStarted":
        this.pool.onTaskStarted(taskId, Number(args.contributionDeadline), Number(args.finalDeadline));
        break;
      case "ContributionAccepted":
        this.pool.onContribution(taskId, args.worker as string, args.commitment as string, now);
        break;
      case "RevealOpened":
        this.pool.onRevealOpened(taskId, Number(args.round), Number(args.revealDeadline), now);
        break;
      case "ContributionRevealed":
        this.pool.onRevealed(taskId, args.worker as string, args.resultDigest as string, locationText(args.resultLocation), now);
        break;
      case "ConsensusReached":
        this.pool.onConsensus(taskId, args.resultDigest as string);
        break;
      case "TaskReopened":
        this.pool.onReopened(taskId, Number(args.round), now);
        break;
      case "TaskEnded": {
        const outcome = TASK_OUTCOMES[Number(args.outcome)] ?? "none";
        this.pool.onEnded(taskId, outcome, args.resultDigest as string, now);
        this.log.info({ taskId, outcome }, "task ended");
        break;
      }
    }
  }
}

/** A result location as revealed on-chain (UTF-8 bytes of a CID); undecodable bytes stay hex. */
function locationText(value: unknown): string {
  const hex = value as string;
  try {
    return toUtf8String(hex);
  } catch {
    return hex;
  }
}
