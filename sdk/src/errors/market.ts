import { redactUrl, SunpoolError } from "./base.js";

/** Nothing in the order book can fill the request; `reasons` says what mismatched, per order seen. */
export class NoMatchingOrderError extends SunpoolError {
  override name = "NoMatchingOrderError";
  constructor(
    readonly kind: "app" | "dataset" | "workerpool",
    readonly reasons: readonly string[],
  ) {
    const seen = reasons.length === 0 ? [`The order book has no open ${kind} order for this request.`] : reasons;
    super("NO_MATCHING_ORDER", `No ${kind} order matches the request.`, {
      hints: [
        ...seen,
        kind === "workerpool"
          ? "Relax the request (category, trust, tag, max price) or use another scheduler."
          : `The ${kind} owner publishes orders with: sunpool order publish --kind ${kind}`,
      ],
      docsPath: "docs/sdk.md#orders",
    });
  }
}

/** The scheduler's HTTP API could not be reached. */
export class SchedulerUnreachableError extends SunpoolError {
  override name = "SchedulerUnreachableError";
  constructor(url: string, cause: unknown) {
    super("SCHEDULER_UNREACHABLE", `Cannot reach the scheduler at ${redactUrl(url)}.`, {
      hints: ["Check --scheduler (or SUNPOOL_SCHEDULER_URL / the config file) and that the scheduler is running."],
      cause,
    });
  }
}

/** The scheduler answered with an RFC 9457 problem: its `detail` and `hint` are passed on. */
export class SchedulerRejectedError extends SunpoolError {
  override name = "SchedulerRejectedError";
  constructor(
    readonly status: number,
    detail: string,
    hint: string | undefined,
    /** The problem's title (e.g. "unknown worker"): what callers branch on, with the status. */
    readonly title?: string,
  ) {
    super("SCHEDULER_REJECTED", `The scheduler rejected the request (HTTP ${status}): ${detail}`, {
      hints: hint === undefined ? [] : [hint],
    });
  }
}

/** The scheduler (or a deployment file) belongs to another chain or another hub than the client. */
export class ChainMismatchError extends SunpoolError {
  override name = "ChainMismatchError";
  constructor(what: string, expected: string, actual: string) {
    super("CHAIN_MISMATCH", `${what} is on ${actual}, but this client uses ${expected}.`, {
      hints: ["Point the SDK at the scheduler, RPC endpoint and deployment of the same chain and hub."],
    });
  }
}
