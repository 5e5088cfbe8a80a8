// The dashboard's history in the scheduler's real SQLite file: what a heartbeat records, what a
// restart remembers, how old samples are thinned and dropped, and the worker states the pool view
// derives from it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { History, type HistoryPolicy } from "../../scheduler/src/dashboard/history.js";
import { poolView, windowOf } from "../../scheduler/src/dashboard/views.js";
import { openStore, type Store } from "../../scheduler/src/store/store.js";
import { testStore } from "../helpers/postgres.js";

const WORKER = "0x00000000000000000000000000000000000000A1";
const SUN = { stateOfChargePct: 80, pvWatts: 12, loadWatts: 2.7, awakeSeconds: 30_000 };
const NIGHT = { stateOfChargePct: 30, pvWatts: 0, loadWatts: 2.7, awakeSeconds: 0 };
const MINUTE = 60_000;
const DAY = 24 * 3600_000;

/** A fresh store: SQLite in a temporary folder, or a PostgreSQL schema (SUNPOOL_TEST_STORE=postgres). */
async function database(): Promise<Store> {
  const folder = mkdtempSync(join(tmpdir(), "sunpool-dashboard-db-"));
  return openStore((await testStore(folder)) ?? { sqlite: join(folder, "scheduler.sqlite") });
}

async function samples(db: Store) {
  return await db.all<{
    at: number;
    state: string;
    tasks: number;
    changed: number;
  }>("SELECT at, state, tasks, changed FROM worker_samples WHERE worker = ? ORDER BY at", WORKER);
}

