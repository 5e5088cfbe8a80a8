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

/** Outcomes of a task that ended without a result: every TaskOutcome but `none` and `completed`. */
export type TaskFailureOutcome =
  "expired-unstarted" | "expired-no-consensus" | "expired-unrevealed" | "app-failed" | "no-consensus" | "scheduler-gave-up";

/** Why a task ended without a result, in the requester's terms. */
export interface TaskFailure {
  outcome: TaskFailureOutcome;
  /** What happened (a sentence without its final period). */
  reason: string;
  /** What the requester can do about it, most useful first. */
  hints: readonly string[];
}

const NOT_REPLICABLE =
  "An app whose output varies between runs (timestamps, random numbers, unordered output) cannot be replicated: make its output deterministic, or run it with --trust 1.";
const CHECK_NEEDS =
  "Check that the app's needs (memory, platforms) fit the pool's workers (sunpool app show <app>), or try another workerpool (--scheduler).";

const FAILURES: Record<TaskFailureOutcome, Omit<TaskFailure, "outcome">> = {
  "app-failed": {
    reason: "the app failed on several workers, or its inputs are invalid",
    hints: [
      "Check the app and its parameters: run the image locally with the same arguments and dataset; what it prints on stderr says why it stopped.",
    ],
  },
  "no-consensus": {
    reason: "the workers' results disagreed and none reached the trust level",
    hints: [NOT_REPLICABLE, "Otherwise retry: a lower trust needs fewer agreeing workers."],
  },
  "scheduler-gave-up": {
    reason: "the workerpool's scheduler could not run it (no worker able to take it) and gave it up, losing its stake",
    hints: ["Retry later.", CHECK_NEEDS],
  },
  "expired-unstarted": {
    reason: "no worker started it before the deal's start deadline",
    hints: ["Retry later.", CHECK_NEEDS],
  },
  "expired-no-consensus": {
    reason: "the workers did not agree on a result before the task's final deadline",
    hints: [NOT_REPLICABLE, "Otherwise retry: a lower trust needs fewer agreeing workers."],
  },
  "expired-unrevealed": {
    reason: "the workers did not reveal enough of their results before the task's final deadline",
    hints: ["Retry: the workers that withheld their results lost their stake."],
  },
};

/** What a task outcome without a result means for the requester, and what to do. */
export function describeTaskFailure(outcome: TaskFailureOutcome): TaskFailure {
  return { outcome, ...FAILURES[outcome] };
}

/**
 * A task ended without a result (`outcome` says why: `app-failed`, `no-consensus`,
 * `scheduler-gave-up` or a deadline that passed); the requester's payment was refunded.
 */
export class TaskFailedError extends SunpoolError {
  override name = "TaskFailedError";
  readonly reason: string;
  constructor(
    readonly taskId: string,
    readonly outcome: TaskFailureOutcome,
  ) {
    const failure = describeTaskFailure(outcome);
    // Why the app failed is known to the pool only: say where its workers' reports are.
    const reports =
      outcome === "app-failed"
        ? [
            `Each worker's reason and the app's last log lines: sunpool task show ${taskId} (the SDK's getPoolTask, signed by the requester).`,
          ]
        : [];
    super(
      "TASK_FAILED",
      `Task ${taskId} ended without a result (${outcome}): ${failure.reason}. Your payment was refunded to your escrow balance.`,
      { hints: [...failure.hints, ...reports], docsPath: "docs/sdk.md#when-a-task-fails" },
    );
    this.reason = failure.reason;
  }
}
