// Forecast-driven admission (issue 19): a task goes only to a worker whose energy outlook lets it
// finish on harvested energy before the deadline; each app's energy per task is learned from the
// receipts on-chain; a task nobody can finish is declined early, with its reason in the task view,
// and refunded at once instead of expiring. The walk and the learning rule on their own, then a
// real scheduler on a real chain with protocol workers.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { ZeroHash } from "ethers";

import { publishOrder } from "../../sdk/src/actions/market.js";
import { run } from "../../sdk/src/actions/run.js";
import type { SunpoolClient } from "../../sdk/src/client.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import { createAppOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import type { Heartbeat } from "../../sdk/src/scheduler/workers.js";
import {
  earliestHarvestStart,
  appEnergyAcrossWorkers,
  learnAppEnergy,
  taskEnergy,
  type AppEnergy,
  type ForecastOutlook,
} from "../../scheduler/src/dispatch/harvest.js";
import type { Scheduler } from "../../scheduler/src/service.js";
import { startProtocolWorker, type ProtocolWorker } from "../helpers/protocolWorker.js";
import {
  APP_PRICE,
  echoApp,
  fundParticipants,
  POOL_PRICE,
  startMarket,
  startPoolScheduler,
  type TestMarket,
} from "../sdk/helpers/market.js";
import { sleep, until } from "../helpers/wait.js";

const NO_MARGIN = { margin: 1, chargeEfficiency: 0.9, startStepSeconds: 900 };

