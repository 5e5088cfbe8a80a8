// The energy manager's rules (worker/src/energy), then a simulated week on each TMY3 site: the real
// drivers over the register-level simulator, the real energy manager, an accelerated clock.

import "../helpers/numericCloseTo.js";
import { expect } from "chai";

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createBoardEnergyManager } from "../../worker/src/energy/manager.js";
import { PvForecast, slotOf } from "../../worker/src/energy/forecast.js";
import { EnergyMeter } from "../../worker/src/energy/meter.js";
import {
  awakeSeconds,
  chargeCeilingAfterSleep,
  decideIdle,
  decideStart,
  DEFAULT_ENERGY_POLICY,
  endReserveByHour,
  expectedTaskEnergy,
  restoredStateOfCharge,
  type EnergyPolicyConfig,
} from "../../worker/src/energy/policy.js";
import { Journal } from "../../worker/src/journal/journal.js";
import { earliestHarvestStart, type ForecastOutlook } from "../../scheduler/src/dispatch/harvest.js";
import { daytimeShare, simulateWeek, type WeekOptions } from "../../worker/bench/solar-week.js";
import { boardOn, simulate } from "./simulator/fixtures.js";

const pctOf = (soc: number) => `${(soc * 100).toFixed(1)} %`;

const POLICY: EnergyPolicyConfig = { ...DEFAULT_ENERGY_POLICY, batteryWattHours: 76.8 };
const NOON = Date.UTC(2026, 5, 21, 12, 0, 0);
const HOUR = 3_600_000;

/** A learned profile: `watts` between 06:00 and 18:00 UTC, 0 otherwise. */
function dayProfile(watts: number): Map<number, number> {
  const profile = new Map<number, number>();
  for (let slot = 0; slot < 96; slot++) profile.set(slot, slot >= 24 && slot < 72 ? watts : 0);
  return profile;
}

