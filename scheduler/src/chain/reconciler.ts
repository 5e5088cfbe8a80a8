// Follows the hub: reads its logs from the last block this scheduler processed up to the chain
// head (minus a confirmation depth, or up to the chain's finalized block), and applies them to the
// database in one transaction per range together with the new cursor. Whether a new block woke it,
// a timer did, or the RPC was down for an hour, the next pass reads everything it has not applied
// yet: a missed event delays work, it never loses it.
//
// Reorganisations: the cursor is a block number and its hash, and the hashes of the recent blocks
// applied are kept (`reorgWindow` blocks). Each pass first checks that the cursor's block is still
// the chain's; if not, it finds the newest kept block that still is (the fork point), undoes what
// the removed blocks' events changed (chain/journal.ts), and reads the canonical blocks from there.
// A range is committed only if the chain did not move under the reads that made it.
import { getApp, getDataset, TASK_OUTCOMES, type SunpoolClient } from "@sunpool/sdk";
import { toUtf8String, type Block, type Log, type LogDescription } from "ethers";
import type { Logger } from "pino";

import type { OrderBook } from "../book/orderBook.js";
import type { Metrics } from "../metrics.js";
import { getMeta, jsonText, setMeta, type Store } from "../store/store.js";
import type { DealInfo, Pool } from "../tasks/pool.js";
import { journaled, restoreParked, undoAfter, type Scope } from "./journal.js";

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

/** Blocks whose hashes and undo records are kept: the deepest reorganisation handled. */
export const DEFAULT_REORG_WINDOW = 64;

export interface ReconcilerOptions {
  workerpool: string;
  /** First block to read on a fresh database (the deployment block). */
  fromBlock: number;
  /** Blocks behind the head an event must be before it is applied, or the chain's finalized block. */
  confirmations: number | "finalized";
  /** Blocks per eth_getLogs call. */
  chunk: number;
  /** Deepest reorganisation handled (default 64): blocks older than this below the head are final. */
  reorgWindow?: number;
}

/** The chain reorganised below the blocks this scheduler keeps: it cannot undo that far. */
export class ReorgTooDeepError extends Error {
  override name = "ReorgTooDeepError";
  readonly code = "REORG_TOO_DEEP";
}

/** The chain moved while a range was read: nothing was applied, the next pass reads it again. */
class ChainMovedError extends Error {
  override name = "ChainMovedError";
  readonly code = "CHAIN_MOVED";
}

export class Reconciler {
  /** Latest chain time seen (seconds): deadlines are judged by the chain's clock, not ours. */
  chainTime = 0;
  lastSyncMs = 0;
  /** The head block seen by the last pass. */
  head = 0;
  private readonly topics: string[];
  private readonly window: number;
  /** Deepest reorganisation rolled back since start (blocks). */
  private deepest = 0;

  constructor(
    private readonly db: Store,
    private readonly chain: SunpoolClient,
    private readonly pool: Pool,
    private readonly book: OrderBook,
    private readonly options: ReconcilerOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.topics = EVENTS.map((name) => chain.hub.interface.getEvent(name).topicHash);
    this.window = options.reorgWindow ?? DEFAULT_REORG_WINDOW;
  }

  /** The last block applied. */
  async cursor(): Promise<number> {
    return Number((await getMeta(this.db, CURSOR)) ?? this.options.fromBlock - 1);
  }

  /** The chain's "now": the later of the head block's timestamp and the wall clock. */
  now(): number {
    return Math.max(this.chainTime, Math.floor(Date.now() / 1000));
  }

  async sync(): Promise<number> {
    const head = await this.chain.provider.getBlock("latest");
    if (head === null) throw new Error("the RPC endpoint returned no latest block");
    this.chainTime = head.timestamp;
    this.head = head.number;
    await this.followFork();
    const target = await this.target(head);
    let applied = 0;
    try {
      for (let from = (await this.cursor()) + 1; from <= target; from += this.options.chunk) {
        const to = Math.min(target, from + this.options.chunk - 1);
        applied += await this.applyRange(from, to, head.number);
      }
    } catch (error) {
      if (!(error instanceof ChainMovedError)) throw error;
      // Nothing of that range was written; the next pass finds the fork (if any) and reads it again.
      this.log.info({ reason: error.message }, "the chain moved while a range was read; reading it again next pass");
    }
    this.lastSyncMs = Date.now();
    this.metrics?.chainLag.set(Math.max(0, head.number - (await this.cursor())));
    return applied;
  }

  /** The newest block whose events may be applied now. */
  private async target(head: Block): Promise<number> {
    if (this.options.confirmations !== "finalized") return head.number - this.options.confirmations;
    const finalized = await this.chain.provider.getBlock("finalized").catch(() => null);
    if (finalized === null) {
      throw new Error(
        'the RPC endpoint knows no "finalized" block; set chain.confirmations to a number of blocks (the chain\'s reorg depth) instead',
      );
    }
    return finalized.number;
  }

