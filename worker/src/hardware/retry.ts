// UUGear's discipline for talking to the Witty Pi's ATtiny (docs/hardware.md §1.5, §5.1): a read that
// fails is retried up to 3 times, 1 s apart; a write is read back and retried up to 3 times. The
// INA2xx drivers use the same policy: an I²C glitch should cost a second, not the agent.

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  delayMs: number;
  /** How to wait between attempts (the board's clock, so simulated runs do not really wait). */
  sleep: (ms: number) => Promise<void>;
}

export const defaultRetryPolicy = (sleep: (ms: number) => Promise<void>): RetryPolicy => ({ retries: 3, delayMs: 1000, sleep });

/** Run `attempt` until it resolves; after the last failure throw what `fail` builds from the last error. */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  fail: (lastError: unknown) => Error,
): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i <= policy.retries; i++) {
    if (i > 0) await policy.sleep(policy.delayMs);
    try {
      return await attempt();
    } catch (err) {
      lastError = err;
    }
  }
  throw fail(lastError);
}
