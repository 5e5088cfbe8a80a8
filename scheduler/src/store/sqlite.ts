// The embedded store: one SQLite file (node:sqlite, no native addon) in the scheduler's data
// folder. node:sqlite is synchronous; this wraps it in the Store interface. A transaction holds the
// one connection: queries from outside it wait until it ends (they would otherwise read its
// uncommitted rows, or write into it), queries from inside it run at once.
import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

import { SetupError } from "../errors.js";
import { MIGRATIONS, migrationSql } from "./migrations.js";
import { Mutex, type Row, type SqlValue, type Store } from "./store.js";

/** Prepared statements kept per connection; dynamic SQL (filters, the undo journal) stays few. */
const STATEMENT_CACHE = 512;

class SqliteStore implements Store {
  readonly dialect = "sqlite";
  private readonly statements = new Map<string, StatementSync>();
  private readonly writers = new Mutex();
  private readonly context = new AsyncLocalStorage<object>();
  /** The transaction holding the connection, and a promise settled when it ends. */
  private owner: object | undefined;
  private ended: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: DatabaseSync,
    readonly location: string,
  ) {}

  async get<T = Row>(sql: string, ...params: SqlValue[]): Promise<T | undefined> {
    await this.turn();
    return this.statement(sql).get(...(params as SQLInputValue[])) as T | undefined;
  }

  async all<T = Row>(sql: string, ...params: SqlValue[]): Promise<T[]> {
    await this.turn();
    return this.statement(sql).all(...(params as SQLInputValue[])) as T[];
  }

  async run(sql: string, ...params: SqlValue[]): Promise<{ changes: number }> {
    await this.turn();
    return { changes: Number(this.statement(sql).run(...(params as SQLInputValue[])).changes) };
  }

  transaction<T>(body: () => Promise<T>): Promise<T> {
    if (this.owner !== undefined && this.context.getStore() === this.owner) return body();
    return this.writers.run(async () => {
      const token = {};
      let end!: () => void;
      this.ended = new Promise((resolve) => (end = resolve));
      this.owner = token;
      try {
        this.db.exec("BEGIN IMMEDIATE");
        try {
          const result = await this.context.run(token, body);
          this.db.exec("COMMIT");
          return result;
        } catch (error) {
          if (this.db.isTransaction) this.db.exec("ROLLBACK");
          throw error;
        }
      } finally {
        this.owner = undefined;
        end();
      }
    });
  }

  async close(): Promise<void> {
    await this.writers.run(() => Promise.resolve());
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  /** Waits while a transaction this caller is not part of holds the connection. */
  private async turn(): Promise<void> {
    while (this.owner !== undefined && this.context.getStore() !== this.owner) await this.ended;
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      if (this.statements.size >= STATEMENT_CACHE) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** Opens (creating it if needed) the SQLite store at `path` and migrates it. */
export function openSqlite(path: string): Store {
  const db = new DatabaseSync(path);
  // FULL: a commit is on disk before the scheduler acts on it (e.g. sends the transaction it
  // decided), even across a power cut; WAL keeps readers off the writer's back.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
  try {
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db, `SQLite at ${path}`);
}

function migrate(db: DatabaseSync): void {
  const { user_version: current } = db.prepare("PRAGMA user_version").get() as { user_version: number };
  if (current > MIGRATIONS.length) {
    throw new SetupError(
      `the database is at schema version ${current.toString()}, newer than this scheduler knows (${MIGRATIONS.length.toString()}); upgrade the scheduler`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(migrationSql(MIGRATIONS[version]!, "sqlite"));
      db.exec(`PRAGMA user_version = ${(version + 1).toString()}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}

/** Another process runs a scheduler on this data folder. */
export class DataDirLockedError extends SetupError {
  override name = "DataDirLockedError";
}

/** Held while a scheduler runs on a data folder; `release` lets the next one in. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes the data folder for this process, or refuses with the holder's PID. The lock is SQLite's
 * own exclusive lock on `scheduler.lock` (an OS file lock: the kernel drops it when the process
 * dies, even by kill -9, so a stale lock never blocks a restart); `scheduler.pid` beside it only
 * names the holder in the error. The database itself stays in normal locking mode, so backups and
 * `sqlite3` can still read it while the scheduler runs.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, "scheduler.lock");
  const pidFile = join(dataDir, "scheduler.pid");
  const lock = new DatabaseSync(path);
  try {
    // EXCLUSIVE locking mode keeps the write lock of the first transaction until the connection
    // closes; busy_timeout 0: a held lock is an answer, not something to wait for.
    lock.exec("PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = DELETE;");
    lock.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL); COMMIT;");
  } catch (error) {
    lock.close();
    // SQLITE_BUSY (5): another connection, in this process or another, holds the lock.
    if ((error as { errcode?: number }).errcode !== 5) throw error;
    let holder = "another process";
    try {
      const [pid, host] = readFileSync(pidFile, "utf8").trim().split(/\s+/);
      if (pid !== undefined && pid.length > 0) holder = `process ${pid}${host === undefined ? "" : ` on ${host}`}`;
    } catch {
      // No pid file yet: the holder is starting.
    }
    throw new DataDirLockedError(
      `the data folder ${dataDir} is in use by ${holder}: one scheduler process per data folder (SQLite). ` +
        "Stop that process first, or give this one another dataDir (a second replica needs PostgreSQL).",
    );
  }
  writeFileSync(pidFile, `${process.pid.toString()} ${hostname()}\n`);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      lock.close();
    },
  };
}
