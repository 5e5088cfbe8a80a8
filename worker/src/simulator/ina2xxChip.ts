// INA219 / INA226 at register level (docs/hardware.md §2.1): the chip converts the shunt and bus
// voltages, and derives CURRENT and POWER from CALIBRATION exactly as the datasheet equations do — so
// a driver with a wrong calibration reads wrong currents here too, and one that misses a reset reads
// 0 A. The register map and scalings are this file's own, from the TI datasheets as summarised in
// docs/hardware.md, never the driver's (worker/src/hardware/ina2xx.ts; lint enforces it).
import type { I2cDevice } from "./i2cBus.js";

export type InaModel = "ina219" | "ina226";

/** The analog side: what flows through the shunt and sits on the bus pin right now. */
export interface InaInputs {
  /** Signed: positive when current flows from IN+ to IN−. */
  shuntAmps(): number;
  busVolts(): number;
}

/** Register pointers, both chips (docs/hardware.md §2.1); 0x06 and up exist on the INA226 only. */
export const INA_REGISTERS = {
  CONFIG: 0x00,
  SHUNT_VOLTAGE: 0x01,
  BUS_VOLTAGE: 0x02,
  POWER: 0x03,
  CURRENT: 0x04,
  CALIBRATION: 0x05,
  MASK_ENABLE: 0x06,
  ALERT_LIMIT: 0x07,
  MANUFACTURER_ID: 0xfe,
  DIE_ID: 0xff,
} as const;

/** CONFIG bit 15: writing 1 resets every register to its power-on value; it reads back 0. */
const CONFIG_RESET = 0x8000;

/** Per-chip datasheet figures (docs/hardware.md §2.1). */
export const INA_DATASHEET = {
  ina219: {
    /** Power-on CONFIG: 32 V bus range, PGA ÷8 (±320 mV), 12-bit ADCs, continuous shunt and bus. */
    porConfig: 0x399f,
    shuntVoltsPerLsb: 10e-6,
    busVoltsPerLsb: 4e-3,
    /** The bus count sits in bits 15–3; bit 1 is CNVR (conversion ready), bit 0 OVF (math overflow). */
    busShift: 3,
    busMaxCount: 0x1fff,
    /** CURRENT = SHUNT × CALIBRATION / 4096. */
    currentDivisor: 4096,
    /** POWER = CURRENT × BUS / 5000 (so one POWER bit is 20 current LSBs). */
    powerDivisor: 5000,
    /** CALIBRATION bit 0 does not exist (reads 0). */
    calibrationMask: 0xfffe,
    manufacturerId: undefined,
    dieId: undefined,
  },
  ina226: {
    /** Power-on CONFIG: no averaging, 1.1 ms bus and shunt conversions, continuous. */
    porConfig: 0x4127,
    shuntVoltsPerLsb: 2.5e-6,
    busVoltsPerLsb: 1.25e-3,
    busShift: 0,
    busMaxCount: 0x7fff,
    /** CURRENT = SHUNT × CALIBRATION / 2048. */
    currentDivisor: 2048,
    /** POWER = CURRENT × BUS / 20000 (so one POWER bit is 25 current LSBs). */
    powerDivisor: 20000,
    /** CALIBRATION bit 15 is reserved (reads 0). */
    calibrationMask: 0x7fff,
    /** "TI" in ASCII. */
    manufacturerId: 0x5449,
    dieId: 0x2260,
  },
} as const;

/** INA219 shunt full scale by PGA (CONFIG bits 12–11): ±40/80/160/320 mV (docs/hardware.md §2.1). */
const INA219_PGA_VOLTS = [0.04, 0.08, 0.16, 0.32] as const;

export class Ina2xxChipModel implements I2cDevice {
  readonly model: InaModel;
  readonly shuntOhms: number;
  private readonly inputs: InaInputs;
  private readonly sheet: (typeof INA_DATASHEET)[InaModel];
  private config: number;
  private calibration = 0;

  constructor(model: InaModel, shuntOhms: number, inputs: InaInputs) {
    this.model = model;
    this.shuntOhms = shuntOhms;
    this.inputs = inputs;
    this.sheet = INA_DATASHEET[model];
    this.config = this.sheet.porConfig;
  }

  /** Power-on reset (a brown-out on the sensor's supply): registers to defaults, CALIBRATION = 0. */
  reset(): void {
    this.config = this.sheet.porConfig;
    this.calibration = 0;
  }

  get calibrationRegister(): number {
    return this.calibration;
  }

  readByte(register: number): number {
    return this.register(register) >> 8;
  }

  writeByte(): void {
    // A one-byte write only sets the register pointer's first half; the chip ignores it.
  }

  readBlock(register: number, length: number): number[] {
    // No auto-increment: further bytes repeat the same register.
    const v = this.register(register);
    return Array.from({ length }, (_, i) => (i % 2 === 0 ? v >> 8 : v & 0xff));
  }

  writeBlock(register: number, bytes: readonly number[]): void {
    if (bytes.length < 2) return;
    const value = ((bytes[0]! << 8) | bytes[1]!) & 0xffff;
    if (register === INA_REGISTERS.CONFIG) {
      if (value & CONFIG_RESET) this.reset();
      else this.config = value;
    } else if (register === INA_REGISTERS.CALIBRATION) {
      this.calibration = value & this.sheet.calibrationMask;
    }
  }

  private register(register: number): number {
    switch (register) {
      case INA_REGISTERS.CONFIG:
        return this.config;
      case INA_REGISTERS.SHUNT_VOLTAGE:
        return this.shuntRaw() & 0xffff;
      case INA_REGISTERS.BUS_VOLTAGE:
        return this.busRegister();
      case INA_REGISTERS.POWER:
        return this.powerRaw();
      case INA_REGISTERS.CURRENT:
        return this.currentRaw() & 0xffff;
      case INA_REGISTERS.CALIBRATION:
        return this.calibration;
      case INA_REGISTERS.MANUFACTURER_ID:
        return this.sheet.manufacturerId ?? 0;
      case INA_REGISTERS.DIE_ID:
        return this.sheet.dieId ?? 0;
      default:
        return 0;
    }
  }

  private shuntRaw(): number {
    const volts = this.inputs.shuntAmps() * this.shuntOhms;
    if (this.model === "ina219") {
      const range = INA219_PGA_VOLTS[(this.config >> 11) & 3]!;
      return Math.round(clamp(volts, -range, range) / this.sheet.shuntVoltsPerLsb);
    }
    return clamp(Math.round(volts / this.sheet.shuntVoltsPerLsb), -32768, 32767);
  }

  private busRaw(): number {
    const v = Math.max(0, this.inputs.busVolts());
    return clamp(Math.round(v / this.sheet.busVoltsPerLsb), 0, this.sheet.busMaxCount);
  }

  private busRegister(): number {
    if (this.model === "ina226") return this.busRaw();
    // INA219: bus voltage in bits 15–3, CNVR (bit 1) set, OVF (bit 0) when the math overflowed.
    const overflow = Math.abs(this.currentUnclamped()) > 32767 ? 1 : 0;
    return (this.busRaw() << this.sheet.busShift) | 0x02 | overflow;
  }

  private currentUnclamped(): number {
    return Math.trunc((this.shuntRaw() * this.calibration) / this.sheet.currentDivisor);
  }

  private currentRaw(): number {
    return clamp(this.currentUnclamped(), -32768, 32767);
  }

  private powerRaw(): number {
    return clamp(Math.trunc((Math.abs(this.currentRaw()) * this.busRaw()) / this.sheet.powerDivisor), 0, 0xffff);
  }
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
