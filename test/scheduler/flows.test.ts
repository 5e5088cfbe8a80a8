// The scheduler serving requests end to end on a real Hardhat node, with protocol workers over
// its signed worker API and real IPFS: replication with a dishonest worker, a worker browning out
// mid-task, and the scheduler itself killed (-9) and restarted mid-flow.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { ZeroHash } from "ethers";

import { getBalance } from "../../sdk/src/actions/account.js";
import { publishOrder } from "../../sdk/src/actions/market.js";
import { run } from "../../sdk/src/actions/run.js";
import { getResult } from "../../sdk/src/actions/results.js";
import { writeKeystore } from "../../sdk/src/node/keystore.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import { createAppOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { createSchedulerClient, getSchedulerInfo } from "../../sdk/src/scheduler/client.js";
import { resultDigest } from "../../sdk/src/results/digest.js";
import { testStore } from "../helpers/postgres.js";
import { startProtocolWorker, type ProtocolWorker, type ProtocolWorkerOptions } from "../helpers/protocolWorker.js";
import { until } from "../helpers/wait.js";
import { freePort } from "../sdk/helpers/chain.js";
import {
  APP_PRICE,
  echoApp,
  POOL_PRICE,
  fundParticipants,
  startMarket,
  startPoolScheduler,
  type TestMarket,
} from "../sdk/helpers/market.js";

const WORKERS = [4, 6, 7, 8];
const STAKE = (POOL_PRICE * 30n) / 100n;

