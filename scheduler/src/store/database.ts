// The scheduler's state in one SQLite file (node:sqlite, no native addon). Every change that must
// survive a crash together is made in one transaction; the chain stays the source of truth for
// money, and this file only remembers what the scheduler learned and decided.
import { DatabaseSync } from "node:sqlite";

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
