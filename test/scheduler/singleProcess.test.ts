// Issue 17: until the scheduler runs on PostgreSQL, one process per SQLite data folder. Two real
// `sunpool-scheduler` processes (scheduler/dist) on one folder: the second refuses to start and
// names the folder and the first one's PID; after the first is killed with SIGKILL (no clean-up
// at all), a new one starts at once: the lock is the kernel's and died with its holder.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { DataDirLockedError } from "../../scheduler/src/store/sqlite.js";
import { startMarket, startPoolScheduler, type TestMarket } from "../sdk/helpers/market.js";
import { prepareSchedulerFolder, SCHEDULER_PASSWORD, writeSchedulerConfig } from "../helpers/schedulerProcess.js";
import { until } from "../helpers/wait.js";

const CLI = new URL("../../scheduler/dist/cli.js", import.meta.url).pathname;

describe("scheduler: one process per SQLite data folder (issue 17)", function () {
  this.timeout(180_000);
  let market: TestMarket;
  let folder: string;
  const children: ChildProcess[] = [];

  before(async function () {
    market = await startMarket();
    folder = mkdtempSync(join(tmpdir(), "sunpool-single-"));
    await prepareSchedulerFolder(market, folder);
  });

  after(async function () {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await market.stop();
  });

  /** Writes a config for the shared data folder on its own port; returns its path and URL. */
  const config = (name: string) =>
    writeSchedulerConfig(market, folder, name, {
      dataDir: "data",
      chain: { pollSeconds: 0.5, confirmations: 0 },
      logLevel: "warn",
    });

  function start(path: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [CLI, "start", "--config", path], {
      env: { ...process.env, SUNPOOL_SCHEDULER_PASSWORD: SCHEDULER_PASSWORD },
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, stderr: () => stderr, exited };
  }

  /** Waits (bounded) until the scheduler at `url` answers /healthz, or its process exits. */
  async function healthy(url: string, running: ReturnType<typeof start>): Promise<void> {
    let exited = false;
    void running.exited.then(() => (exited = true));
    await until(`the scheduler at ${url} to answer /healthz`, async () => {
      if (exited) throw new Error(`the scheduler at ${url} exited before it was healthy: ${running.stderr()}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true ? true : undefined;
    });
  }

  it("a second scheduler on the same data folder refuses to start and names the folder and the holder's PID", async function () {
    const first = await config("first");
    const second = await config("second");
    const holder = start(first.path);
    await healthy(first.url, holder);

    const refused = start(second.path);
    expect(await refused.exited).to.equal(3);
    const dataDir = join(folder, "data");
    expect(refused.stderr()).to.include(`the data folder ${dataDir} is in use by process ${holder.child.pid!.toString()}`);
    expect(refused.stderr()).to.match(
      /one scheduler process per data folder[\s\S]*Stop that process first, or give this one another dataDir/,
    );
    expect(refused.stderr()).to.not.match(/ {4}at /);
    // It refused before serving anything, and the holder carries on.
    expect((await fetch(`${second.url}/healthz`).catch(() => undefined)) === undefined).to.equal(true);
    expect((await fetch(`${first.url}/healthz`)).ok).to.equal(true);

    // In-process too (the same lock, seen from another connection).
    let error: unknown;
    await startPoolScheduler(market.chain, market.workerpoolId, { dataDir }).catch((caught: unknown) => (error = caught));
    expect(error).to.be.instanceOf(DataDirLockedError);
    expect((error as DataDirLockedError).code).to.equal("CONFIG");

    // kill -9: nothing is cleaned up, and the next one starts at once all the same.
    holder.child.kill("SIGKILL");
    await holder.exited;
    const next = start(second.path);
    await healthy(second.url, next);
    expect(readFileSync(join(dataDir, "scheduler.pid"), "utf8")).to.match(new RegExp(`^${next.child.pid!.toString()} `));
    next.child.kill("SIGTERM");
    expect(await next.exited).to.equal(0);
  });
});
