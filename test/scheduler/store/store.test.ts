// The scheduler's store contract, run on both backends: SQLite in a temporary folder, and
// PostgreSQL (the private server of scripts/postgres.sh, started here; each run in its own schema).
// What the scheduler counts on: the same schema from the one list of migrations, 64-bit integers
// and reals as numbers, `changes`, all-or-nothing transactions that never show their uncommitted
// rows to anyone else and run one at a time, and a clear error when PostgreSQL cannot be reached.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";

import { StoreUnreachableError } from "../../../scheduler/src/errors.js";
import { MIGRATIONS } from "../../../scheduler/src/store/migrations.js";
import { openStore, type Store, type StoreConfig } from "../../../scheduler/src/store/store.js";
import { postgresSchemaUrl } from "../../helpers/postgres.js";
import { until } from "../../helpers/wait.js";
import { freePort } from "../../sdk/helpers/chain.js";
import { startMarket } from "../../sdk/helpers/market.js";

const BACKENDS: { name: string; config: () => Promise<StoreConfig> }[] = [
  { name: "SQLite", config: () => Promise.resolve({ sqlite: join(mkdtempSync(join(tmpdir(), "sunpool-store-")), "s.sqlite") }) },
  {
    name: "PostgreSQL",
    config: async () => ({ postgres: await postgresSchemaUrl(mkdtempSync(join(tmpdir(), "sunpool-store-"))) }),
  },
];

/** Every table of the scheduler's schema with its columns, in order, as the engine reports them. */
async function schemaOf(store: Store): Promise<Record<string, string[]>> {
  const rows =
    store.dialect === "sqlite"
      ? await store.all<{ tbl: string; col: string }>(
          `SELECT m.name AS tbl, c.name AS col FROM sqlite_schema m, pragma_table_info(m.name) c
           WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, c.cid`,
        )
      : await store.all<{ tbl: string; col: string }>(
          `SELECT table_name AS tbl, column_name AS col FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name != 'sunpool_schema' ORDER BY table_name, ordinal_position`,
        );
  const schema: Record<string, string[]> = {};
  for (const { tbl, col } of rows) (schema[tbl] ??= []).push(col);
  return schema;
}

/** A promise and the function that settles it (to hold a transaction open at a known point). */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const schemas: Record<string, Record<string, string[]>> = {};

