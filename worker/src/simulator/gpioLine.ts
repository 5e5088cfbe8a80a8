// Simulated sysfs GPIO lines with onoff's semantics: writing an input throws EPERM, watchers fire on
// the configured edge of the line level (only while the line is an input), and everything a process
// set up disappears when the Pi loses power.
import type { GpioDirection, GpioEdge, GpioLine, GpioValue, GpioWatcher } from "../hardware/gpio.js";

export class SimulatedGpioLine implements GpioLine {
  readonly name: string;
  private direction: "in" | "out" = "in";
  private output: GpioValue = 0;
  private edge: GpioEdge;
  private watchers: GpioWatcher[] = [];
  private lastLevel: GpioValue;
  private readonly external: () => GpioValue;
  private readonly onDrive: (driven: GpioValue | undefined) => void;

  /**
   * `external` is the level the rest of the circuit puts on the line (a pull-up, the MCU pulling low);
   * `onDrive` hears what the Pi drives (undefined = released to input).
   */
  constructor(
    name: string,
    edge: GpioEdge,
    external: () => GpioValue,
    onDrive: (driven: GpioValue | undefined) => void = () => undefined,
  ) {
    this.name = name;
    this.edge = edge;
    this.external = external;
    this.onDrive = onDrive;
    this.lastLevel = external();
  }

  /** Level on the wire: an output wins only by pulling low (the Witty Pi lines are pulled up, open-drain in effect). */
  level(): GpioValue {
    const ext = this.external();
    return this.direction === "out" ? ((ext & this.output) as GpioValue) : ext;
  }

  /** What the Pi drives, or undefined for an input. */
  driven(): GpioValue | undefined {
    return this.direction === "out" ? this.output : undefined;
  }

  read(): Promise<GpioValue> {
    return Promise.resolve(this.level());
  }

  write(value: GpioValue): Promise<void> {
    if (this.direction !== "out") {
      return Promise.reject(Object.assign(new Error(`EPERM, ${this.name} is an input`), { code: "EPERM", syscall: "write" }));
    }
    this.output = value;
    this.changed();
    return Promise.resolve();
  }

  setDirection(direction: GpioDirection): void {
    this.direction = direction === "in" ? "in" : "out";
    // sysfs: "out" and "low" start the line low, "high" starts it high.
    if (direction !== "in") this.output = direction === "high" ? 1 : 0;
    this.changed();
  }

  setEdge(edge: GpioEdge): void {
    this.edge = edge;
  }

  watch(callback: GpioWatcher): void {
    this.watchers.push(callback);
  }

  unwatch(callback?: GpioWatcher): void {
    this.watchers = callback === undefined ? [] : this.watchers.filter((w) => w !== callback);
  }

  unexport(): void {
    this.watchers = [];
    this.direction = "in";
    this.changed();
  }

  /** The Pi lost power: its process, its watchers and its outputs are gone. */
  powerLoss(): void {
    this.watchers = [];
    this.direction = "in";
    this.output = 0;
    this.lastLevel = this.level();
  }

  /** Re-evaluate the level after the circuit changed; fires watchers on a matching edge. Returns whether it changed. */
  refresh(): boolean {
    const level = this.level();
    if (level === this.lastLevel) return false;
    this.lastLevel = level;
    const wanted = this.edge === "both" || (this.edge === "falling" && level === 0) || (this.edge === "rising" && level === 1);
    // Like onoff's epoll callbacks, watchers run asynchronously: by then the simulated clock stands
    // at the instant of the edge (physics stops the clock there).
    if (wanted && this.direction === "in") for (const w of [...this.watchers]) queueMicrotask(() => w(null, level));
    return true;
  }

  private changed(): void {
    this.onDrive(this.driven());
    this.refresh();
  }
}
