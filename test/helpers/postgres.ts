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
/** This test process's start (s): its schemas carry it, so a later run can drop stale ones. */
const STARTED = Math.floor(Date.now() / 1000);
/** Schemas of test runs that started longer ago than this are dropped (s). */
const STALE_AFTER = 6 * 3600;

/**
 * The server's URL (`bash scripts/postgres.sh ensure`: installs and starts it the first time).
 * The first call of a test process drops the schemas that runs older than six hours left behind.
 */
export function postgresServer(): Promise<string> {
  server ??= run("bash", ["scripts/postgres.sh", "ensure"], { timeout: 300_000 }).then(async ({ stdout }) => {
    const url = stdout.trim();
    await withClient(url, async (client) => {
      const { rows } = await client.query<{ name: string }>(
        "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'sunpool\\_test\\_%'",
      );
      for (const { name } of rows) {
        const started = Number(/^sunpool_test_(\d+)_/.exec(name)?.[1] ?? 0);
        if (started < STARTED - STALE_AFTER) await client.query(`DROP SCHEMA ${name} CASCADE`);
      }
    });
    return url;
  });
  return server;
}

async function withClient(url: string, body: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await body(client);
  } finally {
    await client.end();
  }
}

/** A URL whose tables live in their own schema (created if missing), named after `key`. */
export async function postgresSchemaUrl(key: string): Promise<string> {
  const base = await postgresServer();
  const schema = `sunpool_test_${STARTED.toString()}_${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
  await withClient(base, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  });
  return `${base}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** Whether the scheduler suites run on PostgreSQL (SUNPOOL_TEST_STORE=postgres) rather than SQLite. */
export const onPostgres = process.env.SUNPOOL_TEST_STORE === "postgres";

/** The store for a scheduler on `dataDir` in tests: SQLite in it (undefined), or its PostgreSQL schema. */
export async function testStore(dataDir: string): Promise<StoreConfig | undefined> {
  return onPostgres ? { postgres: await postgresSchemaUrl(dataDir) } : undefined;
}
