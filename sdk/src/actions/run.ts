// One call from "I want this app to run" to the tasks' on-chain outcomes: quote, check funds,
// sign the request, hand it to the scheduler, then follow the deals and tasks it creates.
//
// Following is event-driven with a reconciliation loop: each new block wakes the loop, and each
// pass re-reads the hub's logs of every block since the last pass, so a dropped connection or a
// missed notification delays progress but never loses it (the anchor's scheduler lost deals that
// way). Block notifications need no server-side log filters, which many public endpoints drop.
import { ZeroHash } from "ethers";

import { read } from "../chain.js";
import { type SunpoolClient, requireSigner } from "../client.js";
import { InsufficientBalanceError } from "../errors/account.js";
import { AppNotDeterministicError } from "../errors/assets.js";
import { NoMatchingOrderError } from "../errors/market.js";
import { RunTimeoutError } from "../errors/run.js";
import { bytes32, category, CATEGORY_SECONDS, createRequestOrder, trust } from "../orders/build.js";
import type { AppOrder, DatasetOrder, OrderOfKind, RequestOrder, WorkerpoolOrder } from "../orders/eip712.js";
import {
  type Candidate,
  type RequestIntent,
  selectAppOrder,
  selectDatasetOrder,
  selectWorkerpoolOrder,
} from "../orders/match.js";
import { encodeTaskParams, type TaskParams } from "../results/params.js";
import { listOrders, type SchedulerClient } from "../scheduler/client.js";
import { getApp } from "./assets.js";
import { assertSameMarket, publishOrder } from "./market.js";
import { claimExpiredTasks, getDeal, getTask, type TaskView } from "./tasks.js";

export interface RunParameters {
  scheduler: SchedulerClient;
  /** App id (bytes32). */
  app: string;
  /** Dataset id, if the app reads one. */
  dataset?: string;
  /** Number of tasks (default 1); the app sees its index as SUNPOOL_TASK_INDEX. */
  volume?: number;
  /** Time budget class, 0-4 (default 0: 300 s reference time). */
  category?: number;
  /**
   * Replication: 1 = one worker; n >= 2 = agreeing workers until the confidence reaches 1 - 1/n
   * (deterministic apps only: AppNotDeterministicError otherwise).
   */
  trust?: number;
  tag?: string;
  params?: TaskParams;
  /** Price ceilings per task; default: the cheapest matching order's price. */
  maxPrice?: { app?: bigint; dataset?: bigint; workerpool?: bigint };
  beneficiary?: string;
  /** Give up if no deal is created within this time (default 120 s). */
  matchTimeoutMs?: number;
  /** Give up waiting for the tasks after this long (default: the category's deadlines plus a minute). */
  timeoutMs?: number;
  onProgress?: (event: RunProgress) => void;
  /**
   * Called with the request order, salt included, before it is signed and handed to the scheduler.
   * Keep it: with it the requester can cancel the request on-chain (`cancelOrder`) even if the
   * scheduler loses it or disappears; without it, only the scheduler holds the salt.
   */
  beforePublish?: (request: RequestOrder, params: string) => Promise<void> | void;
  signal?: AbortSignal;
}

export type RunProgress =
  | { type: "quoted"; taskPrice: bigint; total: bigint; orders: Quote["orders"] }
  | { type: "published"; requestHash: string }
  | { type: "deal"; dealId: string; volume: number }
  | { type: "task"; task: TaskView; ended: number; total: number }
  | { type: "refund-claimed"; dealId: string; indices: number[] }
  | { type: "retrying"; error: unknown };

export interface RunResult {
  requestHash: string;
  request: RequestOrder;
  deals: string[];
  /** Every task of every deal, ordered by deal then index. */
  tasks: TaskView[];
}

export interface Quote {
  request: RequestOrder;
  params: string;
  orders: { app: AppOrder; dataset?: DatasetOrder; workerpool: WorkerpoolOrder };
  taskPrice: bigint;
  total: bigint;
}

/** Runs an app: see the file header. Resolves when every task has ended (completed or refunded). */
export async function run(client: SunpoolClient, parameters: RunParameters): Promise<RunResult> {
  const quote = await quoteRun(client, parameters);
  parameters.onProgress?.({ type: "quoted", taskPrice: quote.taskPrice, total: quote.total, orders: quote.orders });
  const fromBlock = await read("block number", () => client.provider.getBlockNumber());
  await parameters.beforePublish?.(quote.request, quote.params);
  const record = await publishOrder(client, parameters.scheduler, {
    kind: "request",
    order: quote.request,
    params: quote.params,
  });
  parameters.onProgress?.({ type: "published", requestHash: record.hash });
  const followed = await waitForRequest(client, {
    requestHash: record.hash,
    request: quote.request,
    fromBlock,
    matchTimeoutMs: parameters.matchTimeoutMs ?? 120_000,
    timeoutMs: parameters.timeoutMs ?? (20 * CATEGORY_SECONDS[Number(quote.request.category)]! + 60) * 1000,
    ...(parameters.onProgress === undefined ? {} : { onProgress: parameters.onProgress }),
    ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
  });
  return { requestHash: record.hash, request: quote.request, ...followed };
}

