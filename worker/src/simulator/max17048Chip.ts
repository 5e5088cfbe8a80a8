// MAX17048 at register level (docs/hardware.md §2.2). Its ModelGauge estimate is taken as the true
// SoC, quantised to the register's 1/256 %: the gauge's own modelling error is not simulated. The
// register map and scalings are this file's own, from the Maxim datasheet as summarised in
// docs/hardware.md, never the driver's (worker/src/hardware/max17048.ts; lint enforces it).
import type { I2cDevice } from "./i2cBus.js";

/** The gauge's fixed I²C address (docs/hardware.md §2.2). */
export const MAX17048_I2C_ADDRESS = 0x36;

/** 16-bit registers, MSB first (docs/hardware.md §2.2). */
export const MAX17048_REGISTERS = {
  VCELL: 0x02,
  SOC: 0x04,
  MODE: 0x06,
  VERSION: 0x08,
  HIBRT: 0x0a,
  CONFIG: 0x0c,
  VALRT: 0x14,
  CRATE: 0x16,
  VRESET_ID: 0x18,
  STATUS: 0x1a,
  CMD: 0xfe,
} as const;

/** VCELL: volts per bit, over all 16 bits. */
export const VCELL_VOLTS_PER_LSB = 78.125e-6;
/** SOC: the high byte is whole percent, the low byte 1/256 %. */
export const SOC_PERCENT_PER_LSB = 1 / 256;
/** CRATE: signed, percent of capacity per hour per bit. */
export const CRATE_PERCENT_PER_HOUR_PER_LSB = 0.208;
/** VERSION of a MAX17048/49: 0x001_ (the low nibble is the silicon revision). */
const VERSION = 0x0012;

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
      case MAX17048_REGISTERS.VCELL:
        return clamp(Math.round(this.inputs.cellVolts() / VCELL_VOLTS_PER_LSB), 0, 0xffff);
      case MAX17048_REGISTERS.SOC:
        return clamp(Math.round((this.inputs.stateOfCharge() * 100) / SOC_PERCENT_PER_LSB), 0, 0xffff);
      case MAX17048_REGISTERS.VERSION:
        return VERSION;
      case MAX17048_REGISTERS.CRATE:
        return (
          clamp(Math.round((this.inputs.chargeRatePerHour() * 100) / CRATE_PERCENT_PER_HOUR_PER_LSB), -32768, 32767) & 0xffff
        );
      default:
        return 0;
    }
  }
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