for (const backend of BACKENDS) {
  describe(`scheduler store: ${backend.name}`, function () {
    // The first PostgreSQL test may install (apt) and start the server.
    this.timeout(300_000);
    let config: StoreConfig;
    let store: Store;

    beforeEach(async function () {
      config = await backend.config();
      store = await openStore(config);
    });

    afterEach(async function () {
      await store.close();
    });

    it("migrates to the last schema once: a reopened store keeps its rows and its version", async function () {
      schemas[backend.name] = await schemaOf(store);
      expect(Object.keys(schemas[backend.name]!)).to.include.members(["meta", "orders", "tasks", "replicas", "chain_undo"]);
      await store.run("INSERT INTO meta (key, value) VALUES (?, ?)", "kept", "yes");
      await store.close();
      store = await openStore(config);
      expect(await store.get("SELECT value FROM meta WHERE key = ?", "kept")).to.deep.equal({ value: "yes" });
      const version =
        store.dialect === "sqlite"
          ? (await store.get<{ user_version: number }>("PRAGMA user_version"))!.user_version
          : (await store.get<{ version: number }>("SELECT version FROM sunpool_schema"))!.version;
      expect(version).to.equal(MIGRATIONS.length);
    });

    it("gives 64-bit integers, counts and reals back as numbers, and counts the rows a statement changed", async function () {
      const ms = 1_765_000_000_123; // a time in ms: past 2^31
      await store.run(
        "INSERT INTO app_energy (app, runs, seconds, watt_hours, updated_at) VALUES (?, ?, ?, ?, ?)",
        "0xapp",
        3,
        12.5,
        0.125,
        ms,
      );
      expect(await store.get("SELECT runs, seconds, watt_hours, updated_at FROM app_energy")).to.deep.equal({
        runs: 3,
        seconds: 12.5,
        watt_hours: 0.125,
        updated_at: ms,
      });
      expect(await store.get("SELECT count(*) AS n, sum(runs) AS total, avg(seconds) AS mean FROM app_energy")).to.deep.equal({
        n: 1,
        total: 3,
        mean: 12.5,
      });
      const again = await store.run(
        "INSERT INTO app_energy (app, runs, seconds, watt_hours, updated_at) VALUES (?, 1, 1, 1, 1) ON CONFLICT DO NOTHING",
        "0xapp",
      );
      expect(again.changes).to.equal(0);
      await store.run("INSERT INTO meta (key, value) VALUES ('a', '1'), ('b', '1'), ('c', '2')");
      expect((await store.run("UPDATE meta SET value = ? WHERE value = ?", "3", "1")).changes).to.equal(2);
      expect(await store.get("SELECT value FROM meta WHERE key = ?", "missing")).to.equal(undefined);
      expect(await store.all("SELECT key FROM meta WHERE value = ? ORDER BY key", "3")).to.deep.equal([
        { key: "a" },
        { key: "b" },
      ]);
      // A question mark in a string literal is text, not a parameter; `authorization` is a column.
      expect(await store.get("SELECT '?' AS mark, value FROM meta WHERE key = ?", "c")).to.deep.equal({ mark: "?", value: "2" });
      await store.run(
        "INSERT INTO deals (deal_id, request_hash, requester, trust, category, volume, start_deadline, app, block) VALUES ('d', 'h', 'r', 1, 0, 1, 0, '{}', 1)",
      );
      await store.run(
        "INSERT INTO tasks (task_id, deal_id, idx, status, deadline, queued_at) VALUES ('t', 'd', 0, 'waiting', 0, 0)",
      );
      await store.run(
        "INSERT INTO replicas (task_id, worker, state, authorization, offered_at, updated_at) VALUES ('t', 'w', 'offered', ?, 0, 0)",
        "0xsigned",
      );
      expect(await store.get("SELECT authorization FROM replicas")).to.deep.equal({ authorization: "0xsigned" });
    });

    it("commits a transaction whole, or rolls all of it back when its body throws", async function () {
      const result = await store.transaction(async () => {
        await store.run("INSERT INTO meta (key, value) VALUES ('one', '1')");
        await store.run("INSERT INTO meta (key, value) VALUES ('two', '2')");
        return "done";
      });
      expect(result).to.equal("done");
      const failure = new Error("the body failed");
      const caught = await store
        .transaction(async () => {
          await store.run("INSERT INTO meta (key, value) VALUES ('three', '3')");
          // A transaction begun inside another joins it: it goes with the outer one.
          await store.transaction(() => store.run("UPDATE meta SET value = 'changed' WHERE key = 'one'"));
          throw failure;
        })
        .catch((error: unknown) => error);
      expect(caught).to.equal(failure);
      expect(await store.all("SELECT key, value FROM meta ORDER BY key")).to.deep.equal([
        { key: "one", value: "1" },
        { key: "two", value: "2" },
      ]);
    });

    it("never shows a transaction's uncommitted rows to a query made outside it", async function () {
      const inserted = gate();
      const release = gate();
      const transaction = store
        .transaction(async () => {
          await store.run("INSERT INTO meta (key, value) VALUES ('uncommitted', 'x')");
          inserted.open();
          await release.opened;
          throw new Error("rolled back");
        })
        .catch(() => "rolled back");
      await inserted.opened;
      // Outside the transaction (a new async context): SQLite waits for it to end, PostgreSQL
      // reads what is committed; neither ever sees the row.
      const outside = new Promise<unknown>((resolve, reject) => {
        setImmediate(() => void store.all("SELECT key FROM meta").then(resolve, reject));
      });
      release.open();
      expect(await transaction).to.equal("rolled back");
      expect(await outside).to.deep.equal([]);
    });

    it("runs one transaction at a time: read-then-write steps never interleave", async function () {
      // Each transaction reads how many rows there are, yields, and writes that count as its key:
      // interleaved, two would read the same count (a duplicate key, or a lost row).
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.transaction(async () => {
            const { n } = (await store.get<{ n: number }>("SELECT count(*) AS n FROM meta"))!;
            await new Promise((resolve) => setTimeout(resolve, 5));
            await store.run("INSERT INTO meta (key, value) VALUES (?, ?)", `k${n.toString()}`, i.toString());
          }),
        ),
      );
      expect(results.filter((result) => result.status === "rejected")).to.deep.equal([]);
      expect((await store.all<{ key: string }>("SELECT key FROM meta ORDER BY key")).map((row) => row.key)).to.deep.equal(
        Array.from({ length: 8 }, (_, i) => `k${i.toString()}`),
      );
    });
  });
}

