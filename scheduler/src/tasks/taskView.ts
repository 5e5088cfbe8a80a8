// One task as the pool sees it, for GET /v1/tasks/{taskId}: read straight from the tables (the
// pool's own queries serve dispatch and settlement, not display). Log tails are part of the view;
// whether a caller may see them is the route's decision.
import { getAddress } from "ethers";

import type { Store } from "../store/store.js";

export interface ReplicaView {
  worker: string;
  state: string;
  reason?: string;
  logTail?: string;
  /** The worker's report of where the task's energy came from, Wh (informational, unverified). */
  energySplit?: { pvWh: number; batteryWh: number; mainsWh: number };
  offeredAt: string;
  updatedAt: string;
}

export interface TaskView {
  taskId: string;
  dealId: string;
  index: number;
  requester: string;
  trust: number;
  status: string;
  outcome?: string;
  deadline: number;
  finalDeadline?: number;
  round: number;
  contributions: number;
  result?: { digest: string; locations: string[] };
  /** The pool gave the task up before anyone ran it (forecast-driven admission), and why. */
  declined?: { reason: string; at: string };
  replicas: ReplicaView[];
}

interface TaskRow {
  task_id: string;
  deal_id: string;
  idx: number;
  status: string;
  outcome: string | null;
  deadline: number;
  final_deadline: number | null;
  round: number;
  result_digest: string | null;
  declined: string | null;
  declined_at: number | null;
  requester: string;
  trust: number;
}

interface ContributionRow {
  commitment: string;
  digest: string | null;
  location: string | null;
}

interface ReplicaRow {
  worker: string;
  state: string;
  reason: string | null;
  log_tail: string | null;
  pv_wh: number | null;
  battery_wh: number | null;
  mains_wh: number | null;
  offered_at: number;
  updated_at: number;
}

/** The task with its replicas, or undefined if this pool has no such task. */
export async function readTaskView(db: Store, taskId: string): Promise<TaskView | undefined> {
  const id = taskId.toLowerCase();
  const task = await db.get<TaskRow>(
    `SELECT t.task_id, t.deal_id, t.idx, t.status, t.outcome, t.deadline, t.final_deadline, t.round, t.result_digest,
              t.declined, t.declined_at, d.requester, d.trust
       FROM tasks t JOIN deals d USING (deal_id) WHERE t.task_id = ?`,
    id,
  );
  if (task === undefined) return undefined;
  const contributions = await db.all<ContributionRow>(
    "SELECT commitment, digest, location FROM contributions WHERE task_id = ? ORDER BY seq",
    id,
  );
  const replicas = await db.all<ReplicaRow>(
    `SELECT worker, state, reason, log_tail, pv_wh, battery_wh, mains_wh, offered_at, updated_at
       FROM replicas WHERE task_id = ? ORDER BY offered_at, worker`,
    id,
  );
  const result = resultOf(task, contributions);
  return {
    taskId: task.task_id,
    dealId: task.deal_id,
    index: task.idx,
    requester: getAddress(task.requester),
    trust: task.trust,
    status: task.status,
    ...(task.outcome === null ? {} : { outcome: task.outcome }),
    deadline: task.deadline,
    ...(task.final_deadline === null ? {} : { finalDeadline: task.final_deadline }),
    round: task.round,
    contributions: contributions.length,
    ...(result === undefined ? {} : { result }),
    ...(task.declined === null ? {} : { declined: { reason: task.declined, at: new Date(task.declined_at ?? 0).toISOString() } }),
    replicas: replicas.map((replica) => ({
      worker: getAddress(replica.worker),
      state: replica.state,
      ...(replica.reason === null ? {} : { reason: replica.reason }),
      ...(replica.log_tail === null ? {} : { logTail: replica.log_tail }),
      ...(replica.pv_wh === null || replica.battery_wh === null || replica.mains_wh === null
        ? {}
        : { energySplit: { pvWh: replica.pv_wh, batteryWh: replica.battery_wh, mainsWh: replica.mains_wh } }),
      offeredAt: new Date(replica.offered_at).toISOString(),
      updatedAt: new Date(replica.updated_at).toISOString(),
    })),
  };
}

/**
 * The consensus digest once ConsensusReached was seen; for a completed trust-1 task the one
 * submission's commitment, which is its digest. Locations are those the digest's revealers
 * published on-chain (a trust-1 submission's is in TaskEnded only, which this view does not keep).
 */
function resultOf(task: TaskRow, contributions: readonly ContributionRow[]): TaskView["result"] {
  const digest =
    task.result_digest ??
    (task.trust <= 1 && task.outcome === "completed" ? contributions[0]?.commitment.toLowerCase() : undefined);
  if (digest === undefined) return undefined;
  const locations = contributions
    .filter((contribution) => contribution.digest === digest && contribution.location !== null)
    .map((contribution) => contribution.location!);
  return { digest, locations: [...new Set(locations)] };
}
