// Hardhat's ethers chai matchers replace `closeTo` with a bigint-only version once any test file
// loads them, which throws "is not an integer" for the physical quantities of the worker tests.
// Importing this module restores chai's own behaviour for plain numbers (bigints still go to the
// ethers matcher).
import * as chai from "chai";

for (const name of ["closeTo", "approximately"] as const) {
  chai.Assertion.overwriteMethod(
    name,
    (_super: (...args: unknown[]) => unknown) =>
      function (this: Chai.AssertionStatic, expected: unknown, delta: unknown, message?: string) {
        const actual: unknown = chai.util.flag(this, "object");
        if (typeof actual === "number" && typeof expected === "number" && typeof delta === "number") {
          if (message !== undefined) chai.util.flag(this, "message", message);
          this.assert(
            Math.abs(actual - expected) <= delta,
            `expected #{this} to be close to ${expected.toString()} +/- ${delta.toString()}`,
            `expected #{this} not to be close to ${expected.toString()} +/- ${delta.toString()}`,
            expected,
            actual,
          );
          return;
        }
        return _super.call(this, expected, delta, message);
      },
  );
}
