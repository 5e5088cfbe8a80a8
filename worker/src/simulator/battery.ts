// A battery pack for the simulator: N cells in series on the open-circuit-voltage curves of
// docs/hardware.md §3.1, an internal resistance (the terminal voltage sags under load and rises while
// charging), a capacity, coulombic efficiency, and a charge acceptance that tapers near full (the
// constant-voltage phase). It cannot be discharged below empty: the BMS opens instead.
//
// The curves are this file's own copy of the published tables, not the driver's (lint forbids
// importing worker/src/hardware/stateOfCharge.ts here): the driver's SoC estimate is checked against
// a battery that follows the datasheet, so a wrong point in its table shows up as a wrong SoC.

/** Cell chemistries with a published curve in docs/hardware.md §3.1. */
export type Chemistry = "lifepo4" | "li-ion";

/**
 * Rest voltage per cell against state of charge (0..1), ascending, interpolated linearly
 * (docs/hardware.md §3.1).
 * - LiFePO4: A123's table (1 %–100 %), ending at 0 % on the 2.50 V discharge cut-off that the
 *   project uses for an empty LiFePO4 cell (§3.1 notes that the source stops at 1 %).
 * - Li-ion: the Linux kernel's `simple-battery` example curve at 20 °C (4.35 V-class cell, 5 % steps).
 */
export const CELL_OCV_CURVES: Readonly<Record<Chemistry, readonly (readonly [soc: number, volts: number])[]>> = {
  lifepo4: [
    [0, 2.5],
    [0.01, 2.9],
    [0.054, 3.12],
    [0.096, 3.17],
    [0.182, 3.2],
    [0.269, 3.23],
    [0.356, 3.25],
    [0.441, 3.266],
    [0.527, 3.272],
    [0.613, 3.276],
    [0.699, 3.28],
    [0.785, 3.304],
    [0.871, 3.313],
    [0.957, 3.32],
    [1, 3.59],
  ],
  "li-ion": [
    [0, 3.4],
    [0.05, 3.605],
    [0.1, 3.68],
    [0.15, 3.724],
    [0.2, 3.752],
    [0.25, 3.765],
    [0.3, 3.77],
    [0.35, 3.773],
    [0.4, 3.777],
    [0.45, 3.787],
    [0.5, 3.805],
    [0.55, 3.835],
    [0.6, 3.864],
    [0.65, 3.889],
    [0.7, 3.917],
    [0.75, 3.949],
    [0.8, 3.983],
    [0.85, 4.022],
    [0.9, 4.066],
    [0.95, 4.113],
    [1, 4.185],
  ],
};

/** A cell's rest voltage at `soc` (clamped to 0..1), linear between the curve's points. */
export function cellRestVolts(chemistry: Chemistry, soc: number): number {
  const curve = CELL_OCV_CURVES[chemistry];
  const s = Math.min(1, Math.max(0, soc));
  let [s0, v0] = curve[0]!;
  for (const [s1, v1] of curve.slice(1)) {
    if (s <= s1) return v0 + ((v1 - v0) * (s - s0)) / (s1 - s0);
    [s0, v0] = [s1, v1];
  }
  return v0;
}

export interface BatteryOptions {
  chemistry: Chemistry;
  cells: number;
  capacityAh: number;
  stateOfCharge: number;
  /** Per cell. Defaults: LiFePO4 20 mΩ, Li-ion 50 mΩ (small cylindrical cells, order of magnitude). */
  internalOhmsPerCell?: number;
  /** Largest charge current at low SoC, as a C-rate. Default 0.5 C. */
  maxChargeC?: number;
  /** Above this SoC the acceptance falls linearly to 0 at full. Default 0.9. */
  taperFrom?: number;
  coulombicEfficiency?: number;
}

export class Battery {
  readonly chemistry: Chemistry;
  readonly cells: number;
  readonly capacityAh: number;
  readonly resistanceOhms: number;
  private soc: number;
  private readonly maxChargeAmps: number;
  private readonly taperFrom: number;
  private readonly efficiency: number;

  constructor(options: BatteryOptions) {
    this.chemistry = options.chemistry;
    this.cells = options.cells;
    this.capacityAh = options.capacityAh;
    this.soc = Math.min(1, Math.max(0, options.stateOfCharge));
    this.resistanceOhms = options.cells * (options.internalOhmsPerCell ?? (options.chemistry === "lifepo4" ? 0.02 : 0.05));
    this.maxChargeAmps = (options.maxChargeC ?? 0.5) * options.capacityAh;
    this.taperFrom = options.taperFrom ?? 0.9;
    this.efficiency = options.coulombicEfficiency ?? 0.99;
  }

  get stateOfCharge(): number {
    return this.soc;
  }

  set stateOfCharge(soc: number) {
    this.soc = Math.min(1, Math.max(0, soc));
  }

  get empty(): boolean {
    return this.soc <= 0;
  }

  openCircuitVolts(): number {
    return this.cells * cellRestVolts(this.chemistry, this.soc);
  }

  terminalVolts(amps: number): number {
    return this.openCircuitVolts() + amps * this.resistanceOhms;
  }

  /** How much charge current the pack accepts now (tapering to 0 at full). */
  chargeAcceptanceAmps(): number {
    if (this.soc >= 1) return 0;
    return this.maxChargeAmps * Math.min(1, (1 - this.soc) / (1 - this.taperFrom));
  }

  /**
   * The current (positive = charging) for which the terminal power V·I equals `watts`:
   * V = E + I·R and P = V·I give R·I² + E·I − P = 0. Charging is capped at the acceptance; a load
   * beyond the pack's maximum power transfer is capped at I = −E/2R (the voltage collapses).
   */
  currentForPower(watts: number): number {
    const e = this.openCircuitVolts();
    const r = this.resistanceOhms;
    const disc = e * e + 4 * r * watts;
    let amps = disc <= 0 ? -e / (2 * r) : (-e + Math.sqrt(disc)) / (2 * r);
    if (amps > 0) amps = Math.min(amps, this.chargeAcceptanceAmps());
    if (amps < 0 && this.empty) amps = 0;
    return amps;
  }

  /** Pass `amps` for `seconds`. Returns the charge actually moved (Ah, signed). */
  step(amps: number, seconds: number): number {
    const ah = (amps * seconds) / 3600;
    const stored = ah > 0 ? ah * this.efficiency : ah;
    const before = this.soc;
    this.stateOfCharge = this.soc + stored / this.capacityAh;
    return (this.soc - before) * this.capacityAh;
  }
}
