// The scheduler's state in one SQLite file (node:sqlite, no native addon). Every change that must
// survive a crash together is made in one transaction; the chain stays the source of truth for
// money, and this file only remembers what the scheduler learned and decided.
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { SetupError } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";

export type Database = DatabaseSync;

export function openDatabase(path: string): Database {
  const db = new DatabaseSync(path);
  // FULL: a commit is on disk before the scheduler acts on it (e.g. sends the transaction it
  // decided), even across a power cut; WAL keeps readers off the writer's back.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
  migrate(db);
  return db;
}

/** Runs `body` in one write transaction: all of it is committed, or none. */
export function transaction<T>(db: Database, body: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = body();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function migrate(db: Database): void {
  const { user_version: current } = db.prepare("PRAGMA user_version").get() as { user_version: number };
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the database is at schema version ${current.toString()}, newer than this scheduler knows (${MIGRATIONS.length.toString()}); upgrade the scheduler`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    transaction(db, () => {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${(version + 1).toString()}`);
    });
  }
}

export function getMeta(db: Database, key: string): string | undefined {
  const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Database, key: string, value: string): void {
  db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
    key,
    value,
  );
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
