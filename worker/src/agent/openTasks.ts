// One pass over the journal's open tasks: each advances by the pipeline's next step (pipeline.ts),
// or is dropped if the pool withdrew its offer before anything reached the chain.
import type { Logger } from "pino";

import type { Journal } from "../journal/journal.js";
import { advance, RetryLater, withdraw, type PipelineContext } from "./pipeline.js";
import { WITHDRAWABLE_STEPS, type Withdrawals } from "./withdrawals.js";

/** Advances every open task once; true if one of them still occupies the slot. */
export async function advanceOpenTasks(
  ctx: PipelineContext & { journal: Journal; log: Logger },
  withdrawals: Withdrawals,
  signal: AbortSignal,
): Promise<boolean> {
  let busy = false;
  for (const task of ctx.journal.open()) {
    if (signal.aborted) break;
    if (withdrawals.take(task.taskId) && WITHDRAWABLE_STEPS.has(task.step)) {
      withdraw(ctx, task);
      await ctx.cleanUp(ctx.journal.get(task.taskId)!).catch(() => undefined);
      continue;
    }
    let withdrawn = false;
    try {
      const pause = await withdrawals.during(task.taskId, (own) => {
        own.addEventListener("abort", () => (withdrawn = true), { once: true });
        return advance(ctx, task.taskId, AbortSignal.any([signal, own]));
      });
      if (pause === "transaction-pending") busy = true;
    } catch (error) {
      if (signal.aborted) break;
      if (withdrawn) continue; // dropped on the next pass
      busy = true;
      const level = error instanceof RetryLater ? "warn" : "error";
      ctx.log[level]({ taskId: task.taskId, err: error }, "task step failed; will retry");
    }
  }
  return busy;
}
