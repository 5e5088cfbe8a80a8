// Simulated time. Three ways to drive it:
// - "manual": time moves only in `advance(ms)` / `runUntil(at)` (unit tests that step precisely);
// - "auto": whenever someone sleeps, time jumps to the earliest deadline once every pending promise
//   continuation has run — a discrete-event simulation, so a week of agent loop costs CPU only for
//   what the agent does, not for the waiting (only valid when every wait goes through this clock);
// - "scaled": `speed` x wall-clock time (harnesses that also do real I/O, e.g. Docker or HTTP).
// In "auto" mode do not also call advance()/runUntil() while sleeps are pending: the auto driver
// may already have run past the instant you meant to stop at.
// Physics is advanced by hooks before time moves, second by second, and a hook may stop the clock
// early at an instant where something observable happened (a GPIO edge, the Pi losing power), so
// timers and event listeners always see the simulated instant they belong to.
import { abortError, type Clock } from "../hardware/clock.js";

export type ClockMode = "manual" | "auto" | "scaled";

export interface ClockHook {
  /** Advance the world from `from` to at most `to`; return the instant actually reached (<= to). */
  advance(from: number, to: number): number;
}

export interface SimulatedClockOptions {
  /** Start, ms since the epoch. */
  start: number;
  mode?: ClockMode;
  /** Simulated ms per wall ms in "scaled" mode. */
  speed?: number;
  /** Wall ms between scaled-mode ticks. */
  tickMs?: number;
}

interface Timer {
  deadline: number;
  seq: number;
  resolve: () => void;
}

export class SimulatedClock implements Clock {
  readonly mode: ClockMode;
  readonly speed: number;
  private current: number;
  private readonly timers: Timer[] = [];
  private readonly hooks: ClockHook[] = [];
  private seq = 0;
  private driving: Promise<void> | undefined;
  private autoScheduled = false;
  private interval: ReturnType<typeof setInterval> | undefined;
  private wallStart = 0;
  private simStart = 0;
  private stopped = false;

  constructor(options: SimulatedClockOptions) {
    this.current = options.start;
    this.mode = options.mode ?? "auto";
    this.speed = options.speed ?? 1;
    if (this.mode === "scaled") {
      if (!(this.speed > 0)) throw new RangeError(`SimulatedClock speed must be > 0, got ${this.speed}`);
      this.wallStart = performance.now();
      this.simStart = this.current;
      this.interval = setInterval(() => this.onTick(), options.tickMs ?? 10);
      this.interval.unref();
    }
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = { deadline: this.current + ms, seq: this.seq++, resolve: () => undefined };
      const onAbort = (): void => {
        this.removeTimer(timer);
        reject(abortError(signal!));
      };
      timer.resolve = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.insertTimer(timer);
      if (this.mode === "auto") this.scheduleAuto();
    });
  }

  /** Register physics that must be advanced before time moves. Returns a function that removes it. */
  addHook(hook: ClockHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Manual mode: move time forward by `ms`, firing timers in deadline order. */
  advance(ms: number): Promise<void> {
    return this.runUntil(this.current + ms);
  }

  /** Move time forward to `at`, firing every timer due on the way, each at its own instant. */
  runUntil(at: number): Promise<void> {
    return this.exclusive(() => this.driveTo(at));
  }

  /** Number of pending sleeps (a harness uses it to detect a stuck agent). */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Stop the scaled-mode ticker and auto-advancing; pending sleeps stay pending. */
  stop(): void {
    this.stopped = true;
    if (this.interval !== undefined) clearInterval(this.interval);
  }

  private async driveTo(target: number): Promise<void> {
    for (;;) {
      const next = this.timers[0];
      const stepTo = next !== undefined && next.deadline < target ? next.deadline : target;
      if (stepTo > this.current) this.moveTo(stepTo);
      this.fireDue();
      // Let every continuation of the timers just fired run (and register new sleeps) before time
      // moves again; a macrotask boundary drains the microtask queue completely.
      await yieldToMacrotasks();
      const first = this.timers[0];
      if (this.current >= target && (first === undefined || first.deadline > this.current)) return;
      if (this.stopped && this.mode !== "manual") return;
    }
  }

  private moveTo(to: number): void {
    let reached = to;
    for (const hook of this.hooks) reached = Math.min(reached, hook.advance(this.current, reached));
    // A hook stops early only at an instant after the current one; anything else is a bug there.
    this.current = Math.max(this.current, reached);
  }

  private fireDue(): void {
    while (this.timers.length > 0 && this.timers[0]!.deadline <= this.current) this.timers.shift()!.resolve();
  }

  private scheduleAuto(): void {
    if (this.autoScheduled || this.stopped) return;
    this.autoScheduled = true;
    setImmediate(() => {
      this.autoScheduled = false;
      void this.exclusive(async () => {
        while (!this.stopped && this.timers.length > 0) {
          await this.driveTo(this.timers[0]!.deadline);
        }
      });
    });
  }

  private onTick(): void {
    if (this.driving !== undefined || this.stopped) return;
    const target = this.simStart + (performance.now() - this.wallStart) * this.speed;
    // Keep the process alive only while something is waiting on simulated time.
    if (this.timers.length > 0) this.interval?.ref();
    else this.interval?.unref();
    if (target > this.current) void this.exclusive(() => this.driveTo(target));
  }

  private async exclusive(run: () => Promise<void>): Promise<void> {
    while (this.driving !== undefined) await this.driving;
    const p = run().finally(() => {
      this.driving = undefined;
    });
    this.driving = p;
    return p;
  }

  private insertTimer(timer: Timer): void {
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const t = this.timers[mid]!;
      if (t.deadline < timer.deadline || (t.deadline === timer.deadline && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    if (this.mode === "scaled") this.interval?.ref();
  }

  private removeTimer(timer: Timer): void {
    const i = this.timers.indexOf(timer);
    if (i >= 0) this.timers.splice(i, 1);
  }
}

function yieldToMacrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
