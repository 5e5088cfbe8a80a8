// The dashboard's read models: the pool, one worker, one deal's tasks. Read straight from the
// scheduler's tables (what the pool knows: replicas, reasons, heartbeats) and, where the chain is
// the authority (energy receipts of a task, stake, reputation, earnings, a result's location), from
// the chain through the scheduler's own client. Nothing here writes, and log tails never leave:
// they are the requester's (GET /v1/tasks/{taskId} with a requester signature).
import { formatUnits, getAddress } from "ethers";

import { getTask, type SunpoolClient, type TaskView as ChainTask } from "@sunpool/sdk";

import type { Store } from "../store/store.js";
import { readTaskView } from "../tasks/taskView.js";
import type { WorkerActivity } from "./history.js";

export interface WorkerSummary {
  address: string;
  board?: string;
  version?: string;
  state: WorkerActivity;
  lastSeen: string;
  registeredAt: string;
  stateOfChargePct?: number;
  pvWatts?: number;
  loadWatts?: number;
  awakeSeconds?: number;
  mainsPowered: boolean;
  tasksInFlight: number;
  completed: number;
  failed: number;
}

interface WorkerRow {
  address: string;
  board: string | null;
  version: string | null;
  registered_at: string;
  last_seen: number;
  outlook: string | null;
  good: number;
  bad: number;
  busy: number;
  sample_state: WorkerActivity | null;
  sample_at: number | null;
}

const WORKER_QUERY = `
  SELECT w.address, w.board, w.version, w.registered_at, w.last_seen, w.outlook, w.good, w.bad,
    (SELECT count(*) FROM replicas r WHERE r.worker = w.address AND r.state IN ('offered', 'running')) AS busy,
    s.state AS sample_state, s.at AS sample_at
  FROM workers w
  LEFT JOIN worker_samples s ON s.worker = w.address
    AND s.at = (SELECT max(at) FROM worker_samples WHERE worker = w.address)`;

/**
 * A worker's state now: asleep after its power-off farewell until it is heard from again; offline
 * once silent for three heartbeats (or after a farewell that was a stop); else working while it
 * holds a task, idle otherwise.
 */
function summarize(row: WorkerRow, now: number, offlineAfterMs: number): WorkerSummary {
  const outlook = row.outlook === null ? undefined : (JSON.parse(row.outlook) as Record<string, number | boolean | undefined>);
  const quietSinceSample = row.sample_at !== null && row.last_seen <= row.sample_at;
  let state: WorkerActivity;
  if (quietSinceSample && (row.sample_state === "sleeping" || row.sample_state === "offline")) state = row.sample_state;
  else if (now - row.last_seen > offlineAfterMs) state = "offline";
  else state = row.busy > 0 ? "working" : "idle";
  const number = (key: string) => (typeof outlook?.[key] === "number" ? { [key]: outlook[key] } : {});
  return {
    address: getAddress(row.address),
    ...(row.board === null ? {} : { board: row.board }),
    ...(row.version === null ? {} : { version: row.version }),
    state,
    lastSeen: new Date(row.last_seen).toISOString(),
    registeredAt: row.registered_at,
    ...number("stateOfChargePct"),
    ...number("pvWatts"),
    ...number("loadWatts"),
    ...number("awakeSeconds"),
    mainsPowered: outlook?.mainsPowered === true,
    tasksInFlight: row.busy,
    completed: row.good,
    failed: row.bad,
  };
}

export interface Window {
  /** Start of the window, ms. */
  from: number;
  /** Bucket width of the series, ms. */
  bucketMs: number;
}

/** A window of `hours` ending now, cut into 48 buckets for the charts. */
export function windowOf(hours: number, now: number): Window {
  const span = hours * 3600_000;
  return { from: now - span, bucketMs: Math.max(60_000, Math.round(span / 48)) };
}

