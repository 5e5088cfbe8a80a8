// TI INA219 / INA226 current/power monitors (docs/hardware.md §2.1): 16-bit big-endian registers, read with
// I²C block transfers (SMBus words are little-endian on the wire, §5.1).
import type { I2cBus } from "./bus.js";
import { describeCause, HardwareError, hex } from "./errors.js";
import { defaultRetryPolicy, withRetries, type RetryPolicy } from "./retry.js";

export type Ina2xxChip = "ina219" | "ina226";

export const INA_REG = { CONFIG: 0, SHUNT_VOLTAGE: 1, BUS_VOLTAGE: 2, POWER: 3, CURRENT: 4, CALIBRATION: 5 } as const;

/** Per-chip constants (§2.1). */
export const INA_CHIPS = {
  ina219: {
    /** BRNG 32 V, PGA /8 (±320 mV), 12-bit ADCs, continuous — the kernel's default. */
    config: 0x399f,
    shuntVoltsPerLsb: 10e-6,
    busVoltsPerLsb: 4e-3,
    /** Bus voltage sits in bits 15–3. */
    busShift: 3,
    /** Power register LSB = 20 × current LSB. */
    powerFactor: 20,
    /** Cal = trunc(0.04096 / (Current_LSB·R_shunt)). */
    calibrationConstant: 0.04096,
    /** The same constant scaled to nA·µΩ, exactly: 0.04096 × 10^15. */
    calibrationNumerator: 40_960_000_000_000,
    /** Bit 0 of CALIBRATION does not exist on the INA219: it reads back 0. */
    calibrationMask: 0xfffe,
    fullScaleShuntVolts: 0.32,
  },
  ina226: {
    /** AVG = 16, 1.1 ms conversions, continuous — what the kernel driver writes. */
    config: 0x4527,
    shuntVoltsPerLsb: 2.5e-6,
    busVoltsPerLsb: 1.25e-3,
    busShift: 0,
    powerFactor: 25,
    calibrationConstant: 0.00512,
    calibrationNumerator: 5_120_000_000_000,
    calibrationMask: 0x7fff,
    fullScaleShuntVolts: 0.08192,
  },
} as const;

export interface Ina2xxCalibration {
  /** Amps per CURRENT register bit. */
  currentLsb: number;
  /** Watts per POWER register bit. */
  powerLsb: number;
  /** CALIBRATION register value, as the chip stores it. */
  calibration: number;
}

/**
 * Current LSB for a maximum current: at least maxAmps/32768 (the CURRENT register is a signed 16-bit
 * count) rounded up to 1, 2, 4 or 5 × 10^n so the numbers stay readable. This reproduces Adafruit's
 * worked INA219 examples (§2.1: 2 A → 100 µA, 1 A → 40 µA).
 */
export function currentLsbFor(maxAmps: number): number {
  const min = maxAmps / 32768;
  const decade = 10 ** Math.floor(Math.log10(min));
  for (const step of [1, 2, 4, 5, 10]) {
    const lsb = step * decade;
    // Compare with a relative tolerance: 10^n is not exact in binary floating point.
    if (lsb >= min * (1 - 1e-12)) return Number(lsb.toPrecision(12));
  }
  return 10 * decade;
}

/**
 * CALIBRATION for a shunt and a current LSB (§2.1): INA219 trunc(0.04096/(LSB·R)), INA226
 * 0.00512/(LSB·R) — the kernel's 40 960 000/R[µΩ] and 5 120 000/R[µΩ] at a 1 mA LSB. Computed in
 * integers (nA × µΩ) so that 4096 does not come out as 4095.9999. The INA219 drops bit 0, so the
 * current LSB is recomputed from what the chip will actually hold.
 */
export function calibrationFor(chip: Ina2xxChip, shuntOhms: number, currentLsb: number): Ina2xxCalibration {
  const c = INA_CHIPS[chip];
  const lsbNanoAmps = Math.round(currentLsb * 1e9);
  const shuntMicroOhms = Math.round(shuntOhms * 1e6);
  if (!(lsbNanoAmps > 0 && shuntMicroOhms > 0)) {
    throw new HardwareError(
      "HW_INVALID_ARGUMENT",
      `${chip}: shunt ${shuntOhms} Ω and current LSB ${currentLsb} A must be positive`,
    );
  }
  const exact = Math.floor(c.calibrationNumerator / (lsbNanoAmps * shuntMicroOhms));
  if (exact > c.calibrationMask || exact < 1) {
    throw new HardwareError(
      "HW_INVALID_ARGUMENT",
      `${chip}: calibration ${exact} for a ${shuntOhms} Ω shunt at ${currentLsb} A/bit is outside 1–${c.calibrationMask}`,
      {
        hint: "Raise maxAmps (coarser current LSB) or use a larger shunt",
      },
    );
  }
  const calibration = exact & c.calibrationMask;
  const effectiveLsb = calibration === exact ? currentLsb : c.calibrationConstant / (calibration * shuntOhms);
  return { calibration, currentLsb: effectiveLsb, powerLsb: c.powerFactor * effectiveLsb };
}

export interface Ina2xxOptions {
  chip: Ina2xxChip;
  address: number;
  shuntOhms: number;
  /** Largest current to measure; sets the current LSB. */
  maxAmps: number;
  /** -1 if the shunt is wired so that charging current reads negative. */
  polarity?: 1 | -1;
  sleep: (ms: number) => Promise<void>;
  retry?: Partial<Omit<RetryPolicy, "sleep">>;
}

