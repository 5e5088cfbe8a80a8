// `npm run devnet` as a user runs it, then the user paths through the `sunpool` CLI against it:
// real processes (Hardhat node, scheduler, worker agents on simulated boards), the real Docker
// engine and registry, real IPFS. Ctrl-C at the end must stop everything and free the ports.
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import type { ContainerInfo } from "dockerode";
import { Contract, JsonRpcProvider, Wallet } from "ethers";

import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import { getPoolTask, type PoolTask } from "../../sdk/src/scheduler/tasks.js";
import { LABEL_OUTPUT } from "../../worker/src/executor/sandbox.js";
import { dockerClient } from "../helpers/docker.js";
import {
  expectedWordCounts,
  parseCounts,
  readPid,
  REPO_ROOT,
  freeDevnetPorts,
  startDevnet,
  sunpool,
  useDevnet,
  waitFor,
  waitForDevnet,
  waitForStatus,
  type CliOutcome,
  type DevnetInfo,
  type RunningDevnet,
} from "./helpers.js";

// Each devnet of this file on its own free ports (chosen when the file loads).
const { chainPort: CHAIN_PORT, schedulerPort: SCHEDULER_PORT } = await freeDevnetPorts();
const DISHONEST_PORTS = await freeDevnetPorts();
const ARM64_PORTS = await freeDevnetPorts();
const PREFLIGHT_PORTS = await freeDevnetPorts();
const TOO_MANY_WORKERS_PORTS = await freeDevnetPorts();

interface RunOutput {
  tasks: {
    dealId: string;
    index: number;
    outcome: string;
    failure?: { outcome: string; reason: string; hints: string[] };
    folder?: string;
    files?: string[];
    energy?: { milliwattHours: number; solarShareBps: number; worker: string }[];
  }[];
}

function json<T>(outcome: CliOutcome): T {
  expect(outcome.code, `${outcome.stderr}\n${outcome.stdout}`).to.equal(0);
  return JSON.parse(outcome.stdout) as T;
}

/** The requester's free escrow balance, through the CLI. */
async function escrow(info: DevnetInfo, project: string): Promise<bigint> {
  return BigInt(json<{ balance: string }>(await sunpool(info, project, ["account", "balance", "--json"])).balance);
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await response.json()) as { result: unknown }).result;
}

/**
 * This devnet's task containers: other suites run beside this one on the same engine (scripts/test.sh),
 * so only containers whose output folder lies in this devnet's state folder count.
 */
async function taskContainersOf(devnet: RunningDevnet, all = false): Promise<ContainerInfo[]> {
  const containers = await dockerClient().listContainers({ all, filters: { name: ["sunpool-task-"] } });
  return containers.filter((container) => container.Labels[LABEL_OUTPUT]?.startsWith(devnet.state) === true);
}

