// The dashboard's history in the scheduler's real SQLite file: what a heartbeat records, what a
// restart remembers, how old samples are thinned and dropped, and the worker states the pool view
// derives from it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { History, type HistoryPolicy } from "../../scheduler/src/dashboard/history.js";
import { poolView, windowOf } from "../../scheduler/src/dashboard/views.js";
import { openDatabase, type Database } from "../../scheduler/src/store/database.js";

const WORKER = "0x00000000000000000000000000000000000000A1";
const SUN = { stateOfChargePct: 80, pvWatts: 12, loadWatts: 2.7, awakeSeconds: 30_000 };
const NIGHT = { stateOfChargePct: 30, pvWatts: 0, loadWatts: 2.7, awakeSeconds: 0 };
const MINUTE = 60_000;
const DAY = 24 * 3600_000;

function database(): Database {
  return openDatabase(join(mkdtempSync(join(tmpdir(), "sunpool-dashboard-db-")), "scheduler.sqlite"));
}

function samples(db: Database) {
  return db.prepare("SELECT at, state, tasks, changed FROM worker_samples WHERE worker = ? ORDER BY at").all(WORKER) as {
    at: number;
    state: string;
    tasks: number;
    changed: number;
  }[];
}

describe("dashboard history", function () {
  it("records one sample a minute and every change of state: working, sleeping (the power-off farewell), offline (a stop)", function () {
    const db = database();
    const history = new History(db);
    const t0 = Date.UTC(2026, 5, 21, 12);
    history.recordHeartbeat(WORKER, SUN, 0, false, t0);
    history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 10_000); // same state within a minute: not kept
    history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 70_000);
    history.recordHeartbeat(WORKER, SUN, 1, false, t0 + 75_000);
    history.recordHeartbeat(WORKER, NIGHT, 0, true, t0 + 80_000);
    history.recordHeartbeat(WORKER, NIGHT, 0, true, t0 + 81_000);
    history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 90_000);
    history.recordHeartbeat(WORKER, SUN, 0, true, t0 + 95_000); // a farewell with charge left: a stop
    history.recordHeartbeat(WORKER, { ...NIGHT, mainsPowered: true }, 0, true, t0 + 99_000); // mains never sleeps
    expect(samples(db).map((s) => [s.at - t0, s.state, s.changed])).to.deep.equal([
      [0, "idle", 1],
      [70_000, "idle", 0],
      [75_000, "working", 1],
      [80_000, "sleeping", 1],
      [90_000, "idle", 1],
      [95_000, "offline", 1],
    ]);

    // A restarted scheduler continues from what is stored, not from nothing.
    const again = new History(db);
    again.recordHeartbeat(WORKER, SUN, 0, false, t0 + 100_000);
    again.recordHeartbeat(WORKER, SUN, 0, false, t0 + 110_000);
    expect(
      samples(db)
        .slice(-1)
        .map((s) => [s.at - t0, s.state, s.changed]),
    ).to.deep.equal([[100_000, "idle", 1]]);
    db.close();
  });

  it("thins samples older than a day to one per bucket, keeps every change of state, drops what is past retention", function () {
    const db = database();
    const policy: HistoryPolicy = { sampleMs: MINUTE, thinAfterMs: DAY, thinBucketMs: 15 * MINUTE, keepMs: 2 * DAY };
    const history = new History(db, policy);
    const now = Date.UTC(2026, 5, 24, 0, 0, 0);
    const start = now - 3 * DAY;
    const busyFrom = now - 1.5 * DAY;
    db.exec("BEGIN"); // three days of heartbeats, one commit (each would be an fsync otherwise)
    for (let at = start; at < now; at += MINUTE) {
      const busy = at >= busyFrom && at < busyFrom + 7 * MINUTE;
      history.recordHeartbeat(WORKER, SUN, busy ? 1 : 0, false, at);
    }
    db.exec("COMMIT");
    const before = samples(db);
    const changes = before.filter((s) => s.changed === 1 && s.at >= now - 2 * DAY);
    expect(changes.map((s) => s.state)).to.deep.equal(["working", "idle"]);

    const { dropped, thinned } = history.prune(now);
    const after = samples(db);
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
    db.close();
  });

  it("the pool view: asleep until heard from again, offline after three silent heartbeats, idle otherwise", function () {
    const db = database();
    const history = new History(db);
    const t0 = Date.UTC(2026, 5, 21, 22);
    const register = (lastSeen: number) =>
      db
        .prepare(
          `INSERT INTO workers (address, platforms, cores, memory_mib, slots, ipfs_peers, registered_at, last_seen, outlook)
           VALUES (?, '["linux/amd64"]', 4, 4096, 1, '[]', ?, ?, ?)
           ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen, outlook = excluded.outlook`,
        )
        .run(WORKER, new Date(t0).toISOString(), lastSeen, JSON.stringify(SUN));
    const stateAt = (now: number) => poolView(db, now, 6_000, windowOf(24, now)).workers[0]!.state;

    register(t0);
    history.recordHeartbeat(WORKER, SUN, 0, false, t0);
    expect(stateAt(t0 + 1_000)).to.equal("idle");
    expect(stateAt(t0 + 7_000)).to.equal("offline");
    register(t0 + 10_000);
    history.recordHeartbeat(WORKER, NIGHT, 0, true, t0 + 10_000);
    expect(stateAt(t0 + 11_000)).to.equal("sleeping");
    expect(stateAt(t0 + 8 * 3600_000)).to.equal("sleeping");
    register(t0 + 20_000); // it woke and heartbeats again
    history.recordHeartbeat(WORKER, SUN, 0, false, t0 + 20_000);
    expect(stateAt(t0 + 21_000)).to.equal("idle");
    db.close();
  });

  it("the pool view's energy chart: receipts grouped into the window's buckets, each point at its bucket's end", function () {
    const db = database();
    const now = Date.UTC(2026, 5, 21, 12);
    const window = windowOf(24, now); // 48 buckets of 30 minutes
    const receipt = db.prepare(
      "INSERT INTO energy_receipts (task_id, worker, milliwatt_hours, solar_share_bps, block, at) VALUES (?, ?, ?, ?, 1, ?)",
    );
    const early = window.from + 5 * window.bucketMs + 1_000;
    receipt.run("0x01", WORKER, 100, 10_000, early);
    receipt.run("0x02", WORKER, 200, 5_000, early + 60_000);
    receipt.run("0x03", WORKER, 600, 0, early + 120_000);
    receipt.run("0x04", WORKER, 50, 10_000, now - 1_000);
    receipt.run("0x05", WORKER, 999, 0, window.from - 1); // before the window
    expect(poolView(db, now, 6_000, window).energyPerTask).to.deep.equal([
      { at: new Date(window.from + 6 * window.bucketMs).toISOString(), receipts: 3, milliwattHours: 300, solarSharePct: 50 },
      { at: new Date(now).toISOString(), receipts: 1, milliwattHours: 50, solarSharePct: 100 },
    ]);
    db.close();
  });
});
