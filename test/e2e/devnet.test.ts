// `npm run devnet` as a user runs it, then the user paths through the `sunpool` CLI against it:
// real processes (Hardhat node, scheduler, worker agents on simulated boards), the real Docker
// engine and registry, real IPFS. Ctrl-C at the end must stop everything and free the ports.
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { Contract, JsonRpcProvider } from "ethers";

import {
  expectedWordCounts,
  parseCounts,
  REPO_ROOT,
  startDevnet,
  sunpool,
  waitForDevnet,
  type CliOutcome,
  type DevnetInfo,
  type RunningDevnet,
} from "./helpers.js";

const CHAIN_PORT = 18545;
const SCHEDULER_PORT = 17300;

interface RunOutput {
  tasks: {
    index: number;
    outcome: string;
    folder?: string;
    files?: string[];
    energy?: { milliwattHours: number; solarShareBps: number; worker: string }[];
  }[];
}

function json<T>(outcome: CliOutcome): T {
  expect(outcome.code, `${outcome.stderr}\n${outcome.stdout}`).to.equal(0);
  return JSON.parse(outcome.stdout) as T;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer().once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

describe("npm run devnet: the whole market, driven through the sunpool CLI", function () {
  this.timeout(300_000);
  let devnet: RunningDevnet;
  let info: DevnetInfo;
  let project: string;

  before(async function () {
    devnet = startDevnet({ chainPort: CHAIN_PORT, schedulerPort: SCHEDULER_PORT });
    const seconds = await waitForDevnet(devnet);
    console.log(`      (devnet ready in ${seconds.toFixed(1)} s)`);
    info = devnet.info();
    project = mkdtempSync(join(tmpdir(), "sunpool-e2e-"));
  });

  after(async function () {
    if (devnet === undefined) return;
    devnet.child.kill("SIGINT");
    expect(await devnet.exited, devnet.output()).to.equal(0);
  });

  it("prints what runs and the commands to try; the contracts answer on the chain", function () {
    const output = devnet.output();
    for (const text of ["chain", "scheduler", "registry", "workers", "npx sunpool run", "SUNPOOL_CONFIG="]) {
      expect(output).to.include(text);
    }
    expect(info.accounts.workers).to.have.length(3);
    const provider = new JsonRpcProvider(info.rpcUrl);
    const hub = new Contract(info.deployment.hub, ["function token() view returns (address)"], provider);
    return hub
      .getFunction("token")()
      .then((token: string) => expect(token).to.equal(info.deployment.token))
      .finally(() => provider.destroy());
  });

  it("trust 1 with a dataset: a verified word count and the energy it took", async function () {
    const app = info.apps.wordcount!;
    const outcome = json<RunOutput>(
      await sunpool(info, project, ["run", app.id, "--dataset", app.datasetId!, "--arg", "1", "--out", "wordcount", "--json"]),
    );
    expect(outcome.tasks).to.have.length(1);
    const [task] = outcome.tasks;
    expect(task!.outcome).to.equal("completed");
    const counts = parseCounts(readFileSync(join(task!.folder!, "counts.txt"), "utf8"));
    const dataset = readFileSync(join(REPO_ROOT, "devnet/apps/wordcount/dataset.txt"), "utf8");
    expect(counts).to.deep.equal(expectedWordCounts(dataset));
    // The receipt comes from the worker's simulated board: non-zero energy, some of it solar.
    expect(task!.energy).to.have.length(1);
    expect(task!.energy![0]!.milliwattHours).to.be.greaterThan(0);
    expect(info.accounts.workers.map((address) => address.toLowerCase())).to.include(task!.energy![0]!.worker.toLowerCase());
  });

  it("a batch of 10 tasks splits the work across the workers; every result is verified", async function () {
    const app = info.apps.primes!;
    const outcome = json<RunOutput>(
      await sunpool(info, project, [
        "run",
        app.id,
        "--volume",
        "10",
        "--arg",
        "100000",
        "--arg",
        "10",
        "--out",
        "primes",
        "--json",
      ]),
    );
    expect(outcome.tasks.map((task) => task.outcome)).to.deep.equal(Array(10).fill("completed"));
    let primes = 0;
    for (const task of outcome.tasks) {
      const lines = readFileSync(join(task.folder!, "primes.txt"), "utf8");
      primes += Number(/count (\d+)/.exec(lines)?.[1]);
    }
    expect(primes).to.equal(9592); // π(100000)
    const workers = new Set(outcome.tasks.flatMap((task) => (task.energy ?? []).map((receipt) => receipt.worker.toLowerCase())));
    expect(workers.size, "tasks spread over the pool").to.be.greaterThan(1);
    expect(readdirSync(join(project, "primes"))).to.have.length(10);
  });

  it("Ctrl-C stops every part and frees the ports", async function () {
    devnet.child.kill("SIGINT");
    expect(await devnet.exited, devnet.output()).to.equal(0);
    expect(devnet.output()).to.include("devnet: stopping");
    expect(await portIsFree(CHAIN_PORT)).to.equal(true);
    expect(await portIsFree(SCHEDULER_PORT)).to.equal(true);
  });
});

describe("npm run devnet: pre-flight checks", function () {
  this.timeout(60_000);

  it("refuses a port in use with what to do", async function () {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(SCHEDULER_PORT + 1, "127.0.0.1", resolve));
    try {
      const devnet = startDevnet({ chainPort: CHAIN_PORT + 1, schedulerPort: SCHEDULER_PORT + 1 });
      expect(await devnet.exited).to.equal(1);
      expect(devnet.output()).to.include(`port ${(SCHEDULER_PORT + 1).toString()} on 127.0.0.1 (the scheduler) is in use`);
      expect(devnet.output()).to.include("SUNPOOL_DEVNET_SCHEDULER_PORT");
    } finally {
      blocker.close();
    }
  });

  it("refuses a bad flag with the usage", async function () {
    const devnet = startDevnet({ chainPort: CHAIN_PORT + 2, schedulerPort: SCHEDULER_PORT + 2, args: ["--workers", "0"] });
    expect(await devnet.exited).to.equal(1);
    expect(devnet.output()).to.include("--workers must be an integer from 1 to 10");
  });
});
