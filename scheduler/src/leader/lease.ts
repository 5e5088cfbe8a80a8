// The leader lease of scheduler replicas sharing one PostgreSQL database (issue 17). One row
// (scheduler_leader, id 1) names the holder; it is taken or renewed by one guarded upsert that
// succeeds only when the row is expired or already ours, with every time from the database's clock
// (`now()`), so replicas never compare their own clocks. A leader renews every `renewMs`; a
// follower tries every `retryMs`, and takes the row once it has expired: a leader killed with -9 is
// replaced within `leaseMs + retryMs` of its last renewal.
//
// The ordering guarantee: a leader counts its lease from the START of the renewal that granted it,
// on its own monotonic clock, and stops acting `marginMs` before that lease ends. The database
// dates the same lease from when it ran the statement, which is later, so a replica cut off from
// the database has stopped acting before the row can expire for the others. A lease row rather
// than pg_try_advisory_lock: an advisory lock belongs to a session, which the server keeps until
// TCP keepalive notices a partitioned client (minutes by default), and the holder cannot tell from
// its side when the server has let go; with the row both sides count the same 1.5 s.
//
// Writes of the leader's scheduler go through `fence` (leader/fencedStore.ts): at the end of the
// same transaction, the row is read FOR SHARE with our holder and epoch, so a deposed leader's late
// write is refused, and no other replica can take the row between the fence and the COMMIT.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

import pg from "pg";
import type { Logger } from "pino";

import { postgresSql } from "../store/postgres.js";
import type { Store } from "../store/store.js";

/** The lease a leader holds (ms): a killed leader is replaced within this plus `retryMs`. */
export const DEFAULT_LEASE_MS = 1500;
/** How often a leader renews (ms). */
export const DEFAULT_RENEW_MS = 500;
/** How often a follower tries to take an expired lease (ms). */
export const DEFAULT_RETRY_MS = 250;
/** How long before its lease ends a leader stops acting (ms). */
export const DEFAULT_MARGIN_MS = 150;

export interface LeaseOptions {
  /** The PostgreSQL URL of the scheduler's store (the lease uses its own connection). */
  url: string;
  /** This replica's name (config `replica.id`); the holder adds a per-process suffix. */
  replica: string;
  /** Where other replicas forward API requests while this one leads. */
  advertiseUrl: string;
  leaseMs?: number;
  renewMs?: number;
  retryMs?: number;
  marginMs?: number;
  log: Logger;
}

/** The lease row as read: who leads, since when, until when (ms on the database's clock). */
export interface LeaderRow {
  holder: string;
  replica: string;
  epoch: number;
  url: string;
  acquiredAt: number;
  renewedAt: number;
  expiresAt: number;
  previousHolder: string | null;
  previousRenewedAt: number | null;
  previousExpiresAt: number | null;
}

export type Role = "leader" | "follower";

/** A write of a replica that is no longer the leader: refused, and the replica steps down. */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
}

const MS = "(extract(epoch from now()) * 1000)::bigint";

// Taken when free (no row, or expired) or ours; a new term (epoch + 1, acquired_at now) unless it
// is our own unexpired term being renewed. The term's row in leader_terms is written with it.
const ACQUIRE = `
WITH up AS (
  INSERT INTO scheduler_leader (id, holder, replica, epoch, url, acquired_at, renewed_at, expires_at)
  VALUES (1, ?, ?, 1, ?, ${MS}, ${MS}, ${MS} + ?)
  ON CONFLICT (id) DO UPDATE SET
    epoch = CASE WHEN ours THEN scheduler_leader.epoch ELSE scheduler_leader.epoch + 1 END,
    acquired_at = CASE WHEN ours THEN scheduler_leader.acquired_at ELSE ${MS} END,
    previous_holder = CASE WHEN ours THEN scheduler_leader.previous_holder ELSE scheduler_leader.holder END,
    previous_renewed_at = CASE WHEN ours THEN scheduler_leader.previous_renewed_at ELSE scheduler_leader.renewed_at END,
    previous_expires_at = CASE WHEN ours THEN scheduler_leader.previous_expires_at ELSE scheduler_leader.expires_at END,
    holder = excluded.holder,
    replica = excluded.replica,
    url = excluded.url,
    renewed_at = ${MS},
    expires_at = excluded.expires_at
  WHERE scheduler_leader.holder = excluded.holder OR scheduler_leader.expires_at <= ${MS}
  RETURNING *
), term AS (
  INSERT INTO leader_terms (epoch, holder, replica, url, acquired_at, previous_holder, previous_renewed_at, previous_expires_at)
  SELECT epoch, holder, replica, url, acquired_at, previous_holder, previous_renewed_at, previous_expires_at
  FROM up WHERE acquired_at = renewed_at
  ON CONFLICT (epoch) DO NOTHING
)
SELECT * FROM up`;

