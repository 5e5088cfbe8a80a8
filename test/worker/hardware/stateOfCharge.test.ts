// OCV tables and the coulomb counter on their own (pure arithmetic, docs/hardware.md §3.1).
import "../../helpers/numericCloseTo.js";
import { expect } from "chai";

import {
  cellOcv,
  CoulombCounter,
  ocvTrusted,
  socFromCellOcv,
  socFromPackOcv,
} from "../../../worker/src/hardware/stateOfCharge.js";
import { CELL_OCV_CURVES, cellRestVolts } from "../../../worker/src/simulator/battery.js";

describe("state of charge", () => {
  it("follows the published curves the simulated battery uses (docs/hardware.md §3.1)", () => {
    // The simulator transcribes the tables from docs/hardware.md on its own: a mistyped point in the
    // driver's table makes its SoC estimate disagree with the simulated pack.
    for (const chem of ["lifepo4", "li-ion"] as const) {
      for (const [soc, volts] of CELL_OCV_CURVES[chem])
        expect(cellOcv(chem, soc), `${chem} at ${soc}`).to.be.closeTo(volts, 1e-9);
      for (let s = 0; s <= 1; s += 0.0025) {
        expect(cellOcv(chem, s), `${chem} at ${s}`).to.be.closeTo(cellRestVolts(chem, s), 1e-9);
        expect(socFromCellOcv(chem, cellRestVolts(chem, s)), `${chem} at ${s}`).to.be.closeTo(s, 1e-6);
      }
    }
  });

  it("interpolates the docs/hardware.md §3.1 tables and inverts them", () => {
    expect(cellOcv("lifepo4", 1)).to.equal(3.59);
    expect(cellOcv("li-ion", 0.5)).to.equal(3.805);
    expect(cellOcv("li-ion", 0.525)).to.be.closeTo((3.805 + 3.835) / 2, 1e-12);
    for (const chem of ["lifepo4", "li-ion"] as const) {
      for (let s = 0; s <= 1; s += 0.05) expect(socFromCellOcv(chem, cellOcv(chem, s))).to.be.closeTo(s, 1e-9);
    }
    expect(socFromPackOcv("lifepo4", 4, 20)).to.equal(1);
    expect(socFromPackOcv("lifepo4", 4, 5)).to.equal(0);
  });

  it("trusts a LiFePO4 rest voltage only near empty and full (the plateau is < 2 mV/%)", () => {
    expect(ocvTrusted("lifepo4", 0.05)).to.equal(true);
    expect(ocvTrusted("lifepo4", 0.3)).to.equal(false);
    expect(ocvTrusted("lifepo4", 0.6)).to.equal(false);
    expect(ocvTrusted("lifepo4", 0.9)).to.equal(false);
    expect(ocvTrusted("lifepo4", 0.98)).to.equal(true);
    expect(ocvTrusted("li-ion", 0.7)).to.equal(true);
    expect(ocvTrusted("li-ion", 0.35)).to.equal(false);
  });

  it("integrates current by the trapezoid rule, with coulombic efficiency on charge", () => {
    const c = new CoulombCounter({
      chemistry: "lifepo4",
      cells: 4,
      capacityAh: 10,
      initialStateOfCharge: 0.5,
      coulombicEfficiency: 0.9,
      maxGapMs: 3_600_000,
    });
    c.update(0, -1, 13);
    // Ramp −1 A → −3 A over 1 min: mean −2 A × 1/60 h = −1/30 Ah.
    expect(c.update(60_000, -3, 13).stateOfCharge).to.be.closeTo(0.5 - 1 / 300, 1e-12);
    c.update(60_001, 2, 13);
    const before = c.stateOfCharge!;
    // +2 A for 30 min, 90 % stored: 0.9 Ah.
    expect(c.update(60_001 + 1_800_000, 2, 13).stateOfCharge - before).to.be.closeTo(0.09, 1e-9);
  });

  it("does not integrate across a gap (the agent was not running)", () => {
    const c = new CoulombCounter({ chemistry: "lifepo4", cells: 4, capacityAh: 10, initialStateOfCharge: 0.5 });
    c.update(0, -5, 13);
    expect(c.update(3_600_000, -5, 13).stateOfCharge).to.equal(0.5);
  });

  it("re-syncs to the OCV after 30 min at rest where the curve is steep, not on the plateau", () => {
    const steep = new CoulombCounter({ chemistry: "lifepo4", cells: 4, capacityAh: 6, initialStateOfCharge: 0.3 });
    const v5 = 4 * cellOcv("lifepo4", 0.05);
    let r = steep.update(0, -0.01, v5);
    for (let t = 60_000; t < 30 * 60_000; t += 60_000) r = steep.update(t, -0.01, v5);
    expect(r.atRest).to.equal(false);
    expect(r.stateOfCharge).to.be.closeTo(0.3, 0.01);
    r = steep.update(30 * 60_000, -0.01, v5);
    expect(r).to.deep.include({ atRest: true, resynced: true });
    expect(r.stateOfCharge).to.be.closeTo(0.05, 1e-9);

    const flat = new CoulombCounter({ chemistry: "lifepo4", cells: 4, capacityAh: 6, initialStateOfCharge: 0.3 });
    const v60 = 4 * cellOcv("lifepo4", 0.6);
    for (let t = 0; t <= 40 * 60_000; t += 60_000) r = flat.update(t, -0.01, v60);
    expect(r).to.deep.include({ atRest: true, resynced: false });
    expect(r.stateOfCharge).to.be.closeTo(0.3, 0.01);
  });

  it("starts from the first voltage when no SoC is known", () => {
    const c = new CoulombCounter({ chemistry: "li-ion", cells: 1, capacityAh: 3 });
    expect(c.update(0, -0.5, 3.983).stateOfCharge).to.be.closeTo(0.8, 1e-9);
  });

  it("a first voltage read while charging counts for no more than the bound the caller knows; one read on discharge does", () => {
    // 4S LiFePO4 on its plateau: 3.304 V a cell is 78.5 % by the A123 table, but with 1.3 A of charge
    // through 20 mΩ a cell the rest voltage is 26 mV lower, 3.278 V: 65.6 %. The charge saved before
    // the sleep plus what the panel gave meanwhile says at most 50 %.
    const bounded = () => new CoulombCounter({ chemistry: "lifepo4", cells: 4, capacityAh: 6, maxInitialStateOfCharge: 0.5 });
    expect(bounded().update(0, 1.3, 4 * 3.304).stateOfCharge).to.equal(0.5);
    // On discharge the voltage sags below the rest voltage: it reads low already, the bound is not needed.
    expect(bounded().update(0, -0.3, 4 * 3.304).stateOfCharge).to.be.closeTo(0.785, 1e-9);
    // Below the bound the voltage stands, and a known charge is not touched by it.
    expect(bounded().update(0, 1.3, 4 * 3.23).stateOfCharge).to.be.closeTo(0.269, 1e-9);
    const known = new CoulombCounter({
      chemistry: "lifepo4",
      cells: 4,
      capacityAh: 6,
      initialStateOfCharge: 0.7,
      maxInitialStateOfCharge: 0.5,
    });
    expect(known.update(0, 1.3, 4 * 3.304).stateOfCharge).to.equal(0.7);
  });
});