/**
 * Builds the request order a run would sign: finds the orders that can fill it at the scheduler
 * (failing with the reasons when none can) and checks that the escrow balance covers it.
 */
export async function quoteRun(client: SunpoolClient, parameters: RunParameters): Promise<Quote> {
  const { address } = await requireSigner(client, "Running an app");
  const info = await assertSameMarket(client, parameters.scheduler);
  const intent: RequestIntent = {
    app: bytes32("app", parameters.app),
    dataset: parameters.dataset === undefined ? ZeroHash : bytes32("dataset", parameters.dataset),
    workerpool: info.workerpool,
    requester: address,
    tag: parameters.tag === undefined ? ZeroHash : bytes32("tag", parameters.tag),
    // Validated here, before order selection, so that a typo is an InvalidInputError rather than
    // "no workerpool order matches".
    category: category(parameters.category ?? 0),
    trust: trust(parameters.trust ?? 1),
    ...(parameters.maxPrice?.app === undefined ? {} : { appMaxPrice: parameters.maxPrice.app }),
    ...(parameters.maxPrice?.dataset === undefined ? {} : { datasetMaxPrice: parameters.maxPrice.dataset }),
    ...(parameters.maxPrice?.workerpool === undefined ? {} : { workerpoolMaxPrice: parameters.maxPrice.workerpool }),
  };
  // The hub refuses to replicate a non-deterministic app (MatchAppNotDeterministic): say so before
  // anything is signed, rather than after the scheduler's match fails.
  if (intent.trust >= 2n && !(await getApp(client, intent.app)).deterministic) {
    throw new AppNotDeterministicError(intent.app, intent.trust);
  }
  const app = selectAppOrder(await openOrders(parameters.scheduler, "app", { app: intent.app }), intent);
  if (app.best === undefined) throw new NoMatchingOrderError("app", app.reasons);
  let dataset: DatasetOrder | undefined;
  if (intent.dataset !== ZeroHash) {
    const selection = selectDatasetOrder(await openOrders(parameters.scheduler, "dataset", { dataset: intent.dataset }), intent);
    if (selection.best === undefined) throw new NoMatchingOrderError("dataset", selection.reasons);
    dataset = selection.best.order;
  }
  const requiredTag = BigInt(intent.tag) | BigInt(app.best.order.tag) | BigInt(dataset?.tag ?? ZeroHash);
  const workerpool = selectWorkerpoolOrder(
    await openOrders(parameters.scheduler, "workerpool", { workerpool: info.workerpool }),
    intent,
    requiredTag,
  );
  if (workerpool.best === undefined) throw new NoMatchingOrderError("workerpool", workerpool.reasons);

  const { text, digest } = encodeTaskParams(parameters.params ?? {});
  const request = createRequestOrder({
    app: intent.app,
    appMaxPrice: intent.appMaxPrice ?? app.best.order.price,
    dataset: intent.dataset,
    datasetMaxPrice: intent.datasetMaxPrice ?? dataset?.price ?? 0n,
    workerpool: info.workerpool,
    workerpoolMaxPrice: intent.workerpoolMaxPrice ?? workerpool.best.order.price,
    requester: address,
    ...(parameters.beneficiary === undefined ? {} : { beneficiary: parameters.beneficiary }),
    volume: parameters.volume ?? 1,
    tag: intent.tag,
    category: intent.category,
    trust: intent.trust,
    params: digest,
  });
  // The deal locks the request's max prices only up to the matched orders' prices; the check
  // uses what will actually be locked.
  const taskPrice = app.best.order.price + (dataset?.price ?? 0n) + workerpool.best.order.price;
  const total = taskPrice * request.volume;
  const balance = await read("balanceOf", () => client.hub.balanceOf(address));
  if (balance < total) throw new InsufficientBalanceError(address, balance, total);
  return {
    request,
    params: text,
    orders: { app: app.best.order, ...(dataset === undefined ? {} : { dataset }), workerpool: workerpool.best.order },
    taskPrice,
    total,
  };
}

async function openOrders<Kind extends "app" | "dataset" | "workerpool">(
  scheduler: SchedulerClient,
  kind: Kind,
  filter: { app?: string; dataset?: string; workerpool?: string },
): Promise<Candidate<OrderOfKind[Kind]>[]> {
  const page = await listOrders(scheduler, { kind, ...filter, status: "open", limit: 100 });
  return page.orders.map((record) => ({ order: record.order as OrderOfKind[Kind], remaining: record.remaining }));
}

export interface WaitForRequestParameters {
  requestHash: string;
  /** The request order (its requester and volume bound what is followed). */
  request: Pick<RequestOrder, "requester" | "volume">;
  /** First block to scan (the block before publication). */
  fromBlock: number;
  matchTimeoutMs: number;
  timeoutMs: number;
  onProgress?: (event: RunProgress) => void;
  signal?: AbortSignal;
}

