// MAX17048 at register level (hardware.md §2.2). Its ModelGauge estimate is taken as the true SoC,
// quantised to the register's 1/256 %: the gauge's own modelling error is not simulated.
import type { I2cDevice } from "./i2cBus.js";

export interface FuelGaugeInputs {
  cellVolts(): number;
  /** 0..1 */
  stateOfCharge(): number;
  /** Fraction of capacity per hour, signed. */
  chargeRatePerHour(): number;
}

export class Max17048ChipModel implements I2cDevice {
  private readonly inputs: FuelGaugeInputs;

  constructor(inputs: FuelGaugeInputs) {
    this.inputs = inputs;
  }

  readByte(register: number): number {
    return this.register(register) >> 8;
  }

  writeByte(): void {
    // Configuration writes (RCOMP, alerts, quick-start) are accepted and ignored.
  }

  readBlock(register: number, length: number): number[] {
    const out: number[] = [];
    for (let r = register; out.length < length; r += 2) {
      const v = this.register(r);
      out.push(v >> 8, v & 0xff);
    }
    return out.slice(0, length);
  }

  writeBlock(): void {
    // As writeByte.
  }

  private register(register: number): number {
    switch (register) {
      case 0x02:
        return clamp(Math.round(this.inputs.cellVolts() / 78.125e-6), 0, 0xffff);
      case 0x04:
        return clamp(Math.round(this.inputs.stateOfCharge() * 100 * 256), 0, 0xffff);
      case 0x08:
        return 0x0012;
      case 0x16:
        return clamp(Math.round((this.inputs.chargeRatePerHour() * 100) / 0.208), -32768, 32767) & 0xffff;
      default:
        return 0;
    }
  }
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
