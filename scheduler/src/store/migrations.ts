// Schema migrations for both stores, applied in order: SQLite's `user_version`, PostgreSQL's
// sunpool_schema table hold the number applied. Append only: a released migration is never edited.
// They are written in SQLite's SQL; `migrationSql` turns each into PostgreSQL's (wider integers:
// times are in ms; identity columns for AUTOINCREMENT; no WITHOUT ROWID), so one list serves both.
import type { Dialect } from "./store.js";

/** A migration: one SQL for both stores, or each its own where they must differ. */
export type Migration = string | { sqlite: string; postgres: string };

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- The order book. body is the order as JSON (decimal strings); asset is the app, dataset or
  -- workerpool id the order is about (a request's app), for filters.
  CREATE TABLE orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    signer TEXT NOT NULL,
    params TEXT,
    asset TEXT NOT NULL,
    status TEXT NOT NULL,
    published_at TEXT NOT NULL,
    retry_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
  );
  CREATE INDEX orders_by_kind ON orders (kind, status, seq);
  CREATE TABLE order_deals (order_hash TEXT NOT NULL, deal_id TEXT NOT NULL, PRIMARY KEY (order_hash, deal_id));

  -- Deals of this pool, from DealCreated; app and dataset are the registry records as JSON.
  CREATE TABLE deals (
    deal_id TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    requester TEXT NOT NULL,
    trust INTEGER NOT NULL,
    category INTEGER NOT NULL,
    volume INTEGER NOT NULL,
    start_deadline INTEGER NOT NULL,
    app TEXT NOT NULL,
    dataset TEXT,
    params TEXT,
    block INTEGER NOT NULL
  );

  -- status: waiting (not started) | active (contributions open) | revealing | ended.
  -- deadline: the next on-chain deadline of the task (start, then contribution, then reveal).
  CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (deal_id),
    idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    deadline INTEGER NOT NULL,
    final_deadline INTEGER,
    consensus_hash TEXT,
    result_digest TEXT,
    queued_at INTEGER NOT NULL,
    UNIQUE (deal_id, idx)
  );
  CREATE INDEX tasks_open ON tasks (status, deadline) WHERE status != 'ended';

  -- On-chain contributions in order (finalize and claim need the list).
  CREATE TABLE contributions (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    worker TEXT NOT NULL,
    result_hash TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
  );

  -- One worker's part in one task. state: offered | running | contributed | reveal | revealed |
  -- done | failed | lost | silent.
  CREATE TABLE replicas (
    task_id TEXT NOT NULL REFERENCES tasks (task_id),
    worker TEXT NOT NULL,
    state TEXT NOT NULL,
    authorization TEXT NOT NULL,
    offered_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    location TEXT,
    reason TEXT,
    log_tail TEXT,
    PRIMARY KEY (task_id, worker)
  );
  CREATE INDEX replicas_by_worker ON replicas (worker, state);

  CREATE TABLE workers (
    address TEXT PRIMARY KEY,
    platforms TEXT NOT NULL,
    cores INTEGER NOT NULL,
    memory_mib INTEGER NOT NULL,
    slots INTEGER NOT NULL,
    board TEXT,
    version TEXT,
    ipfs_peers TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    last_seen INTEGER NOT NULL,
    outlook TEXT,
    good INTEGER NOT NULL DEFAULT 0,
    bad INTEGER NOT NULL DEFAULT 0
  );

  -- Signatures of accepted worker requests, kept while their timestamp is inside the window.
  CREATE TABLE seen_requests (signature TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);

  CREATE TABLE pins (cid TEXT PRIMARY KEY, bytes INTEGER NOT NULL, worker TEXT NOT NULL, pinned_at TEXT NOT NULL);
  `,
  // 2 (issue 14): the chain is the source of truth.
  `
  -- Replay protection keyed on what was signed, not on the signature's bytes (one signature has
  -- several valid encodings: v 27/28, v 0/1, 64-byte compact). digest is the EIP-191 hash of the
  -- signed message; kept while its timestamp is inside the accepted window.
  DROP TABLE seen_requests;
  CREATE TABLE seen_messages (
    worker TEXT NOT NULL,
    digest TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (worker, digest)
  ) WITHOUT ROWID;
  CREATE INDEX seen_messages_by_expiry ON seen_messages (expires_at);
  -- The last timestamp accepted from each worker: the next request must carry a later one.
  CREATE TABLE worker_clocks (worker TEXT PRIMARY KEY, last_timestamp INTEGER NOT NULL) WITHOUT ROWID;

  -- Hidden votes (hub v2): a contribution is a commitment made in a round; its digest and the
  -- location of its result are known from ContributionRevealed only. replicas.location is no
  -- longer written: a worker's report never says where the result is.
  ALTER TABLE contributions RENAME COLUMN result_hash TO commitment;
  ALTER TABLE contributions ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE contributions ADD COLUMN digest TEXT;
  ALTER TABLE contributions ADD COLUMN location TEXT;
  -- round: the task's current round; decided: ConsensusReached was seen (result_digest is its
  -- digest); contribution_deadline: from TaskStarted, the deadline again when a round reopens.
  ALTER TABLE tasks ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tasks ADD COLUMN decided INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tasks ADD COLUMN contribution_deadline INTEGER;
  `,
  `
  -- Leases: an offered or running replica is held only while its worker acknowledges and renews
  -- it (lease names this offer; lease_until in ms, NULL for replicas offered before leases, read
  -- as updated_at plus one lease). A failure caused by the worker (declined, stopping) is
  -- 'declined': it hands the task on without counting toward AppFailed.
  ALTER TABLE replicas ADD COLUMN lease TEXT;
  ALTER TABLE replicas ADD COLUMN lease_until INTEGER;
  CREATE INDEX replicas_held ON replicas (state, lease_until) WHERE state IN ('offered', 'running');
  `,
  `
  -- Dashboard history (issue 18), kept here so that a restarted scheduler shows the same past.
  -- One heartbeat sample per worker per minute at most, and every change of state (working, idle,
  -- sleeping, offline); older samples are thinned, then dropped (scheduler/src/dashboard/history.ts).
  -- changed: the state differs from the worker's previous sample (kept when thinning).
  CREATE TABLE worker_samples (
    worker TEXT NOT NULL,
    at INTEGER NOT NULL,
    state TEXT NOT NULL,
    soc REAL,
    pv_watts REAL,
    load_watts REAL,
    awake_seconds INTEGER,
    mains INTEGER NOT NULL DEFAULT 0,
    tasks INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    PRIMARY KEY (worker, at)
  ) WITHOUT ROWID;
  CREATE INDEX worker_samples_by_time ON worker_samples (at);
  -- Energy receipts of this pool's tasks, from ContributionAccepted (the chain has them; this is
  -- the index the charts read). at: when the scheduler saw the replica last change (ms).
  CREATE TABLE energy_receipts (
    task_id TEXT NOT NULL,
    worker TEXT NOT NULL,
    milliwatt_hours INTEGER NOT NULL,
    solar_share_bps INTEGER NOT NULL,
    block INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (task_id, worker)
  ) WITHOUT ROWID;
  CREATE INDEX energy_receipts_by_worker ON energy_receipts (worker, at);
  CREATE INDEX energy_receipts_by_time ON energy_receipts (at);
  `,
  `
  -- Forecast-driven admission (issue 19). declined: why the pool gave a task up before anyone ran
  -- it (no worker can finish it on harvested energy before its deadline), and when (ms); the task
  -- is then ended on-chain with fail(SchedulerGaveUp), which refunds the requester at once.
  ALTER TABLE tasks ADD COLUMN declined TEXT;
  ALTER TABLE tasks ADD COLUMN declined_at INTEGER;
  -- Each app's energy per task, learned from energy receipts (exponentially weighted, bounded:
  -- scheduler/src/dispatch/harvest.ts learnAppEnergy); runs: receipts folded in.
  CREATE TABLE app_energy (
    app TEXT PRIMARY KEY,
    runs INTEGER NOT NULL,
    seconds REAL NOT NULL,
    watt_hours REAL NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  -- Chain follower that survives reorganisations (issue 17). chain_blocks: hashes of the recent
  -- blocks applied (the cursor's among them), to find the fork point. chain_undo: per applied
  -- block, the rows its events changed (JSON before/after, key as {columns, values}), undone newest
  -- first when a reorg removes the block. reorged_replicas: offers of tasks whose deal a reorg
  -- removed, kept (row as JSON) until the canonical chain brings the deal back.
  CREATE TABLE chain_blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
  CREATE TABLE chain_undo (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    block INTEGER NOT NULL,
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    before TEXT,
    after TEXT
  );
  CREATE INDEX chain_undo_by_block ON chain_undo (block);
  CREATE TABLE reorged_replicas (task_id TEXT NOT NULL, worker TEXT NOT NULL, row TEXT NOT NULL, PRIMARY KEY (task_id, worker));
  `,
  `
  -- A worker's report of where a task's energy came from, Wh (issue 19): shown to the requester,
  -- never read by admission or dispatch (they learn from the on-chain energy receipts).
  ALTER TABLE replicas ADD COLUMN pv_wh REAL;
  ALTER TABLE replicas ADD COLUMN battery_wh REAL;
  ALTER TABLE replicas ADD COLUMN mains_wh REAL;
  `,
  `
  -- Each worker's own estimate of an app's energy per task (learnAppEnergy over its receipts); the
  -- app's (app_energy) is their median (harvest.ts appEnergyAcrossWorkers), so no one worker's
  -- receipts carry it. What was learned before stays as one estimate of no known worker.
  CREATE TABLE worker_app_energy (
    app TEXT NOT NULL,
    worker TEXT NOT NULL,
    runs INTEGER NOT NULL,
    seconds REAL NOT NULL,
    watt_hours REAL NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app, worker)
  ) WITHOUT ROWID;
  INSERT INTO worker_app_energy SELECT app, '', runs, seconds, watt_hours, updated_at FROM app_energy;
  `,
  {
    // The deals of an order in the order they were made (was SQLite's rowid, which PostgreSQL
    // lacks): new rows take the next seq (orderBook.ts recordDeal).
    sqlite: `
    ALTER TABLE order_deals ADD COLUMN seq INTEGER;
    UPDATE order_deals SET seq = rowid;
    `,
    postgres: `
    ALTER TABLE order_deals ADD COLUMN seq INTEGER;
    `,
  },
  `
  -- Issue 17: the leader lease of replicas sharing one PostgreSQL database (leader/lease.ts; a
  -- SQLite scheduler is always its own leader and never writes these). One row, id 1: the holder
  -- (replica id and a per-process suffix), its term (epoch, raised at every change of holder), the
  -- URL followers forward to, and times in ms from the database's clock; previous_*: the term it
  -- replaced. leader_terms: one row per term, for operators and the failover test.
  CREATE TABLE scheduler_leader (
    id INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    replica TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    url TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    renewed_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    previous_holder TEXT,
    previous_renewed_at INTEGER,
    previous_expires_at INTEGER
  );
  CREATE TABLE leader_terms (
    epoch INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    replica TEXT NOT NULL,
    url TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    previous_holder TEXT,
    previous_renewed_at INTEGER,
    previous_expires_at INTEGER
  );
  `,
];

/** A migration's SQL for a store: SQLite's as written; PostgreSQL's with its types. */
export function migrationSql(migration: Migration, dialect: Dialect): string {
  const sql = typeof migration === "string" ? migration : migration[dialect];
  if (dialect === "sqlite") return sql;
  return (
    sql
      // SQLite's INTEGER is 64-bit (times in ms, wei amounts as text); PostgreSQL's is 32-bit.
      .replace(/\bINTEGER PRIMARY KEY AUTOINCREMENT\b/g, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
      .replace(/\bINTEGER\b/g, "BIGINT")
      .replace(/\bREAL\b/g, "DOUBLE PRECISION")
      .replace(/\)\s*WITHOUT ROWID/g, ")")
  );
}