describe("dashboard history", function () {
  it("records one sample a minute and every change of state: working, sleeping (the power-off farewell), offline (a stop)", async function () {
    const db = await database();
    const history = new History(db);
    const t0 = Date.UTC(2026, 5, 21, 12);
    await history.recordHeartbeat(WORKER, SUN, 0, false, t0);
    await history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 10_000); // same state within a minute: not kept
    await history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 70_000);
    await history.recordHeartbeat(WORKER, SUN, 1, false, t0 + 75_000);
    await history.recordHeartbeat(WORKER, NIGHT, 0, true, t0 + 80_000);
    await history.recordHeartbeat(WORKER, NIGHT, 0, true, t0 + 81_000);
    await history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 90_000);
    await history.recordHeartbeat(WORKER, SUN, 0, true, t0 + 95_000); // a farewell with charge left: a stop
    await history.recordHeartbeat(WORKER, { ...NIGHT, mainsPowered: true }, 0, true, t0 + 99_000); // mains never sleeps
    expect((await samples(db)).map((s) => [s.at - t0, s.state, s.changed])).to.deep.equal([
      [0, "idle", 1],
      [70_000, "idle", 0],
      [75_000, "working", 1],
      [80_000, "sleeping", 1],
      [90_000, "idle", 1],
      [95_000, "offline", 1],
    ]);

    // A restarted scheduler continues from what is stored, not from nothing.
    const again = new History(db);
    await again.recordHeartbeat(WORKER, SUN, 0, false, t0 + 100_000);
    await again.recordHeartbeat(WORKER, SUN, 0, false, t0 + 110_000);
    expect((await samples(db)).slice(-1).map((s) => [s.at - t0, s.state, s.changed])).to.deep.equal([[100_000, "idle", 1]]);
    await db.close();
  });

  it("thins samples older than a day to one per bucket, keeps every change of state, drops what is past retention", async function () {
    const db = await database();
    const policy: HistoryPolicy = { sampleMs: MINUTE, thinAfterMs: DAY, thinBucketMs: 15 * MINUTE, keepMs: 2 * DAY };
    const history = new History(db, policy);
    const now = Date.UTC(2026, 5, 24, 0, 0, 0);
    const start = now - 3 * DAY;
    const busyFrom = now - 1.5 * DAY;
    // Three days of heartbeats, one commit (each would be an fsync otherwise).
    await db.transaction(async () => {
      for (let at = start; at < now; at += MINUTE) {
        const busy = at >= busyFrom && at < busyFrom + 7 * MINUTE;
        await history.recordHeartbeat(WORKER, SUN, busy ? 1 : 0, false, at);
      }
    });
    const before = await samples(db);
    const changes = before.filter((s) => s.changed === 1 && s.at >= now - 2 * DAY);
    expect(changes.map((s) => s.state)).to.deep.equal(["working", "idle"]);

    const { dropped, thinned } = await history.prune(now);
    const after = await samples(db);
    expect(dropped).to.equal(before.filter((s) => s.at < now - 2 * DAY).length);
    expect(after.length).to.equal(before.length - dropped - thinned);
    expect(after.every((s) => s.at >= now - 2 * DAY)).to.equal(true);
    // The last day untouched; the day before at most one unchanged sample per 15 minutes.
    expect(after.filter((s) => s.at >= now - DAY)).to.deep.equal(before.filter((s) => s.at >= now - DAY));
    const buckets = new Map<number, number>();
    for (const s of after.filter((s) => s.at < now - DAY && s.changed === 0)) {
      const bucket = Math.floor(s.at / (15 * MINUTE));
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    expect(Math.max(...buckets.values())).to.equal(1);
    expect(after.filter((s) => s.at < now - DAY).length).to.be.below(24 * 4 + 3);
    for (const change of changes) expect(after).to.deep.include(change);
    await db.close();
  });

  it("the pool view: asleep until heard from again, offline after three silent heartbeats, idle otherwise", async function () {
    const db = await database();
    const history = new History(db);
    const t0 = Date.UTC(2026, 5, 21, 22);
    const register = async (lastSeen: number) =>
      await db.run(
        `INSERT INTO workers (address, platforms, cores, memory_mib, slots, ipfs_peers, registered_at, last_seen, outlook)
           VALUES (?, '["linux/amd64"]', 4, 4096, 1, '[]', ?, ?, ?)
           ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen, outlook = excluded.outlook`,
        WORKER,
        new Date(t0).toISOString(),
        lastSeen,
        JSON.stringify(SUN),
      );
    const stateAt = async (now: number) => (await poolView(db, now, 6_000, windowOf(24, now))).workers[0]!.state;

    await register(t0);
    await history.recordHeartbeat(WORKER, SUN, 0, false, t0);
    expect(await stateAt(t0 + 1_000)).to.equal("idle");
    expect(await stateAt(t0 + 7_000)).to.equal("offline");
    await register(t0 + 10_000);
    await history.recordHeartbeat(WORKER, NIGHT, 0, true, t0 + 10_000);
    expect(await stateAt(t0 + 11_000)).to.equal("sleeping");
    expect(await stateAt(t0 + 8 * 3600_000)).to.equal("sleeping");
    await register(t0 + 20_000); // it woke and heartbeats again
    await history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 20_000);
    expect(await stateAt(t0 + 21_000)).to.equal("idle");
    await db.close();
  });

  it("the pool view's energy chart: receipts grouped into the window's buckets, each point at its bucket's end", async function () {
    const db = await database();
    const now = Date.UTC(2026, 5, 21, 12);
    const window = windowOf(24, now); // 48 buckets of 30 minutes
    const receipt = (...values: (string | number)[]) =>
      db.run(
        "INSERT INTO energy_receipts (task_id, worker, milliwatt_hours, solar_share_bps, block, at) VALUES (?, ?, ?, ?, 1, ?)",
        ...values,
      );
    const early = window.from + 5 * window.bucketMs + 1_000;
    await receipt("0x01", WORKER, 100, 10_000, early);
    await receipt("0x02", WORKER, 200, 5_000, early + 60_000);
    await receipt("0x03", WORKER, 600, 0, early + 120_000);
    await receipt("0x04", WORKER, 50, 10_000, now - 1_000);
    await receipt("0x05", WORKER, 999, 0, window.from - 1); // before the window
    expect((await poolView(db, now, 6_000, window)).energyPerTask).to.deep.equal([
      { at: new Date(window.from + 6 * window.bucketMs).toISOString(), receipts: 3, milliwattHours: 300, solarSharePct: 50 },
      { at: new Date(now).toISOString(), receipts: 1, milliwattHours: 50, solarSharePct: 100 },
    ]);
    await db.close();
  });
});
