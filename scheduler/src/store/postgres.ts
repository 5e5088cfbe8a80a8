// The PostgreSQL store (the `pg` client): `store: { postgres: url }` in the scheduler config. The
// scheduler's SQL is written once with `?` placeholders; this turns it into PostgreSQL's ($1, $2…,
// and the one column name PostgreSQL reserves quoted). A transaction takes one client from the
// pool for all its queries (found through the async context, so the code inside it is the same as
// outside); queries outside a transaction take any client. Transactions of this process run one at
// a time, as they do on SQLite, so the scheduler's read-then-write steps keep their meaning.
import { AsyncLocalStorage } from "node:async_hooks";

import pg from "pg";

import { SetupError, StoreUnreachableError } from "../errors.js";
import { MIGRATIONS, migrationSql } from "./migrations.js";
import { Mutex, type Row, type SqlValue, type Store } from "./store.js";

/** 64-bit integers (counts, times in ms) as numbers: every value the scheduler keeps is below 2^53. */
const INT8 = 20;
/** numeric (avg, sum of integers) as a number. */
const NUMERIC = 1700;
const TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === INT8 || oid === NUMERIC) return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format) as (text: string) => unknown;
  }) as typeof pg.types.getTypeParser,
};

/** Error codes and classes that mean the server cannot be reached or refuses this client. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET", "EAI_AGAIN"]);
/** SQLSTATE classes 08 (connection), 28 (authorization), 3D000 (no such database), 57P (shutdown). */
const UNREACHABLE_STATES = /^(08|28|3D000|57P0[1-3])/;

/** Placeholders and quoting, per SQL text (the scheduler's statements are a fixed set). */
const translated = new Map<string, string>();

/**
 * The scheduler's SQL in PostgreSQL's words: `?` becomes `$1`, `$2`…; `authorization` (a column of
 * replicas, reserved in PostgreSQL) is quoted. String literals, quoted names and comments are left
 * as they are.
 */
export function postgresSql(sql: string): string {
  const known = translated.get(sql);
  if (known !== undefined) return known;
  let out = "";
  let index = 0;
  let placeholder = 0;
  while (index < sql.length) {
    const char = sql[index]!;
    if (char === "'" || char === '"') {
      const end = sql.indexOf(char, index + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(index, stop);
      index = stop;
    } else if (char === "-" && sql[index + 1] === "-") {
      const end = sql.indexOf("\n", index);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(index, stop);
      index = stop;
    } else if (char === "?") {
      out += `$${(++placeholder).toString()}`;
      index++;
    } else if (/[A-Za-z_]/.test(char)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(index))![0];
      out += word.toLowerCase() === "authorization" ? '"authorization"' : word;
      index += word.length;
    } else {
      out += char;
      index++;
    }
  }
  if (translated.size < 4096) translated.set(sql, out);
  return out;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an invalid PostgreSQL URL)";
  }
}

function unreachable(error: unknown, where: string): StoreUnreachableError | undefined {
  const { code } = (error ?? {}) as { code?: string };
  const message = error instanceof Error ? error.message : String(error);
  const connection = /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
  if (!(code !== undefined && (UNREACHABLE_CODES.has(code) || UNREACHABLE_STATES.test(code))) && !connection) return undefined;
  return new StoreUnreachableError(
    `cannot reach the scheduler's database, PostgreSQL at ${where} (${code ?? message}): start PostgreSQL or fix ` +
      "`store.postgres` in the scheduler config (for a local server: bash scripts/postgres.sh ensure); " +
      "the scheduler retries on its next pass",
    { cause: error },
  );
}

class PostgresStore implements Store {
  readonly dialect = "postgres";
  private readonly context = new AsyncLocalStorage<pg.PoolClient>();
  private readonly writers = new Mutex();

  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  async get<T = Row>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async all<T = Row>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  transaction<T>(body: () => Promise<T>): Promise<T> {
    if (this.context.getStore() !== undefined) return body();
    return this.writers.run(async () => {
      const client = await this.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        try {
          const result = await this.context.run(client, body);
          await client.query("COMMIT");
          return result;
        } catch (error) {
          await client.query("ROLLBACK").catch((rollback: unknown) => {
            broken = rollback instanceof Error ? rollback : new Error(String(rollback));
          });
          throw error;
        }
      } catch (error) {
        throw unreachable(error, this.location) ?? error;
      } finally {
        // A client whose rollback failed is dropped, not handed to the next transaction.
        client.release(broken);
      }
    });
  }

  async close(): Promise<void> {
    await this.writers.run(() => Promise.resolve());
    await this.pool.end();
  }

  /** Runs SQL without placeholders, several statements at once (migrations). */
  async script(sql: string): Promise<void> {
    await this.query(sql, []);
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw unreachable(error, this.location) ?? error;
    }
  }

  private async query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    const client = this.context.getStore();
    const text = postgresSql(sql);
    try {
      const values = params.map((value) => (typeof value === "bigint" ? value.toString() : value));
      return await (client ?? this.pool).query(text, values.length === 0 ? undefined : values);
    } catch (error) {
      throw unreachable(error, this.location) ?? error;
    }
  }
}

/**
 * Opens the PostgreSQL store at `url` and migrates it: one migration at a time under an advisory
 * lock, so schedulers starting together on one database apply each once.
 */
export async function openPostgres(url: string): Promise<Store> {
  const location = redact(url);
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({ connectionString: url, types: TYPES, max: 10, connectionTimeoutMillis: 10_000 });
  } catch (error) {
    throw new SetupError(
      `store.postgres is not a PostgreSQL URL (${location}): write postgres://user:password@host:port/database`,
      {
        cause: error,
      },
    );
  }
  // An idle client whose server went away emits 'error'; the next query reports it (StoreUnreachableError).
  pool.on("error", () => undefined);
  const store = new PostgresStore(pool, location);
  try {
    await store.transaction(async () => {
      await store.script("SELECT pg_advisory_xact_lock(7268540)"); // "sunpool" schema lock
      await store.script("CREATE TABLE IF NOT EXISTS sunpool_schema (version INTEGER NOT NULL)");
      const row = await store.get<{ version: number }>("SELECT version FROM sunpool_schema");
      const current = row?.version ?? 0;
      if (row === undefined) await store.run("INSERT INTO sunpool_schema (version) VALUES (0)");
      if (current > MIGRATIONS.length) {
        throw new SetupError(
          `the database is at schema version ${current.toString()}, newer than this scheduler knows (${MIGRATIONS.length.toString()}); upgrade the scheduler`,
        );
      }
      for (let version = current; version < MIGRATIONS.length; version++) {
        await store.script(migrationSql(MIGRATIONS[version]!, "postgres"));
      }
      await store.run("UPDATE sunpool_schema SET version = ?", MIGRATIONS.length);
    });
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return store;
}
