// The pool's tasks and who works on them. Chain events move tasks (waiting -> active ->
// revealing -> ended) and replicas past running (contributed -> reveal -> revealed -> done, or
// silent / wrong); a worker's reports are hints: they move a replica from offered to running, or
// to failed (it gives the task up), and never to contributed, revealed or done, and never say
// where a result is. An offered or running replica is held under a lease its worker acknowledges
// and renews (heartbeats list what the worker holds); one not renewed is lost, and the task may go
// to any worker, this one too once it is back. An owed reveal is told once per lease.
// Everything is in SQLite, and the in-memory Dispatcher is rebuilt from it at
// start, so a restarted scheduler picks up exactly where it stopped.
import { randomBytes } from "node:crypto";

import { computeTaskId, PLATFORM_BITS, type App, type Dataset, type Platform } from "@sunpool/sdk";

import type { Dispatcher } from "../dispatch/dispatcher.js";
import { type EnergyOutlook, type TaskNeeds, type WorkerState } from "../dispatch/dispatcher.js";
import {
  DEFAULT_HARVEST_POLICY,
  appEnergyAcrossWorkers,
  learnAppEnergy,
  taskEnergy,
  type AppEnergy,
  type TaskEnergy,
  workersUnableToFinish,
} from "../dispatch/harvest.js";
import type { Store } from "../store/store.js";
import { DEFAULT_PROBATION, type ProbationCaps } from "./admission.js";

export type TaskStatus = "waiting" | "active" | "revealing" | "ended";
export type ReplicaState =
  "offered" | "running" | "contributed" | "reveal" | "revealed" | "done" | "failed" | "declined" | "lost" | "silent" | "wrong";

/** Replica states that occupy one of the worker's slots. */
const BUSY: readonly ReplicaState[] = ["offered", "running"];
/** Replica states of an offer the pool withdrew or the worker gave up before contributing. */
const DROPPED: readonly ReplicaState[] = ["failed", "declined", "lost"];
/** Replica states that still count toward a task's result. */
const LIVE: readonly ReplicaState[] = ["offered", "running", "contributed", "reveal", "revealed"];
/** At most this many contributions per task (TaskLifecycle's cap). */
export const MAX_CONTRIBUTIONS = 8;

/**
 * The replicas (r, of tasks t) a worker's pull hands out, oldest deadline first: a reveal it owes
 * and was not told of within the last lease (a reveal's `lease_until` is when its last telling
 * runs out; NULL: not told yet), then an offer. Bound: the time now (ms).
 */
const PULLABLE = `t.status != 'ended'
  AND (r.state = 'offered' OR (r.state = 'reveal' AND coalesce(r.lease_until, 0) <= ?))`;

export interface DealInfo {
  dealId: string;
  requestHash: string;
  requester: string;
  trust: number;
  category: number;
  volume: number;
  startDeadline: number;
  app: App;
  dataset?: Dataset;
  params?: string;
  block: number;
}

export interface TaskRow {
  task_id: string;
  deal_id: string;
  idx: number;
  status: TaskStatus;
  outcome: string | null;
  deadline: number;
  final_deadline: number | null;
  consensus_hash: string | null;
  /** The consensus digest, from ConsensusReached. */
  result_digest: string | null;
  queued_at: number;
  round: number;
  decided: number;
  contribution_deadline: number | null;
  /** Why the pool gave the task up before anyone ran it (forecast-driven admission), if it did. */
  declined: string | null;
}

export interface ReplicaRow {
  task_id: string;
  worker: string;
  state: ReplicaState;
  authorization: string;
  offered_at: number;
  updated_at: number;
  location: string | null;
  reason: string | null;
  log_tail: string | null;
  lease: string | null;
  lease_until: number | null;
}

/** A task a worker says it holds (its heartbeat's list), with the lease of its offer. */
export interface HeldTask {
  taskId: string;
  lease?: string;
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
  params: string | null;
}

export interface WorkerRegistration {
  address: string;
  platforms: Platform[];
  cores: number;
  memoryMiB: number;
  slots: number;
  board?: string;
  version?: string;
  ipfsPeers: string[];
}

export interface Offer {
  taskId: string;
  worker: string;
  authorization: string;
}

/** What the pool believes of a worker: admission and the caps of its probation. */
export interface WorkerLimits {
  admitted(worker: string): boolean;
  probation: ProbationCaps;
}

export interface PoolOptions {
  limits?: WorkerLimits;
  /** Distinct workers whose report of a failure ends the task as AppFailed (tasks.failAfter). */
  failAfter?: number;
  /** How long an offer waits for its acknowledgement, and a lease for its renewal (ms). */
  leaseMs?: number;
}

/** Why the scheduler ends a task early (TaskOutcome values of `fail`). */
export const FAILURE = { appFailed: 5, noConsensus: 6, schedulerGaveUp: 7 } as const;

/** A task nobody took is checked for an early decline at most this often (ms), and this many per pass. */
const DECLINE_CHECK_MS = 60_000;
const DECLINE_CHECKS_PER_PASS = 20;

/** Replicas a trust level needs from new workers (weight 2 each) to reach consensus alone. */
export function initialReplicas(trust: number): number {
  if (trust <= 2) return 1;
  for (let count = 1; ; count++) {
    const group = 2 ** count;
    if (group * trust > (1 + group) * (trust - 1)) return count;
  }
}

