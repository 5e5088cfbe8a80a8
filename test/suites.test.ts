// `npm test` runs the suites in lanes side by side (scripts/test.sh), then the firmware image test,
// each step naming its files by glob. A test file no glob names would never run, silently: every
// test file must be named by exactly one step. The parts lane runs beside the engine lane, whose
// tests count and sweep task containers and bind fixed ports: nothing in it may start a worker
// agent, a container or a devnet.
// A rerun step runs files of another step again in another setting (the scheduler's suites on
// PostgreSQL): it names only files that step names.
import { globSync, readFileSync } from "node:fs";

import { expect } from "chai";

const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts;
const STEPS = ["test:engine", "test:parts", "test:contracts", "test:firmware"];
/** Rerun steps, and the step whose files each runs again. */
const RERUNS: Record<string, string> = { "test:postgres": "test:parts" };
// `npm test` is scripts/test.sh, which runs the steps (three of them side by side).
const npmTest = readFileSync("scripts/test.sh", "utf8");

/** The file globs a step's hardhat command names (arguments that end in a test file extension). */
function globsOf(step: string): string[] {
  const command = scripts[step];
  if (command === undefined) throw new Error(`package.json has no script ${step}`);
  return command.split(/\s+/).filter((word) => /\.(test\.ts|t\.sol)$/.test(word));
}

describe("npm test runs every test file once", function () {
  it("names each test file in exactly one step, and `npm test` runs every step", function () {
    const named = new Map<string, string[]>();
    for (const step of STEPS) {
      expect(scripts.test).to.equal("bash scripts/test.sh");
      expect(npmTest).to.contain(`npm run ${step}`);
      for (const file of globsOf(step).flatMap((pattern) => globSync(pattern))) {
        named.set(file, [...(named.get(file) ?? []), step]);
      }
    }
    const files = globSync("test/**/*.{test.ts,t.sol}");
    expect(files.length).to.be.above(40);
    const unnamed = files.filter((file) => !named.has(file));
    const twice = [...named].filter(([, steps]) => steps.length > 1).map(([file]) => file);
    expect({ unnamed, twice }).to.deep.equal({ unnamed: [], twice: [] });
  });

  it("runs every rerun step, on files its step already names", function () {
    for (const [rerun, step] of Object.entries(RERUNS)) {
      expect(npmTest).to.contain(`npm run ${rerun}`);
      const own = new Set(globsOf(step).flatMap((pattern) => globSync(pattern)));
      const again = globsOf(rerun).flatMap((pattern) => globSync(pattern));
      expect(again.length, `${rerun} names no test file`).to.be.above(0);
      expect(
        again.filter((file) => !own.has(file)),
        `files ${rerun} names that ${step} does not`,
      ).to.deep.equal([]);
    }
  });

  it("keeps the engine's drivers (worker agents, containers, devnets) out of the parts lane", function () {
    // What starts a worker agent (which sweeps its address's containers at start), runs a container
    // or starts a devnet: a test that imports any of these belongs to test:engine.
    const drivers = /\b(startTestWorker|spawnWorkerCli|startWorker|dockerClient|startDevnet|useDevnet|runTask)\b/;
    const imports = (file: string) => (readFileSync(file, "utf8").match(/^import [^;]+;/gm) ?? []).join("\n");
    const offending = globsOf("test:parts")
      .flatMap((pattern) => globSync(pattern))
      .filter((file) => drivers.test(imports(file)));
    expect(offending).to.deep.equal([]);
  });
});
