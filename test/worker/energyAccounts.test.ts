// The worker's energy accounts (worker/src/energy/ledger.ts) and the battery-health floor
// (worker/src/energy/batteryHealth.ts): hand-computed cases, then a simulated day through the real
// drivers and the real energy manager, checked against the simulator's own energy totals.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { batteryHealthFloor, capacityFade, coldCapacityLoss, MAX_HEALTH_FLOOR } from "../../worker/src/energy/batteryHealth.js";
import { EnergyLedger, type EnergyLedgerState, type MeterSample } from "../../worker/src/energy/ledger.js";
import { createBoardEnergyManager, heartbeatEnergy, LEDGER_META } from "../../worker/src/energy/manager.js";
import { EnergyMeter } from "../../worker/src/energy/meter.js";
import { DEFAULT_ENERGY_POLICY, type EnergyPolicyConfig } from "../../worker/src/energy/policy.js";
import { Journal } from "../../worker/src/journal/journal.js";
import { boardOn, simulate } from "./simulator/fixtures.js";

const HOUR = 3_600_000;
/** 4S 6 Ah LiFePO4 at 3.2 V nominal. */
const POLICY: EnergyPolicyConfig = { ...DEFAULT_ENERGY_POLICY, batteryWattHours: 76.8 };

const sample = (at: number, fields: Partial<MeterSample>): MeterSample => ({
  at,
  pvWatts: 0,
  batteryWatts: 0,
  loadWatts: 0,
  stateOfCharge: 0.5,
  available: true,
  ...fields,
});

const journal = () => new Journal(join(mkdtempSync(join(tmpdir(), "sunpool-energy-")), "journal.sqlite"));

