// The worker agent end to end: a real Hardhat node, the real scheduler, real Docker with images
// pulled by digest from the local registry, and real IPFS. Workers publish through the pool's
// node (the default `ipfs.mode: "pool"`) unless a test gives one its own node. The requester uses
// the SDK's `run`.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { toUtf8String } from "ethers";

import { getBalance } from "../../sdk/src/actions/account.js";
import { getResult } from "../../sdk/src/actions/results.js";
import { run } from "../../sdk/src/actions/run.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import { createSchedulerClient, getSchedulerInfo } from "../../sdk/src/scheduler/client.js";
import { getPoolTask } from "../../sdk/src/scheduler/tasks.js";
import { commitmentOf } from "../../worker/src/chain/contributions.js";
import { findTaskContainers } from "../../worker/src/executor/recovery.js";
import { createBoard } from "../../worker/src/hardware/board.js";
import { WittyPi4 } from "../../worker/src/hardware/wittyPi4.js";
import { createSimulatedBoard } from "../../worker/src/simulator/board.js";
import type { RunningWorker } from "../../worker/src/runtime.js";
import { readStatus, renderStatus } from "../../worker/src/status/server.js";
import { dockerClient, ensureDocker } from "../helpers/docker.js";
import { until } from "../helpers/wait.js";
import { fundParticipants, startMarket, startPoolScheduler, type TestMarket } from "../sdk/helpers/market.js";
import { ALBUQUERQUE } from "./simulator/fixtures.js";
import { publishPoolOrders, registerWordcountApp, startTestWorker } from "./helpers.js";

