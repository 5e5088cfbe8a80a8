// What the scheduler answers when it refuses something: an RFC 9457 problem, with what was wrong
// (`detail`) and what to do (`hint`). Modules throw Rejection; the HTTP layer renders it.
export class Rejection extends Error {
  override name = "Rejection";
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly hint?: string,
    readonly field?: string,
  ) {
    super(detail);
  }
}

export const notFound = (detail: string, hint?: string) => new Rejection(404, "not found", detail, hint);
export const unprocessable = (detail: string, hint?: string, field?: string) =>
  new Rejection(422, "order refused", detail, hint, field);

/** Something the operator must fix before the scheduler can start (config, key, workerpool): the SDK's, shared with the worker. */
import { SetupError } from "@sunpool/sdk";
export { SetupError };

/**
 * The scheduler's database cannot be reached (PostgreSQL stopped, a wrong URL, refused
 * credentials): its message names the database and says what to do. A scheduler that meets it at
 * start exits like any setup error; a running one retries on its next pass.
 */
export class StoreUnreachableError extends SetupError {
  override name = "StoreUnreachableError";
}
