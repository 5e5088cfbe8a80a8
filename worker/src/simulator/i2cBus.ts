// A simulated /dev/i2c-1: routes transfers to register-level device models by address and encodes
// them the way the kernel does (SMBus words little-endian, I²C blocks byte by byte, docs/hardware.md §5.1).
import type { I2cBus } from "../hardware/bus.js";

/** A device on the simulated bus, seen at register level. */
export interface I2cDevice {
  readByte(register: number): number;
  writeByte(register: number, value: number): void;
  /** `length` bytes starting at `register`, as the device would clock them out. */
  readBlock(register: number, length: number): number[];
  writeBlock(register: number, bytes: readonly number[]): void;
}

/** An errno-style error like the ones i2c-bus rejects with. */
export function i2cError(code: "EIO" | "EREMOTEIO" | "ENXIO", syscall: string, detail: string): Error {
  const errno = { EIO: 5, ENXIO: 6, EREMOTEIO: 121 }[code];
  return Object.assign(new Error(`${code}, ${detail}`), { errno, code, syscall });
}

export class SimulatedI2cBus implements I2cBus {
  private readonly devices: Map<number, I2cDevice>;
  private readonly available: () => boolean;
  private closed = false;
  /** Transfers per address (shared by every handle), for tests that check a driver's bus and EEPROM traffic. */
  readonly counts: Map<number, { reads: number; writes: number }>;

  /** `available` says whether the Pi is running (an unpowered Pi cannot talk to anything). */
  constructor(
    available: () => boolean = () => true,
    devices = new Map<number, I2cDevice>(),
    counts = new Map<number, { reads: number; writes: number }>(),
  ) {
    this.available = available;
    this.devices = devices;
    this.counts = counts;
  }

  /**
   * Another handle on the same bus, like a second `openPromisified(1)`: closing one handle (an agent
   * that shut down) leaves the devices usable by the next one.
   */
  open(): SimulatedI2cBus {
    return new SimulatedI2cBus(this.available, this.devices, this.counts);
  }

  attach(address: number, device: I2cDevice): void {
    this.devices.set(address, device);
  }

  readByte(address: number, command: number): Promise<number> {
    return settle(() => this.device(address, "readByte").readByte(command) & 0xff);
  }

  writeByte(address: number, command: number, byte: number): Promise<void> {
    return settle(() => this.device(address, "writeByte").writeByte(command, byte & 0xff));
  }

  readWord(address: number, command: number): Promise<number> {
    return settle(() => {
      const [lo = 0, hi = 0] = this.device(address, "readWord").readBlock(command, 2);
      return lo | (hi << 8);
    });
  }

  writeWord(address: number, command: number, word: number): Promise<void> {
    return settle(() => this.device(address, "writeWord").writeBlock(command, [word & 0xff, (word >> 8) & 0xff]));
  }

  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    return settle(() => {
      if (length > 32) throw new RangeError(`readI2cBlock length ${length} exceeds 32`);
      const bytes = this.device(address, "readI2cBlock").readBlock(command, length);
      for (let i = 0; i < bytes.length; i++) buffer[i] = bytes[i]! & 0xff;
      return { bytesRead: bytes.length, buffer };
    });
  }

  writeI2cBlock(
    address: number,
    command: number,
    length: number,
    buffer: Buffer,
  ): Promise<{ bytesWritten: number; buffer: Buffer }> {
    return settle(() => {
      if (length > 32) throw new RangeError(`writeI2cBlock length ${length} exceeds 32`);
      this.device(address, "writeI2cBlock").writeBlock(command, [...buffer.subarray(0, length)]);
      return { bytesWritten: length, buffer };
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private device(address: number, syscall: string): I2cDevice {
    const count = this.counts.get(address) ?? { reads: 0, writes: 0 };
    this.counts.set(address, count);
    if (syscall.startsWith("read")) count.reads++;
    else count.writes++;
    if (this.closed) throw Object.assign(new Error("bus is closed"), { code: "EBADF", syscall });
    if (!this.available()) throw i2cError("EIO", syscall, "the simulated Pi is powered off");
    const device = this.devices.get(address);
    if (device === undefined) throw i2cError("EREMOTEIO", syscall, `no device answers at 0x${address.toString(16)}`);
    return device;
  }
}

/** Run a synchronous transfer as the addon does: the outcome arrives as a settled promise, never a throw. */
function settle<T>(transfer: () => T): Promise<T> {
  try {
    return Promise.resolve(transfer());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