const WORKERS = [4, 6, 7];
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("worker agent: tasks end to end", function () {
  this.timeout(300_000);
  let market: TestMarket;
  let appId: string;
  let workers: RunningWorker[] = [];
  const ipfsNodes: IpfsNode[] = [];

  before(async function () {
    await ensureDocker();
    market = await startMarket();
    appId = await registerWordcountApp(market);
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

  async function ipfsNode() {
    const node = await createIpfsNode();
    ipfsNodes.push(node);
    return node;
  }

  it("a mains-powered worker runs the app's container for a trust-1 request; the requester gets the verified result", async function () {
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(market, scheduler.url, appId, 1);
      const worker = await startTestWorker(market, scheduler.url, WORKERS[0]!);
      workers.push(worker);
      const requester = await market.client(1);

      const outcome = await run(requester, { scheduler: book, app: appId, params: { args: ["hello", "sun"] } });

      const [task] = outcome.tasks;
      expect(task!.outcome).to.equal("completed");
      expect(task!.energy).to.deep.equal([{ worker: worker.agent.address, milliwattHours: 0, solarShareBps: 0 }]);
      const reader = await ipfsNode();
      await reader.connect((await getSchedulerInfo(book)).ipfsPeers);
      expect(worker.journal.get(task!.taskId)).to.include({ step: "done", digest: task!.resultDigest });
      // Nothing was metered (no board): no energy split, rather than one of zeros claiming no mains.
      expect(worker.journal.get(task!.taskId)!.energySplit).to.equal(undefined);
      // Served by the scheduler's node alone: the worker is gone.
      await worker.stop();
      const result = await getResult(requester, { dealId: task!.dealId, index: 0, reader });
      const files = Object.fromEntries(result.files.map((file) => [file.path, text(file.content)]));
      expect(files).to.deep.equal({ "args.txt": "hello sun\n", "meta/index.txt": "task index 0\n" });
      expect((await findTaskContainers(dockerClient())).filter((c) => c.taskId === task!.taskId)).to.deep.equal([]);
    } finally {
      await scheduler.stop();
    }
  });

  it("trust 3: agents contribute hidden votes, reveal with their salt and location, and are paid (pool and node mode agree)", async function () {
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(market, scheduler.url, appId, 3);
      // The last worker runs its own IPFS node: both ways publish the same files under the same CID.
      for (const [i, account] of WORKERS.entries()) {
        const node = i === WORKERS.length - 1 ? { ipfs: await ipfsNode() } : {};
        workers.push(await startTestWorker(market, scheduler.url, account, node));
      }
      const before = await Promise.all(WORKERS.map(async (account) => getBalance(await market.client(account))));
      const requester = await market.client(1);

      const outcome = await run(requester, { scheduler: book, app: appId, trust: 3, params: { args: ["replicated"] } });

      const [task] = outcome.tasks;
      expect(task!.outcome).to.equal("completed");
      // Two agreeing fresh workers already reach trust 3's confidence; a third offer may come too late.
      const contributors = task!.energy.map((receipt) => receipt.worker);
      expect(contributors.length).to.be.at.least(2);
      const { hub } = requester;
      for (const [i, account] of WORKERS.entries()) {
        const address = workers[i]!.agent.address;
        if (!contributors.includes(address)) continue;
        const after = await getBalance(await market.client(account));
        expect(after.locked).to.equal(0n);
        // The stake came back, with a share of the pool price on top.
        expect(after.balance).to.be.above(before[i]!.balance);
        const journaled = workers[i]!.journal.get(task!.taskId)!;
        expect(journaled).to.include({ step: "done", digest: task!.resultDigest, round: 0 });
        // The vote was hidden: the commitment opens only with the journaled salt, which the reveal disclosed.
        const [contribution] = await hub.queryFilter(hub.filters.ContributionAccepted(task!.taskId, address), 0);
        expect(contribution!.args.commitment).to.equal(commitmentOf(task!.taskId, task!.resultDigest!, address, journaled.salt!));
        expect(contribution!.args.commitment).to.not.equal(task!.resultDigest);
        const reveals = await hub.queryFilter(hub.filters.ContributionRevealed(task!.taskId, address), 0);
        expect(reveals.map((log) => [log.args.resultDigest, toUtf8String(log.args.resultLocation)])).to.deep.equal([
          [task!.resultDigest, journaled.location],
        ]);
      }
      // Each worker drew its own salt.
      const salts = WORKERS.map((_, i) => workers[i]!.journal.get(task!.taskId)?.salt).filter((salt) => salt !== undefined);
      expect(new Set(salts).size).to.equal(salts.length);
      // Same files, same CID, whether computed for the pool's node or added to the worker's own.
      const locations = WORKERS.map((_, i) => workers[i]!.journal.get(task!.taskId)?.location).filter((cid) => cid !== undefined);
      expect(new Set(locations).size).to.equal(1);
    } finally {
      await scheduler.stop();
    }
  });

  it("an app that fails is reported with its reason and log tail; nothing is contributed", async function () {
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(market, scheduler.url, appId, 1);
      const worker = await startTestWorker(market, scheduler.url, WORKERS[1]!);
      workers.push(worker);
      const requester = await market.client(1);
      const controller = new AbortController();

      const running = run(requester, {
        scheduler: book,
        app: appId,
        params: { args: ["fail"] },
        signal: controller.signal,
        onProgress: (event) => {
          if (event.type === "deal") controller.abort(new Error("seen the deal"));
        },
      }).catch((error: unknown) => error);

      const failed = await until("the worker to journal the failed task", () =>
        worker.journal.recent(5).find((task) => task.step === "failed"),
      );
      await running;
      expect(failed.reason).to.equal("failed: exited with code 3");
      expect(failed.logTail).to.contain("the app was asked to fail");
      // The journal records the failure first, then the worker reports it: wait for the report.
      const replicas = await until("the failure report to reach the pool", async () => {
        const rows = await scheduler.pool.replicas(failed.taskId);
        return rows[0]?.state === "failed" ? rows : undefined;
      });
      expect(replicas[0]).to.include({ worker: worker.agent.address, state: "failed" });
      expect(replicas[0]!.reason).to.contain("exited with code 3");
      const { hub } = await market.client(1);
      expect(await hub.queryFilter(hub.filters.ContributionAccepted(failed.taskId), 0)).to.deep.equal([]);
    } finally {
      await scheduler.stop();
    }
  });

  /** An agent on a solar board (solarBoard), its load following its tasks, talking to `url`. */
  async function startSolarWorker(url: string, { sim, board }: ReturnType<typeof solarBoard>) {
    const worker = await startTestWorker(market, url, WORKERS[2]!, {
      board,
      config: { board: { kind: "simulated", battery: { capacityAh: 6 } } },
      simulatedLoad: (busy) => sim.setLoad(busy ? "busy" : "idle"),
    });
    workers.push(worker);
    return worker;
  }

  it("a solar worker on the simulated board sends its outlook with each heartbeat, meters the task's energy and reports its split", async function () {
    const { sim, board } = solarBoard(() => sim.halt());
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const book = await publishPoolOrders(market, scheduler.url, appId, 1);
      const worker = await startSolarWorker(scheduler.url, { sim, board });
      const row = (await scheduler.db.get("SELECT outlook FROM workers WHERE address = ?", worker.agent.address)) as {
        outlook: string;
      };
      const outlook = JSON.parse(row.outlook) as { stateOfChargePct: number; pvWatts: number; awakeSeconds: number };
      expect(outlook.stateOfChargePct).to.be.within(60, 80);
      expect(outlook.pvWatts).to.be.above(10); // a 30 W panel at a clear June noon
      expect(outlook.awakeSeconds).to.be.above(4 * 3600);

      const outcome = await run(await market.client(1), { scheduler: book, app: appId, params: { args: ["sleep", "3"] } });

      const [receipt] = outcome.tasks[0]!.energy;
      // About 3 simulated minutes at 6.4 W: ~0.3 Wh, all of it covered by the panel.
      expect(receipt!.milliwattHours).to.be.within(100, 2000);
      expect(receipt!.solarShareBps).to.be.above(9000);
      expect(sim.truth().piState).to.equal("running");

      // The split by source is journaled with the receipt and reaches the requester through the
      // pool's task view (the report follows the submission: wait for it).
      const { taskId } = outcome.tasks[0]!;
      const view = await splitInTaskView(scheduler.url, worker, taskId);
      expect(view.replicas.map((replica) => replica.worker)).to.deep.equal([worker.agent.address]);
      const split = view.replicas[0]!.energySplit!;
      const journaled = worker.journal.get(taskId)!;
      expect(journaled.step).to.equal("done");
      expect(split).to.deep.equal(journaled.energySplit);
      // The parts add up to the metered energy: the receipt is the same metering rounded to the mWh.
      const total = split.pvWh + split.batteryWh + split.mainsWh;
      expect(total * 1000).to.be.closeTo(receipt!.milliwattHours, 0.5 + 1e-9);
      // The board has no 5 V supply, and the panel's part is the receipt's solar share (rounded to the basis point).
      expect(split.mainsWh).to.equal(0);
      expect(split.batteryWh).to.be.at.least(0);
      expect(split.pvWh / total).to.be.closeTo(receipt!.solarShareBps / 10_000, 0.5e-4 + 1e-9);
    } finally {
      await scheduler.stop();
      sim.close();
    }
  });

  it("a report the scheduler does not take stays queued in the journal: sent again, and after a restart, the energy split arrives", async function () {
    const { sim, board } = solarBoard(() => sim.halt());
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    // The worker reaches the scheduler through a proxy that drops the connection of every
    // "submitted" report (the one report that carries the energy split) until it is let through.
    const proxy = await proxyDropping(scheduler.url, (path, body) => path.endsWith("/report") && body.includes('"submitted"'));
    const dataDir = mkdtempSync(join(tmpdir(), "sunpool-worker-data-"));
    try {
      const book = await publishPoolOrders(market, scheduler.url, appId, 1);
      const first = await startTestWorker(market, proxy.url, WORKERS[2]!, {
        board,
        config: { board: { kind: "simulated", battery: { capacityAh: 6 } }, dataDir },
        simulatedLoad: (busy) => sim.setLoad(busy ? "busy" : "idle"),
      });
      workers.push(first);
      const outcome = await run(await market.client(1), { scheduler: book, app: appId, params: { args: ["sleep", "1"] } });
      const { taskId } = outcome.tasks[0]!;
      // More failed attempts than a report used to get (three, a second apart) before it was lost.
      const queued = await until(
        "the report to fail three times",
        () => first.journal.queuedReports().find((report) => report.taskId === taskId && report.attempts >= 3),
        120_000,
      );
      expect(queued.body.energySplit).to.deep.equal(first.journal.get(taskId)!.energySplit);
      expect(proxy.dropped()).to.be.at.least(3);
      // The owner's status page says what is waiting, and why.
      const status = readStatus({
        address: "0x",
        board: "simulated",
        journal: first.journal,
        energy: first.energy,
        now: Date.now,
      });
      expect(status.reports.queued).to.equal(1);
      expect(status.reports.oldest).to.include({ taskId, state: "submitted" });
      expect(status.reports.oldest!.attempts).to.be.at.least(3);
      expect(status.reports.oldest!.lastError).to.match(/Cannot reach the scheduler/);
      expect(renderStatus(status)).to.match(/<dd id="reports">1, the oldest <code>submitted<\/code>/);
      const view = await getPoolTask(createSchedulerClient({ url: scheduler.url }), { taskId });
      expect(view.replicas[0]!.energySplit, "no split reached the pool yet").to.equal(undefined);

      // The Pi goes down with the report still queued; it comes back on the same journal, and
      // this time the scheduler answers.
      await first.stop();
      workers = workers.filter((worker) => worker !== first);
      const second = await startTestWorker(market, scheduler.url, WORKERS[2]!, { config: { dataDir } });
      workers.push(second);
      const arrived = await splitInTaskView(scheduler.url, second, taskId);
      expect(arrived.replicas[0]!.energySplit).to.deep.equal(second.journal.get(taskId)!.energySplit);
      await until("the queue to empty", () => (second.journal.queuedReports().length === 0 ? true : undefined));
    } finally {
      await proxy.close();
      await scheduler.stop();
      sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("when the Witty Pi asks to shut down (button, shutdown alarm, low voltage), the agent stops and halts Linux before the cut", async function () {
    const halts: number[] = [];
    const { sim, board } = solarBoard(() => {
      halts.push(sim.clock.now());
      sim.halt();
    });
    const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    try {
      const worker = await startTestWorker(market, scheduler.url, WORKERS[1]!, {
        board,
        config: { board: { kind: "simulated", battery: { capacityAh: 6 } } },
      });
      workers.push(worker);
      const cut = sim.waitForPowerOff(3_600_000);
      const witty = new WittyPi4(sim.openBus(), { sleep: (ms) => sim.clock.sleep(ms) });
      await witty.setShutdownAlarm(new Date(sim.clock.now() + 120_000), new Date(sim.clock.now()));
      await worker.agent.exited;
      const off = await cut;
      expect(off?.reason).to.equal(2); // the shutdown alarm (§1.3)
      expect(halts, "Linux was halted by the agent").to.have.length(1);
      expect(halts[0]).to.be.below(off!.at);
      expect(worker.journal.getMeta("stateOfCharge"), "the charge was saved for the next boot").to.not.equal(undefined);
    } finally {
      await scheduler.stop();
      sim.close();
    }
  });
});

/** A solar Pi at noon on 21 June in Albuquerque (60 simulated seconds per real second), and its board facade. */
function solarBoard(powerOff: () => void) {
  const sim = createSimulatedBoard({
    start: Date.UTC(2026, 5, 21, 19, 0, 0),
    mode: "scaled",
    speed: 60,
    solar: { tmy3: ALBUQUERQUE },
    panel: { ratedWatts: 30 },
    battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.7 },
  });
  const board = createBoard(
    sim.openBus(),
    sim.gpio,
    sim.clock,
    {
      battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, initialStateOfCharge: 0.7 },
      lowVoltageCutoff: 11.6,
      recoveryVoltage: 12.8,
      powerCutDelaySeconds: 25,
      monitor: { chip: "ina226", address: 0x40, shuntOhms: 0.01, maxAmps: 5 },
    },
    {
      kind: "simulated",
      powerOff: () => {
        powerOff();
        return Promise.resolve();
      },
    },
  );
  return { sim, board };
}