describe("worker energy manager: rules", function () {
  it("a task whose trough would fall below the floor is refused, with the numbers in the reason", function () {
    const night = NOON + 12 * HOUR;
    const forecast = new PvForecast(dayProfile(15), night, 0);
    // 3.2 Wh x 1.25 margin = 4 Wh = 5.2 % of 76.8 Wh: from 24 % that is below 20 %.
    const decision = decideStart(POLICY, { nowMs: night, stateOfCharge: 0.24, pvWatts: 0 }, forecast, {
      seconds: 1800,
      wattHours: 3.2,
    });
    expect(decision.start).to.equal(false);
    expect(decision.troughSoc).to.be.closeTo(0.24 - 4 / 76.8, 1e-9);
    expect(decision.start === false && decision.reason).to.equal("the battery would fall to 19 % during the task (floor 20 %)");
  });

  it("a task ending in the dark must leave the night reserve (forecast, or the owner's); the same task at noon may start", function () {
    const task = { seconds: 1800, wattHours: 3.2 };
    const evening = NOON + 7 * HOUR;
    const dark = decideStart(
      POLICY,
      { nowMs: evening, stateOfCharge: 0.27, pvWatts: 0 },
      new PvForecast(dayProfile(15), evening, 0),
      task,
    );
    // It ends at 19:37:30 (37.5 min with the margin); the panel carries the 2.7 W Pi again at 06:00
    // (15 W x 0.8). The sleeping Pi's 0.15 W x 1.5 over those 10.375 h: 2.33 Wh of 76.8 Wh above the 20 % floor.
    expect(dark.reserveSoc).to.be.closeTo(0.2 + (0.15 * 1.5 * 10.375) / 76.8, 1e-9);
    expect(dark.endSoc).to.be.closeTo(0.27 - 4 / 76.8, 1e-9);
    expect(dark.start === false && dark.reason).to.equal("the task ends after sunset with 22 % left (night reserve 23 %)");
    // An owner's fixed reserve replaces the forecast one.
    const fixed = decideStart(
      { ...POLICY, nightReserve: 0.35 },
      { nowMs: evening, stateOfCharge: 0.38, pvWatts: 0 },
      new PvForecast(dayProfile(15), evening, 0),
      task,
    );
    expect(fixed.start === false && fixed.reason).to.equal("the task ends after sunset with 33 % left (night reserve 35 %)");
    const noon = decideStart(
      POLICY,
      { nowMs: NOON, stateOfCharge: 0.27, pvWatts: 15 },
      new PvForecast(dayProfile(15), NOON, 15),
      task,
    );
    expect(noon).to.include({ start: true, reserveSoc: 0.2 });
    // At noon the panel (15 W x 0.8) covers the 8 W draw: the charge rises.
    expect(noon.endSoc).to.be.above(0.27);
  });

  it("the scheduler plans with the worker's night reserve: it counts on no evening start the worker would refuse", function () {
    const evening = NOON + 7 * HOUR;
    const forecast = new PvForecast(dayProfile(15), evening, 0);
    const outlook = (stateOfCharge: number, withReserve: boolean): ForecastOutlook => ({
      stateOfChargePct: stateOfCharge * 100,
      batteryWattHours: POLICY.batteryWattHours,
      floorPct: POLICY.floor * 100,
      idleWatts: POLICY.idleWatts,
      pvForecastWatts: Array.from({ length: 48 }, (_, hour) => forecast.wattHours(evening + hour * HOUR, 3600)),
      ...(withReserve ? { endReservePct: endReserveByHour(POLICY, evening, forecast, 48).map((soc) => soc * 100) } : {}),
    });
    // 3.2 Wh in 30 min is 6.4 W; the pool plans 1.5 x: 4.8 Wh, 6.25 points of this pack.
    const task = { seconds: 1800, watts: 6.4 };
    const oneHour = { margin: 1.5, chargeEfficiency: 0.9, startStepSeconds: 900 };
    for (const soc of [0.27, 0.28]) {
      const worker = decideStart(POLICY, { nowMs: evening, stateOfCharge: soc, pvWatts: 0 }, forecast, {
        seconds: 1800,
        wattHours: 3.2,
      });
      expect(worker.start, pctOf(soc)).to.equal(false);
      expect(worker.start === false && worker.reason, pctOf(soc)).to.match(/^the task ends after sunset/);
      // Planning to the floor alone, the pool counts on starting now; with the reserve, it does not.
      expect(earliestHarvestStart(outlook(soc, false), task, 3600, oneHour), pctOf(soc)).to.equal(0);
      expect(earliestHarvestStart(outlook(soc, true), task, 3600, oneHour), pctOf(soc)).to.equal(undefined);
    }
    // With the reserve and the task's energy in the battery, both agree it may start now.
    expect(
      decideStart(POLICY, { nowMs: evening, stateOfCharge: 0.32, pvWatts: 0 }, forecast, { seconds: 1800, wattHours: 3.2 }).start,
    ).to.equal(true);
    expect(earliestHarvestStart(outlook(0.32, true), task, 3600, oneHour)).to.equal(0);
    // In daylight a task may end at the floor: the reserve is the floor in every lit hour.
    const lit = endReserveByHour(POLICY, NOON, new PvForecast(dayProfile(15), NOON, 15), 5);
    expect(lit).to.deep.equal([0.2, 0.2, 0.2, 0.2, 0.2]);
  });

  it("expected energy comes from the app's declared needs until this worker has measured it", function () {
    expect(expectedTaskEnergy(POLICY, { expectedSeconds: 3600, cpuMillicores: 4000 })).to.deep.equal({
      seconds: 3600,
      wattHours: 6.4,
    });
    // One core of four: idle draw plus a quarter of the difference.
    expect(expectedTaskEnergy(POLICY, { expectedSeconds: 3600, cpuMillicores: 1000 }).wattHours).to.be.closeTo(
      2.7 + 3.7 / 4,
      1e-9,
    );
    expect(
      expectedTaskEnergy(POLICY, { expectedSeconds: 3600, cpuMillicores: 1000 }, { runs: 3, wattHours: 1.5, seconds: 900 }),
    ).to.deep.equal({ seconds: 900, wattHours: 1.5 });
  });

  it("awake time runs the battery down under load to the floor, and lasts all day when the sun covers the load", function () {
    const night = NOON + 12 * HOUR;
    // (0.8 - 0.2) x 76.8 Wh / 6.4 W = 7.2 h, in 5-minute steps.
    expect(awakeSeconds(POLICY, { nowMs: night, stateOfCharge: 0.8, pvWatts: 0 }, new PvForecast(new Map(), night, 0))).to.equal(
      25_800,
    );
    expect(
      awakeSeconds(POLICY, { nowMs: NOON, stateOfCharge: 0.8, pvWatts: 30 }, new PvForecast(dayProfile(30), NOON, 30)),
    ).to.be.above(10 * 3600);
  });

  it("an idle worker that cannot take a typical task sleeps until the panel can carry one", function () {
    const night = Date.UTC(2026, 5, 21, 22, 0, 0);
    const typical = { seconds: 600, wattHours: 0.6 };
    const idle = decideIdle(
      POLICY,
      { nowMs: night, stateOfCharge: 0.22, pvWatts: 0 },
      new PvForecast(dayProfile(15), night, 0),
      typical,
    );
    expect(idle).to.include({ sleep: true, wakeAtMs: Date.UTC(2026, 5, 22, 6, 0, 0) });
    // Enough charge: stays up.
    expect(
      decideIdle(POLICY, { nowMs: night, stateOfCharge: 0.9, pvWatts: 0 }, new PvForecast(dayProfile(15), night, 0), typical),
    ).to.deep.equal({
      sleep: false,
    });
    // A first night with nothing learned: look again in two hours.
    const unknown = decideIdle(
      POLICY,
      { nowMs: night, stateOfCharge: 0.22, pvWatts: 0 },
      new PvForecast(new Map(), night, 0),
      typical,
    );
    expect(unknown).to.include({ sleep: true, wakeAtMs: night + 2 * HOUR });
  });

  it("the forecast blends persistence into the learned profile over an hour", function () {
    const profile = dayProfile(10);
    const forecast = new PvForecast(profile, NOON, 5); // a cloudy noon: half the usual
    expect(forecast.wattsAt(NOON)).to.equal(5);
    expect(forecast.wattsAt(NOON + 2 * HOUR)).to.equal(5); // profile x ratio 0.5
    expect(forecast.wattsAt(NOON + 9 * HOUR)).to.equal(0);
    expect(slotOf(NOON)).to.equal(48);
  });

  it("after a short planned sleep the saved charge is advanced by half the expected sun; after a long one it only bounds the voltage", function () {
    const saved = { stateOfCharge: 0.5, atMs: NOON };
    const forecast = new PvForecast(dayProfile(20), NOON, 20);
    // 30 min of 20 W x 0.9 x 0.5 = 4.5 Wh = 5.9 % of 76.8 Wh.
    expect(restoredStateOfCharge(POLICY, saved, forecast, NOON + HOUR / 2)).to.be.closeTo(0.5 + 4.5 / 76.8, 1e-6);
    expect(restoredStateOfCharge(POLICY, saved, forecast, NOON + 2 * HOUR)).to.equal(undefined);
    // Then the battery monitor starts from the voltage, but never above the saved charge plus all the
    // expected sun: 2 h of 20 W x 0.9 = 36 Wh = 46.9 % of 76.8 Wh.
    expect(chargeCeilingAfterSleep(POLICY, saved, forecast, NOON + 2 * HOUR)).to.be.closeTo(0.5 + 36 / 76.8, 1e-6);
    expect(chargeCeilingAfterSleep(POLICY, saved, forecast, NOON + 6 * HOUR)).to.equal(1);
  });

  it("the meter integrates the load and counts the part the panel covered as solar", function () {
    const meter = new EnergyMeter(0);
    meter.add(0, 6, 6);
    meter.add(1_800_000, 6, 6); // 30 min fully solar
    meter.add(3_600_000, 6, 0); // then the sun fades linearly to 0
    expect(meter.wattHours).to.be.closeTo(6, 1e-9);
    expect(meter.receipt()).to.deep.equal({ milliwattHours: 6000, solarShareBps: 7500 });
    expect(meter.seconds).to.equal(3600);
  });

  it("the meter holds the last reading to the end of a task shorter than the board's sampling", function () {
    const meter = new EnergyMeter(0);
    meter.add(0, 7.2, 0);
    meter.add(0, 7.2, 0); // the board had no newer conversion when the task ended
    expect(meter.receipt().milliwattHours).to.equal(0);
    meter.extendTo(1_500); // the task ran 1.5 s
    expect(meter.receipt()).to.deep.equal({ milliwattHours: 3, solarShareBps: 0 });
    const blink = new EnergyMeter(0);
    blink.add(0, 6.4, 6.4);
    blink.add(200, 6.4, 6.4); // 0.36 mWh: reported as the smallest non-zero receipt
    expect(blink.receipt()).to.deep.equal({ milliwattHours: 1, solarShareBps: 10_000 });
    meter.extendTo(1_000); // never backwards
    expect(meter.seconds).to.equal(1.5);
  });
});