describe("scheduler: forecast-driven admission, the rules", function () {
  const night: ForecastOutlook = {
    stateOfChargePct: 50,
    batteryWattHours: 10,
    floorPct: 20,
    idleWatts: 3,
    pvForecastWatts: [0, 0, 0, 0],
  };

  it("admits a task the battery carries above its floor, and no longer one that would sink it", function () {
    // 5 Wh stored, floor 2 Wh: 3 Wh to spend. 30 min at 6 W is exactly 3 Wh; an hour is 6 Wh.
    expect(earliestHarvestStart(night, { seconds: 1800, watts: 6 }, 7200, NO_MARGIN)).to.equal(0);
    expect(earliestHarvestStart(night, { seconds: 3600, watts: 6 }, 36_000, NO_MARGIN)).to.equal(undefined);
    // The pool's margin plans 1.5 x the run: 45 min at 6 W = 4.5 Wh, more than there is.
    expect(earliestHarvestStart(night, { seconds: 1800, watts: 6 }, 7200, { ...NO_MARGIN, margin: 1.5 })).to.equal(undefined);
  });

  it("finds the first start the sun makes possible, and none when the deadline comes first", function () {
    // 3 Wh stored, floor 2 Wh, idle 0.25 W; the panel gives 10 W from the third hour. An hour at 6 W
    // from 02:00 runs on sunshine with 2.5 Wh still stored; any earlier start spends the first
    // quarter hour in the dark (1.5 Wh) and crosses the floor.
    const dawn: ForecastOutlook = { ...night, stateOfChargePct: 30, idleWatts: 0.25, pvForecastWatts: [0, 0, 10, 10, 10] };
    expect(earliestHarvestStart(dawn, { seconds: 3600, watts: 6 }, 3 * 3600, NO_MARGIN)).to.equal(7200);
    expect(earliestHarvestStart(dawn, { seconds: 3600, watts: 6 }, 3 * 3600 - 1, NO_MARGIN)).to.equal(undefined);
  });

  it("learns an app's energy per task from receipts: converges on the receipts' mean, and one outlier moves it little", function () {
    let learned: AppEnergy | undefined;
    // Receipts alternating 20 % above and below 1.5 Wh and 10 min, after a first one 3 x too high.
    learned = learnAppEnergy(learned, { wattHours: 4.5, seconds: 1800 });
    expect(learned).to.deep.equal({ wattHours: 4.5, seconds: 1800, runs: 1 });
    for (let i = 0; i < 40; i++) {
      const f = i % 2 === 0 ? 1.2 : 0.8;
      learned = learnAppEnergy(learned, { wattHours: 1.5 * f, seconds: 600 * f });
    }
    expect(learned.runs).to.equal(41);
    expect(learned.wattHours).to.be.within(1.5 * 0.85, 1.5 * 1.15);
    expect(learned.seconds).to.be.within(600 * 0.85, 600 * 1.15);
    const settled = learned;
    // A receipt a thousand times too high (a lying or broken meter) counts as at most 4 x the estimate.
    learned = learnAppEnergy(settled, { wattHours: 1500, seconds: 600_000 });
    expect(learned.wattHours).to.be.at.most(settled.wattHours * 1.75 + 1e-9);
    expect(learned.seconds).to.be.at.most(settled.seconds * 1.75 + 1e-9);
    // Garbage is not believed at all.
    expect(learnAppEnergy(undefined, { wattHours: Number.NaN, seconds: -5 })).to.deep.equal({
      wattHours: 0,
      seconds: 0,
      runs: 1,
    });
    // Planning uses the learned run time and the mean draw it implies: 1.5 Wh over 10 min is 9 W.
    expect(taskEnergy(60, { wattHours: 1.5, seconds: 600, runs: 3 })).to.deep.equal({ seconds: 600, watts: 9 });
    expect(taskEnergy(60, undefined)).to.deep.equal({ seconds: 60, watts: 6.4 });
  });

  it("a worker that lies on its receipts, however often, cannot carry the app's estimate past honest workers", function () {
    // Three honest workers report about 1.5 Wh and 10 min per task; a fourth reports a thousand times
    // that, five times as often. Folded into one running estimate, the lies win; per worker, with the
    // median across workers, the app's figure stays in the honest range. Under-reporting alike.
    const honest = (i: number) => ({ wattHours: 1.5 * (0.9 + 0.1 * (i % 3)), seconds: 600 * (0.9 + 0.1 * (i % 3)) });
    for (const lie of [
      { wattHours: 1500, seconds: 600_000 },
      { wattHours: 0.0015, seconds: 0.6 },
    ]) {
      let pooled: AppEnergy | undefined;
      const perWorker: (AppEnergy | undefined)[] = [undefined, undefined, undefined, undefined];
      for (let round = 0; round < 10; round++) {
        for (let w = 0; w < 3; w++) {
          pooled = learnAppEnergy(pooled, honest(round + w));
          perWorker[w] = learnAppEnergy(perWorker[w], honest(round + w));
        }
        for (let i = 0; i < 5; i++) {
          pooled = learnAppEnergy(pooled, lie);
          perWorker[3] = learnAppEnergy(perWorker[3], lie);
        }
      }
      // Outside half to twice the honest 1.5 Wh: 1311 Wh for the first lie, 0.36 Wh for the second.
      const carried = pooled!.wattHours > 3 || pooled!.wattHours < 0.75;
      expect(carried, "one running estimate over everyone's receipts is carried by the liar").to.equal(true);
      const app = appEnergyAcrossWorkers(perWorker as AppEnergy[])!;
      expect(app.runs).to.equal(80);
      expect(app.wattHours).to.be.within(1.5 * 0.85, 1.5 * 1.25);
      expect(app.seconds).to.be.within(600 * 0.85, 600 * 1.25);
    }
    expect(appEnergyAcrossWorkers([])).to.equal(undefined);
    // Two workers: the mean of the two (a liar with one honest peer is bounded only per receipt).
    expect(
      appEnergyAcrossWorkers([
        { wattHours: 1, seconds: 100, runs: 2 },
        { wattHours: 3, seconds: 300, runs: 1 },
      ]),
    ).to.deep.equal({ wattHours: 2, seconds: 200, runs: 3 });
  });
});

