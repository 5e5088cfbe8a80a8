import { expect } from "chai";

/** Awaits a rejection and checks its class and message. */
export async function expectRejection(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => Error,
  message: RegExp,
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, "expected a rejection").to.be.instanceOf(type);
  expect((error as Error).message).to.match(message);
}