describe("worker energy manager: the forecast night reserve, on the register-level simulator", function () {
  this.timeout(120_000);
  // A 30 W panel under Albuquerque's clear sky and a 4S 6 Ah LiFePO4 pack (76.8 Wh), the real
  // drivers and the real manager; local standard time is UTC−7.
  const local = (month: number, day: number, hour: number) => Date.UTC(2026, month, day, hour + 7);
  /** 10 minutes on one core, with the 25 % margin: it ends 12.5 min after its start. */
  const TASK = { expectedSeconds: 600, cpuMillicores: 1000 };
  const TASK_MS = 750_000;

  /** The board from `fromMs`, sampled every 5 minutes until `untilMs`: the manager learns the panel on the way. */
  async function run(fromMs: number, untilMs: number, config: EnergyPolicyConfig = POLICY) {
    const sim = simulate({ start: fromMs, battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.7 } });
    const board = boardOn(sim, { battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, initialStateOfCharge: 0.7 } });
    await board.start();
    const store = new Journal(join(mkdtempSync(join(tmpdir(), "sunpool-reserve-")), "journal.sqlite"));
    const energy = createBoardEnergyManager(board, store, config);
    await energy.sample();
    const sampleUntil = async (atMs: number) => {
      const steps = Math.ceil((atMs - sim.clock.now()) / 300_000);
      for (let step = 0; step < steps; step++) {
        await sim.clock.sleep(Math.min(300_000, atMs - sim.clock.now()));
        await energy.sample();
      }
    };
    await sampleUntil(untilMs);
    const close = async () => {
      await board.close();
      sim.close();
    };
    return { sim, board, store, energy, sampleUntil, close };
  }

  /**
   * The reserve worked out independently of the policy: the floor, plus 1.5 x 0.15 W from `fromMs`
   * until the simulator's panel, after its MPPT controller (95 %) and the policy's 20 % discount on
   * the sun, carries the Pi's 2.7 W idle draw.
   */
  function expectedReserve(sim: { panel: { exactPowerAt(ms: number): number } }, fromMs: number): number {
    for (let minute = 0; minute < 24 * 60; minute++) {
      if (sim.panel.exactPowerAt(fromMs + minute * 60_000) * 0.95 * 0.8 >= 2.7) return 0.2 + (0.15 * 1.5 * minute) / 60 / 76.8;
    }
    throw new Error("the simulated panel never carries the Pi within a day");
  }

  it("a winter evening holds more back than a summer one: the floor plus the sleeping Pi's draw until the panel carries it", async function () {
    const reserves: number[] = [];
    for (const [month, day] of [
      [0, 15],
      [5, 21],
    ] as const) {
      // A day to learn the panel, then a task asked for at 21:00.
      const evening = local(month, day, 21);
      const { sim, energy, close } = await run(evening - 24 * HOUR, evening);
      const decision = energy.mayStart("app", TASK);
      expect(decision.start, `at ${pctOf(energy.last!.stateOfCharge)}`).to.equal(true);
      // The forecast learns the panel in 15-minute slots: within a slot's worth of sleep (0.07 %).
      expect(decision.reserveSoc).to.be.closeTo(expectedReserve(sim, evening + TASK_MS), (0.225 * 0.25) / 76.8);
      reserves.push(decision.reserveSoc);
      await close();
    }
    const [winter, summer] = reserves as [number, number];
    // The south-facing panel carries the idle Pi from about 08:00 on 16 January and 06:30 on 22 June.
    expect(winter - summer).to.be.above((0.225 * 1) / 76.8);
    expect(summer).to.be.above(0.2);
  });

  it("the reserve shrinks through the night and is released once the panel carries the Pi in the morning", async function () {
    const evening = local(0, 15, 21);
    const { sim, energy, sampleUntil, close } = await run(evening - 24 * HOUR, evening);
    const atEvening = energy.mayStart("app", TASK).reserveSoc;
    await sampleUntil(local(0, 16, 5));
    const beforeDawn = energy.mayStart("app", TASK);
    expect(beforeDawn.reserveSoc).to.be.closeTo(expectedReserve(sim, local(0, 16, 5) + TASK_MS), (0.225 * 0.25) / 76.8);
    expect(beforeDawn.reserveSoc).to.be.below(atEvening - (0.225 * 7) / 76.8);
    // Mid-morning the task ends in sunshine: only the floor stays held back.
    await sampleUntil(local(0, 16, 10));
    const morning = energy.mayStart("app", TASK);
    expect(morning).to.include({ start: true, reserveSoc: 0.2 });
    await close();
  });

  it("an owner's fixed night reserve overrides the forecast one, and the manager keeps it above the floor", async function () {
    const evening = local(0, 15, 21);
    const { board, store, energy, close } = await run(evening - 24 * HOUR, evening, { ...POLICY, nightReserve: 0.9 });
    const fixed = energy.mayStart("app", TASK);
    expect(fixed.start === false && fixed.reason).to.match(/^the task ends after sunset with \d+ % left \(night reserve 90 %\)$/);
    expect(fixed.reserveSoc).to.equal(0.9);
    // The same board and learned panel without the override: the forecast reserve, and the task starts.
    const forecast = createBoardEnergyManager(board, store, POLICY);
    await forecast.sample();
    expect(forecast.mayStart("app", TASK)).to.include({ start: true });
    // An override below the floor in force is raised to it.
    const low = createBoardEnergyManager(board, store, { ...POLICY, nightReserve: 0.05 });
    await low.sample();
    expect(low.mayStart("app", TASK).reserveSoc).to.equal(0.2);
    await close();
  });
});

