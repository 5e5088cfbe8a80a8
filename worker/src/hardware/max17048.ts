// MAX17048 single-cell fuel gauge (docs/hardware.md §2.2): an alternative to coulomb counting for a 1S
// Li-ion pack (the MAX17049 is the 2S part). 16-bit big-endian registers at 0x36.
import type { I2cBus } from "./bus.js";
import { describeCause, HardwareError, hex } from "./errors.js";
import { defaultRetryPolicy, withRetries, type RetryPolicy } from "./retry.js";

export const MAX17048_ADDRESS = 0x36;
export const MAX17048_REG = { VCELL: 0x02, SOC: 0x04, MODE: 0x06, VERSION: 0x08, CRATE: 0x16 } as const;

export interface FuelGaugeReading {
  /** 78.125 µV per bit over the full 16 bits. */
  cellVolts: number;
  /** 0..1 (the register is 1/256 % per bit). */
  stateOfCharge: number;
  /** Signed, fraction of capacity per hour (0.208 %/h per bit); positive while charging. */
  chargeRatePerHour: number;
}

export interface Max17048Options {
  address?: number;
  sleep: (ms: number) => Promise<void>;
  retry?: Partial<Omit<RetryPolicy, "sleep">>;
}

export class Max17048 {
  readonly address: number;
  private readonly bus: I2cBus;
  private readonly retry: RetryPolicy;

  constructor(bus: I2cBus, options: Max17048Options) {
    this.bus = bus;
    this.address = options.address ?? MAX17048_ADDRESS;
    this.retry = { ...defaultRetryPolicy(options.sleep), ...options.retry };
  }

  /** VERSION & 0xFFF0 = 0x0010 identifies a MAX17048/49 (§2.2). */
  async probe(): Promise<number> {
    const version = await this.readRegister(MAX17048_REG.VERSION);
    if ((version & 0xfff0) !== 0x0010) {
      throw new HardwareError(
        "HW_NOT_FOUND",
        `device at ${hex(this.address)} reports VERSION ${hex(version, 4)}, not a MAX17048/49`,
        {
          device: "max17048",
          register: MAX17048_REG.VERSION,
          actual: version,
          hint: "A MAX17040/43 encodes VCELL differently (12-bit, 1.25 mV) and is not supported",
        },
      );
    }
    return version;
  }

  async read(): Promise<FuelGaugeReading> {
    const vcell = await this.readRegister(MAX17048_REG.VCELL);
    const soc = await this.readRegister(MAX17048_REG.SOC);
    const crate = await this.readRegister(MAX17048_REG.CRATE);
    return {
      cellVolts: vcell * 78.125e-6,
      stateOfCharge: Math.min(1, soc / 256 / 100),
      chargeRatePerHour: ((crate & 0x8000 ? crate - 0x10000 : crate) * 0.208) / 100,
    };
  }

  private readRegister(reg: number): Promise<number> {
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
          `MAX17048 at ${hex(this.address)}: reading register ${hex(reg)} failed (${describeCause(cause)})`,
          {
            device: "max17048",
            register: reg,
            cause,
          },
        ),
    );
  }
}
