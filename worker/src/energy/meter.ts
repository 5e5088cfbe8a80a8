// Meters a task's energy from board samples: the energy receipt the worker puts on-chain.
// The solar share is the part of the load the panel covered while the task ran (sample by
// sample), so a task run at noon on a sunny day is ~100 % solar and one run at night 0 %.

export interface EnergyReceipt {
  milliwattHours: number;
  solarShareBps: number;
}

export class EnergyMeter {
  #lastAt: number | undefined;
  #lastLoad = 0;
  #lastPv = 0;
  #loadWattSeconds = 0;
  #solarWattSeconds = 0;
  readonly #startedAt: number;

  constructor(startedAtMs: number) {
    this.#startedAt = startedAtMs;
  }

  /** Adds a sample (trapezoid rule between samples). */
  add(atMs: number, loadWatts: number, pvWatts: number): void {
    if (this.#lastAt !== undefined && atMs > this.#lastAt) {
      const dt = (atMs - this.#lastAt) / 1000;
      const load = (this.#lastLoad + loadWatts) / 2;
      const solar = (Math.min(this.#lastPv, this.#lastLoad) + Math.min(pvWatts, loadWatts)) / 2;
      this.#loadWattSeconds += load * dt;
      this.#solarWattSeconds += solar * dt;
    }
    this.#lastAt = atMs;
    this.#lastLoad = loadWatts;
    this.#lastPv = pvWatts;
  }

  /**
   * Holds the last sample's power up to `atMs`. A board reports a conversion, not an instant: the
   * last reading can predate the end of a short task, which would otherwise be metered as ~0 Wh.
   */
  extendTo(atMs: number): void {
    if (this.#lastAt !== undefined && atMs > this.#lastAt) this.add(atMs, this.#lastLoad, this.#lastPv);
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
