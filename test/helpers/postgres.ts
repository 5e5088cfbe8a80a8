// PostgreSQL for the scheduler's tests: the private server of scripts/postgres.sh (started once per
// test process), and one schema per scheduler data folder, so a scheduler restarted on the same
// folder finds its state again and two schedulers never share theirs.
// SUNPOOL_TEST_STORE=postgres runs every scheduler the test helpers start on PostgreSQL.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";

import pg from "pg";

import type { StoreConfig } from "../../scheduler/src/store/store.js";

const run = promisify(execFile);
let server: Promise<string> | undefined;

/** The server's URL (`bash scripts/postgres.sh ensure`: installs and starts it the first time). */
export function postgresServer(): Promise<string> {
  server ??= run("bash", ["scripts/postgres.sh", "ensure"], { timeout: 300_000 }).then(({ stdout }) => stdout.trim());
  return server;
}

/** A URL whose tables live in their own schema (created if missing), named after `key`. */
export async function postgresSchemaUrl(key: string): Promise<string> {
  const base = await postgresServer();
  const schema = `sunpool_test_${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } finally {
    await client.end();
  }
  return `${base}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** Whether the scheduler suites run on PostgreSQL (SUNPOOL_TEST_STORE=postgres) rather than SQLite. */
export const onPostgres = process.env.SUNPOOL_TEST_STORE === "postgres";

/** The store for a scheduler on `dataDir` in tests: SQLite in it (undefined), or its PostgreSQL schema. */
export async function testStore(dataDir: string): Promise<StoreConfig | undefined> {
  return onPostgres ? { postgres: await postgresSchemaUrl(dataDir) } : undefined;
}
