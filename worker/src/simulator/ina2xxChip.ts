// INA219 / INA226 at register level (hardware.md §2.1): the chip converts the shunt and bus voltages,
// and derives CURRENT and POWER from CALIBRATION exactly as the datasheet equations do — so a driver
// with a wrong calibration reads wrong currents here too, and one that misses a reset reads 0 A.
import type { I2cDevice } from "./i2cBus.js";

export type InaModel = "ina219" | "ina226";

/** The analog side: what flows through the shunt and sits on the bus pin right now. */
export interface InaInputs {
  /** Signed: positive when current flows from IN+ to IN−. */
  shuntAmps(): number;
  busVolts(): number;
}

const POR_CONFIG: Record<InaModel, number> = { ina219: 0x399f, ina226: 0x4127 };
/** INA219 shunt full scale by PGA (config bits 12–11): ±40/80/160/320 mV (§2.1). */
const INA219_PGA_VOLTS = [0.04, 0.08, 0.16, 0.32] as const;

export class Ina2xxChipModel implements I2cDevice {
  readonly model: InaModel;
  readonly shuntOhms: number;
  private readonly inputs: InaInputs;
  private config: number;
  private calibration = 0;

  constructor(model: InaModel, shuntOhms: number, inputs: InaInputs) {
    this.model = model;
    this.shuntOhms = shuntOhms;
    this.inputs = inputs;
    this.config = POR_CONFIG[model];
  }

  /** Power-on reset (a brown-out on the sensor's supply): registers to defaults, CALIBRATION = 0. */
  reset(): void {
    this.config = POR_CONFIG[this.model];
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
    if (register === 0) {
      if (value & 0x8000) this.reset();
      else this.config = value;
    } else if (register === 5) {
      // INA219 has no calibration bit 0; INA226 has no bit 15.
      this.calibration = value & (this.model === "ina219" ? 0xfffe : 0x7fff);
    }
  }

  private register(register: number): number {
    switch (register) {
      case 0:
        return this.config;
      case 1:
        return this.shuntRaw() & 0xffff;
      case 2:
        return this.busRegister();
      case 3:
        return this.powerRaw();
      case 4:
        return this.currentRaw() & 0xffff;
      case 5:
        return this.calibration;
      case 0xfe:
        return this.model === "ina226" ? 0x5449 : 0;
      case 0xff:
        return this.model === "ina226" ? 0x2260 : 0;
      default:
        return 0;
    }
  }

  private shuntRaw(): number {
    const volts = this.inputs.shuntAmps() * this.shuntOhms;
    if (this.model === "ina219") {
      const range = INA219_PGA_VOLTS[(this.config >> 11) & 3]!;
      return Math.round(clamp(volts, -range, range) / 10e-6);
    }
    return clamp(Math.round(volts / 2.5e-6), -32768, 32767);
  }

  private busRaw(): number {
    const v = Math.max(0, this.inputs.busVolts());
    return this.model === "ina219" ? clamp(Math.round(v / 4e-3), 0, 0x1fff) : clamp(Math.round(v / 1.25e-3), 0, 0x7fff);
  }

  private busRegister(): number {
    if (this.model === "ina226") return this.busRaw();
    // INA219: bus voltage in bits 15–3, CNVR (bit 1) set, OVF (bit 0) when the math overflowed.
    const overflow = Math.abs(this.currentUnclamped()) > 32767 ? 1 : 0;
    return (this.busRaw() << 3) | 0x02 | overflow;
  }

  /** Datasheet: INA219 Current = Shunt × Cal / 4096; INA226 Current = Shunt × Cal / 2048. */
  private currentUnclamped(): number {
    return Math.trunc((this.shuntRaw() * this.calibration) / (this.model === "ina219" ? 4096 : 2048));
  }

  private currentRaw(): number {
    return clamp(this.currentUnclamped(), -32768, 32767);
  }

  /** Datasheet: INA219 Power = Current × Bus / 5000; INA226 Power = Current × Bus / 20000. */
  private powerRaw(): number {
    return clamp(Math.trunc((Math.abs(this.currentRaw()) * this.busRaw()) / (this.model === "ina219" ? 5000 : 20000)), 0, 0xffff);
  }
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
