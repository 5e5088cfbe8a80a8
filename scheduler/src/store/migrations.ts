// Schema migrations, applied in order; the database's `user_version` is the number applied.
// Append only: a released migration is never edited.
export const MIGRATIONS: readonly string[] = [
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
];
