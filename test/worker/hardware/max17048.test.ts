// MAX17048 fuel gauge driver against the simulated chip: register map and scaling (docs/hardware.md
// §2.2) and identification.
import "../../helpers/numericCloseTo.js";
import { expect } from "chai";

import { Max17048, MAX17048_ADDRESS, MAX17048_REG } from "../../../worker/src/hardware/max17048.js";
import { MAX17048_I2C_ADDRESS, MAX17048_REGISTERS } from "../../../worker/src/simulator/max17048Chip.js";
import { countingSleep, NIGHT, NOON, rejection, simulate } from "../simulator/fixtures.js";

describe("MAX17048 fuel gauge", () => {
  const oneCell = { chemistry: "li-ion", cells: 1, capacityAh: 10, stateOfCharge: 0.7 } as const;

  it("addresses the chip and its registers where the datasheet has them", () => {
    expect(MAX17048_ADDRESS).to.equal(MAX17048_I2C_ADDRESS);
    for (const [name, register] of Object.entries(MAX17048_REG)) {
      expect(MAX17048_REGISTERS, `driver register ${name}`).to.have.property(name, register);
    }
  });

  it("reads VCELL (78.125 µV/bit), SOC (1/256 %) and a negative CRATE while discharging", async () => {
    const sim = simulate({ battery: oneCell, fuelGauge: { address: 0x36 } });
    const gauge = new Max17048(sim.bus, { sleep: countingSleep().sleep });
    expect(await gauge.probe()).to.equal(0x0012);
    sim.setLoad("busy");
    const r = await gauge.read();
    const truth = sim.truth();
    expect(r.cellVolts).to.be.closeTo(truth.batteryVolts, 78.125e-6);
    expect(r.stateOfCharge).to.be.closeTo(0.7, 1 / 25600);
    expect(r.chargeRatePerHour).to.be.closeTo(truth.batteryAmps / 10, 0.00208);
    expect(r.chargeRatePerHour).to.be.lessThan(0);
    sim.close();
  });

  it("reads a positive charge rate in the sun", async () => {
    const sim = simulate({ start: NOON, battery: oneCell, fuelGauge: { address: 0x36 } });
    expect((await new Max17048(sim.bus, { sleep: countingSleep().sleep }).read()).chargeRatePerHour).to.be.greaterThan(0);
    sim.close();
  });

  it("does not mistake another chip for a gauge", async () => {
    const sim = simulate({ start: NIGHT, monitor: { chip: "ina219", address: 0x36, shuntOhms: 0.1 } });
    const err = await rejection(new Max17048(sim.bus, { sleep: countingSleep().sleep }).probe());
    expect(err.message).to.contain("not a MAX17048/49");
    sim.close();
  });
});
