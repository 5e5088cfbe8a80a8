// The simulated Witty Pi firmware's power decisions (docs/hardware.md §1.4), observed through the production driver:
// low-voltage shutdown and its arming rules, recovery, alarm1 wake-up, the power-cut delay.
import { expect } from "chai";

import { WittyPi4 } from "../../../worker/src/hardware/wittyPi4.js";
import type { SimulatedBoard } from "../../../worker/src/simulator/board.js";
import { LV_GRACE_MS, MCU_ADDRESS, MCU_REG } from "../../../worker/src/simulator/wittyPi4Mcu.js";
import { NIGHT, simulate } from "./fixtures.js";

/** A nearly flat 20 Ah 4S LiFePO4 pack at night, busy Pi: 4 × 2.9x V ≈ 11.9 V, under a 12.0 V cut-off, 40 min from empty. */
function lowBattery(): { sim: SimulatedBoard; witty: WittyPi4 } {
  const sim = simulate({ battery: { chemistry: "lifepo4", cells: 4, capacityAh: 20, stateOfCharge: 0.02 } });
  sim.setLoad("busy");
  const witty = new WittyPi4(sim.bus, { sleep: (ms) => sim.clock.sleep(ms), sysUp: sim.gpio.sysUp, halt: sim.gpio.halt });
  return { sim, witty };
}

describe("simulated Witty Pi 4 firmware", () => {
  describe("low-voltage shutdown", () => {
    it("does not happen before SYS_UP, however long the voltage stays low", async () => {
      const { sim, witty } = lowBattery();
      await witty.setLowVoltageThreshold(12.0);
      expect(sim.truth().wittyInputVolts).to.be.lessThan(12.0);
      await sim.clock.advance(15 * 60_000);
      expect(sim.poweredOn).to.equal(true);
      sim.close();
    });

    it("does not happen in the first 180 s after power-on, then cuts with reason 4 after the power-cut delay", async () => {
      const { sim, witty } = lowBattery();
      await witty.setLowVoltageThreshold(12.0);
      await witty.sendSysUp();
      const requests: number[] = [];
      witty.onShutdownRequest(() => requests.push(sim.clock.now()));
      const event = await sim.waitForPowerOff(10 * 60_000);
      // The input was below the threshold from the start and SYS_UP came at +0.4 s: the first
      // request is exactly when the 180 s grace period ends.
      expect(requests).to.deep.equal([NIGHT + LV_GRACE_MS]);
      expect(event).to.deep.equal({ at: NIGHT + LV_GRACE_MS + 7000, reason: 4, cause: "low-voltage" });
      expect(sim.mcu.registers[MCU_REG.LV_SHUTDOWN]).to.equal(1);
      sim.close();
    });

    it("powers the Pi back on (reason 5) when the input reaches the recovery voltage", async () => {
      const { sim, witty } = lowBattery();
      await witty.setLowVoltageThreshold(12.0);
      await witty.setRecoveryThreshold(12.8);
      await witty.sendSysUp();
      await sim.waitForPowerOff(10 * 60_000);
      // Still low: no recovery.
      expect(await sim.waitForPowerOn(60_000)).to.equal(undefined);
      // The sun (or a charger) brings the pack back to 50 %: ≈13.1 V at rest.
      sim.battery.stateOfCharge = 0.5;
      const restoredAt = sim.clock.now();
      const on = await sim.waitForPowerOn(60_000);
      expect(on?.reason).to.equal(5);
      // Checked every pulse interval (reg 18, 4 s).
      expect(on!.at - restoredAt).to.be.at.most(4000);
      const rebooted = new WittyPi4(sim.bus, { sleep: (ms) => sim.clock.sleep(ms) });
      expect((await rebooted.actionReason()).name).to.equal("voltage-restored");
      expect(await rebooted.lowVoltageShutdown()).to.equal(true);
      sim.close();
    });
  });

  describe("alarms and power cuts", () => {
    it("alarm1 wakes the Pi from off at the programmed second with reason alarm1", async () => {
      const sim = simulate();
      const witty = new WittyPi4(sim.bus, { sleep: (ms) => sim.clock.sleep(ms), sysUp: sim.gpio.sysUp, halt: sim.gpio.halt });
      await witty.sendSysUp();
      const wakeAt = NIGHT + 2 * 3600_000;
      await witty.setStartupAlarm(new Date(wakeAt), new Date(sim.clock.now()));
      sim.halt();
      const off = await sim.waitForPowerOff(60_000);
      expect(off?.cause).to.equal("halt");
      const on = await sim.waitForPowerOn(3 * 3600_000);
      expect(on).to.deep.equal({ at: wakeAt, reason: 1, cause: "alarm1" });
      const w = new WittyPi4(sim.bus, { sleep: (ms) => sim.clock.sleep(ms) });
      expect((await w.actionReason()).name).to.equal("alarm1");
      expect(await w.alarmFlags()).to.deep.equal({ alarm1: true, alarm2: false });
      sim.close();
    });

    it("honours the power-cut delay after the Pi halts (TXD low), and only after SYS_UP", async () => {
      const sim = simulate();
      const witty = new WittyPi4(sim.bus, { sleep: (ms) => sim.clock.sleep(ms), sysUp: sim.gpio.sysUp, halt: sim.gpio.halt });
      await witty.raisePowerCutDelay(20);
      sim.halt();
      // No SYS_UP: the TXD power cut is not armed (§1.4) and the halted Pi keeps drawing power.
      expect(await sim.waitForPowerOff(60_000)).to.equal(undefined);
      sim.close();

      const armed = simulate();
      const w = new WittyPi4(armed.bus, { sleep: (ms) => armed.clock.sleep(ms), sysUp: armed.gpio.sysUp, halt: armed.gpio.halt });
      await w.raisePowerCutDelay(20);
      await w.sendSysUp();
      const haltedAt = armed.clock.now();
      armed.halt();
      expect(armed.truth().piWatts).to.equal(0.115);
      expect((await armed.waitForPowerOff(60_000))?.at).to.equal(haltedAt + 20_000);
      armed.close();
    });

    it("defers an alarm1 due while the Pi is on to ~3 s after the cut (reason 8)", async () => {
      const sim = simulate();
      const witty = new WittyPi4(sim.bus, { sleep: (ms) => sim.clock.sleep(ms), sysUp: sim.gpio.sysUp, halt: sim.gpio.halt });
      await witty.sendSysUp();
      await witty.setStartupAlarm(new Date(NIGHT + 60_000), new Date(sim.clock.now()));
      await sim.clock.runUntil(NIGHT + 120_000);
      expect(sim.poweredOn).to.equal(true);
      sim.halt();
      const off = await sim.waitForPowerOff(60_000);
      const on = await sim.waitForPowerOn(60_000);
      expect(on).to.deep.equal({ at: off!.at + 3000, reason: 8, cause: "alarm1-delayed" });
      sim.close();
    });
  });

  it("quantises Vin to 0.0613 V ADC counts and truncates the decimal byte, like the firmware", async () => {
    const sim = simulate();
    const i = await sim.bus.readByte(MCU_ADDRESS, MCU_REG.VOLTAGE_IN_I);
    const d = await sim.bus.readByte(MCU_ADDRESS, MCU_REG.VOLTAGE_IN_D);
    const counts = Math.round(sim.truth().wittyInputVolts / ((57 * 1.1) / 1023));
    const exact = (counts * 57 * 1.1) / 1023;
    expect(i).to.equal(Math.floor(exact));
    expect(d).to.equal(Math.floor((exact - Math.floor(exact)) * 100));
    sim.close();
  });
});
