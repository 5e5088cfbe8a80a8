// `sunpool-worker` as an owner runs it: the built bin, a config file, a simulated solar board.
import { writeFileSync } from "node:fs";

import { expect } from "chai";

import { deposit } from "../../sdk/src/actions/account.js";
import { run } from "../../sdk/src/actions/run.js";
import { ensureDocker } from "../helpers/docker.js";
import { startMarket, startPoolScheduler, SUN, type TestMarket } from "../sdk/helpers/market.js";
import { prepareWorkerFolder, publishPoolOrders, registerWordcountApp, spawnWorkerCli } from "./helpers.js";

const WORKER = 9;

async function output(cli: ReturnType<typeof spawnWorkerCli>): Promise<{ code: unknown; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  cli.child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  cli.child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { code: await cli.exited, stdout, stderr };
}

describe("sunpool-worker CLI", function () {
  this.timeout(240_000);
  let market: TestMarket;
  let appId: string;

  before(async function () {
    await ensureDocker();
    market = await startMarket();
    appId = await registerWordcountApp(market);
    await deposit(await market.client(1), { amount: 100n * SUN });
  });

  after(async function () {
    await market.stop();
  });

  it("start with a simulated solar board: joins the scheduler, runs a task, meters it; status reports it", async function () {
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(market, scheduler.url, appId, 1);
      const { configPath } = await prepareWorkerFolder(market, scheduler.url, WORKER, {
        board: {
          kind: "simulated",
          site: "albuquerque",
          startTime: "2026-06-21T19:00:00Z", // local noon
          speed: 60,
          panelWatts: 30,
          battery: { capacityAh: 6 },
          initialStateOfCharge: 0.7,
        },
      });
      const worker = spawnWorkerCli(["start", "--config", configPath]);
      try {
        const outcome = await run(await market.client(1), {
          scheduler: book,
          app: appId,
          params: { args: ["sleep", "3"] },
          timeoutMs: 120_000,
        });
        const [receipt] = outcome.tasks[0]!.energy;
        // ~3 simulated minutes at the Pi's busy draw, under a June noon sun.
        expect(receipt!.milliwattHours).to.be.within(100, 2000);
        expect(receipt!.solarShareBps).to.be.above(9000);

        const status = await output(spawnWorkerCli(["status", "--config", configPath, "--json"], {}, "pipe"));
        expect(status.code).to.equal(0);
        const summary = JSON.parse(status.stdout) as {
          steps: Record<string, number>;
          recent: { taskId: string; energy?: unknown }[];
        };
        expect(summary.steps).to.deep.equal({ done: 1 });
        expect(summary.recent[0]).to.deep.equal({
          taskId: outcome.tasks[0]!.taskId,
          step: "done",
          energy: { milliwattHours: receipt!.milliwattHours, solarShareBps: receipt!.solarShareBps },
        });
      } finally {
        worker.child.kill("SIGTERM");
        expect(await worker.exited).to.equal(0);
      }
    } finally {
      await scheduler.stop();
    }
  });

  it("a config mistake exits 3 with the field and the fix, before touching anything", async function () {
    const { configPath } = await prepareWorkerFolder(market, "http://127.0.0.1:1", WORKER);
    writeFileSync(configPath, JSON.stringify({ scheduler: "not a url", board: { kind: "witty-pi-5" } }));
    const result = await output(spawnWorkerCli(["start", "--config", configPath], {}, "pipe"));
    expect(result.code).to.equal(3);
    expect(result.stderr).to.contain("is not a valid worker config");
    expect(result.stderr).to.contain("  - scheduler: the scheduler's URL, e.g. http://127.0.0.1:7300");
    expect(result.stderr).to.match(/ {2}- board\.kind: /);
    expect(result.stderr).to.contain('See docs/worker.md, "Configuration".');
  });
});
