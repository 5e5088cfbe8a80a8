/**
 * The one error type the SDK throws, and the base of the worker's and scheduler's coded errors
 * (their own code lists as `Code`). Every error says what went wrong (`shortMessage`), what to do
 * about it (`hints`), and keeps what caused it (`cause`). `code` is stable and machine-readable;
 * the CLI maps the SDK's to an exit code (docs/sdk.md, "Errors and exit codes").
 */
export type SunpoolErrorCode =
  | "INVALID_INPUT"
  | "CONFIG"
  | "KEYSTORE"
  | "INSUFFICIENT_BALANCE"
  | "INSUFFICIENT_TOKENS"
  | "ASSET_NOT_FOUND"
  | "ASSET_EXISTS"
  | "APP_NOT_DETERMINISTIC"
  | "NO_MATCHING_ORDER"
  | "CONTRACT_REVERT"
  | "CHAIN_MISMATCH"
  | "RPC_UNREACHABLE"
  | "SCHEDULER_UNREACHABLE"
  | "SCHEDULER_REJECTED"
  | "TIMEOUT"
  | "TASK_FAILED"
  | "RESULT_UNAVAILABLE"
  | "RESULT_MISMATCH";

export interface SunpoolErrorOptions {
  /** Sentences telling the user what to do, most useful first. */
  hints?: readonly string[];
  /** Extra facts for debugging (values, raw responses). */
  details?: string;
  /** Page under docs/ that explains the topic. */
  docsPath?: string;
  cause?: unknown;
}

export class SunpoolError<Code extends string = SunpoolErrorCode> extends Error {
  override name = "SunpoolError";
  readonly code: Code;
  readonly shortMessage: string;
  readonly hints: readonly string[];
  readonly details: string | undefined;
  readonly docsPath: string | undefined;

  constructor(code: Code, shortMessage: string, options: SunpoolErrorOptions = {}) {
    super(formatMessage(shortMessage, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.hints = options.hints ?? [];
    this.details = options.details;
    this.docsPath = options.docsPath;
  }

  /** Follows the `cause` chain and returns the first error `predicate` accepts. */
  walk(predicate: (error: unknown) => boolean): unknown {
    if (predicate(this)) return this;
    let current: unknown = this.cause;
    while (current !== undefined && current !== null) {
      if (predicate(current)) return current;
      current = (current as { cause?: unknown }).cause;
    }
    return undefined;
  }
}

function formatMessage(shortMessage: string, options: SunpoolErrorOptions): string {
  const lines = [shortMessage];
  if (options.hints !== undefined && options.hints.length > 0) lines.push("", ...options.hints);
  if (options.docsPath !== undefined) lines.push("", `Docs: ${options.docsPath}`);
  if (options.details !== undefined) lines.push(`Details: ${options.details}`);
  return lines.join("\n");
}

/**
 * True for a SunpoolError, optionally of one code. Without a code it also accepts the worker's and
 * scheduler's coded errors (subclasses): what they say is meant for the user as it is.
 */
export function isSunpoolError(error: unknown, code?: SunpoolErrorCode): error is SunpoolError {
  return error instanceof SunpoolError && (code === undefined || error.code === code);
}

/** Removes credentials (user:password@) and query strings from a URL before it appears in a message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    parsed.search = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "<invalid url>";
  }
}
