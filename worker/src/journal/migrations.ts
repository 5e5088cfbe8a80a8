// Journal schema migrations, applied in order; `user_version` is the number applied.
// Append only: a released migration is never edited.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- One row per task this worker accepted. step is where the task is in its pipeline (see
  -- journal.ts, TaskStep); every column a later step needs is written before that step begins,
  -- so a restart at any instant resumes from the row alone.
  CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    trust INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    assignment TEXT NOT NULL,
    step TEXT NOT NULL,
    digest TEXT,
    location TEXT,
    milliwatt_hours INTEGER,
    solar_share_bps INTEGER,
    transaction_hash TEXT,
    from_block INTEGER,
    reason TEXT,
    log_tail TEXT,
    accepted_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX tasks_open ON tasks (step) WHERE step NOT IN ('done', 'failed', 'abandoned');

  -- What this worker learned about each app's energy: exponentially weighted averages.
  CREATE TABLE app_energy (
    app_id TEXT PRIMARY KEY,
    runs INTEGER NOT NULL,
    watt_hours REAL NOT NULL,
    seconds REAL NOT NULL
  );

  -- The panel's typical power by time of day (96 slots of 15 minutes), learned from samples.
  CREATE TABLE pv_profile (
    slot INTEGER PRIMARY KEY,
    watts REAL NOT NULL,
    samples INTEGER NOT NULL
  );
  `,
  `
  -- Protocol v2 (hidden votes): the secret salt of a replicated task's commitment, written before
  -- the contribution is sent (it is needed to reveal, and a retry must send the same commitment),
  -- and the round the commitment was accepted in (a later round voids it).
  ALTER TABLE tasks ADD COLUMN salt TEXT;
  ALTER TABLE tasks ADD COLUMN round INTEGER;
  `,
  `
  -- The task's energy by source (Wh: the panel's cover, the battery, mains), metered with the
  -- receipt and written in the same step, so the report sent after a power cut still carries it.
  ALTER TABLE tasks ADD COLUMN pv_wh REAL;
  ALTER TABLE tasks ADD COLUMN battery_wh REAL;
  ALTER TABLE tasks ADD COLUMN mains_wh REAL;
  `,
  `
  -- Reports the scheduler has not acknowledged yet. A report is the only carrier of a failure's
  -- reason and log tail and of the energy split, so it is written here (in the same transaction as
  -- the step it follows) before the first attempt and deleted once the scheduler answers; the
  -- agent sends what is left again, after a refusal of service or a power cut alike. One row per
  -- task and reported state: a report queued again replaces the earlier one. Times in unix ms.
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    queued_at INTEGER NOT NULL,
    UNIQUE (task_id, state)
  );
  `,
];
