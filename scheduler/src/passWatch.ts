// Which step of the scheduling pass runs, and for how long. Passes run one at a time, so a step
// that waits (a pin fetching from a sleeping worker, a chain call, a locked row) holds every later
// pass back: the operator needs to see which step, while it still waits, not only after.
import type { Logger } from "pino";

/** A pass longer than this is logged with its steps' times (ms). */
const SLOW_PASS_MS = 5_000;
/** A pass still running after this is logged, with the step it waits in, every such period (ms). */
const STUCK_CHECK_MS = 15_000;

export class PassWatch {
  private started: number | undefined;
  private step = "";
  private steps: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly log: Logger) {
    this.timer = setInterval(() => this.checkStuck(), STUCK_CHECK_MS);
    this.timer.unref();
  }

  /** Runs one pass; `run` names its steps through the `step` function it is given. */
  async pass(run: (step: <T>(name: string, body: () => Promise<T>) => Promise<T>) => Promise<void>): Promise<void> {
    const started = performance.now();
    this.started = started;
    this.steps = {};
    try {
      await run(async (name, body) => {
        const from = performance.now();
        this.step = name;
        try {
          return await body();
        } finally {
          this.steps[name] = (this.steps[name] ?? 0) + Math.round(performance.now() - from);
        }
      });
    } finally {
      this.started = undefined;
      const took = performance.now() - started;
      if (took > SLOW_PASS_MS) this.log.warn({ ms: Math.round(took), steps: this.steps }, "a scheduling pass was slow");
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private checkStuck(): void {
    if (this.started === undefined) return;
    const running = performance.now() - this.started;
    if (running < STUCK_CHECK_MS) return;
    this.log.warn(
      { ms: Math.round(running), step: this.step, steps: this.steps },
      `a scheduling pass has been running for ${Math.round(running / 1000).toString()} s, in its ${this.step} step`,
    );
  }
}