describe("worker energy manager: a simulated week on each TMY3 site", function () {
  this.timeout(120_000);
  const base: Omit<WeekOptions, "site" | "startDay" | "policy"> = {
    days: 7,
    tasksPerHour: 2,
    taskMinutes: 20,
    maxWaitMinutes: 240,
    panelWatts: 20,
    capacityAh: 6,
  };

  for (const site of ["albuquerque", "greensboro"] as const) {
    for (const [season, startDay] of [
      ["summer", 172],
      ["winter", 1],
    ] as const) {
      it(`${site}, ${season}: no brown-out mid-task, no start below the floor, work concentrated in daylight`, async function () {
        const aware = await simulateWeek({ ...base, site, startDay, policy: "energy-aware" });
        const blind = await simulateWeek({ ...base, site, startDay, policy: "energy-blind" });
        expect(aware.tasksCut).to.equal(0);
        expect(aware.lowVoltageShutdowns).to.equal(0);
        expect(aware.startsBelowFloor).to.equal(0);
        // The simulator's true charge, not the agent's estimate: never near the cut-off while working.
        expect(aware.minStateOfChargeWhileBusy).to.be.above(0.1);
        // The same week without the energy manager browns out: the assertions above can fail.
        expect(blind.tasksCut).to.be.above(0);
        // Arrivals are uniform (42 % of them between 08:00 and 18:00); starts lean to daylight.
        expect(daytimeShare(aware)).to.be.above(0.6);
        // And the caution costs little: at least 85 % of the energy-blind worker's completed tasks.
        expect(aware.tasksDone).to.be.at.least(Math.floor(blind.tasksDone * 0.85));
      });
    }
  }
});
