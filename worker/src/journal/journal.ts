// The worker's journal: one SQLite file that says, for every task it accepted, how far the task
// got. A Pi loses power as a matter of course, so every step is recorded (synchronous = FULL)
// before the agent acts on it, and the agent's recovery reads nothing but this file and the chain.
import { DatabaseSync } from "node:sqlite";

import type { Assignment, TaskReport } from "@sunpool/sdk";

import { MIGRATIONS } from "./migrations.js";

/**
 * Where a task is. The happy path is
 *   accepted → executed → published → pinned → sent → committed → revealed → done (trust >= 2)
 *   accepted → executed → published → pinned → sent → done (trust 1)
 * `sent`: the contribute/submit transaction may be in flight; recovery asks the chain. For trust >= 2
 * the move to `sent` carries the commitment's secret salt, so it is on disk (fsync'ed) before the
 * transaction exists, and a retry sends the same commitment.
 * `committed`: the contribution is on-chain in `round`; the agent reveals when that round's
 * window closes, or stops if the task is reopened first (the commitment is void).
 * `failed`: this worker gave the task up (reported to the scheduler); `abandoned`: a deadline
 * passed before the next step could be taken, or the pool withdrew the offer. An abandoned task
 * that never reached the chain (`retakable`) is taken anew if the pool offers it again.
 */
/** A task's energy by source, Wh: the panel's cover of the load, the battery, mains. */
export interface EnergySplit {
  pvWh: number;
  batteryWh: number;
  mainsWh: number;
}

export type TaskStep =
  "accepted" | "executed" | "published" | "pinned" | "sent" | "committed" | "revealed" | "done" | "failed" | "abandoned";

export const FINAL_STEPS: readonly TaskStep[] = ["done", "failed", "abandoned"];

export interface JournaledTask {
  taskId: string;
  dealId: string;
  index: number;
  trust: number;
  /** Unix seconds: the assignment's deadline. */
  deadline: number;
  assignment: Assignment;
  step: TaskStep;
  digest?: string;
  location?: string;
  energy?: { milliwattHours: number; solarShareBps: number };
  /** Where the metered energy came from, Wh (journaled with `energy`; absent for tasks executed before it was kept). */
  energySplit?: EnergySplit;
  transactionHash?: string;
  /** The chain's height before the transaction was sent: where to look for its logs. */
  fromBlock?: number;
  /** Trust >= 2: the commitment's secret salt (0x + 64 hex), journaled before contributing. */
  salt?: string;
  /** Trust >= 2: the round the commitment was accepted in. */
  round?: number;
  reason?: string;
  logTail?: string;
  acceptedAt: number;
}

/** A move to `step`, with what that step needs (fields left out keep their journaled value). */
export type TaskUpdate = { step: TaskStep } & Partial<
  Pick<
    JournaledTask,
    "digest" | "location" | "energy" | "energySplit" | "transactionHash" | "fromBlock" | "salt" | "round" | "reason" | "logTail"
  >
>;

/** The longest wait between attempts at a queued report (ms). */
export const MAX_REPORT_BACKOFF_MS = 5 * 60_000;

/** A report the scheduler has not acknowledged yet (`outbox`). */
export interface QueuedReport {
  seq: number;
  taskId: string;
  body: TaskReport;
  /** Failed attempts so far. */
  attempts: number;
  /** Unix ms (the board's clock). */
  queuedAt: number;
  lastError?: string;
}

interface OutboxRow {
  seq: number;
  task_id: string;
  body: string;
  attempts: number;
  last_error: string | null;
  queued_at: number;
}

interface TaskRow {
  task_id: string;
  deal_id: string;
  idx: number;
  trust: number;
  deadline: number;
  assignment: string;
  step: TaskStep;
  digest: string | null;
  location: string | null;
  milliwatt_hours: number | null;
  solar_share_bps: number | null;
  pv_wh: number | null;
  battery_wh: number | null;
  mains_wh: number | null;
  transaction_hash: string | null;
  from_block: number | null;
  salt: string | null;
  round: number | null;
  reason: string | null;
  log_tail: string | null;
  accepted_at: number;
}

