// The sunpool CLI driven as a user drives it: spawned processes in a fresh project folder,
// asserting on stdout, stderr and exit codes.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { parseUnits, sha256, toUtf8Bytes } from "ethers";

import { until } from "../helpers/wait.js";
import { freePort } from "./helpers/chain.js";
import { startMarket, type MarketScheduler, type TestMarket } from "./helpers/market.js";

const CLI = new URL("../../sdk/dist/cli/main.js", import.meta.url).pathname;
const SCHEDULER_CLI = new URL("../../scheduler/dist/cli.js", import.meta.url).pathname;
const PASSWORD = "cli-test-password";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("sunpool CLI", function () {
  this.timeout(120_000);
  let market: TestMarket;
  let standin: MarketScheduler;
  let project: string;
  let env: Record<string, string>;

  const sunpool = (args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<Outcome> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: project, env: { ...env, ...extraEnv } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
  const json = <T>(outcome: Outcome): T => {
    expect(outcome.code, outcome.stderr).to.equal(0);
    return JSON.parse(outcome.stdout) as T;
  };

  before(async function () {
    market = await startMarket();
    standin = await market.scheduler();
    const deployer = await market.client(0);
    await (await deployer.token.transfer(market.chain.wallet(7).address, parseUnits("100", 18))).wait();
    project = mkdtempSync(join(tmpdir(), "sunpool-cli-"));
    const deployment = join(project, "deployment.json");
    const { chainId, ...addresses } = market.chain.deployment;
    writeFileSync(deployment, JSON.stringify({ chainId: chainId.toString(), ...addresses }));
    env = {
      PATH: process.env.PATH ?? "",
      HOME: project,
      SUNPOOL_PASSWORD: PASSWORD,
      SUNPOOL_RPC_URL: market.chain.rpcUrl,
      SUNPOOL_SCHEDULER_URL: standin.url,
    };
    const init = await sunpool(["init", "--deployment", deployment, "--import-key", "--json"], {
      SUNPOOL_PRIVATE_KEY: market.chain.wallet(7).privateKey,
    });
    expect(json<{ address: string }>(init).address).to.equal(market.chain.wallet(7).address);
  });

  after(async function () {
    await market?.stop();
  });

  it("init stored an encrypted wallet and a config; wallet show reads the address without the password", async function () {
    const keystore = join(project, ".sunpool/keystore.json");
    expect(statSync(keystore).mode & 0o777).to.equal(0o600);
    expect(readFileSync(keystore, "utf8")).to.not.include(market.chain.wallet(7).privateKey.slice(2));
    const config = JSON.parse(readFileSync(join(project, "sunpool.config.json"), "utf8")) as { deployment: { hub: string } };
    expect(config.deployment.hub).to.equal(market.chain.deployment.hub);
    const shown = json<{ address: string }>(await sunpool(["wallet", "show", "--json"], { SUNPOOL_PASSWORD: undefined }));
    expect(shown.address).to.equal(market.chain.wallet(7).address);
  });

  it("deposit, then run an app: progress on stderr, the verified result on disk, its receipt on stdout", async function () {
    json(await sunpool(["account", "deposit", "20", "--json"]));
    const balance = json<{ balance: string; wallet: string }>(await sunpool(["account", "balance", "--json"]));
    expect(balance).to.deep.include({ balance: (20n * 10n ** 18n).toString(), wallet: (80n * 10n ** 18n).toString() });

    const ran = await sunpool(["run", market.appId, "--arg", "from", "cli", "--out", "out"]);
    expect(ran.code, ran.stderr).to.equal(0);
    expect(ran.stderr).to.match(/Quoted 3\.0 SUN per task/);
    expect(ran.stderr).to.match(/Request 0x[0-9a-f]{64} handed to the scheduler/);
    expect(ran.stderr).to.match(/Deal 0x[0-9a-f]{8}… created for 1 task/);
    expect(ran.stdout).to.match(/completed; energy 1\.200 Wh \(80% solar\)/);
    expect(ran.stdout).to.match(/verified result \(digest 0x[0-9a-f]{64}\) in .*\/out/);
    expect(readFileSync(join(project, "out/echo.txt"), "utf8")).to.equal("from cli #0\n");
  });

  it("task show and result get work from the ids run printed (--json)", async function () {
    const ran = json<{ tasks: { dealId: string; index: number; taskId: string }[] }>(
      await sunpool(["run", market.appId, "--arg", "again", "--out", "o2", "--json"]),
    );
    const { dealId, taskId } = ran.tasks[0]!;
    const task = json<{ outcome: string; energy: unknown[] }>(await sunpool(["task", "show", dealId, "0", "--json"]));
    expect(task.outcome).to.equal("completed");
    expect(task.energy).to.have.length(1);
    // By task id alone: the scheduler knows its deal and index.
    const byId = json<{ dealId: string; index: number; outcome: string }>(await sunpool(["task", "show", taskId, "--json"]));
    expect(byId).to.deep.include({ dealId, index: 0, outcome: "completed" });
    const unknown = await sunpool(["task", "show", dealId]);
    expect(unknown.code).to.equal(3);
    expect(unknown.stderr).to.equal(
      `Error INVALID_INPUT: Invalid task: "${dealId}".\n\nExpected a task id this pool knows, or a deal id followed by the task's index.\n`,
    );
    const got = json<{ files: string[] }>(await sunpool(["result", "get", dealId, "0", "--out", "o3", "--json"]));
    expect(got.files.sort()).to.deep.equal(["echo.txt", "meta/index.json"]);
    expect(readFileSync(join(project, "o3/echo.txt"), "utf8")).to.equal("again #0\n");
  });

  it("an app owner deploys an app, publishes, lists and cancels an order; a requester watches a request", async function () {
    const digest = `sha256:${"ef".repeat(32)}`;
    const deployed = json<{ id: string }>(
      await sunpool([
        "app",
        "deploy",
        "--name",
        "cli-app",
        "--image",
        "127.0.0.1:5000/cli",
        "--digest",
        digest,
        "--platform",
        "linux/arm64",
        "--memory",
        "64",
        "--json",
      ]),
    );
    const shown = json<{ image: string; platforms: string[]; resources: { memoryMiB: number } }>(
      await sunpool(["app", "show", deployed.id, "--json"]),
    );
    expect(shown).to.deep.include({ image: "127.0.0.1:5000/cli", platforms: ["linux/arm64"] });
    expect(shown.resources.memoryMiB).to.equal(64);
    const listed = json<{ id: string }[]>(await sunpool(["app", "list", "--owner", market.chain.wallet(7).address, "--json"]));
    expect(listed.map((app) => app.id)).to.deep.equal([deployed.id]);

    const published = json<{ hash: string; status: string }>(
      await sunpool(["order", "publish", "--kind", "app", "--app", deployed.id, "--price", "0.5", "--volume", "10", "--json"]),
    );
    expect(published.status).to.equal("open");
    const open = json<{ hash: string }[]>(await sunpool(["order", "list", "--kind", "app", "--app", deployed.id, "--json"]));
    expect(open.map((order) => order.hash)).to.deep.equal([published.hash]);
    json(await sunpool(["order", "cancel", published.hash, "--json"]));
    const afterCancel = json<{ hash: string }[]>(
      await sunpool(["order", "list", "--kind", "app", "--app", deployed.id, "--json"]),
    );
    expect(afterCancel).to.deep.equal([]);

    const ran = json<{ requestHash: string }>(await sunpool(["run", market.appId, "--out", "o4", "--json"]));
    const watched = json<{ tasks: { outcome: string }[] }>(
      await sunpool(["task", "watch", "--request", ran.requestHash, "--json"]),
    );
    expect(watched.tasks.map((task) => task.outcome)).to.deep.equal(["completed"]);
  });

  it("app deploy --non-deterministic: app show says trust 1 only; run --trust 2 is refused before signing (exit 5)", async function () {
    const deployed = json<{ id: string }>(
      await sunpool([
        "app",
        "deploy",
        "--name",
        "cli-dice",
        "--image",
        "127.0.0.1:5000/dice",
        "--digest",
        `sha256:${"a1".repeat(32)}`,
        "--non-deterministic",
        "--json",
      ]),
    );
    expect(json<{ deterministic: boolean }>(await sunpool(["app", "show", deployed.id, "--json"])).deterministic).to.equal(false);
    const shown = await sunpool(["app", "show", deployed.id]);
    expect(shown.stdout).to.include("\n  replicable no (non-deterministic: trust 1 only)\n");
    const listed = await sunpool(["app", "list", "--owner", market.chain.wallet(7).address]);
    expect(listed.stdout).to.include(`${deployed.id}  cli-dice  127.0.0.1:5000/dice  (linux/amd64; non-deterministic)`);

    const refused = await sunpool(["run", deployed.id, "--trust", "2"]);
    expect(refused.code).to.equal(5);
    // Nothing quoted, signed or published: the error is all it printed.
    expect(refused.stderr).to.equal(
      `Error APP_NOT_DETERMINISTIC: App ${deployed.id} is registered as non-deterministic, so it cannot run with trust 2: ` +
        "replication needs workers whose results agree byte for byte.\n\n" +
        "Run it with trust 1 (sunpool run --trust 1): one worker, no replication.\n" +
        "If its output is in fact deterministic (no timestamps, random numbers or unordered output), its owner can register it again as deterministic (without --non-deterministic).\n\n" +
        "Docs: docs/sdk.md#apps-and-trust\n",
    );
    expect(refused.stdout).to.equal("");
  });

  it("dataset deploy --file registers the file's CID and sha256", async function () {
    writeFileSync(join(project, "corpus.txt"), "to be or not to be\n");
    const deployed = json<{ id: string; cid: string; checksum: string }>(
      await sunpool(["dataset", "deploy", "--name", "corpus", "--file", "corpus.txt", "--json"]),
    );
    expect(deployed.checksum).to.equal(sha256(toUtf8Bytes("to be or not to be\n")));
    expect(deployed.cid).to.match(/^bafy/);
    const shown = json<{ cid: string; checksum: string }>(await sunpool(["dataset", "show", deployed.id, "--json"]));
    expect(shown).to.deep.include({ cid: deployed.cid, checksum: deployed.checksum });
  });

  it("a request interrupted before its deal can still be cancelled on-chain after the scheduler is gone", async function () {
    const silent = await market.scheduler({ matching: false });
    const child = spawn(process.execPath, [CLI, "run", market.appId, "--scheduler", silent.url], {
      cwd: project,
      env: env,
    });
    const requestHash = await new Promise<string>((resolve, reject) => {
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const handed = /Request (0x[0-9a-f]{64}) handed to the scheduler/.exec(stderr);
        if (handed) resolve(handed[1]!);
      });
      child.on("exit", () => reject(new Error(`run exited early: ${stderr}`)));
    });
    child.kill("SIGINT");
    await silent.stop();
    const requester = await market.client(7);
    expect(await requester.hub.consumed(requestHash)).to.equal(0n);
    const cancelled = json<{ hash: string; transactionHash: string }>(
      await sunpool(["order", "cancel", requestHash, "--scheduler", silent.url, "--json"]),
    );
    expect(cancelled.hash).to.equal(requestHash);
    expect(cancelled.transactionHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(await requester.hub.consumed(requestHash)).to.be.greaterThan(0n);
  });

  it("a task that ends without a result: run, task show and result get say why, and exit 8", async function () {
    const idle = await market.scheduler({ working: false });
    const requester = await market.client(7);
    const fromBlock = await market.chain.provider.getBlockNumber();
    const running = sunpool(["run", market.appId, "--scheduler", idle.url, "--out", "o5"]);
    const dealId = await until("the run's deal on-chain", async () => {
      const created = await requester.hub.queryFilter(
        requester.hub.filters.DealCreated(undefined, undefined, market.chain.wallet(7).address),
        fromBlock,
      );
      return created[0]?.args.dealId;
    });
    // The scheduler's decision (TaskOutcome.AppFailed), sent with its key while its process is stopped.
    await idle.stop();
    await (await (await market.client(3)).hub.fail(dealId, 0, 5, [])).wait();
    const taskId = await requester.hub.taskId(dealId, 0);
    const reason = "the app failed on several workers, or its inputs are invalid";
    const hint =
      "Check the app and its parameters: run the image locally with the same arguments and dataset; what it prints on stderr says why it stopped.";

    const ran = await running;
    expect(ran.code, ran.stderr).to.equal(8);
    expect(ran.stdout).to.match(/^Request 0x[0-9a-f]{64}\n/);
    expect(ran.stdout.replace(/^Request 0x[0-9a-f]{64}\n/, "")).to.equal(
      `  task 0 of deal ${dealId.slice(0, 10)}…: app-failed\n` +
        `    no result: ${reason}; your payment was refunded\n` +
        // Why the app failed is the pool's to tell, and its scheduler is down.
        `    the pool's reports are unavailable: Cannot reach the scheduler at ${idle.url}.\n` +
        "\n" +
        "What to do (app-failed):\n" +
        `  ${hint}\n`,
    );
    expect(existsSync(join(project, "o5"))).to.equal(false);

    const shown = await sunpool(["task", "show", dealId, "0"]);
    expect(shown.code, shown.stderr).to.equal(8);
    expect(shown.stdout).to.equal(
      `Task ${taskId}\n` +
        `  task 0 of deal ${dealId.slice(0, 10)}…: app-failed\n` +
        "  status ended\n" +
        `  no result: ${reason}; your payment was refunded\n` +
        `  ${hint}\n` +
        `  the pool's reports are unavailable: Cannot reach the scheduler at ${standin.url}.\n`,
    );
    const asJson = await sunpool(["task", "show", dealId, "0", "--json"]);
    expect(asJson.code, asJson.stderr).to.equal(8);
    expect(JSON.parse(asJson.stdout)).to.deep.include({
      taskId,
      status: "ended",
      outcome: "app-failed",
      failure: { outcome: "app-failed", reason, hints: [hint] },
      poolError: `Cannot reach the scheduler at ${standin.url}.`,
    });

    const got = await sunpool(["result", "get", dealId, "0"]);
    expect(got.code, got.stderr).to.equal(8);
    expect(got.stderr).to.equal(
      `Error TASK_FAILED: Task ${taskId} ended without a result (app-failed): ${reason}. Your payment was refunded to your escrow balance.\n\n` +
        `${hint}\n` +
        `Each worker's reason and the app's last log lines: sunpool task show ${taskId} (the SDK's getPoolTask, signed by the requester).\n\n` +
        "Docs: docs/sdk.md#when-a-task-fails\n",
    );
  });

  it("every command has --help with examples", async function () {
    for (const command of [
      ["run"],
      ["account", "deposit"],
      ["app", "deploy"],
      ["order", "publish"],
      ["task", "show"],
      ["task", "watch"],
      ["result", "get"],
      ["init"],
    ]) {
      const help = await sunpool([...command, "--help"]);
      expect(help.code, command.join(" ")).to.equal(0);
      expect(help.stdout, command.join(" ")).to.match(/Examples:\n {2}\$ sunpool /);
    }
  });

  it("an operator registers a workerpool, starts sunpool-scheduler from a config file, and publishes the pool's orders", async function () {
    const registered = json<{ id: string }>(await sunpool(["workerpool", "register", "--name", "cli-pool", "--json"]));
    const shown = json<{ owner: string; workerStakeRatio: number }>(
      await sunpool(["workerpool", "show", registered.id, "--json"]),
    );
    expect(shown).to.deep.include({ owner: market.chain.wallet(7).address, workerStakeRatio: 30 });
    json(await sunpool(["account", "deposit", "5", "--json"]));
    const port = await freePort();
    writeFileSync(
      join(project, "scheduler.config.json"),
      JSON.stringify({
        rpcUrl: market.chain.rpcUrl,
        deployment: "deployment.json",
        workerpool: registered.id,
        keystore: ".sunpool/keystore.json",
        dataDir: ".sunpool/scheduler",
        listen: { port },
        logLevel: "warn",
      }),
    );
    const url = `http://127.0.0.1:${port.toString()}`;
    const scheduler = spawn(process.execPath, [SCHEDULER_CLI, "start"], {
      cwd: project,
      env: { ...env, SUNPOOL_SCHEDULER_PASSWORD: PASSWORD },
    });
    const exited = new Promise<number | null>((resolve) => scheduler.once("exit", resolve));
    try {
      await until("the scheduler to answer /healthz", async () =>
        (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true ? true : undefined,
      );
      json(
        await sunpool([
          "order",
          "publish",
          "--kind",
          "workerpool",
          "--workerpool",
          registered.id,
          "--price",
          "1",
          "--volume",
          "10",
          "--scheduler",
          url,
          "--json",
        ]),
      );
      const listed = json<{ signer: string }[]>(
        await sunpool(["order", "list", "--kind", "workerpool", "--scheduler", url, "--json"]),
      );
      expect(listed.map((order) => order.signer)).to.deep.equal([market.chain.wallet(7).address]);
      const status = await new Promise<string>((resolve) => {
        const child = spawn(process.execPath, [SCHEDULER_CLI, "status", "--url", url]);
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.on("exit", () => resolve(out));
      });
      expect(JSON.parse(status)).to.deep.include({ deals: 0 });
    } finally {
      scheduler.kill("SIGTERM");
    }
    // SIGTERM stops it cleanly (exit code 0).
    expect(await exited).to.equal(0);
  });

  it("sunpool-scheduler refuses a bad config file with what to fix, and a key that does not own the workerpool", async function () {
    writeFileSync(
      join(project, "bad.config.json"),
      JSON.stringify({ rpcUrl: "nope", workerpool: "0x12", keystore: "k", deployment: "d", extra: 1 }),
    );
    const bad = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [SCHEDULER_CLI, "start", "--config", "bad.config.json"], { cwd: project, env });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("exit", (code) => resolve({ code, stderr }));
    });
    expect(bad.code).to.equal(3);
    expect(bad.stderr).to.match(
      /not a valid scheduler config:[\s\S]*rpcUrl: an http\(s\) or ws\(s\) URL[\s\S]*workerpool: a bytes32 id[\s\S]*Unrecognized key[\s\S]*docs\/scheduler\.md/,
    );
    expect(bad.stderr).to.not.match(/ {4}at /);

    const config = JSON.parse(readFileSync(join(project, "scheduler.config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(project, "foreign.config.json"), JSON.stringify({ ...config, workerpool: market.workerpoolId }));
    const foreign = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [SCHEDULER_CLI, "start", "--config", "foreign.config.json"], {
        cwd: project,
        env: { ...env, SUNPOOL_SCHEDULER_PASSWORD: PASSWORD },
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("exit", (code) => resolve({ code, stderr }));
    });
    expect(foreign.stderr).to.match(/belongs to 0x[0-9a-fA-F]{40}, not to this scheduler's key/);
    expect(foreign.code).to.equal(3);
  });

  it("user errors print what to do, no stack trace, and a documented exit code", async function () {
    const invalid = await sunpool(["app", "show", "0x1234"]);
    expect(invalid.code).to.equal(3);
    expect(invalid.stderr).to.match(/^Error INVALID_INPUT: Invalid app id: "0x1234"\.\n\nExpected 32 bytes/);
    expect(invalid.stderr).to.not.match(/\n\s+at /);

    const tooMuch = await sunpool(["account", "withdraw", "1000"]);
    expect(tooMuch.code).to.equal(4);
    expect(tooMuch.stderr).to.include("Only the free balance can be withdrawn");

    const port = await freePort();
    const down = await sunpool(["account", "balance", "--rpc", `http://127.0.0.1:${port}`]);
    expect(down.code).to.equal(6);
    expect(down.stderr).to.include(`Cannot reach the chain at http://127.0.0.1:${port}.`);

    const noPassword = await sunpool(["account", "balance"], { SUNPOOL_PASSWORD: undefined });
    expect(noPassword.code).to.equal(3);
    expect(noPassword.stderr).to.include("Set SUNPOOL_PASSWORD");

    const asJson = await sunpool(["app", "show", "0x1234", "--json"]);
    expect(JSON.parse(asJson.stdout)).to.deep.include({
      error: {
        code: "INVALID_INPUT",
        message: 'Invalid app id: "0x1234".',
        hints: ["Expected 32 bytes as 0x-prefixed hex (66 characters)."],
      },
    });

    const unknown = await sunpool(["fly"]);
    expect(unknown.code).to.equal(2);
    expect(existsSync(join(project, "out"))).to.equal(true);
  });
});