export class Pool {
  readonly dispatcher: Dispatcher;
  readonly failAfter: number;
  readonly leaseMs: number;
  private readonly limits: WorkerLimits;
  /** What each worker declared (the dispatcher sees it capped by WorkerLimits). */
  private readonly declared = new Map<string, { slots: number; cores: number }>();
  /** Tasks each worker lists that this database has no offer of (it was lost or restored). */
  private readonly foreign = new Map<string, number>();
  /** Learned energy per app (app_energy), read once per app. */
  private readonly appEnergies = new Map<string, AppEnergy | undefined>();
  /** When each undispatched task was last checked for an early decline. */
  private readonly declineChecked = new Map<string, number>();
  /** Each worker's last heartbeat (ms) since this process started. */
  private readonly heardAt = new Map<string, number>();

  private constructor(
    private readonly db: Store,
    dispatcher: Dispatcher,
    options: PoolOptions = {},
  ) {
    this.dispatcher = dispatcher;
    this.limits = options.limits ?? { admitted: () => true, probation: DEFAULT_PROBATION };
    this.failAfter = options.failAfter ?? 2;
    this.leaseMs = options.leaseMs ?? 45_000;
  }

  /** The pool of a store, with the dispatcher's view of every worker loaded from it. */
  static async open(db: Store, dispatcher: Dispatcher, options: PoolOptions = {}): Promise<Pool> {
    const pool = new Pool(db, dispatcher, options);
    await pool.loadWorkers();
    return pool;
  }

  // ---- workers

  async register(registration: WorkerRegistration, now: number): Promise<{ registeredAt: string }> {
    const registeredAt = new Date(now).toISOString();
    await this.db.run(
      `INSERT INTO workers (address, platforms, cores, memory_mib, slots, board, version, ipfs_peers, registered_at, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (address) DO UPDATE SET platforms = excluded.platforms, cores = excluded.cores,
           memory_mib = excluded.memory_mib, slots = excluded.slots, board = excluded.board,
           version = excluded.version, ipfs_peers = excluded.ipfs_peers, last_seen = excluded.last_seen`,
      registration.address,
      JSON.stringify(registration.platforms),
      registration.cores,
      registration.memoryMiB,
      registration.slots,
      registration.board ?? null,
      registration.version ?? null,
      JSON.stringify(registration.ipfsPeers),
      registeredAt,
      now,
    );
    await this.loadWorkers(registration.address);
    const row = (await this.db.get<{
      registered_at: string;
    }>("SELECT registered_at FROM workers WHERE address = ?", registration.address))!;
    return { registeredAt: row.registered_at };
  }

  isRegistered(address: string): boolean {
    return this.dispatcher.workers.has(address);
  }

  /**
   * Records a heartbeat. Every task the worker lists acknowledges its offer and renews its lease
   * (a lease id that is not the current offer's renews nothing); a listed task whose offer was
   * withdrawn is returned as revoked; listed tasks this database has no offer of count against
   * the worker's slots. A farewell takes the worker offline now and hands on what it had not
   * acknowledged, without blame: it said so.
   */
  async heartbeat(
    address: string,
    outlook: EnergyOutlook,
    now: number,
    held?: readonly HeldTask[],
    farewell = false,
  ): Promise<{ revoked: string[] }> {
    const revoked: string[] = [];
    let foreign = 0;
    const record = () =>
      this.db.run("UPDATE workers SET last_seen = ?, outlook = ? WHERE address = ?", now, JSON.stringify(outlook), address);
    // Most heartbeats hold nothing: one statement, no transaction around it (a round trip each on PostgreSQL).
    if ((held ?? []).length === 0 && !farewell) await record();
    else
      await this.db.transaction(async () => {
        await record();
        for (const { taskId, lease } of held ?? []) {
          const replica = await this.replica(taskId, address);
          if (replica === undefined) foreign += 1;
          else if (DROPPED.includes(replica.state)) revoked.push(replica.task_id);
          else if (BUSY.includes(replica.state) && (lease === undefined || replica.lease === null || lease === replica.lease)) {
            await this.renewLease(replica.task_id, address, now);
          }
        }
        if (farewell) {
          const listed = new Set((held ?? []).map((task) => task.taskId.toLowerCase()));
          const dropped = await this.db.all<{ task_id: string }>(
            "SELECT task_id FROM replicas WHERE worker = ? AND state IN ('offered', 'running')",
            address,
          );
          for (const { task_id } of dropped.filter((row) => !listed.has(row.task_id))) {
            await this.setReplicaState(task_id, address, "lost", now, "the worker stopped before starting it", BUSY);
          }
        }
      });
    this.heardAt.set(address, now);
    const worker = this.dispatcher.workers.get(address);
    if (worker !== undefined) {
      worker.lastSeenMs = farewell ? now - this.dispatcher.policy.offlineAfterMs - 1 : now;
      worker.outlook = outlook;
      this.dispatcher.upsert(worker);
    }
    this.countForeign(address, held === undefined ? (this.foreign.get(address) ?? 0) : foreign);
    return { revoked };
  }

  /** Acknowledges an offer (its worker started it or listed it) and extends its lease by one. */
  async renewLease(taskId: string, worker: string, now: number): Promise<void> {
    await this.db.run(
      `UPDATE replicas SET state = 'running', lease_until = ?, updated_at = CASE state WHEN 'offered' THEN ? ELSE updated_at END
         WHERE task_id = ? AND worker = ? AND state IN ('offered', 'running')`,
      now + this.leaseMs,
      now,
      taskId.toLowerCase(),
      worker,
    );
  }

  private countForeign(address: string, count: number): void {
    const previous = this.foreign.get(address) ?? 0;
    if (count === previous) return;
    this.foreign.set(address, count);
    const worker = this.dispatcher.workers.get(address);
    if (worker === undefined) return;
    worker.active = Math.max(0, worker.active + count - previous);
    this.dispatcher.upsert(worker);
  }