describe("scheduler: serving requests", function () {
  this.timeout(240_000);
  let market: TestMarket;
  const ipfsNodes: IpfsNode[] = [];
  let workers: ProtocolWorker[] = [];

  before(async function () {
    market = await startMarket();
    await fundParticipants(market, WORKERS);
  });

  afterEach(async function () {
    for (const worker of workers) await worker.stop();
    workers = [];
  });

  after(async function () {
    for (const node of ipfsNodes) await node.stop();
    await market.stop();
  });

  async function publishPoolOrders(url: string, trust: number) {
    const book = createSchedulerClient({ url });
    await publishOrder(await market.client(2), book, {
      kind: "app",
      order: createAppOrder({ app: market.appId, price: APP_PRICE, volume: 100 }),
    });
    await publishOrder(await market.client(3), book, {
      kind: "workerpool",
      order: createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, volume: 100, trust, tag: ZeroHash }),
    });
    return book;
  }

  async function startWorker(url: string, account: number, options: Partial<ProtocolWorkerOptions> = {}) {
    const ipfs = await createIpfsNode();
    ipfsNodes.push(ipfs);
    const worker = await startProtocolWorker({
      url,
      deployment: market.chain.deployment,
      workerpool: market.workerpoolId,
      wallet: market.chain.wallet(account),
      ipfs,
      app: echoApp,
      ...options,
    });
    workers.push(worker);
    return worker;
  }

  it("trust 3 with one dishonest worker: replicas are added until consensus, the dissenter is slashed", async function () {
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(scheduler.url, 3);
      // The dishonest worker registers first, so the deterministic dispatch certainly picks it.
      const cheat = await startWorker(scheduler.url, WORKERS[0]!, { dishonest: true });
      const honest = [];
      for (const account of WORKERS.slice(1)) honest.push(await startWorker(scheduler.url, account));
      const cheatBefore = await getBalance(await market.client(WORKERS[0]!));
      const requester = await market.client(1);

      const outcome = await run(requester, { scheduler: book, app: market.appId, trust: 3, params: { args: ["replicated"] } });

      const [task] = outcome.tasks;
      expect(task!.outcome).to.equal("completed");
      const expected = resultDigest(echoApp({ args: ["replicated"] }, 0));
      expect(task!.resultDigest).to.equal(expected);
      // 1 dissenter + 3 agreeing new workers is the smallest group that reaches trust 3 (8*3 > 11*2).
      expect(task!.energy.map((receipt) => receipt.worker).sort()).to.deep.equal(
        [cheat.address, ...honest.map((worker) => worker.address)].sort(),
      );
      const cheatAfter = await getBalance(await market.client(WORKERS[0]!));
      expect(cheatAfter.balance + cheatAfter.locked).to.equal(cheatBefore.balance + cheatBefore.locked - STAKE);
      expect(cheatAfter.locked).to.equal(0n);
      // The result is pinned on the scheduler's node: fetch it from there alone.
      const reader = await createIpfsNode();
      ipfsNodes.push(reader);
      await reader.connect((await getSchedulerInfo(book)).ipfsPeers);
      for (const worker of workers) await worker.stop();
      const result = await getResult(requester, { dealId: task!.dealId, index: 0, reader });
      expect(result.resultDigest).to.equal(expected);
      expect(honest.flatMap((worker) => worker.errors)).to.deep.equal([]);
    } finally {
      await scheduler.stop();
    }
  });

  it("a worker that browns out mid-task loses it to another worker, and the task completes in time", async function () {
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(scheduler.url, 1);
      const dark = await startWorker(scheduler.url, WORKERS[1]!, { brownOutOnFirstTask: true, heartbeatMs: 300 });
      const steady = await startWorker(scheduler.url, WORKERS[2]!, { heartbeatMs: 300 });
      const started = Date.now();

      const outcome = await run(await market.client(1), { scheduler: book, app: market.appId, params: { args: ["dark"] } });

      expect(dark.done).to.deep.equal([{ action: "brown-out", taskId: outcome.tasks[0]!.taskId }]);
      expect(outcome.tasks[0]!.outcome).to.equal("completed");
      expect(outcome.tasks[0]!.energy.map((receipt) => receipt.worker)).to.deep.equal([steady.address]);
      // Lost when the offer's lease (three heartbeats, 1 s each) passed unacknowledged, then reassigned
      // at once: done in seconds, where a task held by a dead worker would wait for its deadline
      // (category 0: 50 minutes). The bound leaves room for a loaded machine.
      expect(Date.now() - started).to.be.below(60_000);
      // The chain says completed before the scheduler has necessarily read the worker's last report.
      await until("the steady worker's replica to be done", async () =>
        (await scheduler.pool.replica(outcome.tasks[0]!.taskId, steady.address))?.state === "done" ? true : undefined,
      );
      const replicas = await scheduler.pool.replicas(outcome.tasks[0]!.taskId);
      expect(replicas.map((replica) => [replica.worker, replica.state, replica.reason])).to.deep.equal([
        [dark.address, "lost", "the offer was not acknowledged within its lease"],
        [steady.address, "done", null],
      ]);
      expect(steady.errors).to.deep.equal([]);
    } finally {
      await scheduler.stop();
    }
  });

  it("a scheduler killed (-9) and restarted mid-flow loses nothing and sends no transaction twice", async function () {
    const folder = mkdtempSync(join(tmpdir(), "sunpool-restart-"));
    const password = "restart-test-password";
    await writeKeystore({ path: join(folder, "keystore.json"), password, privateKey: market.chain.wallet(3).privateKey });
    const { chainId, ...addresses } = market.chain.deployment;
    writeFileSync(join(folder, "deployment.json"), JSON.stringify({ chainId: Number(chainId), ...addresses }));
    const port = await freePort();
    const store = await testStore(join(folder, "data"));
    writeFileSync(
      join(folder, "scheduler.config.json"),
      JSON.stringify({
        rpcUrl: market.chain.rpcUrl,
        deployment: "deployment.json",
        workerpool: market.workerpoolId,
        keystore: "keystore.json",
        dataDir: "data",
        ...(store === undefined ? {} : { store }),
        listen: { port },
        workers: { heartbeatSeconds: 5 },
        ipfs: { dialPrivate: true }, // the workers' nodes listen on loopback
        chain: { pollSeconds: 0.2, confirmations: 0 },
        logLevel: "warn",
      }),
    );
    const url = `http://127.0.0.1:${port.toString()}`;
    const cli = new URL("../../scheduler/dist/cli.js", import.meta.url).pathname;
    const start = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [cli, "start", "--config", join(folder, "scheduler.config.json")], {
        env: { ...process.env, SUNPOOL_SCHEDULER_PASSWORD: password },
        stdio: ["ignore", "ignore", "inherit"],
      });
      for (let i = 0; i < 200; i++) {
        if ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok) return child;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error("the scheduler did not become healthy");
    };
    const kill = async (child: ChildProcess) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    };
    const hub = (await market.client(0)).hub;
    const until = async (what: string, check: () => Promise<boolean>) => {
      for (let i = 0; i < 600; i++) {
        if (await check()) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    const schedulerAddress = market.chain.wallet(3).address;
    const noncesBefore = await market.chain.provider.getTransactionCount(schedulerAddress);

    let child = await start();
    try {
      const book = await publishPoolOrders(url, 3);
      const requester = await market.client(1);
      const deals = () => hub.queryFilter(hub.filters.DealCreated(undefined, market.workerpoolId));
      const contributions = () => hub.queryFilter(hub.filters.ContributionAccepted());
      const [dealsBefore, contributionsBefore] = [(await deals()).length, (await contributions()).length];
      const running = run(requester, {
        scheduler: book,
        app: market.appId,
        trust: 3,
        params: { args: ["restart"] },
        timeoutMs: 180_000,
      });
      running.catch(() => undefined);
      // Kill 1: right after the deal is created, before anyone works on it.
      await until("the deal", async () => (await deals()).length > dealsBefore);
      await kill(child);
      child = await start();
      for (const account of WORKERS.slice(1, 3)) await startWorker(url, account);
      // Kill 2: between the first contribution and the end of the task.
      await until("a contribution", async () => (await contributions()).length > contributionsBefore);
      await kill(child);
      child = await start();

      const outcome = await running;
      expect(outcome.tasks.map((task) => task.outcome)).to.deep.equal(["completed"]);
      const ours = (await deals()).filter((event) => event.args.requestOrderHash === outcome.requestHash);
      expect(ours).to.have.length(1);
      const ended = await hub.queryFilter(hub.filters.TaskEnded(outcome.deals[0]));
      expect(ended).to.have.length(1);
      // matchOrders and finalize, once each: no transaction was sent twice.
      expect((await market.chain.provider.getTransactionCount(schedulerAddress)) - noncesBefore).to.equal(2);
      const status = (await (await fetch(`${url}/v1/status`)).json()) as { tasks: { completed: number } };
      expect(status.tasks.completed).to.be.at.least(1);
    } finally {
      for (const worker of workers) await worker.stop();
      workers = [];
      await kill(child);
    }
  });
});