export async function poolView(db: Store, now: number, offlineAfterMs: number, window: Window) {
  const workers = (await db.all<WorkerRow>(`${WORKER_QUERY} ORDER BY w.address`)).map((row) =>
    summarize(row, now, offlineAfterMs),
  );
  const byState = { working: 0, idle: 0, sleeping: 0, offline: 0 };
  for (const worker of workers) byState[worker.state] += 1;
  const tasks = await db.all<{
    status: string;
    outcome: string | null;
    n: number;
  }>("SELECT status, outcome, count(*) AS n FROM tasks GROUP BY status, outcome");
  const counts: Record<string, number> = { waiting: 0, active: 0, revealing: 0 };
  for (const row of tasks) {
    const key = row.status === "ended" ? (row.outcome ?? "ended") : row.status;
    counts[key] = (counts[key] ?? 0) + row.n;
  }
  const failures = await db.all<{
    task_id: string;
    deal_id: string;
    idx: number;
    worker: string;
    state: string;
    reason: string | null;
    updated_at: number;
    outcome: string | null;
  }>(`SELECT r.task_id, t.deal_id, t.idx, r.worker, r.state, r.reason, r.updated_at, t.outcome
       FROM replicas r JOIN tasks t USING (task_id)
       WHERE r.state IN ('failed', 'declined', 'lost', 'silent', 'wrong')
       ORDER BY r.updated_at DESC LIMIT 20`);
  // A task completed when its first replica was marked done (trust 3 marks two).
  const throughput = await db.all<{ bucket: number; n: number }>(
    `SELECT CAST((done_at - ?) / ? AS INTEGER) AS bucket, count(*) AS n FROM (
         SELECT task_id, min(updated_at) AS done_at FROM replicas WHERE state = 'done' GROUP BY task_id) AS done
       WHERE done_at >= ? GROUP BY bucket`,
    window.from,
    window.bucketMs,
    window.from,
  );
  const energy = await db.all<{ bucket: number; n: number; mwh: number; solar: number }>(
    `SELECT CAST((at - ?) / ? AS INTEGER) AS bucket, count(*) AS n, avg(milliwatt_hours) AS mwh, avg(solar_share_bps) AS solar
       FROM energy_receipts WHERE at >= ? GROUP BY bucket`,
    window.from,
    window.bucketMs,
    window.from,
  );
  return {
    generatedAt: new Date(now).toISOString(),
    window: { from: new Date(window.from).toISOString(), bucketSeconds: window.bucketMs / 1000 },
    workers,
    workerStates: byState,
    tasks: counts,
    failures: failures.map((row) => ({
      taskId: row.task_id,
      dealId: row.deal_id,
      index: row.idx,
      worker: getAddress(row.worker),
      state: row.state,
      ...(row.reason === null ? {} : { reason: row.reason }),
      ...(row.outcome === null ? {} : { taskOutcome: row.outcome }),
      at: new Date(row.updated_at).toISOString(),
    })),
    throughput: throughput.map((row) => ({ at: bucketEnd(window, row.bucket, now), completed: row.n })),
    energyPerTask: energy.map((row) => ({
      at: bucketEnd(window, row.bucket, now),
      receipts: row.n,
      milliwattHours: Math.round(row.mwh),
      solarSharePct: Math.round(row.solar / 100),
    })),
  };
}

/** A bucket's point is at its end (the last, partial one: now), so the newest work plots at the right edge. */
function bucketEnd(window: Window, bucket: number, now: number): string {
  return new Date(Math.min(now, window.from + (Math.floor(bucket) + 1) * window.bucketMs)).toISOString();
}

/** The stored address of a worker, whatever the case it was typed in; undefined if unknown. */
export async function findWorker(db: Store, address: string): Promise<string | undefined> {
  const row = await db.get<{ address: string }>("SELECT address FROM workers WHERE lower(address) = lower(?)", address);
  return row?.address;
}

