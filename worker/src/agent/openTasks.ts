// One pass over the journal's open tasks: each advances by the pipeline's next step (pipeline.ts),
// or is dropped if the pool withdrew its offer before anything reached the chain.
import { advance, RetryLater, withdraw, type PipelineContext } from "./pipeline.js";
import { WITHDRAWABLE_STEPS, type Withdrawals } from "./withdrawals.js";

/** Advances every open task once; true if one of them still occupies the slot. */
export async function advanceOpenTasks(ctx: PipelineContext, withdrawals: Withdrawals, signal: AbortSignal): Promise<boolean> {
  let busy = false;
  for (const task of ctx.journal.open()) {
    if (signal.aborted) break;
    if (withdrawals.take(task.taskId) && WITHDRAWABLE_STEPS.has(task.step)) {
      withdraw(ctx, task);
      await ctx.cleanUp(ctx.journal.get(task.taskId)!).catch(() => undefined);
      continue;
    }
    let own: AbortSignal | undefined;
    try {
      const pause = await withdrawals.during(task.taskId, (withdrawal) => {
        own = withdrawal;
        return advance(ctx, task.taskId, AbortSignal.any([signal, withdrawal]));
      });
      if (pause === "transaction-pending") busy = true;
    } catch (error) {
      if (signal.aborted) break;
      if (own?.aborted === true) continue; // withdrawn: dropped on the next pass
      busy = true;
      const level = error instanceof RetryLater ? "warn" : "error";
      ctx.log[level]({ taskId: task.taskId, err: error }, "task step failed; will retry");
    }
  }
  return busy;
}