describe("worker energy accounts and battery health", function () {
  this.timeout(120_000);

  it("the health floor starts at the chemistry's deep-discharge knee and rises in the cold and with cycles", () => {
    expect(batteryHealthFloor({ chemistry: "lifepo4" })).to.equal(0.1);
    expect(batteryHealthFloor({ chemistry: "li-ion", temperatureC: 35 })).to.equal(0.15);
    // 0 °C: LiFePO4 gives up 15 % of its nameplate, Li-ion 20 % (table in §3.4 of docs/hardware.md).
    expect(batteryHealthFloor({ chemistry: "lifepo4", temperatureC: 0 })).to.be.closeTo(0.25, 1e-12);
    expect(coldCapacityLoss("li-ion", -10)).to.be.closeTo(0.3, 1e-12);
    expect(coldCapacityLoss("lifepo4", -40), "below the table: its coldest row").to.equal(0.35);
    // 250 equivalent cycles: half-way to a Li-ion pack's 80 % end of life (500 cycles), 10 % faded.
    expect(capacityFade("li-ion", 250)).to.be.closeTo(0.1, 1e-12);
    expect(batteryHealthFloor({ chemistry: "li-ion", equivalentFullCycles: 250 })).to.be.closeTo(0.25, 1e-12);
    expect(batteryHealthFloor({ chemistry: "lifepo4", equivalentFullCycles: 1000, temperatureC: 10 })).to.be.closeTo(
      0.1 + 0.075 + 0.1,
      1e-12,
    );
    expect(batteryHealthFloor({ chemistry: "li-ion", temperatureC: -20, equivalentFullCycles: 500 })).to.equal(MAX_HEALTH_FLOOR);
    expect(() => batteryHealthFloor({ chemistry: "lifepo4", temperatureC: Number.NaN })).to.throw("must be a number of °C");
  });

  it("integrates sources and uses, availability, deep discharge and cycles from samples; gaps count as time only", () => {
    const ledger = new EnergyLedger({
      chemistry: "lifepo4",
      batteryWattHours: 100,
      converterEfficiency: 0.9,
      maxGapMs: 10 * 60_000,
    });
    // Two hours at night on the battery: 4.5 W Pi = 5 W from the bus; SoC 8 % (below LiFePO4's 10 % knee).
    for (let i = 0; i <= 24; i++) {
      ledger.add(sample(i * 5 * 60_000, { batteryWatts: -5, loadWatts: 4.5, stateOfCharge: 0.08, available: i < 12 }));
    }
    // The Pi is off for an hour (no samples), then an hour in the sun: 20 W panel, 9 W Pi (10 W bus), 10 W charge.
    for (let i = 0; i <= 12; i++) {
      ledger.add(sample(3 * HOUR + i * 5 * 60_000, { pvWatts: 20, batteryWatts: 10, loadWatts: 9, stateOfCharge: 0.3 }));
    }
    const t = ledger.totals();
    expect(t.hours).to.be.closeTo(4, 1e-9);
    expect(t.batteryDischargeWh).to.be.closeTo(10, 1e-9);
    expect(t.batteryChargeWh).to.be.closeTo(10, 1e-9);
    expect(t.pvWh).to.be.closeTo(20, 1e-9);
    expect(t.loadWh).to.be.closeTo(9 + 9, 1e-9);
    expect(t.busLoadWh).to.be.closeTo(10 + 10, 1e-9);
    expect(t.unaccountedWh).to.be.closeTo(0, 1e-9);
    // Available for samples 0–11 (eleven 5-minute steps, and half of the step to the unavailable 12th)
    // and the sunny hour: 57.5 min + 60 min of 4 h.
    expect(t.availableHours).to.be.closeTo(117.5 / 60, 1e-9);
    expect(t.availability).to.be.closeTo(117.5 / 60 / 4, 1e-9);
    expect(t.deepDischargeHours).to.be.closeTo(2, 1e-9);
    expect(t.equivalentFullCycles).to.be.closeTo(0.1, 1e-9);

    ledger.brownOut();
    ledger.taskFinished(0);
    ledger.taskFinished(0.4);
    const after = ledger.totals();
    expect([after.brownOuts, after.tasks, after.tasksOnHarvest, after.harvestedTaskShare]).to.deep.equal([1, 2, 1, 0.5]);
    // Restored from its JSON state, it carries on where it stopped.
    const saved = JSON.parse(JSON.stringify(ledger.state())) as EnergyLedgerState;
    const restored = new EnergyLedger({ chemistry: "lifepo4", batteryWattHours: 100 }, saved);
    restored.add(sample(4 * HOUR + 5 * 60_000, { pvWatts: 20, batteryWatts: 10, loadWatts: 9, stateOfCharge: 0.3 }));
    expect(restored.totals().pvWh).to.be.closeTo(20 + 20 / 12, 1e-9);
    expect(restored.totals().brownOuts).to.equal(1);
  });

  it("availability counts only daylight-plus-battery hours: a sleep above the floor counts against it, the dark at the floor does not", () => {
    const ledger = new EnergyLedger({ chemistry: "lifepo4", batteryWattHours: 100, maxGapMs: 10 * 60_000 });
    const at = (minute: number, fields: Partial<MeterSample>) => ledger.add(sample(minute * 60_000, fields));
    // An hour able to take work, then an hour awake but refusing (the battery still above the floor).
    for (let minute = 0; minute <= 60; minute += 5) at(minute, { available: true, daylightOrBattery: true });
    for (let minute = 65; minute <= 120; minute += 5) at(minute, { available: false, daylightOrBattery: true });
    // Four hours asleep (no samples) with charge above the floor at both ends.
    at(360, { available: false, daylightOrBattery: true });
    // Then two hours in the dark with the battery at its floor: neither daylight nor battery.
    for (let minute = 365; minute <= 480; minute += 5) at(minute, { available: false, daylightOrBattery: false });
    const t = ledger.totals();
    expect(t.hours).to.be.closeTo(8, 1e-9);
    // 2 h awake + 4 h asleep + half of the 5-minute step into the dark.
    expect(t.daylightOrBatteryHours).to.be.closeTo(6 + 2.5 / 60, 1e-9);
    // The first hour and half of the step to the first refusal.
    expect(t.availableHours).to.be.closeTo(1 + 2.5 / 60, 1e-9);
    expect(t.availability).to.be.closeTo(62.5 / 362.5, 1e-9);
    // Accounts saved by a worker that kept no daylight-plus-battery hours counted every hour.
    const { daylightOrBatteryHours, ...older } = ledger.state().totals;
    expect(daylightOrBatteryHours).to.be.closeTo(6 + 2.5 / 60, 1e-9);
    const restored = new EnergyLedger({ chemistry: "lifepo4", batteryWattHours: 100 }, { totals: older });
    expect(restored.totals().availability).to.be.closeTo((1 + 2.5 / 60) / 8, 1e-9);
  });

  it("a task's energy splits into the panel's cover, the battery and mains; mains makes it not harvested", () => {
    const meter = new EnergyMeter(0);
    meter.add(0, 6, 4); // the panel covers 4 of 6 W
    meter.add(3_600_000, 6, 4);
    expect(meter.split()).to.deep.equal({ pvWh: 4, batteryWh: 2, mainsWh: 0, harvested: true });
    const plugged = new EnergyMeter(0);
    plugged.add(0, 5, 0, 5);
    plugged.add(1_800_000, 5, 0, 5);
    expect(plugged.split()).to.deep.equal({ pvWh: 0, batteryWh: 0, mainsWh: 2.5, harvested: false });
  });

  it("the energy manager plans to the health floor: a task it starts warm is refused in the cold", async () => {
    // 02:00: a task now ends in the dark, so it must also leave the night reserve (the floor and the sleep until sunrise).
    const sim = simulate({ battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.45 } });
    const board = boardOn(sim, { battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, initialStateOfCharge: 0.45 } });
    await board.start();
    const energy = createBoardEnergyManager(board, journal(), POLICY);
    const task = { expectedSeconds: 600, cpuMillicores: 1000 };
    sim.setTemperature(25);
    await energy.sample();
    expect(energy.report()!.stateOfChargeFloor).to.equal(0.2); // the configured floor binds when warm
    expect(energy.mayStart("app", task).start).to.equal(true);
    sim.setTemperature(-20);
    await energy.sample();
    // LiFePO4 at −20 °C: 10 % knee + 35 % the cold takes = 45 %.
    expect(energy.report()!.stateOfChargeFloor).to.be.closeTo(0.45, 1e-9);
    const cold = energy.mayStart("app", task);
    expect(cold.start === false && cold.reason).to.match(/^the battery would fall to 4[0-4] % during the task \(floor 45 %\)$/);
    await board.close();
    sim.close();
  });

  it("a simulated day adds up: panel + battery + mains = load + charge within the meters' error, and matches the simulator's totals", async () => {
    // From 02:00 on 21 June in Albuquerque: a night on the battery, a sunny day, a noon task.
    const sim = simulate();
    const board = boardOn(sim);
    await board.start();
    const store = journal();
    const energy = createBoardEnergyManager(board, store, POLICY, (busy) => sim.setLoad(busy ? "busy" : "idle"));
    await energy.sample();
    const from = { ...sim.totals };
    for (let minute = 1; minute <= 24 * 60; minute++) {
      await sim.clock.sleep(60_000);
      const hourOfDay = (minute / 60 + 2) % 24; // local standard time
      if (hourOfDay === 11) energy.setBusy(true);
      if (hourOfDay === 13) energy.setBusy(false);
      await energy.sample();
    }
    const truth = {
      pvWh: sim.totals.pvWh - from.pvWh,
      piWh: sim.totals.piWh - from.piWh,
      batteryInWh: sim.totals.batteryInWh - from.batteryInWh,
      batteryOutWh: sim.totals.batteryOutWh - from.batteryOutWh,
    };
    const t = energy.report()!;
    expect(t.hours).to.be.closeTo(24, 1e-6);
    const sources = t.pvWh + t.batteryDischargeWh + t.mainsWh;
    const uses = t.busLoadWh + t.batteryChargeWh;
    // The meters: INA226 to a few mA, the Witty Pi's 5 V output to one ADC count (≈2 %, §1.2).
    expect(Math.abs(sources - uses) / uses, `unaccounted ${t.unaccountedWh.toFixed(2)} Wh of ${uses.toFixed(1)}`).to.be.below(
      0.02,
    );
    expect(t.mainsWh).to.equal(0);
    // Against the physics: the Pi's draw, the battery's flows, and the panel after the MPPT controller (95 %).
    expect(t.loadWh).to.be.closeTo(truth.piWh, truth.piWh * 0.05);
    expect(t.batteryChargeWh).to.be.closeTo(truth.batteryInWh, truth.batteryInWh * 0.03);
    expect(t.batteryDischargeWh).to.be.closeTo(truth.batteryOutWh, truth.batteryOutWh * 0.03);
    expect(t.pvWh).to.be.closeTo(truth.pvWh * 0.95, truth.pvWh * 0.95 * 0.03);
    expect(t.equivalentFullCycles).to.be.closeTo(truth.batteryOutWh / 76.8, 0.01);
    // The noon task ran on the sun: counted as harvested, mostly the panel's.
    expect([t.tasks, t.tasksOnHarvest]).to.deep.equal([1, 1]);
    expect(t.lastTask!.pvWh / (t.lastTask!.pvWh + t.lastTask!.batteryWh)).to.be.above(0.9);
    expect(t.availability).to.be.within(0.5, 1);
    // The 30 W panel keeps the pack above the 20 % floor all day: every hour is a daylight-plus-battery hour.
    expect(t.daylightOrBatteryHours).to.be.closeTo(24, 1e-6);
    expect(t.brownOuts).to.equal(0);
    expect(heartbeatEnergy(t)).to.include({ brownOuts: 0, tasks: 1, tasksOnHarvest: 1, mainsWh: 0 });
    expect(JSON.parse(store.getMeta(LEDGER_META)!)).to.have.nested.property("totals.tasks", 1);
    await board.close();
    sim.close();
  });

  it("a start after the low-voltage cut counts as a brown-out in the accounts", async () => {
    const sim = simulate({ battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.03 } });
    const first = boardOn(sim);
    first.onShutdownRequest(() => void first.powerOff());
    await first.start();
    sim.setLoad("busy");
    expect((await sim.waitForPowerOff(6 * HOUR))?.reason).to.equal(4);
    await first.close();
    expect((await sim.waitForPowerOn(24 * HOUR))?.reason).to.equal(5);
    const board = boardOn(sim);
    await board.start();
    const energy = createBoardEnergyManager(board, journal(), POLICY);
    await energy.sample();
    expect(energy.report()!.brownOuts).to.equal(1);
    await board.close();
    sim.close();
  });
});