/** A PostgreSQL server of its own (scripts/postgres.sh on a free port), so stopping it disturbs no one. */
async function privatePostgres() {
  const dir = mkdtempSync(join(tmpdir(), "sunpool-pg-stop-"));
  chmodSync(dir, 0o755); // as root the cluster belongs to `postgres`, which must reach it
  const env = { ...process.env, SUNPOOL_POSTGRES_DIR: dir, SUNPOOL_POSTGRES_PORT: (await freePort()).toString() };
  const script = async (command: string) =>
    (await promisify(execFile)("bash", ["scripts/postgres.sh", command], { env, timeout: 120_000 })).stdout.trim();
  const url = await script("ensure");
  return {
    url,
    stop: () => script("stop"),
    start: () => script("ensure"),
    async remove() {
      await script("stop");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("scheduler store: both backends", function () {
  it("have the same tables with the same columns, from the one list of migrations", function () {
    // Filled by each backend's first test (this suite runs after both).
    expect(schemas.SQLite, "the SQLite schema").to.not.equal(undefined);
    expect(schemas.PostgreSQL).to.deep.equal(schemas.SQLite);
  });

  it("a PostgreSQL server that stops: queries fail with StoreUnreachableError, and work again once it is back", async function () {
    this.timeout(180_000);
    const server = await privatePostgres();
    const store = await openStore({ postgres: server.url });
    try {
      await store.run("INSERT INTO meta (key, value) VALUES ('kept', 'yes')");
      await server.stop();
      const error = await store.get("SELECT value FROM meta WHERE key = 'kept'").catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(StoreUnreachableError);
      expect((error as Error).message).to.match(
        /^cannot reach the scheduler's database, PostgreSQL at postgres:\/\/sunpool@127\.0\.0\.1:\d+\/sunpool \(.+\): start PostgreSQL/,
      );
      await server.start();
      expect(await store.get("SELECT value FROM meta WHERE key = 'kept'")).to.deep.equal({ value: "yes" });
    } finally {
      await store.close();
      await server.remove();
    }
  });

  it("a running scheduler whose PostgreSQL stops answers 503 with Retry-After, and serves again once it is back", async function () {
    this.timeout(240_000);
    const server = await privatePostgres();
    const market = await startMarket();
    try {
      const { url, scheduler } = await market.scheduler({ working: false, scheduler: { store: { postgres: server.url } } });
      const unknownTask = `${url}/v1/tasks/${"0x" + "11".repeat(32)}`;
      expect((await fetch(unknownTask)).status).to.equal(404);
      await server.stop();
      // Two answers are right while the database is away, depending on how long it has been: the
      // API's own (its query failed), or, once the leader lease it can no longer renew has run out
      // (1.5 s; a loaded machine gets there before the first request), the front's "no leader".
      const outage = async (response: Response) => {
        expect(response.status).to.equal(503);
        const problem = (await response.json()) as { title: string; detail: string };
        if (problem.title === "database unavailable") {
          expect(response.headers.get("retry-after")).to.equal("5");
          expect(problem.detail).to.equal("the pool's database cannot be reached right now");
        } else {
          expect(problem.title).to.equal("no leader");
          expect(response.headers.get("retry-after")).to.equal("1");
          expect(problem.detail).to.match(/cannot reach the database|no replica leads|has just become the leader/);
        }
      };
      await outage(await fetch(unknownTask));
      await server.start();
      // Back: served as soon as the scheduler holds its lease again; until then, the same 503s.
      await until(
        "the scheduler to serve again after PostgreSQL came back",
        async () => {
          const response = await fetch(unknownTask);
          if (response.status === 404) return true;
          await outage(response);
          return undefined;
        },
        30_000,
        200,
      );
      await scheduler.tick();
    } finally {
      await market.stop();
      await server.remove();
    }
  });

  it("PostgreSQL that cannot be reached is a StoreUnreachableError that says what to do", async function () {
    // Port 1 on loopback: nothing listens there.
    const error = await openStore({ postgres: "postgres://sunpool:secret@127.0.0.1:1/sunpool" }).catch(
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(StoreUnreachableError);
    expect((error as StoreUnreachableError).code).to.equal("CONFIG");
    expect((error as Error).message).to.equal(
      "cannot reach the scheduler's database, PostgreSQL at postgres://sunpool:***@127.0.0.1:1/sunpool (ECONNREFUSED): " +
        "start PostgreSQL or fix `store.postgres` in the scheduler config (for a local server: bash scripts/postgres.sh ensure); " +
        "the scheduler retries on its next pass",
    );
  });
});