export class Journal {
  readonly #db: DatabaseSync;

  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    // FULL: a step is on disk before the agent acts on it, even across a power cut.
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    this.#migrate();
  }

  /** Records a new assignment; false if this task is already journaled (a repeated offer). */
  accept(assignment: Assignment, now: number): boolean {
    const result = this.#db
      .prepare(
        `INSERT INTO tasks (task_id, deal_id, idx, trust, deadline, assignment, step, accepted_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'accepted', ?, ?) ON CONFLICT (task_id) DO NOTHING`,
      )
      .run(
        assignment.taskId,
        assignment.dealId,
        assignment.index,
        Number(assignment.trust),
        assignment.deadline,
        JSON.stringify(assignment),
        now,
        now,
      );
    return result.changes === 1;
  }

  /**
   * Takes an abandoned task anew under the pool's new offer (`retakable`): back to `accepted`, with
   * nothing of the earlier run kept (its result and receipt were never used; it is run again).
   * False if the task is not retakable.
   */
  retake(assignment: Assignment, now: number): boolean {
    const result = this.#db
      .prepare(
        `UPDATE tasks SET step = 'accepted', assignment = ?, deadline = ?, digest = NULL, location = NULL,
           milliwatt_hours = NULL, solar_share_bps = NULL, pv_wh = NULL, battery_wh = NULL, mains_wh = NULL,
           reason = NULL, log_tail = NULL, accepted_at = ?, updated_at = ?
         WHERE task_id = ? AND step = 'abandoned' AND from_block IS NULL AND transaction_hash IS NULL AND salt IS NULL`,
      )
      .run(JSON.stringify(assignment), assignment.deadline, now, now, assignment.taskId);
    return result.changes === 1;
  }

  /**
   * Moves a task to `update.step`, recording what that step needs (fields left out are kept).
   * A salt, once journaled, is never replaced: the commitment on-chain may already use it.
   */
  advance(taskId: string, update: TaskUpdate, now: number, report?: TaskReport): void {
    if (report === undefined) this.#move(taskId, update, now);
    else
      this.#inTransaction(() => {
        this.#move(taskId, update, now);
        this.#queueReport(taskId, report, now * 1000);
      });
  }

  #move(taskId: string, update: TaskUpdate, now: number): void {
    const result = this.#db
      .prepare(
        `UPDATE tasks SET step = ?, digest = COALESCE(?, digest), location = COALESCE(?, location),
           milliwatt_hours = COALESCE(?, milliwatt_hours), solar_share_bps = COALESCE(?, solar_share_bps),
           pv_wh = COALESCE(?, pv_wh), battery_wh = COALESCE(?, battery_wh), mains_wh = COALESCE(?, mains_wh),
           transaction_hash = COALESCE(?, transaction_hash), from_block = COALESCE(?, from_block), salt = COALESCE(salt, ?),
           round = COALESCE(?, round), reason = COALESCE(?, reason),
           log_tail = COALESCE(?, log_tail), updated_at = ?
         WHERE task_id = ?`,
      )
      .run(
        update.step,
        update.digest ?? null,
        update.location ?? null,
        update.energy?.milliwattHours ?? null,
        update.energy?.solarShareBps ?? null,
        update.energySplit?.pvWh ?? null,
        update.energySplit?.batteryWh ?? null,
        update.energySplit?.mainsWh ?? null,
        update.transactionHash ?? null,
        update.fromBlock ?? null,
        update.salt ?? null,
        update.round ?? null,
        update.reason ?? null,
        update.logTail ?? null,
        now,
        taskId,
      );
    if (result.changes !== 1) throw new Error(`journal has no task ${taskId}`);
  }

  /**
   * Reports waiting to be sent, oldest first: those due at `nowMs`, or all. A report not due for
   * longer than any backoff is due too: the board's clock went back (an RTC resync).
   */
  queuedReports(nowMs?: number): QueuedReport[] {
    const rows = (nowMs === undefined
      ? this.#db.prepare("SELECT * FROM outbox ORDER BY seq").all()
      : this.#db
          .prepare("SELECT * FROM outbox WHERE next_at <= ? OR next_at > ? ORDER BY seq")
          .all(nowMs, nowMs + MAX_REPORT_BACKOFF_MS)) as unknown as OutboxRow[];
    return rows.map((row) => ({
      seq: row.seq,
      taskId: row.task_id,
      body: JSON.parse(row.body) as TaskReport,
      attempts: row.attempts,
      queuedAt: row.queued_at,
      ...(row.last_error === null ? {} : { lastError: row.last_error }),
    }));
  }

  /** When the next queued report is due (unix ms), if any is queued. */
  nextReportAt(): number | undefined {
    const row = this.#db.prepare("SELECT min(next_at) AS next FROM outbox").get() as { next: number | null };
    return row.next ?? undefined;
  }

  /** Forgets a queued report: the scheduler took it, or refused it for good. */
  unqueueReport(seq: number): void {
    this.#db.prepare("DELETE FROM outbox WHERE seq = ?").run(seq);
  }

  /** Records a failed attempt at a queued report, and when to try again. */
  deferReport(seq: number, nextAtMs: number, error: string): void {
    this.#db
      .prepare("UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE seq = ?")
      .run(Math.min(nextAtMs, Number.MAX_SAFE_INTEGER), error.slice(0, 1000), seq);
  }

  #queueReport(taskId: string, report: TaskReport, nowMs: number): void {
    this.#db
      .prepare(
        `INSERT INTO outbox (task_id, state, body, attempts, next_at, queued_at) VALUES (?, ?, ?, 0, ?, ?)
         ON CONFLICT (task_id, state) DO UPDATE SET body = excluded.body, attempts = 0, next_at = excluded.next_at,
           last_error = NULL, queued_at = excluded.queued_at`,
      )
      .run(taskId, report.state, JSON.stringify(report), nowMs, nowMs);
  }

  #inTransaction(work: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  get(taskId: string): JournaledTask | undefined {
    const row = this.#db.prepare("SELECT * FROM tasks WHERE task_id = ?").get(taskId) as TaskRow | undefined;
    return row === undefined ? undefined : toTask(row);
  }

  /** Tasks not yet in a final step, oldest first: what recovery resumes. */
  open(): JournaledTask[] {
    const rows = this.#db
      .prepare("SELECT * FROM tasks WHERE step NOT IN ('done', 'failed', 'abandoned') ORDER BY accepted_at, task_id")
      .all() as unknown as TaskRow[];
    return rows.map(toTask);
  }

  /** Task counts by step, for status and metrics. */
  counts(): Record<string, number> {
    const rows = this.#db.prepare("SELECT step, COUNT(*) AS n FROM tasks GROUP BY step").all() as {
      step: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((row) => [row.step, row.n]));
  }

  recent(limit: number): JournaledTask[] {
    const rows = this.#db
      .prepare("SELECT * FROM tasks ORDER BY updated_at DESC, task_id LIMIT ?")
      .all(limit) as unknown as TaskRow[];
    return rows.map(toTask);
  }

  /** The app's learned energy and run time, if this worker ran it before. */
  appEnergy(appId: string): { runs: number; wattHours: number; seconds: number } | undefined {
    const row = this.#db.prepare("SELECT runs, watt_hours, seconds FROM app_energy WHERE app_id = ?").get(appId) as
      { runs: number; watt_hours: number; seconds: number } | undefined;
    return row === undefined ? undefined : { runs: row.runs, wattHours: row.watt_hours, seconds: row.seconds };
  }

  /** Folds one measured run into the app's averages (weight 0.3: recent runs count most). */
  recordAppRun(appId: string, wattHours: number, seconds: number): void {
    this.#db
      .prepare(
        `INSERT INTO app_energy (app_id, runs, watt_hours, seconds) VALUES (?, 1, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET runs = runs + 1,
           watt_hours = 0.7 * watt_hours + 0.3 * excluded.watt_hours, seconds = 0.7 * seconds + 0.3 * excluded.seconds`,
      )
      .run(appId, wattHours, seconds);
  }

  pvProfile(): Map<number, number> {
    const rows = this.#db.prepare("SELECT slot, watts FROM pv_profile").all() as { slot: number; watts: number }[];
    return new Map(rows.map((row) => [row.slot, row.watts]));
  }

  /** Folds one PV reading into its time-of-day slot (weight 0.2: a day's weather moves it, one cloud doesn't). */
  recordPv(slot: number, watts: number): void {
    this.#db
      .prepare(
        `INSERT INTO pv_profile (slot, watts, samples) VALUES (?, ?, 1)
         ON CONFLICT (slot) DO UPDATE SET watts = 0.8 * watts + 0.2 * excluded.watts, samples = samples + 1`,
      )
      .run(slot, watts);
  }

  getMeta(key: string): string | undefined {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.#db
      .prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .run(key, value);
  }

  deleteMeta(key: string): void {
    this.#db.prepare("DELETE FROM meta WHERE key = ?").run(key);
  }

  close(): void {
    this.#db.close();
  }

  #migrate(): void {
    const { user_version: current } = this.#db.prepare("PRAGMA user_version").get() as { user_version: number };
    if (current > MIGRATIONS.length) {
      throw new Error(
        `the journal is at schema version ${current.toString()}, newer than this worker knows (${MIGRATIONS.length.toString()}); upgrade sunpool-worker`,
      );
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.#inTransaction(() => {
        this.#db.exec(MIGRATIONS[version]!);
        this.#db.exec(`PRAGMA user_version = ${(version + 1).toString()}`);
      });
    }
  }
}

