// The I²C bus the drivers use: the promisified subset of i2c-bus (docs/hardware.md §5.1) that they need.
// The board simulator implements the same subset, so the drivers cannot tell the two apart.
import type { PromisifiedBus } from "i2c-bus";

export type I2cBus = Pick<
  PromisifiedBus,
  "readByte" | "writeByte" | "readWord" | "writeWord" | "readI2cBlock" | "writeI2cBlock" | "close"
>;

/**
 * Open `/dev/i2c-<busNumber>` (the Witty Pi sits on bus 1, §1.1). i2c-bus is a native addon, so it is
 * imported only here: hosts without it (CI, a laptop running the simulator) never load it. Opening
 * succeeds even without the device node; the first transfer fails with ENOENT (§5.1).
 */
export async function openI2cBus(busNumber = 1): Promise<I2cBus> {
  const { openPromisified } = await import("i2c-bus");
  return openPromisified(busNumber);
}
