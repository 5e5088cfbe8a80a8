// The scheduler's store: one async, transactional interface over SQL, with two backends. SQLite
// (sqlite.ts, one file in the data folder) is the embedded default; PostgreSQL (postgres.ts) is
// chosen with `store: { postgres: url }`. The scheduler writes one SQL: `?` placeholders and what
// both engines accept (ON CONFLICT, coalesce, CASE); the few places that differ ask `dialect`.
// Migrations for both come from migrations.ts.

export type SqlValue = string | number | bigint | null;
export type Row = Record<string, SqlValue>;

export type Dialect = "sqlite" | "postgres";

export interface Store {
  readonly dialect: Dialect;
  /** Where the data is, for logs and errors (no credentials). */
  readonly location: string;
  /** The first row, or undefined. */
  get<T = Row>(sql: string, ...params: SqlValue[]): Promise<T | undefined>;
  all<T = Row>(sql: string, ...params: SqlValue[]): Promise<T[]>;
  /** A statement without rows; `changes` is the number of rows it inserted, updated or deleted. */
  run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }>;
  /**
   * Runs `body` in one write transaction: all of it is committed, or none. Every query made while
   * `body` runs (in its async context) belongs to the transaction; a transaction begun inside
   * another joins it. Transactions of one process run one at a time, as SQLite's writers do.
   */
  transaction<T>(body: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Which store a scheduler uses: SQLite in its data folder, or a PostgreSQL database. */
export type StoreConfig = { sqlite: string } | { postgres: string };

/** Opens the store and brings its schema up to date. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if ("postgres" in config) {
    const { openPostgres } = await import("./postgres.js");
    return openPostgres(config.postgres);
  }
  const { openSqlite } = await import("./sqlite.js");
  return openSqlite(config.sqlite);
}

export async function getMeta(db: Store, key: string): Promise<string | undefined> {
  const row = await db.get<{ value: string }>("SELECT value FROM meta WHERE key = ?", key);
  return row?.value;
}

export async function setMeta(db: Store, key: string, value: string): Promise<void> {
  await db.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
}

/** A JSON document's top-level field as text (the order book's filters): `column` holds JSON text. */
export function jsonText(dialect: Dialect, column: string, field: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(field)) throw new Error(`not a JSON field name: ${field}`);
  return dialect === "postgres" ? `(${column}::jsonb ->> '${field}')` : `json_extract(${column}, '$.${field}')`;
}

/** Serializes async work: `run` waits for every earlier call to settle. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(body: () => Promise<T>): Promise<T> {
    const result = this.tail.then(body, body);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