export interface Ina2xxReading {
  busVolts: number;
  shuntVolts: number;
  /** Signed, polarity applied. */
  amps: number;
  /** Unsigned (the chip's POWER register). */
  watts: number;
  /** True when CALIBRATION read 0 and the chip was reprogrammed before this reading. */
  recalibrated: boolean;
}

export class Ina2xx {
  readonly chip: Ina2xxChip;
  readonly address: number;
  readonly calibration: Ina2xxCalibration;
  private readonly bus: I2cBus;
  private readonly polarity: 1 | -1;
  private readonly retry: RetryPolicy;

  constructor(bus: I2cBus, options: Ina2xxOptions) {
    const c = INA_CHIPS[options.chip];
    if (!(options.maxAmps > 0))
      throw new HardwareError("HW_INVALID_ARGUMENT", `${options.chip}: maxAmps must be > 0, got ${options.maxAmps}`);
    if (options.maxAmps * options.shuntOhms > c.fullScaleShuntVolts) {
      throw new HardwareError(
        "HW_INVALID_ARGUMENT",
        `${options.chip}: ${options.maxAmps} A through ${options.shuntOhms} Ω is ${(options.maxAmps * options.shuntOhms * 1000).toFixed(1)} mV, beyond the ${c.fullScaleShuntVolts * 1000} mV shunt range`,
        { hint: "Use a smaller shunt resistor or a lower maxAmps (§2.1 shunt range)" },
      );
    }
    this.bus = bus;
    this.chip = options.chip;
    this.address = options.address;
    this.polarity = options.polarity ?? 1;
    this.retry = { ...defaultRetryPolicy(options.sleep), ...options.retry };
    this.calibration = calibrationFor(options.chip, options.shuntOhms, currentLsbFor(options.maxAmps));
  }

  /** Program CONFIG and CALIBRATION, each verified by reading it back. */
  async init(): Promise<void> {
    await this.writeVerified(INA_REG.CONFIG, INA_CHIPS[this.chip].config);
    await this.writeVerified(INA_REG.CALIBRATION, this.calibration.calibration);
  }

  async read(): Promise<Ina2xxReading> {
    const c = INA_CHIPS[this.chip];
    // A chip that browned out comes back with CALIBRATION = 0 and reads 0 A; re-initialise like the
    // kernel's ina2xx_read_reg does (§2.1).
    let recalibrated = false;
    if ((await this.readRegister(INA_REG.CALIBRATION)) === 0) {
      await this.init();
      recalibrated = true;
    }
    const shuntRaw = toInt16(await this.readRegister(INA_REG.SHUNT_VOLTAGE));
    const busRaw = await this.readRegister(INA_REG.BUS_VOLTAGE);
    const currentRaw = toInt16(await this.readRegister(INA_REG.CURRENT));
    const powerRaw = await this.readRegister(INA_REG.POWER);
    return {
      busVolts: (busRaw >> c.busShift) * c.busVoltsPerLsb,
      shuntVolts: this.polarity * shuntRaw * c.shuntVoltsPerLsb,
      amps: this.polarity * currentRaw * this.calibration.currentLsb,
      watts: powerRaw * this.calibration.powerLsb,
      recalibrated,
    };
  }

  /** One 16-bit register, MSB first, retried. */
  readRegister(reg: number): Promise<number> {
    const buf = Buffer.alloc(2);
    return withRetries(
      this.retry,
      async () => {
        const { bytesRead } = await this.bus.readI2cBlock(this.address, reg, 2, buf);
        if (bytesRead !== 2) throw new Error(`short read: ${bytesRead} of 2 bytes`);
        return buf.readUInt16BE(0);
      },
      (cause) =>
        new HardwareError(
          "HW_READ_FAILED",
          `${this.chip} at ${hex(this.address)}: reading register ${reg} failed (${describeCause(cause)})`,
          {
            device: this.chip,
            register: reg,
            hint: `Check the monitor's wiring and address straps (\`i2cdetect -y 1\` should show ${hex(this.address)})`,
            cause,
          },
        ),
    );
  }

  private async writeVerified(reg: number, value: number): Promise<void> {
    let lastRead: number | undefined;
    // CONFIG's reset bit (15) self-clears, so it never reads back.
    const expected = reg === INA_REG.CONFIG ? value & 0x7fff : value;
    await withRetries(
      this.retry,
      async () => {
        await this.bus.writeI2cBlock(this.address, reg, 2, Buffer.from([value >> 8, value & 0xff]));
        const buf = Buffer.alloc(2);
        await this.bus.readI2cBlock(this.address, reg, 2, buf);
        lastRead = buf.readUInt16BE(0);
        if (lastRead !== expected) throw new Error(`read back ${hex(lastRead, 4)}`);
      },
      (cause) =>
        new HardwareError(
          "HW_WRITE_FAILED",
          `${this.chip} at ${hex(this.address)}: writing ${hex(value, 4)} to register ${reg} did not stick (${lastRead === undefined ? describeCause(cause) : `read back ${hex(lastRead, 4)}`})`,
          { device: this.chip, register: reg, expected, ...(lastRead === undefined ? {} : { actual: lastRead }), cause },
        ),
    );
  }
}

const toInt16 = (u: number): number => (u & 0x8000 ? u - 0x10000 : u);