  /** Seen now (any signed request counts as a sign of life). */
  async touch(address: string, now: number): Promise<void> {
    const worker = this.dispatcher.workers.get(address);
    if (worker === undefined) return;
    worker.lastSeenMs = now;
    this.dispatcher.upsert(worker);
    await this.db.run("UPDATE workers SET last_seen = ? WHERE address = ?", now, address);
  }

  async workerPeers(address: string): Promise<string[]> {
    const row = await this.db.get<{ ipfs_peers: string }>("SELECT ipfs_peers FROM workers WHERE address = ?", address);
    return row === undefined ? [] : (JSON.parse(row.ipfs_peers) as string[]);
  }

  /**
   * Offers not acknowledged, and leases not renewed, within one lease are lost (against the
   * worker's record): their tasks go to other workers. Returns the tasks handed on.
   */
  async expireLeases(now: number): Promise<string[]> {
    const expiredWhere = "state IN ('offered', 'running') AND coalesce(lease_until, updated_at + ?) < ?";
    const expired = await this.db.all<{ task_id: string; worker: string; state: ReplicaState }>(
      `SELECT task_id, worker, state FROM replicas WHERE ${expiredWhere}`,
      this.leaseMs,
      now,
    );
    const lost: string[] = [];
    await this.db.transaction(async () => {
      for (const { task_id, worker, state } of expired) {
        const why = state === "offered" ? "the offer was not acknowledged within its lease" : "the lease was not renewed";
        // Lost only if still expired: a heartbeat may renew the lease, or the chain show the
        // contribution, between the read above and this write (the worker is not blamed then).
        const { changes } = await this.db.run(
          `UPDATE replicas SET state = 'lost', updated_at = ?, reason = coalesce(?, reason)
             WHERE task_id = ? AND worker = ? AND ${expiredWhere}`,
          now,
          why,
          task_id,
          worker,
          this.leaseMs,
          now,
        );
        if (changes === 0) continue;
        this.dispatcher.release(worker);
        await this.recordOutcome(worker, "bad");
        lost.push(task_id);
      }
    });
    return lost;
  }

  /** Counts a task toward a worker's record with this pool (its dispatch weight). */
  private async recordOutcome(worker: string, outcome: "good" | "bad"): Promise<void> {
    await this.db.run(`UPDATE workers SET ${outcome} = ${outcome} + 1 WHERE address = ?`, worker);
    const state = this.dispatcher.workers.get(worker);
    if (state === undefined) return;
    state[outcome] += 1;
    this.applyLimits(state);
  }

  /** Takes note that a worker's admission may have changed (its stake was read again). */
  readmit(worker: string): void {
    const state = this.dispatcher.workers.get(worker);
    if (state !== undefined) this.applyLimits(state);
  }

  /**
   * What the dispatcher may count on: nothing from a worker not admitted; until it has a record
   * with this pool (probation), at most the capped slots and cores, and no energy bonus.
   */
  private applyLimits(state: WorkerState): void {
    const declared = this.declared.get(state.address) ?? { slots: state.slots, cores: state.cores };
    const caps = this.limits.probation;
    const probation = state.good < caps.tasks;
    state.slots = !this.limits.admitted(state.address) ? 0 : probation ? Math.min(declared.slots, caps.slots) : declared.slots;
    state.cores = probation ? Math.min(declared.cores, caps.cores) : declared.cores;
    if (probation && !caps.energyBonus) state.unproven = true;
    else delete state.unproven;
    this.dispatcher.upsert(state);
  }

  /**
   * After a chain rollback: rebuilds the dispatcher's view of every worker from the database, and
   * forgets the app energies read from it (a removed receipt is no longer in them).
   */
  async reloadAfterRollback(): Promise<void> {
    this.appEnergies.clear();
    await this.loadWorkers();
  }

  private async loadWorkers(only?: string): Promise<void> {
    const rows = await this.db.all<{
      address: string;
      platforms: string;
      cores: number;
      memory_mib: number;
      slots: number;
      last_seen: number;
      outlook: string | null;
      good: number;
      bad: number;
    }>(`SELECT * FROM workers ${only === undefined ? "" : "WHERE address = ?"}`, ...(only === undefined ? [] : [only]));
    for (const row of rows) {
      const busy = (await this.db.get<{ n: number }>(
        `SELECT count(*) AS n FROM replicas WHERE worker = ? AND state IN ('offered', 'running')`,
        row.address,
      ))!;
      const previous = this.dispatcher.workers.get(row.address);
      const state: WorkerState = {
        address: row.address,
        platforms: (JSON.parse(row.platforms) as Platform[]).reduce((mask, platform) => mask | PLATFORM_BITS[platform], 0),
        cores: row.cores,
        memoryMiB: row.memory_mib,
        slots: row.slots,
        active: busy.n + (this.foreign.get(row.address) ?? 0),
        lastSeenMs: row.last_seen,
        good: row.good,
        bad: row.bad,
        lastAssignedMs: previous?.lastAssignedMs ?? 0,
      };
      if (row.outlook !== null) state.outlook = JSON.parse(row.outlook) as EnergyOutlook;
      this.declared.set(row.address, { slots: row.slots, cores: row.cores });
      this.applyLimits(state);
    }
  }

  // ---- deals and tasks (driven by chain events; called inside the reconciler's transaction)