export async function workerView(db: Store, address: string, now: number, offlineAfterMs: number, window: Window) {
  const row = (await db.get<WorkerRow>(`${WORKER_QUERY} WHERE w.address = ?`, address))!;
  const samples = await db.all<{
    at: number;
    state: WorkerActivity;
    soc: number | null;
    pv_watts: number | null;
    load_watts: number | null;
    awake_seconds: number | null;
    tasks: number;
    changed: number;
  }>(
    `SELECT at, state, soc, pv_watts, load_watts, awake_seconds, tasks, changed FROM worker_samples
       WHERE worker = ? AND at >= ? ORDER BY at`,
    address,
    window.from,
  );
  const tasks = await db.all<{
    task_id: string;
    deal_id: string;
    idx: number;
    state: string;
    reason: string | null;
    offered_at: number;
    updated_at: number;
    outcome: string | null;
  }>(
    `SELECT r.task_id, t.deal_id, t.idx, r.state, r.reason, r.offered_at, r.updated_at, t.outcome
       FROM replicas r JOIN tasks t USING (task_id) WHERE r.worker = ? ORDER BY r.offered_at DESC LIMIT 50`,
    address,
  );
  const receipts = await db.all<{ task_id: string; milliwatt_hours: number; solar_share_bps: number; at: number }>(
    "SELECT task_id, milliwatt_hours, solar_share_bps, at FROM energy_receipts WHERE lower(worker) = lower(?) ORDER BY at DESC LIMIT 50",
    address,
  );
  const totals = (await db.get<{ n: number; mwh: number; solar: number }>(
    "SELECT count(*) AS n, coalesce(sum(milliwatt_hours), 0) AS mwh, coalesce(avg(solar_share_bps), 0) AS solar FROM energy_receipts WHERE lower(worker) = lower(?)",
    address,
  ))!;
  return {
    generatedAt: new Date(now).toISOString(),
    window: { from: new Date(window.from).toISOString(), bucketSeconds: window.bucketMs / 1000 },
    worker: summarize(row, now, offlineAfterMs),
    samples: samples.map((sample) => ({
      at: new Date(sample.at).toISOString(),
      state: sample.state,
      ...(sample.soc === null ? {} : { stateOfChargePct: sample.soc }),
      ...(sample.pv_watts === null ? {} : { pvWatts: sample.pv_watts }),
      ...(sample.load_watts === null ? {} : { loadWatts: sample.load_watts }),
      tasks: sample.tasks,
    })),
    // Changes of state only: the sleep/wake timeline.
    timeline: samples
      .filter((sample) => sample.changed === 1)
      .map((sample) => ({ at: new Date(sample.at).toISOString(), state: sample.state })),
    tasks: tasks.map((task) => ({
      taskId: task.task_id,
      dealId: task.deal_id,
      index: task.idx,
      state: task.state,
      ...(task.reason === null ? {} : { reason: task.reason }),
      ...(task.outcome === null ? {} : { taskOutcome: task.outcome }),
      offeredAt: new Date(task.offered_at).toISOString(),
      updatedAt: new Date(task.updated_at).toISOString(),
    })),
    receipts: receipts.map((receipt) => ({
      taskId: receipt.task_id,
      milliwattHours: receipt.milliwatt_hours,
      solarSharePct: Math.round(receipt.solar_share_bps / 100),
      at: new Date(receipt.at).toISOString(),
    })),
    energy: { receipts: totals.n, milliwattHours: totals.mwh, solarSharePct: Math.round(totals.solar / 100) },
  };
}

export interface WorkerChainFacts {
  /** Escrow balance (the stake that admits it), locked stake, earnings: decimal SUN. */
  stake: string;
  locked: string;
  earnings: string;
  /** hub.scoreOf(this pool's scheduler, worker). */
  reputation: string;
}

/** Stake, locked stake, reputation with this pool's scheduler, and every credit the hub paid it. */
export async function workerChainFacts(
  chain: SunpoolClient,
  scheduler: string,
  worker: string,
  fromBlock: number,
): Promise<WorkerChainFacts> {
  const [stake, locked, score, credits] = await Promise.all([
    chain.hub.balanceOf(worker),
    chain.hub.lockedOf(worker),
    chain.hub.scoreOf(scheduler, worker),
    chain.hub.queryFilter(chain.hub.filters.Credited(worker), fromBlock),
  ]);
  const earned = credits.reduce((sum, log) => sum + log.args.amount, 0n);
  return {
    stake: formatUnits(stake, 18),
    locked: formatUnits(locked, 18),
    earnings: formatUnits(earned, 18),
    reputation: score.toString(),
  };
}