describe("scheduler: forecast-driven admission on a real chain", function () {
  this.timeout(180_000);
  let market: TestMarket;
  let scheduler: Scheduler;
  let ipfs: IpfsNode;
  let requester: SunpoolClient;
  let workers: ProtocolWorker[] = [];

  before(async function () {
    market = await startMarket();
    ipfs = await createIpfsNode();
    requester = await fundParticipants(market, [4, 6, 7]);
  });

  let dataDir: string;

  async function startScheduler() {
    scheduler = await startPoolScheduler(market.chain, market.workerpoolId, { dataDir });
    const book = createSchedulerClient({ url: scheduler.url });
    await publishOrder(await market.client(2), book, {
      kind: "app",
      order: createAppOrder({ app: market.appId, price: APP_PRICE, volume: 100 }),
    });
    await publishOrder(await market.client(3), book, {
      kind: "workerpool",
      order: createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, volume: 100, trust: 1, tag: ZeroHash }),
    });
  }

  beforeEach(async function () {
    dataDir = mkdtempSync(join(tmpdir(), "sunpool-admission-"));
    await startScheduler();
  });

  afterEach(async function () {
    for (const worker of workers) await worker.stop();
    workers = [];
    await scheduler.stop();
  });

  after(async function () {
    await ipfs.stop();
    await market.stop();
  });

  async function worker(account: number, outlook: Heartbeat["outlook"]) {
    const started = await startProtocolWorker({
      url: scheduler.url,
      deployment: market.chain.deployment,
      workerpool: market.workerpoolId,
      wallet: market.chain.wallet(account),
      ipfs,
      app: echoApp,
      heartbeatMs: 300,
      outlook,
    });
    workers.push(started);
    return started;
  }

  function request(args: string[], onDeal?: (dealId: string) => void) {
    return run(requester, {
      scheduler: createSchedulerClient({ url: scheduler.url }),
      app: market.appId,
      params: { args },
      onProgress: (event) => {
        if (event.type === "deal") onDeal?.(event.dealId);
      },
    });
  }

  /** Replicas of open tasks offered to `worker` (a fresh database also records past tasks' contributors from the logs). */
  const openReplicasOf = async (worker: string) =>
    (await scheduler.db.get<{ n: number }>(
      "SELECT count(*) AS n FROM replicas r JOIN tasks t USING (task_id) WHERE r.worker = ? AND t.status != 'ended'",
      worker,
    ))!.n;
  const workersOf = async (taskId: string) => (await scheduler.pool.replicas(taskId)).map((replica) => replica.worker);

  /** The task as the pool shows it, once the pool has seen it end (its logs come after the requester's view). */
  async function viewOnceEnded(taskId: string) {
    return until(`the pool to see task ${taskId} end`, async () => {
      const view = (await (await fetch(`${scheduler.url}/v1/tasks/${taskId}`)).json()) as {
        outcome?: string;
        declined?: { reason: string; at: string };
      };
      return view.outcome === undefined ? undefined : view;
    });
  }

  it("does not offer a task to a worker that cannot finish it on harvested energy; another worker completes it", async function () {
    // The echo app declares 60 s: with the 1.5 margin a worker must stay up 90 s. Dusk has 80.
    const dusk = await worker(6, { stateOfChargePct: 21, pvWatts: 0, loadWatts: 3, awakeSeconds: 80 });
    const outcome = request(["after sunset"]);
    // Many scheduling passes (every 0.2 s) with the task waiting and dusk idle and online.
    await until("the deal's task in the pool", async () => {
      const { n } = (await scheduler.db.get<{ n: number }>("SELECT count(*) AS n FROM tasks"))!;
      return n > 0 ? n : undefined;
    });
    await sleep(2000);
    expect(await openReplicasOf(dusk.address)).to.equal(0);
    const sunny = await worker(7, { stateOfChargePct: 70, pvWatts: 12, loadWatts: 4, awakeSeconds: 36_000 });
    const [task] = (await outcome).tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.energy.map((receipt) => receipt.worker)).to.deep.equal([sunny.address]);
    expect(await workersOf(task!.taskId)).to.deep.equal([sunny.address]);
  });

  it("learns the app's energy per task from the receipts on-chain, keeps it across a restart, and plans with it", async function () {
    const steady = await worker(4, { stateOfChargePct: 80, pvWatts: 9, loadWatts: 4, awakeSeconds: 36_000 });
    const before = Date.now();
    for (let i = 0; i < 3; i++) expect((await request([`run ${i.toString()}`])).tasks[0]!.outcome).to.equal("completed");
    const elapsed = (Date.now() - before) / 1000;
    // The pool reads the last receipt from the chain's logs shortly after the requester sees the end,
    // and commits it with its range of events: read the store (PostgreSQL shows it once committed).
    const storedRuns = async () =>
      (await scheduler.db.get<{ runs: number }>("SELECT runs FROM app_energy WHERE app = ?", market.appId.toLowerCase()))?.runs ??
      0;
    await until("the third receipt committed to the store", async () => ((await storedRuns()) >= 3 ? true : undefined));
    const learned = (await scheduler.pool.appEnergy(market.appId))!;
    // The protocol worker's receipts are 1200 + index mWh (index 0 here: one task per deal).
    expect(learned.runs).to.equal(3);
    expect(learned.wattHours).to.be.closeTo(1.2, 1e-9);
    // Run time: acknowledgement to contribution, which took a fraction of the three runs' time.
    expect(learned.seconds).to.be.greaterThan(0).and.lessThan(elapsed);
    // Learned as this worker's estimate, the app's being the median across workers (one, here).
    expect(await scheduler.db.all("SELECT worker, runs FROM worker_app_energy")).to.deep.equal([
      { worker: steady.address.toLowerCase(), runs: 3 },
    ]);
    expect(steady.errors).to.deep.equal([]);

    for (const w of workers) await w.stop();
    workers = [];
    await scheduler.stop();
    await startScheduler();
    expect(await scheduler.pool.appEnergy(market.appId)).to.deep.equal(learned);
    // A worker that would have been refused the declared 60 s (x 1.5) now gets the task: the app
    // runs for about `learned.seconds`.
    const brief = await worker(6, {
      stateOfChargePct: 21,
      pvWatts: 0,
      loadWatts: 3,
      awakeSeconds: Math.ceil(learned.seconds * 1.5) + 5,
    });
    const [task] = (await request(["learned"])).tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.energy.map((receipt) => receipt.worker)).to.deep.equal([brief.address]);
  });

  it("declines a task early, with the reason in the task view, when no worker's forecast can finish it before the deadline", async function () {
    // At its floor, at night, with a night-long forecast of nothing: no start in the start window
    // ends above the floor. (Its awake time is 0, so it is not offered the task either.)
    const spent = await worker(6, {
      stateOfChargePct: 20,
      pvWatts: 0,
      loadWatts: 2.7,
      awakeSeconds: 0,
      batteryWattHours: 77,
      floorPct: 20,
      idleWatts: 2.7,
      pvForecastWatts: Array.from({ length: 12 }, () => 0),
    });
    const balance = await requester.hub.balanceOf(await requester.signer!.getAddress());
    const [task] = (await request(["in the dark"])).tasks;
    expect(task!.outcome).to.equal("scheduler-gave-up");
    expect(await workersOf(task!.taskId)).to.deep.equal([]);
    expect(spent.done).to.deep.equal([]);
    const view = await viewOnceEnded(task!.taskId);
    expect(view.outcome).to.equal("scheduler-gave-up");
    expect(view.declined!.reason).to.match(
      /^no worker can finish it on harvested energy before its deadline: it runs about 60 s \(as the app declares; 90 s with the pool's margin\), \d+ min remain, and the battery and panel forecast of each of the 1 worker that could run it falls below its floor first$/,
    );
    // Refunded at once, well before the start window (50 min) ran out.
    expect(await requester.hub.balanceOf(await requester.signer!.getAddress())).to.equal(balance);
  });

  it("declines a task whose remaining time is shorter than its run time, whoever is online", async function () {
    let dealId: string | undefined;
    const outcome = request(["too late"], (id) => (dealId = id));
    await until("the request's deal", () => dealId, 30_000, 50);
    // No worker yet; the chain's clock moves to 60 s before the start deadline (10 x 300 s).
    await market.chain.increaseTime(10 * 300 - 60);
    const [task] = (await outcome).tasks;
    expect(task!.outcome).to.equal("scheduler-gave-up");
    const view = await viewOnceEnded(task!.taskId);
    expect(view.declined!.reason).to.match(
      /^no worker can finish it before its deadline: it runs about 60 s \(as the app declares; 90 s with the pool's margin\) and \d+ s remain$/,
    );
  });
});
