// `npm run devnet -- --postgres`: the pool's scheduler keeps its state in PostgreSQL instead of
// SQLite, on the private server scripts/postgres.sh runs (installed and started the first time). The
// devnet's chain is new at every start, so its schema is emptied at every start, like its folders.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";

import pg from "pg";

/** The schema the devnet's scheduler uses on the local server (tests use their own, sunpool_test_*). */
export const DEVNET_SCHEMA = "sunpool_devnet";

/** The server's URL with its search path on an emptied `DEVNET_SCHEMA`. */
export async function freshDevnetDatabase(root: string): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [resolve(root, "scripts/postgres.sh"), "ensure"], { timeout: 600_000 });
  const base = stdout.trim();
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${DEVNET_SCHEMA} CASCADE`);
    await client.query(`CREATE SCHEMA ${DEVNET_SCHEMA}`);
  } finally {
    await client.end();
  }
  return `${base}?options=${encodeURIComponent(`-c search_path=${DEVNET_SCHEMA}`)}`;
}
