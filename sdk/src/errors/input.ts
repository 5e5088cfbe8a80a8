import { SunpoolError } from "./base.js";

/** An argument is malformed: the message names it, shows what was given and what is expected. */
export class InvalidInputError extends SunpoolError {
  override name = "InvalidInputError";
  constructor(field: string, given: unknown, expected: string) {
    super("INVALID_INPUT", `Invalid ${field}: ${describe(given)}.`, { hints: [`Expected ${expected}.`] });
  }
}

/** The configuration (file, environment or flags) is missing something or contradicts itself. */
export class ConfigError extends SunpoolError {
  override name = "ConfigError";
  constructor(problem: string, hints: readonly string[], cause?: unknown) {
    super("CONFIG", problem, { hints, docsPath: "docs/sdk.md#configuration", cause });
  }
}

/**
 * Something the operator or owner must fix before a service (the scheduler, a worker agent) can
 * start: its config, its key, its workerpool. The message says what to do; no hints follow it.
 */
export class SetupError extends SunpoolError {
  override name = "SetupError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("CONFIG", message, options);
  }
}

/** The keystore file is missing, unreadable, or the password does not open it. */
export class KeystoreError extends SunpoolError {
  override name = "KeystoreError";
  constructor(problem: string, hints: readonly string[], cause?: unknown) {
    super("KEYSTORE", problem, { hints, docsPath: "docs/sdk.md#wallet", cause });
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing was given";
  const text =
    typeof value === "bigint" || typeof value === "number" || typeof value === "boolean"
      ? value.toString()
      : (JSON.stringify(value) ?? typeof value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