/**
 * An HTTP proxy to `target` that drops (closes without an answer) the connection of every request
 * `matches` picks: a scheduler that does not answer, as a flaky link or a restart looks.
 */
async function proxyDropping(target: string, matches: (path: string, body: string) => boolean) {
  let dropped = 0;
  const hopByHop = new Set(["host", "connection", "content-length", "transfer-encoding", "content-encoding", "keep-alive"]);
  const server = createServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const path = request.url ?? "/";
      if (request.method === "POST" && matches(path, body.toString())) {
        dropped += 1;
        request.socket.destroy();
        return;
      }
      const headers = Object.entries(request.headers).filter(([name]) => !hopByHop.has(name));
      const answer = await fetch(`${target}${path}`, {
        method: request.method ?? "GET",
        headers: headers.map(([name, value]): [string, string] => [name, String(value)]),
        ...(body.length > 0 ? { body } : {}),
      });
      const forwarded: [string, string][] = [];
      answer.headers.forEach((value, name) => {
        if (!hopByHop.has(name)) forwarded.push([name, value]);
      });
      response.writeHead(answer.status, Object.fromEntries(forwarded));
      response.end(Buffer.from(await answer.arrayBuffer()));
    })().catch(() => request.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port.toString()}`,
    dropped: () => dropped,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The pool's task view once it shows the worker's energy split. The report carrying it follows the
 * submission; one the scheduler does not answer (its own timeout is 35 s) stays queued in the
 * journal and is sent again each round of the agent's loop. A failure says what the worker
 * journaled and what is still queued (attempts, last error), to tell a split never sent from one
 * refused or still waiting.
 */
async function splitInTaskView(url: string, worker: RunningWorker, taskId: string) {
  try {
    return await until(
      "the worker's energy split in the pool's task view",
      async () => {
        const pool = await getPoolTask(createSchedulerClient({ url }), { taskId });
        return pool.replicas.some((replica) => replica.energySplit !== undefined) ? pool : undefined;
      },
      150_000,
      250,
    );
  } catch (error) {
    const journaled = worker.journal.get(taskId);
    const queued = worker.journal
      .queuedReports()
      .map(({ body, attempts, lastError }) => ({ state: body.state, attempts, lastError }));
    throw new Error(
      `${(error as Error).message}; the worker journaled step ${String(journaled?.step)}, split ${JSON.stringify(journaled?.energySplit)}; queued reports ${JSON.stringify(queued)}`,
      { cause: error },
    );
  }
}