interface DealRow {
  deal_id: string;
  request_hash: string;
  requester: string;
  trust: number;
  category: number;
  volume: number;
  start_deadline: number;
  app: string;
  dataset: string | null;
  block: number;
}

/** What an id names among this pool's records: a task, a deal, or a request (matched or not). */
export async function lookup(
  db: Store,
  id: string,
): Promise<{ kind: "task" | "deal" | "request"; deals: DealRow[]; requestStatus?: string } | undefined> {
  const key = id.toLowerCase();
  const task = await db.get<{ deal_id: string }>("SELECT deal_id FROM tasks WHERE task_id = ?", key);
  if (task !== undefined) return { kind: "task", deals: [(await dealRow(db, task.deal_id))!] };
  const deal = await dealRow(db, key);
  if (deal !== undefined) return { kind: "deal", deals: [deal] };
  const deals = await db.all<DealRow>("SELECT * FROM deals WHERE lower(request_hash) = ? ORDER BY block", key);
  const order = await db.get<{ status: string }>("SELECT status FROM orders WHERE lower(hash) = ? AND kind = 'request'", key);
  if (deals.length === 0 && order === undefined) return undefined;
  return { kind: "request", deals, ...(order === undefined ? {} : { requestStatus: order.status }) };
}

async function dealRow(db: Store, dealId: string): Promise<DealRow | undefined> {
  return await db.get<DealRow>("SELECT * FROM deals WHERE deal_id = ?", dealId);
}

/** Ended tasks never change on-chain: their chain view is read once. */
const endedTasks = new Map<string, ChainTask>();

/** A deal's tasks as the pool saw them (replicas, reasons) and as the chain settled them (receipts, result). */
export async function dealView(db: Store, deal: DealRow, chain: SunpoolClient | undefined) {
  const app = JSON.parse(deal.app) as { id?: string; name?: string };
  const dataset = deal.dataset === null ? undefined : (JSON.parse(deal.dataset) as { id?: string; name?: string });
  const taskIds = await db.all<{
    task_id: string;
  }>("SELECT task_id FROM tasks WHERE deal_id = ? ORDER BY idx", deal.deal_id);
  const tasks = await Promise.all(
    taskIds.map(async ({ task_id }) => {
      const view = (await readTaskView(db, task_id))!;
      const replicas = view.replicas.map((replica) => {
        const shown = { ...replica };
        delete shown.logTail;
        return shown;
      });
      let onChain: ChainTask | undefined = endedTasks.get(task_id);
      let chainError: string | undefined;
      if (onChain === undefined && chain !== undefined) {
        try {
          onChain = await getTask(chain, { dealId: deal.deal_id, index: view.index, fromBlock: deal.block });
          if (onChain.status === "ended") endedTasks.set(task_id, onChain);
        } catch (error) {
          chainError = error instanceof Error ? error.message : String(error);
        }
      }
      return {
        ...view,
        replicas,
        ...(onChain === undefined
          ? {}
          : {
              chain: {
                status: onChain.status,
                outcome: onChain.outcome,
                ...(onChain.resultDigest === undefined ? {} : { resultDigest: onChain.resultDigest }),
                ...(onChain.resultLocation === undefined ? {} : { resultLocation: onChain.resultLocation }),
                ...(onChain.failure === undefined
                  ? {}
                  : { failure: { reason: onChain.failure.reason, hints: onChain.failure.hints } }),
                ...(onChain.consensus === undefined ? {} : { consensus: onChain.consensus }),
                energy: onChain.energy.map((receipt) => ({ ...receipt, worker: getAddress(receipt.worker) })),
              },
            }),
        ...(chainError === undefined ? {} : { chainError }),
      };
    }),
  );
  return {
    dealId: deal.deal_id,
    requestHash: deal.request_hash,
    requester: getAddress(deal.requester),
    trust: deal.trust,
    category: deal.category,
    volume: deal.volume,
    startDeadline: deal.start_deadline,
    block: deal.block,
    app: { id: app.id ?? "", name: app.name ?? "" },
    ...(dataset === undefined ? {} : { dataset: { id: dataset.id ?? "", name: dataset.name ?? "" } }),
    tasks,
  };
}
