// Listeners of the simulated Pi's power-on or power-off, and waiting for the next one in simulated
// time (a test's "the Witty Pi woke the Pi within the hour").
import type { SimulatedClock } from "./clock.js";

export class PowerEventListeners<E> {
  readonly #listeners: ((event: E) => void)[] = [];

  /** Delivers `event` to every listener once the current call stack is done (the clock stands at its instant). */
  emit(event: E): void {
    for (const listener of [...this.#listeners]) queueMicrotask(() => listener(event));
  }

  /** Adds a listener; returns its removal. */
  subscribe(listener: (event: E) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** The next event, or undefined if none came within `timeoutMs` of the clock's time. */
  async next(clock: SimulatedClock, timeoutMs: number): Promise<E | undefined> {
    const abort = new AbortController();
    let result: E | undefined;
    const unsubscribe = this.subscribe((event) => {
      result = event;
      abort.abort();
    });
    try {
      await clock.sleep(timeoutMs, abort.signal);
      return undefined;
    } catch {
      return result;
    } finally {
      unsubscribe();
    }
  }
}