/** Follows the deals created from a request until all their tasks have ended. */
export async function waitForRequest(
  client: SunpoolClient,
  parameters: WaitForRequestParameters,
): Promise<{ deals: string[]; tasks: TaskView[] }> {
  const requestHash = bytes32("request hash", parameters.requestHash);
  const started = Date.now();
  const deals = new Map<string, FollowedDeal>();
  const ended = new Map<string, TaskView>();
  let scanned = parameters.fromBlock - 1;
  const wake = new Wake();
  const onBlock = () => wake.trigger();
  await client.provider.on("block", onBlock);
  try {
    for (;;) {
      parameters.signal?.throwIfAborted();
      try {
        scanned = await reconcile(client, { ...parameters, requestHash, deals, ended, scanned });
      } catch (error) {
        parameters.onProgress?.({ type: "retrying", error });
      }
      const total = totalVolume(deals);
      if (total >= Number(parameters.request.volume) && ended.size === total) {
        const tasks = [...ended.values()].sort((a, b) =>
          a.dealId === b.dealId ? a.index - b.index : a.dealId < b.dealId ? -1 : 1,
        );
        return { deals: [...deals.keys()], tasks };
      }
      const elapsed = Date.now() - started;
      if (deals.size === 0 && elapsed > parameters.matchTimeoutMs) {
        throw new RunTimeoutError("the scheduler to match the request", requestHash, parameters.matchTimeoutMs);
      }
      if (elapsed > parameters.timeoutMs) throw new RunTimeoutError("the tasks to end", requestHash, parameters.timeoutMs);
      await wake.wait(client.pollingIntervalMs, parameters.signal);
    }
  } finally {
    await client.provider.off("block", onBlock);
  }
}

interface FollowedDeal {
  volume: number;
  startDeadline: number;
  /** Block of its DealCreated: the task logs cannot be older. */
  createdAtBlock: number;
  refundTried: boolean;
}

interface ReconcileState extends WaitForRequestParameters {
  requestHash: string;
  deals: Map<string, FollowedDeal>;
  ended: Map<string, TaskView>;
  scanned: number;
}

/** One pass: reads every block since the last pass; returns the new last scanned block. */
async function reconcile(client: SunpoolClient, state: ReconcileState): Promise<number> {
  const latest = await read("block", () => client.provider.getBlock("latest"));
  if (latest === null || latest.number <= state.scanned) return state.scanned;
  const from = state.scanned + 1;
  const created = await read("DealCreated events", () =>
    client.hub.queryFilter(client.hub.filters.DealCreated(undefined, undefined, state.request.requester), from, latest.number),
  );
  for (const log of created) {
    if (log.args.requestOrderHash !== state.requestHash || state.deals.has(log.args.dealId)) continue;
    const deal = await getDeal(client, log.args.dealId);
    state.deals.set(deal.dealId, {
      volume: deal.volume,
      startDeadline: deal.startDeadline,
      createdAtBlock: log.blockNumber,
      refundTried: false,
    });
    state.onProgress?.({ type: "deal", dealId: deal.dealId, volume: deal.volume });
  }
  const total = totalVolume(state.deals);
  // One scan of the range for every followed deal, rather than one per deal.
  const endedLogs = await read("TaskEnded events", () =>
    client.hub.queryFilter(client.hub.filters.TaskEnded(), from, latest.number),
  );
  for (const log of endedLogs) {
    const deal = state.deals.get(log.args.dealId);
    if (deal === undefined || state.ended.has(log.args.taskId)) continue;
    const task = await getTask(client, {
      dealId: log.args.dealId,
      index: Number(log.args.index),
      fromBlock: deal.createdAtBlock,
    });
    state.ended.set(task.taskId, task);
    state.onProgress?.({ type: "task", task, ended: state.ended.size, total });
  }
  for (const [dealId, deal] of state.deals) {
    // Unstarted tasks past the start deadline will never run: take the refund (the requester's
    // own transaction), which also records why they ended.
    if (client.signer !== undefined && !deal.refundTried && latest.timestamp > deal.startDeadline) {
      deal.refundTried = true;
      const indices = await claimExpiredTasks(client, dealId);
      if (indices.length > 0) state.onProgress?.({ type: "refund-claimed", dealId, indices });
    }
  }
  return latest.number;
}

function totalVolume(deals: ReadonlyMap<string, FollowedDeal>): number {
  return [...deals.values()].reduce((sum, deal) => sum + deal.volume, 0);
}

/** A wake-up that either an event triggers or a timer fires; abortable. */
class Wake {
  #pending: (() => void) | undefined;
  #triggered = false;

  trigger(): void {
    this.#triggered = true;
    this.#pending?.();
  }

  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#triggered) {
      this.#triggered = false;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", abort);
        this.#pending = undefined;
        this.#triggered = false;
        resolve();
      };
      const abort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(done, ms);
      this.#pending = done;
      signal?.addEventListener("abort", abort, { once: true });
    });
  }
}