  async addDeal(deal: DealInfo, now: number): Promise<boolean> {
    const inserted = await this.db.run(
      `INSERT INTO deals (deal_id, request_hash, requester, trust, category, volume, start_deadline, app, dataset, params, block)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      deal.dealId,
      deal.requestHash,
      deal.requester,
      deal.trust,
      deal.category,
      deal.volume,
      deal.startDeadline,
      JSON.stringify(deal.app),
      deal.dataset === undefined ? null : JSON.stringify(deal.dataset),
      deal.params ?? null,
      deal.block,
    );
    if (inserted.changes === 0) return false;
    for (let index = 0; index < deal.volume; index++) {
      await this.db.run(
        "INSERT INTO tasks (task_id, deal_id, idx, status, deadline, queued_at) VALUES (?, ?, ?, 'waiting', ?, ?)",
        computeTaskId(deal.dealId, index),
        deal.dealId,
        index,
        deal.startDeadline,
        now,
      );
    }
    return true;
  }

  /** Attaches the params document to deals that were matched before the book knew it. */
  async attachParams(requestHash: string, params: string): Promise<void> {
    await this.db.run("UPDATE deals SET params = ? WHERE request_hash = ? AND params IS NULL", params, requestHash.toLowerCase());
  }

  async task(taskId: string): Promise<TaskRow | undefined> {
    return await this.db.get<TaskRow>("SELECT * FROM tasks WHERE task_id = ?", taskId.toLowerCase());
  }

  async onTaskStarted(taskId: string, contributionDeadline: number, finalDeadline: number): Promise<void> {
    await this.db.run(
      "UPDATE tasks SET status = 'active', deadline = ?, contribution_deadline = ?, final_deadline = ? WHERE task_id = ? AND status = 'waiting'",
      contributionDeadline,
      contributionDeadline,
      finalDeadline,
      taskId,
    );
  }

  /** ContributionAccepted: a commitment of the task's current round (trust 1: the result digest). */
  async onContribution(
    taskId: string,
    worker: string,
    commitment: string,
    now: number,
    energy?: { milliwattHours: number },
  ): Promise<void> {
    if (energy !== undefined) await this.learnFromReceipt(taskId, worker, energy.milliwattHours, now);
    const { n } = (await this.db.get<{ n: number }>("SELECT count(*) AS n FROM contributions WHERE task_id = ?", taskId))!;
    await this.db.run(
      "INSERT INTO contributions (task_id, seq, worker, commitment, round) SELECT ?, CAST(? AS BIGINT), ?, ?, round FROM tasks WHERE task_id = ?",
      taskId,
      n,
      worker,
      commitment,
      taskId,
    );
    await this.upsertReplica(taskId, worker, "contributed", now);
  }

  /**
   * Folds a contribution's energy receipt into its worker's estimate for the app, then sets the
   * app's estimate to the median across workers (appEnergyAcrossWorkers: one worker's receipts, lies
   * included, cannot carry the app's figure). The run time is the pool's own measure: from the
   * worker's acknowledgement of the offer (the replica turned running) to the contribution on-chain.
   * A contribution without a running replica here (a restored database) teaches nothing.
   */
  private async learnFromReceipt(taskId: string, worker: string, milliwattHours: number, now: number): Promise<void> {
    const replica = await this.replica(taskId, worker);
    if (replica?.state !== "running") return;
    const row = await this.db.get<{ app: string }>(
      "SELECT d.app FROM tasks t JOIN deals d USING (deal_id) WHERE t.task_id = ?",
      taskId,
    );
    if (row === undefined) return;
    const appId = (JSON.parse(row.app) as App).id.toLowerCase();
    // "wattHours" quoted: PostgreSQL folds an unquoted alias to lower case.
    const estimates = await this.db.all<AppEnergy & { worker: string }>(
      'SELECT worker, runs, seconds, watt_hours AS "wattHours" FROM worker_app_energy WHERE app = ?',
      appId,
    );
    const key = worker.toLowerCase();
    const mine = learnAppEnergy(
      estimates.find((estimate) => estimate.worker === key),
      { seconds: Math.max(0, now - replica.updated_at) / 1000, wattHours: milliwattHours / 1000 },
    );
    await this.db.run(
      `INSERT INTO worker_app_energy (app, worker, runs, seconds, watt_hours, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, worker) DO UPDATE SET runs = excluded.runs, seconds = excluded.seconds,
         watt_hours = excluded.watt_hours, updated_at = excluded.updated_at`,
      appId,
      key,
      mine.runs,
      mine.seconds,
      mine.wattHours,
      now,
    );
    const learned = appEnergyAcrossWorkers([...estimates.filter((estimate) => estimate.worker !== key), mine])!;
    await this.db.run(
      `INSERT INTO app_energy (app, runs, seconds, watt_hours, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app) DO UPDATE SET runs = excluded.runs, seconds = excluded.seconds,
           watt_hours = excluded.watt_hours, updated_at = excluded.updated_at`,
      appId,
      learned.runs,
      learned.seconds,
      learned.wattHours,
      now,
    );
    // Read again from the store on next use: this runs inside the reconciler's transaction, and a
    // figure cached now would outlive a rollback.
    this.appEnergies.delete(appId);
  }

  /** What the pool learned of an app's energy per task from receipts (undefined: nothing yet). */
  async appEnergy(appId: string): Promise<AppEnergy | undefined> {
    const key = appId.toLowerCase();
    if (!this.appEnergies.has(key)) {
      const row = await this.db.get<{ runs: number; seconds: number; watt_hours: number }>(
        "SELECT runs, seconds, watt_hours FROM app_energy WHERE app = ?",
        key,
      );
      this.appEnergies.set(
        key,
        row === undefined ? undefined : { runs: row.runs, seconds: row.seconds, wattHours: row.watt_hours },
      );
    }
    return this.appEnergies.get(key);
  }

  /** RevealOpened: the round's window closed; its contributors owe a reveal by `revealDeadline`. */
  async onRevealOpened(taskId: string, round: number, revealDeadline: number, now: number): Promise<void> {
    await this.db.run(
      "UPDATE tasks SET status = 'revealing', round = ?, deadline = ? WHERE task_id = ?",
      round,
      revealDeadline,
      taskId,
    );
    const members = await this.db.all<{ worker: string }>(
      "SELECT worker FROM contributions WHERE task_id = ? AND round = ? AND digest IS NULL",
      taskId,
      round,
    );
    for (const { worker } of members) await this.setReplicaState(taskId, worker, "reveal", now, undefined, ["contributed"]);
    // Not told yet (see PULLABLE): the lease the offer held is over.
    await this.db.run("UPDATE replicas SET lease_until = NULL WHERE task_id = ? AND state = 'reveal'", taskId);
  }

  /** ContributionRevealed: the digest and the result's location, bound on-chain to the revealer. */
  async onRevealed(taskId: string, worker: string, digest: string, location: string, now: number): Promise<void> {
    await this.db.run(
      "UPDATE contributions SET digest = ?, location = ? WHERE task_id = ? AND worker = ?",
      digest.toLowerCase(),
      location,
      taskId,
      worker,
    );
    await this.upsertReplica(taskId, worker, "revealed", now);
  }

  /** ConsensusReached: the task is decided; settlement pins and finalizes it. */
  async onConsensus(taskId: string, digest: string): Promise<void> {
    await this.db.run("UPDATE tasks SET decided = 1, result_digest = ? WHERE task_id = ?", digest.toLowerCase(), taskId);
  }

  /** TaskReopened: no consensus in the last round; a new round accepts contributions. */
  async onReopened(taskId: string, round: number, now: number): Promise<void> {
    await this.db.run(
      "UPDATE tasks SET status = 'active', round = ?, deadline = coalesce(contribution_deadline, final_deadline, deadline) WHERE task_id = ?",
      round,
      taskId,
    );
    const silent = await this.db.all<{ worker: string }>(
      "SELECT worker FROM contributions WHERE task_id = ? AND round < ? AND digest IS NULL",
      taskId,
      round,
    );
    for (const { worker } of silent) {
      await this.setReplicaState(taskId, worker, "silent", now, "did not reveal in time", ["contributed", "reveal"]);
    }
  }

  /**
   * TaskEnded. Completed: the revealers of the consensus digest did the work (their record
   * improves); revealers of another digest, contributors who never revealed, and workers that gave
   * the task up while others completed it count against theirs. AppFailed: the failures were the
   * app's, not the workers'. Other outcomes: whatever was in flight is lost, nobody's fault.
   */
  async onEnded(taskId: string, outcome: string, digest: string | undefined, now: number): Promise<void> {
    await this.db.run("UPDATE tasks SET status = 'ended', outcome = ? WHERE task_id = ?", outcome, taskId);
    // Trust 1: the submission's commitment is the result digest itself.
    const submitted = (await this.trust(taskId)) <= 1;
    const revealed = new Map(
      (
        await this.db.all<{
          worker: string;
          commitment: string;
          digest: string | null;
        }>("SELECT worker, commitment, digest FROM contributions WHERE task_id = ?", taskId)
      ).map((row) => [row.worker, row.digest ?? (submitted ? row.commitment.toLowerCase() : null)]),
    );
    const consensus = digest?.toLowerCase();
    for (const replica of await this.replicas(taskId)) {
      const contributed = revealed.has(replica.worker);
      const vote = revealed.get(replica.worker);
      if (outcome === "completed" && contributed) {
        if (vote !== null && vote === consensus) {
          await this.setReplicaState(taskId, replica.worker, "done", now);
          await this.recordOutcome(replica.worker, "good");
        } else if (vote === null) {
          await this.setReplicaState(taskId, replica.worker, "silent", now, "did not reveal");
          await this.recordOutcome(replica.worker, "bad");
        } else {
          await this.setReplicaState(taskId, replica.worker, "wrong", now, "revealed a result other than the consensus");
          await this.recordOutcome(replica.worker, "bad");
        }
      } else if (replica.state === "failed") {
        if (outcome === "completed") await this.recordOutcome(replica.worker, "bad");
      } else if (LIVE.includes(replica.state)) {
        await this.setReplicaState(taskId, replica.worker, "lost", now, `task ended: ${outcome}`);
      }
    }
  }

  private async trust(taskId: string): Promise<number> {
    const row = await this.db.get<{ trust: number }>(
      "SELECT d.trust FROM tasks t JOIN deals d USING (deal_id) WHERE t.task_id = ?",
      taskId,
    );
    return row?.trust ?? 0;
  }

  // ---- replicas

  async replicas(taskId: string): Promise<ReplicaRow[]> {
    return await this.db.all<ReplicaRow>("SELECT * FROM replicas WHERE task_id = ? ORDER BY offered_at", taskId);
  }

  async replica(taskId: string, worker: string): Promise<ReplicaRow | undefined> {
    return await this.db.get<ReplicaRow>("SELECT * FROM replicas WHERE task_id = ? AND worker = ?", taskId.toLowerCase(), worker);
  }

  /**
   * The worker's next action (what its pull returns): a reveal it owes, else the oldest task
   * offered to it. A reveal is told once per lease: the worker is revealing, or its transaction
   * awaits confirmations, so pulls meanwhile get its offers (or wait); if the chain still shows no
   * reveal when the lease runs out, it is told again.
   */
  async nextFor(worker: string, now: number): Promise<{ replica: ReplicaRow; task: TaskRow; deal: DealRow } | undefined> {
    const replica = await this.db.get<ReplicaRow>(
      `SELECT r.* FROM replicas r JOIN tasks t USING (task_id) WHERE r.worker = ? AND ${PULLABLE}
         ORDER BY r.state = 'reveal' DESC, t.deadline, r.offered_at LIMIT 1`,
      worker,
      now,
    );
    if (replica === undefined) return undefined;
    if (replica.state === "reveal") {
      // Told by whichever of two pulls at once claims it; the other is told nothing now.
      const { changes } = await this.db.run(
        `UPDATE replicas SET lease_until = ? WHERE task_id = ? AND worker = ? AND state = 'reveal'
           AND coalesce(lease_until, 0) <= ?`,
        now + this.leaseMs,
        replica.task_id,
        worker,
        now,
      );
      if (changes === 0) return undefined;
    }
    const task = (await this.task(replica.task_id))!;
    return { replica, task, deal: (await this.deal(task.deal_id))! };
  }

  /** How many actions the worker's pulls would hand out now (nextFor, one after the other). */
  async pendingFor(worker: string, now: number): Promise<number> {
    const { n } = (await this.db.get<{ n: number }>(
      `SELECT count(*) AS n FROM replicas r JOIN tasks t USING (task_id) WHERE r.worker = ? AND ${PULLABLE}`,
      worker,
      now,
    ))!;
    return n;
  }

  async deal(dealId: string): Promise<DealRow | undefined> {
    return await this.db.get<DealRow>("SELECT * FROM deals WHERE deal_id = ?", dealId);
  }

  /**
   * Takes a worker's report as the hint it is: `running` acknowledges an offer (and renews its
   * lease), `failed` gives it up: reassigned, and when the app caused it, one of the `failAfter`
   * distinct failures that end the task as AppFailed (`declined` when the worker did); the reason
   * and log tail are kept for the requester, and so is an energy split (shown, never acted on).
   * Anything else changes no state: contributions, reveals and result locations are read from the
   * chain. Returns the state.
   */
  async report(
    taskId: string,
    worker: string,
    report: {
      state: "running" | "submitted" | "contributed" | "revealed" | "failed";
      cause?: "app" | "worker";
      resultLocation?: string;
      reason?: string;
      logTail?: string;
      /** Where the task's energy came from, Wh: kept for the task view only (informational, unverified). */
      energySplit?: { pvWh: number; batteryWh: number; mainsWh: number };
    },
    now: number,
  ): Promise<ReplicaState> {
    const replica = (await this.replica(taskId, worker))!;
    if (report.state === "running") await this.renewLease(replica.task_id, worker, now);
    const next: ReplicaState =
      report.state === "failed" && BUSY.includes(replica.state)
        ? report.cause === "worker"
          ? "declined"
          : "failed"
        : ((await this.replica(taskId, worker))?.state ?? replica.state);
    const split = report.energySplit;
    await this.db.run(
      `UPDATE replicas SET state = ?, updated_at = ?, reason = coalesce(?, reason), log_tail = coalesce(?, log_tail),
           pv_wh = coalesce(?, pv_wh), battery_wh = coalesce(?, battery_wh), mains_wh = coalesce(?, mains_wh)
         WHERE task_id = ? AND worker = ?`,
      next,
      now,
      report.reason ?? null,
      report.logTail ?? null,
      split?.pvWh ?? null,
      split?.batteryWh ?? null,
      split?.mainsWh ?? null,
      replica.task_id,
      worker,
    );
    if (BUSY.includes(replica.state) && !BUSY.includes(next)) this.dispatcher.release(worker);
    return next;
  }

  private async upsertReplica(taskId: string, worker: string, state: ReplicaState, now: number): Promise<void> {
    const existing = await this.replica(taskId, worker);
    if (existing === undefined) {
      // A contribution from a worker we did not offer the task to in this database (e.g. the
      // offer was made before a restore): record it so finalize and claim see every contributor.
      await this.db.run(
        "INSERT INTO replicas (task_id, worker, state, authorization, offered_at, updated_at) VALUES (?, ?, ?, '0x', ?, ?)",
        taskId,
        worker,
        state,
        now,
        now,
      );
      return;
    }
    await this.setReplicaState(taskId, worker, state, now);
  }

  private async setReplicaState(
    taskId: string,
    worker: string,
    state: ReplicaState,
    now: number,
    reason?: string,
    onlyFrom?: readonly ReplicaState[],
  ): Promise<void> {
    const existing = await this.replica(taskId, worker);
    if (existing === undefined || (onlyFrom !== undefined && !onlyFrom.includes(existing.state))) return;
    await this.db.run(
      "UPDATE replicas SET state = ?, updated_at = ?, reason = coalesce(?, reason) WHERE task_id = ? AND worker = ?",
      state,
      now,
      reason ?? null,
      taskId,
      worker,
    );
    if (BUSY.includes(existing.state) && !BUSY.includes(state)) this.dispatcher.release(worker);
  }

  // ---- dispatch

  /**
   * Decides the replicas to offer now, earliest deadline first. The caller signs an authorization
   * for each and commits them with `recordOffers`.
   */
  async planOffers(now: number, chainNow: number, limit = 1000): Promise<{ taskId: string; worker: string; queuedAt: number }[]> {
    const tasks = await this.db.all<TaskRow & { trust: number; app: string }>(
      `SELECT t.*, d.trust, d.app, d.params FROM tasks t JOIN deals d USING (deal_id)
         WHERE t.status IN ('waiting', 'active') AND d.params IS NOT NULL AND t.deadline > ? AND t.declined IS NULL
         ORDER BY t.deadline, t.queued_at, t.idx LIMIT ?`,
      chainNow,
      limit,
    );
    const plan: { taskId: string; worker: string; queuedAt: number }[] = [];
    let declineChecks = 0;
    for (const task of tasks) {
      const replicas = await this.replicas(task.task_id);
      const live = replicas.filter((replica) => LIVE.includes(replica.state));
      const { n: contributions } = (await this.db.get<{ n: number }>(
        "SELECT count(*) AS n FROM contributions WHERE task_id = ?",
        task.task_id,
      ))!;
      // The app failed on enough workers and worked on none: settlement ends the task as
      // AppFailed, nobody else tries.
      const failures = replicas.filter((replica) => replica.state === "failed").length;
      if (failures >= this.failAfter && contributions === 0) continue;
      const busy = live.filter((replica) => BUSY.includes(replica.state)).length;
      let wanted = initialReplicas(task.trust) - live.length;
      if (wanted <= 0 && task.trust >= 2 && live.length > 0 && busy === 0) {
        // Everyone contributed and the round is still open, or it reopened without consensus:
        // one more opinion.
        wanted = 1;
      }
      wanted = Math.min(wanted, MAX_CONTRIBUTIONS - contributions - busy);
      if (wanted <= 0) continue;
      const app = JSON.parse(task.app) as App;
      // The app's learned run time once receipts taught it, else what its owner declared: the
      // worker's outlook must keep it awake that long (with the dispatcher's margin).
      const energy = taskEnergy(app.resources.expectedSeconds, await this.appEnergy(app.id));
      const needs: TaskNeeds = {
        platforms: app.platforms.reduce((mask, platform) => mask | PLATFORM_BITS[platform], 0),
        memoryMiB: app.resources.memoryMiB,
        cpuMillicores: app.resources.cpuMillicores,
        expectedSeconds: energy.seconds,
        exclude: new Set([
          ...replicas.filter((replica) => !this.mayOfferAgain(replica)).map((replica) => replica.worker),
          ...(await this.contributors(task.task_id)),
        ]),
      };
      const untouched = task.status === "waiting" && live.length === 0 && contributions === 0;
      const secondsLeft = task.deadline - chainNow;
      const tooLate = energy.seconds * this.dispatcher.policy.awakeMargin > secondsLeft;
      let placed = 0;
      for (let i = 0; i < wanted && !(untouched && tooLate); i++) {
        const worker = this.dispatcher.select(needs, now);
        if (worker === undefined) break;
        this.dispatcher.assign(worker, now);
        (needs.exclude as Set<string>).add(worker.address);
        plan.push({ taskId: task.task_id, worker: worker.address, queuedAt: task.queued_at });
        placed++;
      }
      if (placed > 0) this.declineChecked.delete(task.task_id);
      if (untouched && placed === 0 && declineChecks < DECLINE_CHECKS_PER_PASS) {
        // Bounded memory: entries of tasks that ended meanwhile are dropped wholesale.
        if (this.declineChecked.size > 10_000) this.declineChecked.clear();
        if (now - (this.declineChecked.get(task.task_id) ?? -Infinity) < DECLINE_CHECK_MS && !tooLate) continue;
        declineChecks++;
        this.declineChecked.set(task.task_id, now);
        const reason = this.declineReason(needs, energy, secondsLeft, tooLate, (await this.appEnergy(app.id))?.runs ?? 0, now);
        if (reason !== undefined) await this.decline(task.task_id, reason, now);
      }
    }
    return plan;
  }

  /**
   * One replica per worker and task: a worker holds at most one offer of a task, and one that
   * contributed never gets a second commitment slot. A replica lost before anything reached the
   * chain (its lease ran out while the worker was down: a Pi that browned out) may go to its
   * worker again, under a new lease, once the worker has heartbeated since: it heard the old offer
   * was revoked, or no longer lists it. In a one-worker pool the task would otherwise wait for its
   * deadline.
   */
  private mayOfferAgain(replica: ReplicaRow): boolean {
    return replica.state === "lost" && (this.heardAt.get(replica.worker) ?? -Infinity) > replica.updated_at;
  }

  /**
   * Why no worker will finish this task on harvested energy before its deadline, or undefined when
   * one may. Certain when the time left is shorter than the task's run time with the margin;
   * otherwise only when every online worker that could run it reports a forecast in its outlook
   * and none of those forecasts (nor those of workers asleep since their farewell) has a start that
   * ends above the worker's battery floor in time (harvest.ts workersUnableToFinish).
   */
  private declineReason(
    needs: TaskNeeds,
    energy: TaskEnergy,
    secondsLeft: number,
    tooLate: boolean,
    runs: number,
    now: number,
  ): string | undefined {
    const margin = this.dispatcher.policy.awakeMargin;
    const basis = runs > 0 ? `learned from ${runs.toString()} energy receipt${runs === 1 ? "" : "s"}` : "as the app declares";
    const needed = `it runs about ${duration(energy.seconds)} (${basis}; ${duration(energy.seconds * margin)} with the pool's margin)`;
    if (tooLate) {
      return `no worker can finish it before its deadline: ${needed} and ${duration(Math.max(0, secondsLeft))} remain`;
    }
    const candidates = [...this.dispatcher.workers.values()]
      .filter(
        (worker) =>
          worker.slots > 0 &&
          (worker.platforms & needs.platforms) !== 0 &&
          worker.memoryMiB >= needs.memoryMiB &&
          worker.cores * 1000 >= needs.cpuMillicores &&
          !needs.exclude.has(worker.address),
      )
      .map((worker) => ({
        ...(worker.outlook === undefined ? {} : { outlook: worker.outlook }),
        provenMains: worker.unproven !== true,
        online: this.dispatcher.isOnline(worker.address, now),
        silentSeconds: Math.max(0, now - worker.lastSeenMs) / 1000,
      }));
    const checked = workersUnableToFinish(candidates, energy, secondsLeft, { ...DEFAULT_HARVEST_POLICY, margin });
    if (checked === undefined) return undefined;
    if (checked === 0) return undefined;
    return (
      `no worker can finish it on harvested energy before its deadline: ${needed}, ${duration(secondsLeft)} remain, and ` +
      `the battery and panel forecast of each of the ${checked.toString()} worker${checked === 1 ? "" : "s"} that could run it ` +
      `falls below its floor first`
    );
  }

  /**
   * Gives a task up before anyone ran it: dispatch skips it and settlement ends it on-chain with
   * fail(SchedulerGaveUp), which refunds the requester now rather than at the deadline.
   */
  async decline(taskId: string, reason: string, now: number): Promise<void> {
    await this.db.run(
      "UPDATE tasks SET declined = ?, declined_at = ? WHERE task_id = ? AND status = 'waiting' AND declined IS NULL",
      reason,
      now,
      taskId.toLowerCase(),
    );
    this.declineChecked.delete(taskId.toLowerCase());
  }

  /** Undoes the in-memory side of planned offers that could not be recorded. */
  cancelPlan(plan: readonly { worker: string }[]): void {
    for (const { worker } of plan) this.dispatcher.release(worker);
  }

  /**
   * Records offers, each under a new lease its worker must acknowledge within `leaseMs`. An offer
   * to a worker whose replica was lost replaces that replica (mayOfferAgain); any other replica of
   * the worker's stays as it is, and the slot planned for that offer is given back once the rest
   * is committed. Returns how many offers were recorded.
   */
  async recordOffers(offers: readonly Offer[], now: number): Promise<number> {
    const unrecorded: Offer[] = [];
    await this.db.transaction(async () => {
      for (const offer of offers) {
        const { changes } = await this.db.run(
          `INSERT INTO replicas (task_id, worker, state, authorization, offered_at, updated_at, lease, lease_until)
           VALUES (?, ?, 'offered', ?, ?, ?, ?, ?)
           ON CONFLICT (task_id, worker) DO UPDATE SET state = 'offered', authorization = excluded.authorization,
             offered_at = excluded.offered_at, updated_at = excluded.updated_at, lease = excluded.lease,
             lease_until = excluded.lease_until, location = NULL, reason = NULL, log_tail = NULL,
             pv_wh = NULL, battery_wh = NULL, mains_wh = NULL
           WHERE replicas.state = 'lost'`,
          offer.taskId,
          offer.worker,
          offer.authorization,
          now,
          now,
          randomBytes(16).toString("hex"),
          now + this.leaseMs,
        );
        if (changes === 0) unrecorded.push(offer);
      }
    });
    this.cancelPlan(unrecorded);
    return offers.length - unrecorded.length;
  }

  // ---- settlement views

  async contributors(taskId: string): Promise<string[]> {
    const rows = await this.db.all<{
      worker: string;
    }>("SELECT worker FROM contributions WHERE task_id = ? ORDER BY seq", taskId);
    return rows.map((row) => row.worker);
  }

  /**
   * Tasks settlement looks at: revealing ones (finalize, reopen, or refund after the final
   * deadline), the others past their final deadline (refund), and those to end early: the app
   * failed on `failAfter` distinct workers, or every contribution slot was used without consensus.
   */
  async tasksToSettle(chainNow: number): Promise<(TaskRow & { trust: number; failures: number; contributions: number })[]> {
    return await this.db.all<
      TaskRow & {
        trust: number;
        failures: number;
        contributions: number;
      }
    >(
      `SELECT * FROM (
           SELECT t.*, d.trust,
             (SELECT count(*) FROM replicas r WHERE r.task_id = t.task_id AND r.state = 'failed') AS failures,
             (SELECT count(*) FROM contributions c WHERE c.task_id = t.task_id) AS contributions
           FROM tasks t JOIN deals d USING (deal_id) WHERE t.status != 'ended') AS open
         WHERE status = 'revealing' OR coalesce(final_deadline, deadline) <= ? OR (failures >= ? AND contributions = 0)
           OR (status = 'active' AND contributions >= ?) OR (status = 'waiting' AND declined IS NOT NULL)
         ORDER BY deal_id, idx`,
      chainNow,
      this.failAfter,
      MAX_CONTRIBUTIONS,
    );
  }

  /**
   * Where the revealers of `digest` published the result, in contribution order: read from their
   * ContributionRevealed events (bound on-chain to each revealer), never from a worker's report.
   */
  async revealedLocations(taskId: string, digest: string): Promise<{ worker: string; location: string }[]> {
    return await this.db.all<{ worker: string; location: string }>(
      "SELECT worker, location FROM contributions WHERE task_id = ? AND digest = ? AND location IS NOT NULL ORDER BY seq",
      taskId,
      digest.toLowerCase(),
    );
  }

  /** Workers that reported the task failed (hints; `failAfter` distinct ones are the basis for AppFailed). */
  async failures(taskId: string): Promise<{ worker: string; reason: string | null }[]> {
    return await this.db.all<{ worker: string; reason: string | null }>(
      "SELECT worker, reason FROM replicas WHERE task_id = ? AND state = 'failed' ORDER BY updated_at",
      taskId,
    );
  }

  async counts(): Promise<Record<TaskStatus, number> & { completed: number; expired: number }> {
    const rows = await this.db.all<{
      status: TaskStatus;
      outcome: string | null;
      n: number;
    }>("SELECT status, outcome, count(*) AS n FROM tasks GROUP BY status, outcome");
    const counts = { waiting: 0, active: 0, revealing: 0, ended: 0, completed: 0, expired: 0 };
    for (const row of rows) {
      counts[row.status] += row.n;
      if (row.status === "ended") counts[row.outcome === "completed" ? "completed" : "expired"] += row.n;
    }
    return counts;
  }
}

/** "45 s", "20 min", "3.5 h" (for decline reasons a requester reads). */
function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds).toString()} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60).toString()} min`;
  return `${(Math.round(seconds / 360) / 10).toString()} h`;
}
