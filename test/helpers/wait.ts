// The one way tests wait for something: poll a probe until it gives a value, with a bound that a
// loaded CI machine cannot trip (30 s unless the caller knows better) and a message naming what
// never came. A bare `while (!done)` loop outlives its test's timeout and keeps mocha running.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every `everyMs` until it returns something other than undefined; that value. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  withinMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs.toString()} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
