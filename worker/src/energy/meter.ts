// Meters a task's energy from board samples: the energy receipt the worker puts on-chain.
// The solar share is the part of the load the panel covered while the task ran (sample by
// sample), so a task run at noon on a sunny day is ~100 % solar and one run at night 0 %.

export interface EnergyReceipt {
  milliwattHours: number;
  solarShareBps: number;
}

/** Where a task's energy came from, Wh: the panel's cover, the battery, mains; harvested = no mains. */
export interface TaskEnergySplit {
  pvWh: number;
  batteryWh: number;
  mainsWh: number;
  harvested: boolean;
}

export class EnergyMeter {
  #lastAt: number | undefined;
  #lastLoad = 0;
  #lastPv = 0;
  #lastMains = 0;
  #loadWattSeconds = 0;
  #solarWattSeconds = 0;
  #mainsWattSeconds = 0;
  readonly #startedAt: number;

  constructor(startedAtMs: number) {
    this.#startedAt = startedAtMs;
  }

  /** Adds a sample (trapezoid rule between samples); `mainsWatts` is what a 5 V supply gave (§1.2 reg 7). */
  add(atMs: number, loadWatts: number, pvWatts: number, mainsWatts = 0): void {
    if (this.#lastAt !== undefined && atMs > this.#lastAt) {
      const dt = (atMs - this.#lastAt) / 1000;
      const load = (this.#lastLoad + loadWatts) / 2;
      const solar = (Math.min(this.#lastPv, this.#lastLoad) + Math.min(pvWatts, loadWatts)) / 2;
      // Mains covers the load first (the Witty Pi then runs from it, not from the bus).
      const mains = (Math.min(this.#lastMains, this.#lastLoad) + Math.min(mainsWatts, loadWatts)) / 2;
      this.#loadWattSeconds += load * dt;
      this.#solarWattSeconds += Math.min(solar, load - mains) * dt;
      this.#mainsWattSeconds += mains * dt;
    }
    this.#lastAt = atMs;
    this.#lastLoad = loadWatts;
    this.#lastPv = pvWatts;
    this.#lastMains = mainsWatts;
  }

  /** The task's energy by source: the panel's cover, the battery for the rest, mains. */
  split(): TaskEnergySplit {
    const pvWh = this.#solarWattSeconds / 3600;
    const mainsWh = this.#mainsWattSeconds / 3600;
    return { pvWh, batteryWh: Math.max(0, this.wattHours - pvWh - mainsWh), mainsWh, harvested: !(mainsWh > 0) };
  }

  /**
   * Holds the last sample's power up to `atMs`. A board reports a conversion, not an instant: the
   * last reading can predate the end of a short task, which would otherwise be metered as ~0 Wh.
   */
  extendTo(atMs: number): void {
    if (this.#lastAt !== undefined && atMs > this.#lastAt) this.add(atMs, this.#lastLoad, this.#lastPv, this.#lastMains);
  }

  get seconds(): number {
    return ((this.#lastAt ?? this.#startedAt) - this.#startedAt) / 1000;
  }

  get wattHours(): number {
    return this.#loadWattSeconds / 3600;
  }

  receipt(): EnergyReceipt {
    // A sub-second task draws well under 1 mWh: it is reported as 1, never as the 0 of no metering.
    const rounded = Math.round(this.#loadWattSeconds / 3.6);
    const milliwattHours = Math.min(2 ** 32 - 1, this.#loadWattSeconds > 0 ? Math.max(1, rounded) : 0);
    const solarShareBps =
      this.#loadWattSeconds === 0 ? 0 : Math.min(10_000, Math.round((this.#solarWattSeconds / this.#loadWattSeconds) * 10_000));
    return { milliwattHours, solarShareBps };
  }
}
