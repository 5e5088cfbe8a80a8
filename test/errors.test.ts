// Every custom error the protocol declares must be provoked by some test (issue: "every custom
// error reached by a test"). A new error without a test fails here with its name.
import { readFileSync, readdirSync } from "node:fs";

import { expect } from "chai";

const interfaces = ["IEscrow", "IOrderManagement", "ITaskLifecycle", "IAssetRegistry"];

function declaredErrors(): string[] {
  return interfaces.flatMap((name) => {
    const artifact = JSON.parse(
      readFileSync(new URL(`../artifacts/contracts/interfaces/${name}.sol/${name}.json`, import.meta.url), "utf8"),
    ) as { abi: { type: string; name: string }[] };
    return artifact.abi.filter((item) => item.type === "error").map((item) => item.name);
  });
}

function testSources(): string {
  const root = new URL("./", import.meta.url);
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".test.ts") && file !== "errors.test.ts")
    .map((file) => readFileSync(new URL(file, root), "utf8"))
    .join("\n");
}

describe("custom errors", function () {
  it("every declared error is asserted by name in a revert test", function () {
    const sources = testSources();
    const errors = declaredErrors();
    expect(errors.length).to.be.greaterThan(30);
    const untested = errors.filter((error) => !sources.includes(`"${error}"`));
    expect(untested, `errors no test asserts: ${untested.join(", ")}`).to.deep.equal([]);
  });
});
