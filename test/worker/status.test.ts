// The worker's own status page (worker/src/status/): off unless configured; when on, what it
// serves agrees with the simulated board's physics, the chain's receipt and the journal.
import { expect } from "chai";

import { run } from "../../sdk/src/actions/run.js";
import { parseConfig } from "../../worker/src/config.js";
import { createBoard } from "../../worker/src/hardware/board.js";
import type { RunningWorker } from "../../worker/src/runtime.js";
import { createSimulatedBoard } from "../../worker/src/simulator/board.js";
import type { WorkerStatus } from "../../worker/src/status/server.js";
import { ensureDocker } from "../helpers/docker.js";
import { fundParticipants, startMarket, startPoolScheduler, type TestMarket } from "../sdk/helpers/market.js";
import { ALBUQUERQUE } from "./simulator/fixtures.js";
import { publishPoolOrders, registerWordcountApp, startTestWorker, workerConfigJson } from "./helpers.js";
import { until } from "../helpers/wait.js";

const WORKER = 8;

describe("worker status page", function () {
  this.timeout(240_000);
  let market: TestMarket;
  let appId: string;
  const workers: RunningWorker[] = [];

  before(async function () {
    await ensureDocker();
    market = await startMarket();
    appId = await registerWordcountApp(market);
    await fundParticipants(market, [WORKER]);
  });

  afterEach(async function () {
    for (const worker of workers.splice(0)) await worker.stop();
  });

  after(async function () {
    await market.stop();
  });

  it("is off by default: no `status` in the parsed config, no page served", async function () {
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      expect(parseConfig(workerConfigJson(market, scheduler.url), "/tmp").status).to.equal(undefined);
      const worker = await startTestWorker(market, scheduler.url, WORKER);
      workers.push(worker);
      expect(worker.statusUrl).to.equal(undefined);
      expect(worker.metricsUrl).to.equal(undefined);
    } finally {
      await scheduler.stop();
    }
  });

  it("when on, serves the battery, the sleep decision, the last tasks with their energy and the errors", async function () {
    const sim = createSimulatedBoard({
      start: Date.UTC(2026, 5, 21, 19, 0, 0), // local noon in Albuquerque
      mode: "scaled",
      speed: 60,
      solar: { tmy3: ALBUQUERQUE },
      panel: { ratedWatts: 30 },
      battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.7 },
    });
    const board = createBoard(
      sim.openBus(),
      sim.gpio,
      sim.clock,
      {
        battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, initialStateOfCharge: 0.7 },
        lowVoltageCutoff: 11.6,
        recoveryVoltage: 12.8,
        powerCutDelaySeconds: 25,
        monitor: { chip: "ina226", address: 0x40, shuntOhms: 0.01, maxAmps: 5 },
      },
      { kind: "simulated", powerOff: () => Promise.resolve(sim.halt()) },
    );
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(market, scheduler.url, appId, 1);
      const worker = await startTestWorker(market, scheduler.url, WORKER, {
        board,
        config: { board: { kind: "simulated", battery: { capacityAh: 6 } }, status: { listen: { port: 0 } } },
        simulatedLoad: (busy) => sim.setLoad(busy ? "busy" : "idle"),
      });
      workers.push(worker);
      expect(worker.statusUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);

      const done = await run(await market.client(1), { scheduler: book, app: appId, params: { args: ["sleep", "3"] } });
      // A failure needs tasks.failAfter workers to end the task: stop following it once it is dealt.
      const seen = new AbortController();
      await run(await market.client(1), {
        scheduler: book,
        app: appId,
        params: { args: ["fail"] },
        signal: seen.signal,
        onProgress: (event) => {
          if (event.type === "deal") seen.abort(new Error("seen the deal"));
        },
      }).catch(() => undefined);
      // The journal records the failure before the agent reports it; the page reads the journal.
      const status = await until("the status page to show the failure", async () => {
        const page = (await (await fetch(`${worker.statusUrl!}/status.json`)).json()) as WorkerStatus;
        return page.errors.length > 0 ? page : undefined;
      });

      expect(status.address).to.equal(worker.agent.address);
      // The battery as the board's physics has it (the agent's estimate: a few points off at most).
      expect(status.battery!.stateOfChargePct).to.be.closeTo(sim.truth().stateOfCharge * 100, 5);
      expect(status.battery!.pvWatts).to.be.above(10); // a 30 W panel at a clear June noon
      expect(status.sleep).to.deep.equal({ now: false });
      const receipt = done.tasks[0]!.energy[0]!;
      expect(status.tasks.recent.find((task) => task.taskId === done.tasks[0]!.taskId)).to.deep.equal({
        taskId: done.tasks[0]!.taskId,
        step: "done",
        energy: { milliwattHours: receipt.milliwattHours, solarShareBps: receipt.solarShareBps },
      });
      expect(status.errors).to.have.length(1);
      expect(status.errors[0]).to.include({ step: "failed", reason: "failed: exited with code 3" });

      const page = await fetch(`${worker.statusUrl!}/`);
      expect(page.headers.get("content-type")).to.equal("text/html; charset=utf-8");
      const html = await page.text();
      expect(html).to.include(`<code>${worker.agent.address}</code>`);
      expect(html).to.include(`<dd id="battery">${status.battery!.stateOfChargePct.toFixed(0)} %</dd>`);
      expect(html).to.include("stays awake: it can take work");
      expect(html).to.include("failed: exited with code 3");
      expect((await fetch(`${worker.statusUrl!}/anything-else`)).status).to.equal(404);
    } finally {
      await scheduler.stop();
      sim.close();
    }
  });
});
