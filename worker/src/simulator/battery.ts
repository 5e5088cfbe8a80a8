// A battery pack for the simulator: N cells in series on the same OCV tables the driver uses
// (hardware.md §3.1), an internal resistance (the terminal voltage sags under load and rises while
// charging), a capacity, coulombic efficiency, and a charge acceptance that tapers near full (the
// constant-voltage phase). It cannot be discharged below empty: the BMS opens instead.
import { packOcv, type Chemistry } from "../hardware/stateOfCharge.js";

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
    return packOcv(this.chemistry, this.cells, this.soc);
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