/**
 * An abandoned task that never reached the chain: no contribution or submission was ever sent for
 * it (no transaction, no block to look in, no salt), so there is nothing to find, reveal or reuse.
 */
export function retakable(task: JournaledTask): boolean {
  return (
    task.step === "abandoned" && task.fromBlock === undefined && task.transactionHash === undefined && task.salt === undefined
  );
}

function toTask(row: TaskRow): JournaledTask {
  return {
    taskId: row.task_id,
    dealId: row.deal_id,
    index: row.idx,
    trust: row.trust,
    deadline: row.deadline,
    assignment: JSON.parse(row.assignment) as Assignment,
    step: row.step,
    ...(row.digest === null ? {} : { digest: row.digest }),
    ...(row.location === null ? {} : { location: row.location }),
    ...(row.milliwatt_hours === null
      ? {}
      : { energy: { milliwattHours: row.milliwatt_hours, solarShareBps: row.solar_share_bps ?? 0 } }),
    ...(row.pv_wh === null || row.battery_wh === null || row.mains_wh === null
      ? {}
      : { energySplit: { pvWh: row.pv_wh, batteryWh: row.battery_wh, mainsWh: row.mains_wh } }),
    ...(row.transaction_hash === null ? {} : { transactionHash: row.transaction_hash }),
    ...(row.from_block === null ? {} : { fromBlock: row.from_block }),
    ...(row.salt === null ? {} : { salt: row.salt }),
    ...(row.round === null ? {} : { round: row.round }),
    ...(row.reason === null ? {} : { reason: row.reason }),
    ...(row.log_tail === null ? {} : { logTail: row.log_tail }),
    acceptedAt: row.accepted_at,
  };
}
