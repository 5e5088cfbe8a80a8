// The Witty Pi 4 driver against the register-level simulator: every reading within the MCU's ADC
// quantisation, BCD alarms, the retry/read-back discipline under injected faults, RTC, GPIO.
import "../../helpers/numericCloseTo.js";
import { expect } from "chai";

import { HardwareError } from "../../../worker/src/hardware/errors.js";
import {
  actionReasonName,
  decodeLm75b,
  fromBcd,
  REG,
  toBcd,
  WITTY_PI_ADDRESS,
  WittyPi4,
} from "../../../worker/src/hardware/wittyPi4.js";
import type { SimulatedBoard } from "../../../worker/src/simulator/board.js";
import { AMPS_PER_COUNT, MCU_ADDRESS, MCU_REG, REASON, VOLTS_PER_COUNT } from "../../../worker/src/simulator/wittyPi4Mcu.js";
import { countingSleep, NIGHT, rejection, simulate } from "../simulator/fixtures.js";

describe("WittyPi4 driver", () => {
  // The simulator's register map is written from docs/hardware.md §1.2–1.3, not from the driver: a
  // wrong number in the driver fails here, and in the behaviour tests below, instead of being mirrored.
  describe("register map and codes against docs/hardware.md", () => {
    it("addresses every register the driver names where the firmware has it (§1.2)", () => {
      expect(WITTY_PI_ADDRESS).to.equal(MCU_ADDRESS);
      for (const [name, register] of Object.entries(REG)) {
        expect(MCU_REG, `driver register ${name}`).to.have.property(name, register);
      }
    });

    it("names every action reason the firmware reports (§1.3)", () => {
      const expected: Record<keyof typeof REASON, string> = {
        ALARM1: "alarm1",
        ALARM2: "alarm2",
        BUTTON: "button",
        LOW_VOLTAGE: "low-voltage",
        VOLTAGE_RESTORED: "voltage-restored",
        OVER_TEMPERATURE: "over-temperature",
        BELOW_TEMPERATURE: "below-temperature",
        ALARM1_DELAYED: "alarm1-delayed",
        USB_5V_CONNECTED: "usb-5v-connected",
        POWER_CONNECTED: "power-connected",
        REBOOT: "reboot",
        GUARANTEED_WAKE: "guaranteed-wake",
      };
      for (const [key, code] of Object.entries(REASON)) {
        expect(actionReasonName(code), `reason ${code}`).to.equal(expected[key as keyof typeof REASON]);
      }
    });
  });

  let sim: SimulatedBoard;
  let sleeps: ReturnType<typeof countingSleep>;
  let witty: WittyPi4;

  beforeEach(() => {
    sim = simulate();
    sleeps = countingSleep();
    witty = new WittyPi4(sim.bus, { sleep: sleeps.sleep, sysUp: sim.gpio.sysUp, halt: sim.gpio.halt });
  });
  afterEach(() => sim.close());

  describe("identity and measurements", () => {
    it("probes firmware ID 0x26 and revision 7", async () => {
      expect(await witty.probe()).to.deep.equal({ id: 0x26, model: "Witty Pi 4", revision: 7 });
    });

    it("refuses a device with another firmware ID, naming it", async () => {
      const other = simulate({ wittyPi: { firmwareId: 0x24 } });
      const err = await rejection(new WittyPi4(other.bus, { sleep: sleeps.sleep }).probe());
      other.close();
      expect(err).to.be.instanceOf(HardwareError);
      expect(err.code).to.equal("HW_NOT_FOUND");
      expect(err.message).to.contain("firmware ID 0x24");
    });

    // Reported = ADC count × step, then split into I + trunc(fraction × 100)/100 (docs/hardware.md §1.2): within half
    // a count plus 0.01 of the truth.
    it("reads Vin, Vout and Iout within the ADC quantisation of the simulated values", async () => {
      for (const load of ["idle", "busy", 4.2] as const) {
        sim.setLoad(load);
        const truth = sim.truth();
        const vout = 5.1 - 0.05 * (truth.piWatts / 5.1);
        expect(await witty.inputVolts()).to.be.closeTo(truth.wittyInputVolts, VOLTS_PER_COUNT / 2 + 0.01);
        expect(await witty.outputVolts()).to.be.closeTo(vout, VOLTS_PER_COUNT / 2 + 0.01);
        expect(await witty.outputAmps()).to.be.closeTo(truth.piWatts / vout, AMPS_PER_COUNT / 2 + 0.01);
      }
    });

    it("reports the quantised value, not the true one", async () => {
      const vin = await witty.inputVolts();
      const counts = vin / VOLTS_PER_COUNT;
      // The decimal byte is truncated, so the reading sits just below a whole number of counts.
      expect(counts - Math.floor(counts + 0.2)).to.be.within(-0.2, 0);
      expect(vin).to.not.equal(sim.truth().wittyInputVolts);
    });

    it("reads power mode 1 for a 12.8 V pack (Vin > 5.25 V)", async () => {
      expect(await witty.powerMode()).to.equal(1);
    });

    it("decodes the LM75B's 11-bit two's complement temperature in 0.125 °C steps", async () => {
      for (const t of [23.5, -10.375, 0, 85.125, -40]) {
        sim.setTemperature(t);
        expect(await witty.temperatureC()).to.equal(t);
      }
      expect(decodeLm75b(0xe700)).to.equal(-25);
      expect(decodeLm75b(0x0020)).to.equal(0.125);
    });

    it("decodes the action reason and the LV flag", async () => {
      expect(await witty.actionReason()).to.deep.equal({ code: 10, name: "power-connected" });
      expect(await witty.lowVoltageShutdown()).to.equal(false);
      sim.mcu.registers[MCU_REG.ACTION_REASON] = 0x2a;
      expect((await witty.actionReason()).name).to.equal("unknown(0x2a)");
    });
  });

  describe("thresholds and power-cut delay", () => {
    it("stores thresholds as floor(V × 10) and 255 for disabled", async () => {
      await witty.setLowVoltageThreshold(11.6);
      await witty.setRecoveryThreshold(12.85);
      expect(sim.mcu.registers[MCU_REG.CONF_LOW_VOLTAGE]).to.equal(116);
      expect(sim.mcu.registers[MCU_REG.CONF_RECOVERY_VOLTAGE]).to.equal(128);
      expect(await witty.lowVoltageThreshold()).to.equal(11.6);
      expect(await witty.recoveryThreshold()).to.equal(12.8);
      await witty.setLowVoltageThreshold(undefined);
      expect(sim.mcu.registers[MCU_REG.CONF_LOW_VOLTAGE]).to.equal(255);
      expect(await witty.lowVoltageThreshold()).to.equal(undefined);
    });

    it("rejects thresholds outside 2.0–25.0 V with the range in the message", async () => {
      for (const v of [1.9, 25.1, Number.NaN]) {
        const err = await rejection(witty.setLowVoltageThreshold(v));
        expect(err.code).to.equal("HW_INVALID_ARGUMENT");
        expect(err.message).to.contain("outside 2–25 V");
      }
    });

    it("skips EEPROM writes when the register already holds the value", async () => {
      await witty.setLowVoltageThreshold(11.6);
      const writes = sim.bus.counts.get(MCU_ADDRESS)!.writes;
      await witty.setLowVoltageThreshold(11.6);
      expect(sim.bus.counts.get(MCU_ADDRESS)!.writes).to.equal(writes);
      expect(sim.mcu.eepromWrites).to.equal(1);
    });

    it("raises the power-cut delay, never lowers it, and caps it at 25 s", async () => {
      expect(await witty.powerCutDelaySeconds()).to.equal(7);
      expect(await witty.raisePowerCutDelay(20)).to.equal(20);
      expect(sim.mcu.registers[MCU_REG.CONF_POWER_CUT_DELAY]).to.equal(200);
      expect(await witty.raisePowerCutDelay(10)).to.equal(20);
      expect(await witty.raisePowerCutDelay(40)).to.equal(25);
      const err = await rejection(witty.setPowerCutDelay(25.5));
      expect(err.message).to.contain("outside 0–25 s");
    });
  });

  describe("alarms", () => {
    const now = new Date(NIGHT);

    it("round-trips the startup alarm through BCD registers 27–30 (UTC day/hour/minute/second)", async () => {
      const at = new Date(NIGHT + ((3 * 24 + 5) * 3600 + 7 * 60 + 9) * 1000);
      const alarm = await witty.setStartupAlarm(at, now);
      expect(alarm).to.deep.equal({ day: 24, hour: 14, minute: 7, second: 9 });
      const r = sim.mcu.registers;
      expect([r[27], r[28], r[29], r[30]]).to.deep.equal([0x09, 0x07, 0x14, 0x24]);
      expect(await witty.readStartupAlarm()).to.deep.equal(alarm);
      await witty.clearStartupAlarm();
      expect(await witty.readStartupAlarm()).to.equal(undefined);
    });

    it("rounds a fractional time up so the Pi never wakes early", async () => {
      const alarm = await witty.setShutdownAlarm(new Date(NIGHT + 60_000 + 1), now);
      expect(alarm.second).to.equal(1);
      expect([sim.mcu.registers[32], sim.mcu.registers[33]]).to.deep.equal([0x01, 0x01]);
    });

    it("refuses a time 28 days or more ahead, saying why", async () => {
      const err = await rejection(witty.setStartupAlarm(new Date(NIGHT + 28 * 86_400_000), now));
      expect(err.code).to.equal("HW_INVALID_ARGUMENT");
      expect(err.message).to.contain("28.0 days ahead");
      expect(err.message).to.contain("matches only day-of-month, hour, minute and second");
      await witty.setStartupAlarm(new Date(NIGHT + 28 * 86_400_000 - 1000), now);
    });

    it("refuses a time in the past", async () => {
      const err = await rejection(witty.setStartupAlarm(new Date(NIGHT - 1000), now));
      expect(err.message).to.contain("is not after the board time");
    });

    it("encodes BCD both ways for every clock value", () => {
      for (let n = 0; n < 100; n++) expect(fromBcd(toBcd(n))).to.equal(n);
      expect(toBcd(59)).to.equal(0x59);
    });

    it("clears the alarm flags: CTRL2 bit 6 and regs 39/40", async () => {
      sim.mcu.registers[MCU_REG.RTC_CTRL2] = 0x41;
      sim.mcu.registers[MCU_REG.CONF_FLAG_ALARM1] = 1;
      expect(await witty.alarmFlags()).to.deep.equal({ alarm1: true, alarm2: false });
      await witty.clearAlarmFlags();
      expect(sim.mcu.registers[MCU_REG.RTC_CTRL2]).to.equal(0x01);
      expect(await witty.alarmFlags()).to.deep.equal({ alarm1: false, alarm2: false });
    });
  });

  describe("retries (UUGear's discipline, §1.5)", () => {
    it("a read succeeds after 2 transient EIO failures, 1 s apart", async () => {
      sim.mcu.injectReadFailures(2);
      expect(await witty.readRegister(MCU_REG.ID)).to.equal(0x26);
      expect(sleeps.calls).to.deep.equal([1000, 1000]);
    });

    it("a read that fails 4 times gives an error naming the register and the cause", async () => {
      sim.mcu.injectReadFailures(4);
      const err = await rejection(witty.readRegister(MCU_REG.CONF_LOW_VOLTAGE));
      expect(err).to.be.instanceOf(HardwareError);
      expect(err.code).to.equal("HW_READ_FAILED");
      expect(err.register).to.equal(19);
      expect(err.message).to.contain("register 19 (CONF_LOW_VOLTAGE) failed 4 times (EIO");
      expect(err.message).to.contain("i2cdetect -y 1");
      expect(sleeps.calls).to.have.length(3);
    });

    it("a write that does not stick is read back and retried", async () => {
      sim.mcu.injectLostWrite(MCU_REG.CONF_LOW_VOLTAGE);
      await witty.setLowVoltageThreshold(11.6);
      expect(sim.mcu.registers[MCU_REG.CONF_LOW_VOLTAGE]).to.equal(116);
      expect(sleeps.calls).to.deep.equal([1000]);
    });

    it("a write lost 4 times gives an error with the expected and read-back values", async () => {
      for (let i = 0; i < 4; i++) sim.mcu.injectLostWrite(MCU_REG.CONF_RECOVERY_VOLTAGE);
      const err = await rejection(witty.setRecoveryThreshold(12.8));
      expect(err.code).to.equal("HW_WRITE_FAILED");
      expect(err.expected).to.equal(128);
      expect(err.actual).to.equal(255);
      expect(err.message).to.contain(
        "writing 0x80 to register 22 (CONF_RECOVERY_VOLTAGE) did not stick after 4 attempts (last read back 0xff)",
      );
    });
  });

  describe("RTC", () => {
    it("reads the simulated RTC as UTC and follows simulated time", async () => {
      expect((await witty.readRtc())?.getTime()).to.equal(NIGHT);
      await sim.clock.advance(61_500);
      expect((await witty.readRtc())?.getTime()).to.equal(NIGHT + 61_000);
    });

    it("reports an RTC that lost its time (year 0) as undefined, and can set it", async () => {
      const lost = simulate({ wittyPi: { rtc: "unset" } });
      const w = new WittyPi4(lost.bus, { sleep: sleeps.sleep });
      expect(await w.readRtc()).to.equal(undefined);
      await w.writeRtc(new Date(Date.UTC(2027, 1, 28, 23, 59, 58)));
      await lost.clock.advance(3000);
      expect((await w.readRtc())?.toISOString()).to.equal("2027-03-01T00:00:01.000Z");
      lost.close();
    });
  });

  describe("GPIO", () => {
    it("SYS_UP pulses 1/0/1/0 at 100 ms arm the MCU and leave GPIO17 an input", async () => {
      expect(sim.mcu.sysUpReceived).to.equal(false);
      await witty.sendSysUp();
      expect(sim.mcu.sysUpReceived).to.equal(true);
      expect(sleeps.calls).to.deep.equal([100, 100, 100, 100]);
      expect(sim.gpio.sysUp.driven()).to.equal(undefined);
    });

    it("hears the MCU pull HALT low when the shutdown alarm fires, at the alarm's instant", async () => {
      const timed = new WittyPi4(sim.bus, { sleep: (ms) => sim.clock.sleep(ms), sysUp: sim.gpio.sysUp, halt: sim.gpio.halt });
      const at = NIGHT + 90_000;
      await timed.setShutdownAlarm(new Date(at), new Date(sim.clock.now()));
      const heard: number[] = [];
      timed.onShutdownRequest(() => heard.push(sim.clock.now()));
      const off = sim.waitForPowerOff(120_000);
      expect((await off)?.at).to.equal(at + 7000);
      expect(heard).to.deep.equal([at]);
      expect(sim.mcu.registers[MCU_REG.ACTION_REASON]).to.equal(2);
    });

    it("requestShutdown drives HALT low: the MCU treats it as a button press (reason 3)", async () => {
      const start = sim.clock.now();
      witty.requestShutdown();
      const off = await sim.waitForPowerOff(60_000);
      expect(off).to.deep.equal({ at: start + 7000, reason: 3, cause: "button" });
    });
  });
});
