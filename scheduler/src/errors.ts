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
export { SetupError } from "@sunpool/sdk";
