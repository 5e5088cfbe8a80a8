// Offers the pool withdrew (a heartbeat's `revoked`: the lease ran out, the task went elsewhere).
// Such a task is dropped before anything reaches the chain; one whose step is running is aborted.
// Shared by the heartbeat (which hears of it), the open tasks' pass (which drops it) and intake
// (a new offer of the task clears it).

/** Steps a task whose offer the pool withdrew is dropped in: nothing was sent to the chain yet. */
export const WITHDRAWABLE_STEPS: ReadonlySet<string> = new Set(["accepted", "executed", "published", "pinned"]);

export class Withdrawals {
  readonly #withdrawn = new Set<string>();
  readonly #running = new Map<string, AbortController>();

  /** The pool withdrew the offer: drop the task on the next pass, and stop its running step now. */
  withdraw(taskId: string): void {
    this.#withdrawn.add(taskId);
    this.#running.get(taskId)?.abort(new Error("the pool withdrew the offer"));
  }

  /** True once for a withdrawn task: the caller drops it, or took a new offer of it. */
  take(taskId: string): boolean {
    return this.#withdrawn.delete(taskId);
  }

  /** A signal aborted if the task's offer is withdrawn while `step` runs. */
  async during<T>(taskId: string, step: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const own = new AbortController();
    this.#running.set(taskId, own);
    try {
      return await step(own.signal);
    } finally {
      this.#running.delete(taskId);
    }
  }
}