  private async block(number: number): Promise<Block | null> {
    return this.chain.provider.getBlock(number);
  }

  /** Reads one range of logs and applies it with the new cursor, if the chain held still meanwhile. */
  private async applyRange(from: number, to: number, head: number): Promise<number> {
    const end = await this.block(to);
    if (end?.hash == null) throw new ChainMovedError(`block ${to.toString()} is gone from the chain`);
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
    // Blocks within the window may still be replaced: remember their hashes, and check that the
    // logs came from the chain that ends at `end` (no reorganisation between the reads).
    const unsafe = head - this.window;
    const hashes = new Map<number, string>([[to, end.hash]]);
    for (const { blockNumber, blockHash } of logs) {
      if (blockNumber <= unsafe) continue;
      if ((hashes.get(blockNumber) ?? blockHash) !== blockHash)
        throw new ChainMovedError(`logs of two forks at ${blockNumber.toString()}`);
      hashes.set(blockNumber, blockHash);
    }
    for (const [number, hash] of hashes) {
      if (number !== to && (await this.block(number))?.hash !== hash) {
        throw new ChainMovedError(`block ${number.toString()} was replaced while it was read`);
      }
    }
    if ((await this.block(to))?.hash !== end.hash)
      throw new ChainMovedError(`block ${to.toString()} was replaced while it was read`);
    // And `end` descends from the block the cursor stands on (a fork since the pass began would
    // otherwise put its blocks on top of ours).
    const parent = await this.hashAt(from - 1);
    if (parent !== undefined && (await this.block(from - 1))?.hash !== parent) {
      throw new ChainMovedError(`block ${(from - 1).toString()} was replaced since the pass began`);
    }
    const now = Date.now();
    await this.db.transaction(async () => {
      for (const event of events) await this.apply(event.parsed, event.log, deals, now, event.log.blockNumber > unsafe);
      for (const [number, hash] of hashes) {
        await this.db.run(
          "INSERT INTO chain_blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash",
          number,
          hash,
        );
      }
      // Older blocks are final: their hashes and undo records are no longer needed.
      await this.db.run("DELETE FROM chain_blocks WHERE number < ? AND number < ?", unsafe, to);
      await this.db.run("DELETE FROM chain_undo WHERE block <= ?", unsafe);
      await setMeta(this.db, CURSOR, to.toString());
    });
    // The book's cache of consumed volume follows the same events (after the commit: it is
    // memory, re-read from the chain when in doubt).
    for (const { parsed } of events) {
      if (parsed.name === "DealCreated") {
        await this.book.onDealCreated({
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
    return events.length;
  }

  /**
   * Checks that the cursor's block is still the chain's. If a reorganisation replaced it, finds
   * the newest kept block that is still canonical and rolls the database back to it.
   */
  private async followFork(): Promise<void> {
    const cursor = await this.cursor();
    const stored = await this.hashAt(cursor);
    if (stored === undefined) return;
    const current = await this.block(cursor);
    // No block there: the node is behind the one that served the cursor (a load-balanced RPC), or
    // the chain went back and has not grown again yet. Either way, wait until it has a block there.
    if (current === null || current.hash === stored) return;
    const kept = await this.db.all<{
      number: number;
      hash: string;
    }>("SELECT number, hash FROM chain_blocks WHERE number < ? ORDER BY number DESC", cursor);
    let fork: number | undefined;
    for (const { number, hash } of kept) {
      if ((await this.block(number))?.hash === hash) {
        fork = number;
        break;
      }
    }
    if (fork === undefined) {
      const oldest = kept.at(-1)?.number ?? cursor;
      throw new ReorgTooDeepError(
        `the chain reorganised below block ${oldest.toString()}, deeper than the ${this.window.toString()} blocks this scheduler can undo; ` +
          "stop it, move its data folder aside and start it on a fresh one (it re-reads the chain; offers in flight are re-made), " +
          "and raise chain.confirmations for this chain",
      );
    }
    await this.rollBack(fork, cursor);
  }

  private async hashAt(number: number): Promise<string | undefined> {
    const row = await this.db.get<{ hash: string }>("SELECT hash FROM chain_blocks WHERE number = ?", number);
    return row?.hash;
  }

  /** Undoes the blocks after `fork` in one transaction; the next ranges re-apply the canonical ones. */
  private async rollBack(fork: number, cursor: number): Promise<void> {
    const now = Date.now();
    const undone = await this.db.transaction(async () => {
      const result = await undoAfter(this.db, fork, now, this.pool.leaseMs);
      await this.db.run("DELETE FROM chain_blocks WHERE number > ?", fork);
      await setMeta(this.db, CURSOR, fork.toString());
      return result;
    });
    // Memory that follows the database: the workers' loads, and the volumes the removed deals consumed.
    await this.pool.reloadAfterRollback();
    for (const deal of undone.deals) {
      await this.book.onDealCreated({
        dealId: deal.dealId,
        app: deal.app,
        dataset: deal.dataset ?? "0x" + "0".repeat(64),
        workerpool: this.options.workerpool,
        requestHash: deal.requestHash,
      });
    }
    const depth = cursor - fork;
    this.deepest = Math.max(depth, this.deepest);
    this.metrics?.reorgs.inc();
    this.metrics?.reorgDepth.set(this.deepest);
    this.log.warn(
      { fork, depth, changesUndone: undone.changes, dealsRemoved: undone.deals.map((deal) => deal.dealId) },
      "chain reorganisation: rolled back to the fork point",
    );
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
      const params = (await this.book.get(requestHash))?.params;
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

  /** Applies one event, journaling the rows it changes under its block (undone if a reorg removes it). */
  private async apply(
    event: LogDescription,
    log: Log,
    deals: Map<string, DealInfo>,
    now: number,
    undoable: boolean,
  ): Promise<void> {
    // Blocks deeper than the window are final: nothing to undo, no journal to write.
    const journal = async (scopes: Scope[], body: () => Promise<void>) => {
      if (undoable) await journaled(this.db, log.blockNumber, scopes, body);
      else await body();
    };
    const args = event.args;
    if (event.name === "DealCreated") {
      const deal = deals.get(args.dealId as string);
      if (deal === undefined) return;
      const scopes: Scope[] = [
        { table: "deals", key: ["deal_id"], where: "deal_id = ?", args: [deal.dealId] },
        { table: "tasks", key: ["task_id"], where: "deal_id = ?", args: [deal.dealId] },
        { table: "order_deals", key: ["order_hash", "deal_id"], where: "deal_id = ?", args: [deal.dealId] },
      ];
      await journal(scopes, async () => {
        if (!(await this.pool.addDeal(deal, now))) return;
        await this.book.recordDeal(deal.requestHash, deal.dealId);
        const restored = await restoreParked(this.db, deal.dealId, now, this.pool.leaseMs);
        this.log.info(
          { dealId: deal.dealId, volume: deal.volume, trust: deal.trust, block: log.blockNumber, restored },
          "deal created",
        );
      });
      return;
    }
    if (event.name === "OrderCancelled") return;
    const taskId = (args.taskId as string).toLowerCase();
    if ((await this.pool.task(taskId)) === undefined) return;
    const worker = typeof args.worker === "string" ? args.worker : "";
    const scopes: Scope[] = [
      ...(event.name === "ContributionAccepted" ? this.energyScopes(taskId) : []),
      { table: "tasks", key: ["task_id"], where: "task_id = ?", args: [taskId] },
      { table: "contributions", key: ["task_id", "seq"], where: "task_id = ?", args: [taskId] },
      { table: "replicas", key: ["task_id", "worker"], where: "task_id = ?", args: [taskId] },
      {
        table: "workers",
        key: ["address"],
        where: "address IN (SELECT worker FROM replicas WHERE task_id = ?) OR address = ?",
        args: [taskId, worker],
      },
    ];
    await journal(scopes, async () => {
      await this.applyTaskEvent(event, taskId, now);
    });
  }

  /** A contribution's energy receipt teaches the task's app: its estimates, undone with the receipt. */
  private energyScopes(taskId: string): Scope[] {
    const app = `(SELECT lower(${jsonText(this.db.dialect, "d.app", "id")}) FROM tasks t JOIN deals d USING (deal_id) WHERE t.task_id = ?)`;
    return [
      { table: "app_energy", key: ["app"], where: `app = ${app}`, args: [taskId] },
      { table: "worker_app_energy", key: ["app", "worker"], where: `app = ${app}`, args: [taskId] },
    ];
  }

  private async applyTaskEvent(event: LogDescription, taskId: string, now: number): Promise<void> {
    const args = event.args;
    switch (event.name) {
      case "TaskStarted":
        await this.pool.onTaskStarted(taskId, Number(args.contributionDeadline), Number(args.finalDeadline));
        break;
      case "ContributionAccepted":
        await this.pool.onContribution(taskId, args.worker as string, args.commitment as string, now, {
          milliwattHours: Number(args.milliwattHours),
        });
        break;
      case "RevealOpened":
        await this.pool.onRevealOpened(taskId, Number(args.round), Number(args.revealDeadline), now);
        break;
      case "ContributionRevealed":
        await this.pool.onRevealed(
          taskId,
          args.worker as string,
          args.resultDigest as string,
          locationText(args.resultLocation),
          now,
        );
        break;
      case "ConsensusReached":
        await this.pool.onConsensus(taskId, args.resultDigest as string);
        break;
      case "TaskReopened":
        await this.pool.onReopened(taskId, Number(args.round), now);
        break;
      case "TaskEnded": {
        const outcome = TASK_OUTCOMES[Number(args.outcome)] ?? "none";
        await this.pool.onEnded(taskId, outcome, args.resultDigest as string, now);
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