// "ours": the row is this process's, unexpired, and the term it knows (a lapsed term starts anew).
const OURS = `(scheduler_leader.holder = excluded.holder AND scheduler_leader.expires_at > ${MS} AND scheduler_leader.epoch = ?)`;

function toRow(row: Record<string, string | number | null>): LeaderRow {
  const num = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return {
    holder: String(row.holder),
    replica: String(row.replica),
    epoch: Number(row.epoch),
    url: String(row.url),
    acquiredAt: Number(row.acquired_at),
    renewedAt: Number(row.renewed_at),
    expiresAt: Number(row.expires_at),
    previousHolder: row.previous_holder === null || row.previous_holder === undefined ? null : String(row.previous_holder),
    previousRenewedAt: num(row.previous_renewed_at),
    previousExpiresAt: num(row.previous_expires_at),
  };
}

export class LeaderLease {
  readonly holder: string;
  readonly replica: string;
  readonly leaseMs: number;
  readonly renewMs: number;
  readonly retryMs: number;
  readonly marginMs: number;
  private readonly pool: pg.Pool;
  private readonly log: Logger;
  private readonly listeners: ((role: Role, reason: string) => void)[] = [];
  private role_: Role = "follower";
  private epoch_ = 0;
  /** Monotonic ms until which this replica may act as leader. */
  private validUntil = -Infinity;
  private leader_: LeaderRow | undefined;
  private lastError_: string | undefined;
  private loop: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: LeaseOptions) {
    this.replica = options.replica;
    this.holder = `${options.replica}/${randomUUID().slice(0, 8)}`;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.renewMs = options.renewMs ?? DEFAULT_RENEW_MS;
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    this.marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
    if (!(this.renewMs + this.marginMs < this.leaseMs)) {
      throw new Error(
        `a leader must renew (${this.renewMs.toString()} ms) well within its lease (${this.leaseMs.toString()} ms)`,
      );
    }
    this.log = options.log;
    // Its own connection, with a client-side timeout: a renewal cut off by a partition gives up
    // after one lease instead of waiting for TCP, and the next try starts on a fresh connection.
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: 1,
      connectionTimeoutMillis: this.leaseMs,
      query_timeout: this.leaseMs,
      statement_timeout: this.leaseMs,
      keepAlive: true,
    });
    this.pool.on("error", () => undefined);
  }

  get role(): Role {
    return this.role_;
  }

  /** The term this replica leads (0 while it follows). */
  get epoch(): number {
    return this.role_ === "leader" ? this.epoch_ : 0;
  }

  /** The lease row as last read (this replica's own while it leads); undefined if never read. */
  get leader(): LeaderRow | undefined {
    return this.leader_;
  }

  /** The last renewal's failure, until one succeeds. */
  get lastError(): string | undefined {
    return this.lastError_;
  }

  /** Whether this replica leads and will for at least `marginMs` more (its own clock). */
  isLeader(marginMs = 0): boolean {
    return this.role_ === "leader" && performance.now() + marginMs < this.validUntil;
  }

  /** Called on every change of role, with the reason. */
  onChange(listener: (role: Role, reason: string) => void): void {
    this.listeners.push(listener);
  }

  /** Makes the first attempt (its outcome is known when this resolves), then keeps trying. */
  async start(): Promise<void> {
    await this.tick();
  }

  /**
   * The fence for a leader's write: call inside the write's transaction on `db`, last. The row is
   * read FOR SHARE, so no other replica takes the lease before this transaction ends.
   */
  async fence(db: Store): Promise<void> {
    if (!this.isLeader()) throw new NotLeaderError(`replica ${this.holder} no longer leads: its write is refused`);
    const row = await db.get(
      `SELECT epoch FROM scheduler_leader WHERE id = 1 AND holder = ? AND epoch = ? AND expires_at > ${MS} FOR SHARE`,
      this.holder,
      this.epoch_,
    );
    if (row === undefined) {
      this.stepDown("the lease row names another holder or term, or has expired (fence)");
      throw new NotLeaderError(`replica ${this.holder} lost the lease (term ${this.epoch_.toString()}): its write is refused`);
    }
  }

  /** Stops trying; a leader gives the row up at once (expires it) so a follower takes over now. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.loop);
    clearTimeout(this.expiry);
    await this.running;
    const wasLeader = this.role_ === "leader";
    if (wasLeader) this.stepDown("stopping");
    try {
      if (wasLeader) {
        await this.pool.query(
          postgresSql(`UPDATE scheduler_leader SET expires_at = ${MS} WHERE id = 1 AND holder = ? AND epoch = ?`),
          [this.holder, this.epoch_],
        );
      }
    } catch (error) {
      this.log.warn({ err: error }, "could not release the leader lease; it expires by itself");
    } finally {
      await this.pool.end().catch(() => undefined);
    }
  }

  private tick(): Promise<void> {
    this.running = this.attempt().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(startedAt: number): void {
    if (this.stopped) return;
    const every = this.role_ === "leader" ? this.renewMs : this.retryMs;
    this.loop = setTimeout(() => void this.tick(), Math.max(0, startedAt + every - performance.now()));
  }

  private async attempt(): Promise<void> {
    const startedAt = performance.now();
    try {
      const sql = postgresSql(ACQUIRE.replaceAll("ours", OURS));
      // OURS appears five times, each with the epoch this process knows.
      const epochs = Array.from({ length: 5 }, () => this.epoch_);
      const { rows } = await this.pool.query(sql, [
        this.holder,
        this.options.replica,
        this.options.advertiseUrl,
        this.leaseMs,
        ...epochs,
      ]);
      this.lastError_ = undefined;
      const mine = rows[0] as Record<string, string | number | null> | undefined;
      if (mine !== undefined) {
        const row = toRow(mine);
        this.leader_ = row;
        if (this.stopped) return;
        this.validUntil = startedAt + this.leaseMs - this.marginMs;
        clearTimeout(this.expiry);
        this.expiry = setTimeout(() => this.checkExpiry(), Math.max(0, this.validUntil - performance.now()));
        if (this.role_ !== "leader" || this.epoch_ !== row.epoch) {
          this.epoch_ = row.epoch;
          this.role_ = "leader";
          this.log.warn(
            {
              event: "leader-elected",
              replica: this.holder,
              epoch: row.epoch,
              acquiredAt: row.acquiredAt,
              previous: row.previousHolder,
              previousExpiresAt: row.previousExpiresAt,
            },
            "this replica leads the pool",
          );
          this.emit("leader", `took the lease (term ${row.epoch.toString()})`);
        }
      } else {
        const { rows: current } = await this.pool.query("SELECT * FROM scheduler_leader WHERE id = 1");
        this.leader_ = current[0] === undefined ? undefined : toRow(current[0] as Record<string, string | number | null>);
        if (this.role_ === "leader") this.stepDown(`replica ${this.leader_?.holder ?? "(none)"} holds the lease`);
      }
    } catch (error) {
      this.lastError_ = error instanceof Error ? error.message : String(error);
      this.log.warn({ err: error, role: this.role_ }, "could not reach the database to renew or take the leader lease");
      this.checkExpiry();
    } finally {
      this.schedule(startedAt);
    }
  }

  private checkExpiry(): void {
    if (this.role_ !== "leader") return;
    const left = this.validUntil - performance.now();
    if (left > 0) {
      clearTimeout(this.expiry);
      this.expiry = setTimeout(() => this.checkExpiry(), left);
      return;
    }
    this.stepDown(`the lease was not renewed within ${(this.leaseMs - this.marginMs).toString()} ms`);
  }

  private stepDown(reason: string): void {
    if (this.role_ !== "leader") return;
    this.role_ = "follower";
    this.validUntil = -Infinity;
    clearTimeout(this.expiry);
    this.log.warn(
      { event: "leader-stepped-down", replica: this.holder, epoch: this.epoch_, at: Date.now(), reason },
      "this replica stopped leading",
    );
    this.emit("follower", reason);
  }

  private emit(role: Role, reason: string): void {
    for (const listener of this.listeners) {
      try {
        listener(role, reason);
      } catch (error) {
        this.log.error({ err: error }, "a leader-change listener failed");
      }
    }
  }
}