/** The name of the first task container this devnet's workers run (polling until there is one). */
async function waitForTaskContainer(devnet: RunningDevnet): Promise<string> {
  let names: string[] = [];
  await waitFor(
    () => names.length > 0,
    60_000,
    "a task container",
    async () => {
      names = (await taskContainersOf(devnet)).map((container) => container.Names[0]!.replace(/^\//, ""));
    },
  );
  return names[0]!;
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

  it("the scheduler killed mid-flow is started again; the request completes, nothing is done twice", async function () {
    const app = info.apps.primes!;
    const running = sunpool(info, project, [
      "run",
      app.id,
      "--volume",
      "2",
      "--arg",
      "2000000",
      "--arg",
      "2",
      "--out",
      "restart",
      "--json",
    ]);
    await waitForTaskContainer(devnet);
    process.kill(readPid(devnet, "scheduler"), "SIGKILL");
    const outcome = json<RunOutput & { deals: unknown[] }>(await running);
    expect(outcome.deals, "one deal: the request was matched once").to.have.length(1);
    expect(outcome.tasks.map((task) => task.outcome)).to.deep.equal(["completed", "completed"]);
    let primes = 0;
    for (const task of outcome.tasks) {
      primes += Number(/count (\d+)/.exec(readFileSync(join(task.folder!, "primes.txt"), "utf8"))?.[1]);
      expect(task.energy, "one contribution per task").to.have.length(1);
    }
    expect(primes).to.equal(148933); // π(2·10^6)
    expect(devnet.output()).to.match(/the scheduler exited \(SIGKILL\); starting it again/);
  });

  it("a worker that loses power mid-task comes back or loses the task; the task completes and no container is left", async function () {
    const app = info.apps.primes!;
    const running = sunpool(info, project, ["run", app.id, "--arg", "1000000", "--out", "power-cut", "--json"]);
    const container = await waitForTaskContainer(devnet);
    const suffix = container.split("-").pop()!;
    const worker = info.accounts.workers.findIndex((address) => address.slice(2, 10).toLowerCase() === suffix);
    expect(worker, `the container ${container} names a devnet worker`).to.be.at.least(0);
    process.kill(readPid(devnet, `worker-${(worker + 1).toString()}`), "SIGKILL");
    const outcome = json<RunOutput>(await running);
    expect(outcome.tasks[0]!.outcome).to.equal("completed");
    expect(readFileSync(join(outcome.tasks[0]!.folder!, "primes.txt"), "utf8")).to.include("count 78498");
    expect(devnet.output()).to.include(`the worker ${(worker + 1).toString()} exited (SIGKILL); starting it again`);
    // The killed worker's container is removed by the worker when it comes back.
    let left: unknown[] = [];
    await waitFor(
      () => left.length === 0,
      30_000,
      "the orphaned container to be removed",
      async () => void (left = await taskContainersOf(devnet, true)),
    );
  });

  it("a deadline that passes: the requester is refunded and the reason is recorded on-chain", async function () {
    // An app no worker can take (it declares 4 TiB of memory): matched, never dispatched.
    const primes = info.apps.primes!;
    const { id } = json<{ id: string }>(
      await sunpool(info, project, [
        "app",
        "deploy",
        "--name",
        "hungry",
        "--image",
        primes.image,
        "--digest",
        primes.imageDigest,
        "--platform",
        "linux/amd64",
        "linux/arm64",
        "--memory",
        "4194304",
        "--json",
      ]),
    );
    json(
      await sunpool(info, project, [
        "order",
        "publish",
        "--kind",
        "app",
        "--app",
        id,
        "--price",
        "0",
        "--volume",
        "10",
        "--json",
      ]),
    );
    const before = await escrow(info, project);
    const deals = (await waitForStatus(info, () => true, 10_000, "the scheduler")).deals;
    const running = sunpool(info, project, ["run", id, "--json"]);
    await waitForStatus(info, (status) => status.deals > deals, 60_000, "the deal");
    // Past the start window of category 0 (10 x 300 s), on the devnet's clock.
    await rpc(info.rpcUrl, "evm_increaseTime", [3_100]);
    await rpc(info.rpcUrl, "evm_mine", []);
    const outcome = await running;
    expect(outcome.code, "exit code 8: some tasks did not complete").to.equal(8);
    const [task] = (JSON.parse(outcome.stdout) as RunOutput).tasks;
    expect(task!.outcome).to.equal("expired-unstarted");
    expect(task!.failure!.reason).to.equal("no worker started it before the deal's start deadline");
    // The price came back in full (the scheduler's stake for the task went to the treasury).
    expect(await escrow(info, project)).to.equal(before);
  });

  it("an app that fails on every worker ends app-failed within tasks.failAfter attempts, nobody blamed; run and task show print each worker's reason and the app's log tail, to the requester only", async function () {
    const primes = info.apps.primes!;
    const failAfter = 2; // the devnet scheduler's tasks.failAfter (the default)
    const refusal = "primes: arguments are [limit] [parts], positive integers; got 'zero'";
    const before = await escrow(info, project);
    const provider = new JsonRpcProvider(info.rpcUrl);
    const db = new DatabaseSync(join(devnet.state, "run/scheduler/scheduler.sqlite"), { readOnly: true });
    try {
      const hub = new Contract(info.deployment.hub, ["function scoreOf(address, address) view returns (uint256)"], provider);
      const scores = () =>
        Promise.all(
          info.accounts.workers.map((worker) => hub.getFunction("scoreOf")(info.accounts.scheduler, worker) as Promise<bigint>),
        );
      const records = () => db.prepare("SELECT address, good, bad FROM workers ORDER BY address").all();
      const [scoresBefore, recordsBefore] = [await scores(), records()];

      // primes refuses a limit that is not a number: it says why on stderr and exits 2, on every worker.
      const ran = await sunpool(info, project, ["run", primes.id, "--arg", "zero", "--out", "zero"]);
      expect(ran.code, ran.stderr).to.equal(8);
      expect(ran.stdout).to.include(
        "    no result: the app failed on several workers, or its inputs are invalid; your payment was refunded\n" +
          `    workers (the pool ends a task as app-failed once ${failAfter.toString()} of them report the app failing):\n`,
      );
      expect(ran.stdout).to.include(`    | ${refusal}\n`);
      expect(await escrow(info, project)).to.equal(before);

      const requestHash = /^Request (0x[0-9a-f]{64})$/m.exec(ran.stdout)![1]!;
      const watch = await sunpool(info, project, ["task", "watch", "--request", requestHash, "--json"]);
      expect(watch.code, watch.stderr).to.equal(8);
      const watched = JSON.parse(watch.stdout) as { tasks: { taskId: string; dealId: string; outcome: string }[] };
      expect(watched.tasks.map((task) => task.outcome)).to.deep.equal(["app-failed"]);
      const { taskId, dealId } = watched.tasks[0]!;

      // The requester's task show (its wallet signs the request to the scheduler): reasons and log tails.
      const shown = await sunpool(info, project, ["task", "show", taskId]);
      expect(shown.code, shown.stderr).to.equal(8);
      expect(shown.stdout).to.include(
        "  no result: the app failed on several workers, or its inputs are invalid; your payment was refunded\n",
      );
      expect(shown.stdout).to.match(/^ {4}0x[0-9a-fA-F]{40} failed: .*exited with code 2$/m);
      expect(shown.stdout).to.include(`      | ${refusal}\n`);
      const asJson = await sunpool(info, project, ["task", "show", dealId, "0", "--json"]);
      expect(asJson.code, asJson.stderr).to.equal(8);
      const view = JSON.parse(asJson.stdout) as {
        outcome: string;
        failure: { reason: string };
        pool: PoolTask;
      };
      expect(view.outcome).to.equal("app-failed");
      expect(view.failure.reason).to.equal("the app failed on several workers, or its inputs are invalid");
      // Within K attempts: exactly failAfter distinct workers tried it, each reported the app failing.
      expect(view.pool).to.deep.include({ outcome: "app-failed", failAfter, logTailsWithheld: false });
      expect(view.pool.replicas.map((replica) => replica.state)).to.deep.equal(Array(failAfter).fill("failed"));
      expect(new Set(view.pool.replicas.map((replica) => replica.worker)).size).to.equal(failAfter);
      for (const replica of view.pool.replicas) {
        expect(replica.reason).to.match(/exited with code 2/);
        expect(replica.logTail).to.include(refusal);
      }

      // Anyone else gets the task without the log tails: unsigned, or signed by another wallet.
      const unsigned = await fetch(`${info.schedulerUrl}/v1/tasks/${taskId}`).then((response) => response.text());
      expect(unsigned).to.not.include(refusal);
      expect(JSON.parse(unsigned)).to.deep.include({ outcome: "app-failed", logTailsWithheld: true });
      const other = await getPoolTask(createSchedulerClient({ url: info.schedulerUrl }), {
        taskId,
        signer: Wallet.createRandom(),
      });
      expect(other.logTailsWithheld).to.equal(true);
      expect(other.replicas.map((replica) => replica.logTail)).to.deep.equal(Array(failAfter).fill(undefined));
      expect(other.hint).to.match(/not by the deal's requester/);

      // The app's failure is nobody's fault: no worker's record with the pool or score on-chain went down.
      expect(records()).to.deep.equal(recordsBefore);
      const scoresAfter = await scores();
      scoresAfter.forEach((score, i) => expect(score >= scoresBefore[i]!, info.accounts.workers[i]).to.equal(true));
    } finally {
      db.close();
      provider.destroy();
    }
  });

  it("an app registered as non-deterministic runs with trust 1 only", async function () {
    const primes = info.apps.primes!;
    const { id } = json<{ id: string }>(
      await sunpool(info, project, [
        "app",
        "deploy",
        "--name",
        "primes-nondeterministic",
        "--image",
        primes.image,
        "--digest",
        primes.imageDigest,
        "--platform",
        "linux/amd64",
        "linux/arm64",
        "--non-deterministic",
        "--json",
      ]),
    );
    json(
      await sunpool(info, project, [
        "order",
        "publish",
        "--kind",
        "app",
        "--app",
        id,
        "--price",
        "0",
        "--volume",
        "10",
        "--json",
      ]),
    );
    const refused = await sunpool(info, project, ["run", id, "--trust", "3", "--arg", "1000"]);
    expect(refused.code).to.equal(5);
    expect(refused.stderr).to.match(/^Error APP_NOT_DETERMINISTIC: App 0x[0-9a-f]{64} is registered as non-deterministic/);
    const outcome = json<RunOutput>(
      await sunpool(info, project, ["run", id, "--arg", "1000", "--out", "nondeterministic", "--json"]),
    );
    expect(outcome.tasks.map((task) => task.outcome)).to.deep.equal(["completed"]);
  });

  it("Ctrl-C stops every part and frees the ports", async function () {
    devnet.child.kill("SIGINT");
    expect(await devnet.exited, devnet.output()).to.equal(0);
    expect(devnet.output()).to.include("devnet: stopping");
    expect(await portIsFree(CHAIN_PORT)).to.equal(true);
    expect(await portIsFree(SCHEDULER_PORT)).to.equal(true);
  });
});

describe("npm run devnet -- --workers 4 --dishonest 1: trust 3 against a worker that makes results up", function () {
  this.timeout(300_000);
  const devnet = useDevnet({
    ...DISHONEST_PORTS,
    args: ["--workers", "4", "--dishonest", "1"],
  });

  it("every task ends with the honest result and the dishonest worker is slashed", async function () {
    const info = devnet().info();
    const project = mkdtempSync(join(tmpdir(), "sunpool-e2e-"));
    const app = info.apps.wordcount!;
    const run = [
      "run",
      app.id,
      "--dataset",
      app.datasetId!,
      "--trust",
      "3",
      "--volume",
      "3",
      "--arg",
      "3",
      "--out",
      "words",
      "--json",
    ];
    const outcome = json<RunOutput>(await sunpool(info, project, run));
    expect(outcome.tasks.map((task) => task.outcome)).to.deep.equal(["completed", "completed", "completed"]);
    const total = new Map<string, number>();
    for (const task of outcome.tasks) {
      expect(task.files).to.deep.equal(["counts.txt"]); // no "tampered.txt": the made-up result lost
      for (const [word, count] of parseCounts(readFileSync(join(task.folder!, "counts.txt"), "utf8")))
        total.set(word, (total.get(word) ?? 0) + count);
    }
    const dataset = readFileSync(join(REPO_ROOT, "devnet/apps/wordcount/dataset.txt"), "utf8");
    expect(total).to.deep.equal(expectedWordCounts(dataset));
    // 3 tasks x 2 first replicas over 4 one-slot workers: the cheater took part and lost stake.
    const held = async (address: string) => {
      const balance = json<{ balance: string; locked: string }>(
        await sunpool(info, project, ["account", "balance", "--account", address, "--json"]),
      );
      return BigInt(balance.balance) + BigInt(balance.locked);
    };
    const honest = info.accounts.workers.slice(0, 3);
    const cheater = info.accounts.workers[3]!;
    const deposit = 50n * 10n ** 18n;
    expect(await held(cheater)).to.be.lessThan(deposit);
    let honestTotal = 0n;
    for (const address of honest) honestTotal += await held(address);
    expect(honestTotal).to.be.greaterThan(3n * deposit);
  });
});

describe("npm run devnet -- --workers 1 --arm64 1: an arm64 image run through emulation", function () {
  this.timeout(300_000);
  const devnet = useDevnet({
    ...ARM64_PORTS,
    args: ["--workers", "1", "--arm64", "1"],
  });

  it("the worker pulls the linux/arm64 entry of the app's image and runs it under qemu user mode", async function () {
    const info = devnet().info();
    const project = mkdtempSync(join(tmpdir(), "sunpool-e2e-"));
    const app = info.apps.primes!;
    const outcome = json<RunOutput>(await sunpool(info, project, ["run", app.id, "--arg", "20000", "--out", "arm64", "--json"]));
    expect(outcome.tasks[0]!.outcome).to.equal("completed");
    expect(readFileSync(join(outcome.tasks[0]!.folder!, "primes.txt"), "utf8")).to.include("count 2262"); // π(20000)
    // What the engine ran is the arm64 image of the registered index (its busybox is an aarch64 ELF).
    const image = await dockerClient().getImage(`${app.image}@${app.imageDigest}`).inspect();
    expect(image.Architecture).to.equal("arm64");
  });
});

describe("npm run devnet: pre-flight checks", function () {
  this.timeout(60_000);

  it("refuses a port in use with what to do", async function () {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(PREFLIGHT_PORTS.schedulerPort, "127.0.0.1", resolve));
    try {
      const devnet = startDevnet(PREFLIGHT_PORTS);
      expect(await devnet.exited).to.equal(1);
      expect(devnet.output()).to.include(
        `port ${PREFLIGHT_PORTS.schedulerPort.toString()} on 127.0.0.1 (the scheduler) is in use`,
      );
      expect(devnet.output()).to.include("SUNPOOL_DEVNET_SCHEDULER_PORT");
    } finally {
      blocker.close();
    }
  });

  it("refuses a bad flag with the usage", async function () {
    const devnet = startDevnet({ ...TOO_MANY_WORKERS_PORTS, args: ["--workers", "11"] });
    expect(await devnet.exited).to.equal(1);
    expect(devnet.output()).to.include("--workers must be an integer from 0 to 10");
  });
});
