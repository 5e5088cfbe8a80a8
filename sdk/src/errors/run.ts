import { SunpoolError } from "./base.js";

/** Waiting for a deal or a task took longer than the caller allowed. */
export class RunTimeoutError extends SunpoolError {
  override name = "RunTimeoutError";
  constructor(
    readonly stage: string,
    readonly requestHash: string,
    timeoutMs: number,
  ) {
    super("TIMEOUT", `Gave up waiting for ${stage} after ${Math.round(timeoutMs / 1000)} s (request ${requestHash}).`, {
      hints: [
        "Nothing is lost: the request stays signed and published, and any deal keeps running on-chain.",
        `Follow it later with: sunpool task watch --request ${requestHash}`,
        "If no deal appears, the scheduler may be down: cancel with sunpool order cancel " + requestHash,
      ],
    });
  }
}

/** A task ended without a result (its deadline passed); the requester's payment is refundable. */
export class TaskFailedError extends SunpoolError {
  override name = "TaskFailedError";
  constructor(
    readonly taskId: string,
    readonly outcome: string,
  ) {
    super("TASK_FAILED", `Task ${taskId} ended without a result: ${outcome}.`, {
      hints: ["The task's price went back to your escrow balance (sunpool account balance)."],
      docsPath: "docs/protocol.md",
    });
  }
}
