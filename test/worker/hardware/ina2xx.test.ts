// INA219/INA226: the driver's register map and scalings against the datasheet figures of
// docs/hardware.md §2.1 (as the simulator transcribes them), the calibration arithmetic against the
// worked examples and kernel constants there, then the driver against the simulated chips (sign,
// quantisation, reset recovery).
import "../../helpers/numericCloseTo.js";
import { expect } from "chai";

import { calibrationFor, currentLsbFor, INA_CHIPS, INA_REG, Ina2xx } from "../../../worker/src/hardware/ina2xx.js";
import { INA_DATASHEET, INA_REGISTERS } from "../../../worker/src/simulator/ina2xxChip.js";
import { countingSleep, NIGHT, NOON, rejection, simulate } from "../simulator/fixtures.js";

describe("INA2xx", () => {
  describe("register map and scalings against docs/hardware.md §2.1", () => {
    it("addresses the registers where the datasheet has them", () => {
      for (const [name, register] of Object.entries(INA_REG)) {
        expect(INA_REGISTERS, `driver register ${name}`).to.have.property(name, register);
      }
    });

    for (const chip of ["ina219", "ina226"] as const) {
      it(`${chip}: uses the datasheet's LSBs, and its calibration constant fits the chip's current equation`, () => {
        const driver = INA_CHIPS[chip];
        const sheet = INA_DATASHEET[chip];
        expect(driver.shuntVoltsPerLsb).to.equal(sheet.shuntVoltsPerLsb);
        expect(driver.busVoltsPerLsb).to.equal(sheet.busVoltsPerLsb);
        expect(driver.busShift).to.equal(sheet.busShift);
        expect(driver.calibrationMask).to.equal(sheet.calibrationMask);
        // CURRENT = SHUNT × CAL / divisor and Cal = constant / (LSB × R) agree only if constant / shunt LSB = divisor.
        expect(driver.calibrationConstant / driver.shuntVoltsPerLsb).to.be.closeTo(sheet.currentDivisor, 1e-9);
        expect(driver.calibrationNumerator).to.equal(Math.round(driver.calibrationConstant * 1e15));
        // POWER = CURRENT × BUS / divisor: one POWER bit is busVoltsPerLsb × divisor current LSBs (20, 25).
        expect(driver.powerFactor).to.be.closeTo(sheet.busVoltsPerLsb * sheet.powerDivisor, 1e-9);
        // The shunt ADC's full scale: the largest PGA range (INA219) or the signed 16-bit count (INA226).
        expect(driver.fullScaleShuntVolts).to.be.closeTo(chip === "ina219" ? 0.32 : 32768 * sheet.shuntVoltsPerLsb, 1e-12);
      });
    }
  });

  describe("calibration (docs/hardware.md §2.1)", () => {
    it("INA219, 0.1 Ω, 32 V / 2 A: current LSB 100 µA, Cal 4096 (0x1000), power LSB 2 mW (Adafruit)", () => {
      const lsb = currentLsbFor(2);
      expect(lsb).to.equal(100e-6);
      expect(calibrationFor("ina219", 0.1, lsb)).to.deep.equal({ calibration: 4096, currentLsb: 100e-6, powerLsb: 20 * 100e-6 });
      // Overflow current 3.2767 A = 32767 × LSB.
      expect(32767 * lsb).to.be.closeTo(3.2767, 1e-9);
    });

    it("INA219, 0.1 Ω, 32 V / 1 A: current LSB 40 µA, Cal 10240 (0x2800), power LSB 0.8 mW (Adafruit)", () => {
      const lsb = currentLsbFor(1);
      expect(lsb).to.equal(40e-6);
      const cal = calibrationFor("ina219", 0.1, lsb);
      expect(cal.calibration).to.equal(10240);
      expect(cal.powerLsb).to.be.closeTo(0.8e-3, 1e-12);
    });

    it("matches the kernel's constants at a 1 mA LSB: 40 960 000 / R[µΩ] and 5 120 000 / R[µΩ]", () => {
      expect(calibrationFor("ina219", 0.01, 1e-3).calibration).to.equal(40_960_000 / 10_000);
      expect(calibrationFor("ina226", 0.01, 1e-3).calibration).to.equal(5_120_000 / 10_000);
      expect(calibrationFor("ina226", 0.002, 1e-3).calibration).to.equal(2560);
      // INA219 drops CALIBRATION bit 0: 409 is stored as 408 and the current LSB follows.
      const odd = calibrationFor("ina219", 0.1, 1e-3);
      expect(odd.calibration).to.equal(408);
      expect(odd.currentLsb).to.be.closeTo(0.04096 / (408 * 0.1), 1e-12);
    });

    it("refuses a shunt and current the chip cannot measure, saying what to change", () => {
      const sleep = countingSleep().sleep;
      const sim = simulate();
      expect(() => new Ina2xx(sim.bus, { chip: "ina226", address: 0x40, shuntOhms: 0.1, maxAmps: 2, sleep }))
        .to.throw("200.0 mV, beyond the 81.92 mV shunt range")
        .with.property("code", "HW_INVALID_ARGUMENT");
      expect(() => calibrationFor("ina226", 0.0001, 1e-6)).to.throw("Raise maxAmps");
      sim.close();
    });
  });

  for (const chip of ["ina219", "ina226"] as const) {
    describe(`${chip} against the simulated chip`, () => {
      const shuntOhms = chip === "ina219" ? 0.05 : 0.01;
      const busStep = chip === "ina219" ? 4e-3 : 1.25e-3;

      function rig(start: number) {
        const sim = simulate({ start, monitor: { chip, address: 0x41, shuntOhms } });
        const ina = new Ina2xx(sim.bus, { chip, address: 0x41, shuntOhms, maxAmps: 5, sleep: countingSleep().sleep });
        return { sim, ina };
      }

      it("reads bus voltage and a negative current at night (discharging)", async () => {
        const { sim, ina } = rig(NIGHT);
        await ina.init();
        sim.setLoad("busy");
        const r = await ina.read();
        const truth = sim.truth();
        expect(r.busVolts).to.be.closeTo(truth.batteryVolts, busStep);
        expect(truth.batteryAmps).to.be.lessThan(0);
        // One shunt-ADC step plus one current LSB of truncation.
        expect(r.amps).to.be.closeTo(
          truth.batteryAmps,
          ina.calibration.currentLsb * 2 + (chip === "ina219" ? 10e-6 : 2.5e-6) / shuntOhms,
        );
        expect(r.watts).to.be.closeTo(Math.abs(truth.batteryAmps * truth.batteryVolts), ina.calibration.powerLsb * 3 + 0.01);
        sim.close();
      });

      it("reads a positive current at noon (charging)", async () => {
        const { sim, ina } = rig(NOON);
        await ina.init();
        const r = await ina.read();
        expect(sim.truth().batteryAmps).to.be.greaterThan(0.5);
        expect(r.amps).to.be.closeTo(sim.truth().batteryAmps, 0.005);
        sim.close();
      });

      it("reads 0 A before calibration, and re-calibrates after a chip reset (CALIBRATION = 0)", async () => {
        const { sim, ina } = rig(NIGHT);
        const raw = Buffer.alloc(2);
        await sim.bus.readI2cBlock(0x41, 4, 2, raw);
        expect(raw.readInt16BE(0)).to.equal(0);
        await ina.init();
        expect((await ina.read()).recalibrated).to.equal(false);
        sim.batteryMonitor.reset();
        const r = await ina.read();
        expect(r.recalibrated).to.equal(true);
        expect(sim.batteryMonitor.calibrationRegister).to.equal(ina.calibration.calibration);
        expect(r.amps).to.be.closeTo(sim.truth().batteryAmps, 0.005);
        sim.close();
      });
    });
  }

  it("fails with the address and register when no chip answers", async () => {
    const sim = simulate();
    const ina = new Ina2xx(sim.bus, { chip: "ina219", address: 0x45, shuntOhms: 0.1, maxAmps: 2, sleep: countingSleep().sleep });
    const err = await rejection(ina.read());
    expect(err.message).to.contain("ina219 at 0x45: reading register 5 failed (EREMOTEIO");
    sim.close();
  });
});
