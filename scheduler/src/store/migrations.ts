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
];
