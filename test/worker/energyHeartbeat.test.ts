// The energy accounts leave the worker: a solar worker on the simulated board sends them in its
// heartbeats (the optional `energy` object), the real scheduler accepts them and exposes them per
// worker on its /metrics, and the worker's own /metrics shows the same accounts. Real EDR chain,
// real scheduler, the real agent over the register-level simulator.
import { expect } from "chai";

import { createBoard } from "../../worker/src/hardware/board.js";
import type { RunningWorker } from "../../worker/src/runtime.js";
import { createSimulatedBoard } from "../../worker/src/simulator/board.js";
import { fundParticipants, startMarket, startPoolScheduler, type TestMarket } from "../sdk/helpers/market.js";
import { startTestWorker } from "./helpers.js";
import { ALBUQUERQUE } from "./simulator/fixtures.js";
import { until } from "../helpers/wait.js";

const ACCOUNT = 5;

/** The value of a Prometheus sample line `name{labels} value` whose labels include every one of `labels`. */
function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("worker energy accounts in heartbeats and /metrics", function () {
  this.timeout(180_000);
  let market: TestMarket;

  before(async function () {
    market = await startMarket();
    await fundParticipants(market, [ACCOUNT]);
  });

  after(async function () {
    await market.stop();
  });

  it("a solar worker reports its accounts in heartbeats; the scheduler's and the worker's /metrics show them", async function () {
    // Noon, 21 June, Albuquerque: 60 simulated seconds per real second.
    const sim = createSimulatedBoard({
      start: Date.UTC(2026, 5, 21, 19, 0, 0),
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
    let worker: RunningWorker | undefined;
    try {
      worker = await startTestWorker(market, scheduler.url, ACCOUNT, {
        board,
        config: { board: { kind: "simulated", battery: { capacityAh: 6 } }, metrics: { host: "127.0.0.1", port: 0 } },
      });
      const address = worker.agent.address;
      // Heartbeats come every second of real time (a simulated minute): wait for accounts covering a few.
      const schedulerLoad = await until(
        "the scheduler's metrics to show the load the worker reported",
        async () => {
          const text = await (await fetch(`${scheduler.url}/metrics`)).text();
          const load = sampleValue(text, "sunpool_scheduler_worker_energy_watt_hours", { worker: address, flow: "load" });
          return load !== undefined && load > 0.05 ? load : undefined;
        },
        30_000,
        500,
      );
      // An idle Pi 4 draws 2.7 W: a few simulated minutes are a few tenths of a Wh.
      expect(schedulerLoad, "the scheduler exposes the load the worker reported").to.be.within(0.05, 10);
      const text = await (await fetch(`${scheduler.url}/metrics`)).text();
      expect(sampleValue(text, "sunpool_scheduler_worker_availability_ratio", { worker: address })).to.be.within(0.5, 1);
      expect(sampleValue(text, "sunpool_scheduler_worker_brownouts", { worker: address })).to.equal(0);
      // Noon sun on a 30 W panel: the panel covers the Pi and charges the pack.
      expect(sampleValue(text, "sunpool_scheduler_worker_energy_watt_hours", { worker: address, flow: "pv" })).to.be.above(
        schedulerLoad,
      );

      // The outlook carries what forecast-driven admission plans with: the pack (4 × 3.2 V × 6 Ah),
      // the floor in force, the idle draw, and 48 hours of panel forecast, sunny now.
      const outlook = scheduler.pool.dispatcher.workers.get(address)?.outlook;
      expect(outlook?.batteryWattHours).to.be.closeTo(76.8, 0.1);
      expect(outlook?.floorPct).to.equal(20);
      expect(outlook?.idleWatts).to.be.within(1, 6);
      expect(outlook?.pvForecastWatts).to.have.length(48);
      expect(outlook!.pvForecastWatts![0]).to.be.above(5);
      // What a task ending in each hour must leave: the floor at sunny noon, more once the night falls.
      expect(outlook?.endReservePct).to.have.length(48);
      expect(outlook!.endReservePct![0]).to.equal(20);
      expect(Math.max(...outlook!.endReservePct!)).to.be.above(20);

      const own = await (await fetch(worker.metricsUrl!)).text();
      // Read later than the heartbeat, so no less; the heartbeat rounds to 0.01 Wh.
      expect(sampleValue(own, "sunpool_worker_energy_watt_hours", { flow: "load" })).to.be.at.least(schedulerLoad - 0.005);
      expect(sampleValue(own, "sunpool_worker_state_of_charge_floor_percent", {})).to.equal(20);
      expect(sampleValue(own, "sunpool_worker_brownouts", {})).to.equal(0);
    } finally {
      await worker?.stop();
      await scheduler.stop();
      sim.close();
    }
  });
});
