// Leases: every offer is held only while its worker acknowledges and renews it. Played by the
// workers who would strand a task — one that heartbeats but never pulls, one that stops listing a
// task, one that renews with a lease it does not hold, one that leaves — against a real scheduler
// on a real chain, with the observable that must hold for each.
import { expect } from "chai";
import { sha256, toUtf8Bytes, ZeroHash, type Wallet } from "ethers";

import { publishOrder } from "../../sdk/src/actions/market.js";
import { run } from "../../sdk/src/actions/run.js";
import { SchedulerRejectedError } from "../../sdk/src/errors/market.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import type { SunpoolClient } from "../../sdk/src/client.js";
import { createAppOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { resultDigest } from "../../sdk/src/results/digest.js";
import { decodeTaskParams } from "../../sdk/src/results/params.js";
import { createSchedulerClient, type SchedulerClient } from "../../sdk/src/scheduler/client.js";
import {
  createWorkerApiClient,
  pinResult,
  pullAssignment,
  registerWorker,
  reportTask,
  sendHeartbeat,
  type Heartbeat,
} from "../../sdk/src/scheduler/workers.js";
import type { Scheduler } from "../../scheduler/src/service.js";
import { startProtocolWorker, type ProtocolWorker } from "../helpers/protocolWorker.js";
import { sleep, until } from "../helpers/wait.js";
import {
  APP_PRICE,
  echoApp,
  POOL_PRICE,
  fundParticipants,
  startMarket,
  startPoolScheduler,
  type TestMarket,
} from "../sdk/helpers/market.js";

const WORKERS = [4, 6, 7];
const OUTLOOK: Heartbeat["outlook"] = { stateOfChargePct: 80, pvWatts: 6, loadWatts: 4, awakeSeconds: 36_000 };
/** The test scheduler's heartbeat (1 s) times the default three heartbeats. */
const LEASE_MS = 3000;

describe("scheduler: offer leases", function () {
  this.timeout(120_000);
  let market: TestMarket;
  let scheduler: Scheduler;
  let ipfs: IpfsNode;
  let workers: ProtocolWorker[] = [];
  let requester: SunpoolClient;
  let requests = new AbortController();

  before(async function () {
    market = await startMarket();
    ipfs = await createIpfsNode();
    requester = await fundParticipants(market, WORKERS);
  });

  beforeEach(async function () {
    scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
    const book = createSchedulerClient({ url: scheduler.url });
    await publishOrder(await market.client(2), book, {
      kind: "app",
      order: createAppOrder({ app: market.appId, price: APP_PRICE, volume: 100 }),
    });
    await publishOrder(await market.client(3), book, {
      kind: "workerpool",
      order: createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, volume: 100, trust: 1, tag: ZeroHash }),
    });
  });

  afterEach(async function () {
    // A request a test left unfinished stops polling the chain with the test.
    requests.abort(new Error("the test is over"));
    requests = new AbortController();
    for (const worker of workers) await worker.stop();
    workers = [];
    await scheduler.stop();
  });

  after(async function () {
    await ipfs.stop();
    await market.stop();
  });

  /** A worker driven by hand through the SDK's signed client. */
  async function handWorker(account: number): Promise<{ api: SchedulerClient; address: string }> {
    const wallet: Wallet = market.chain.wallet(account);
    const api = createWorkerApiClient({
      url: scheduler.url,
      signer: wallet,
      scope: { chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId },
    });
    await registerWorker(api, { platforms: ["linux/amd64"], cores: 4, slots: 1, memoryMiB: 4096, board: "test", ipfsPeers: [] });
    await sendHeartbeat(api, { outlook: OUTLOOK, tasks: [] });
    return { api, address: wallet.address };
  }

  async function protocolWorker(account: number, options: { neverPulls?: boolean } = {}) {
    const worker = await startProtocolWorker({
      url: scheduler.url,
      deployment: market.chain.deployment,
      workerpool: market.workerpoolId,
      wallet: market.chain.wallet(account),
      ipfs,
      app: echoApp,
      heartbeatMs: 300,
      ...options,
    });
    workers.push(worker);
    return worker;
  }

  /** A trust-1 request; resolves with the requester's whole run (the task's outcome) when it ends. */
  function request(args: string[]) {
    return run(requester, {
      scheduler: createSchedulerClient({ url: scheduler.url }),
      app: market.appId,
      params: { args },
      signal: requests.signal,
    });
  }

  /** Waits until `worker` holds an offer of some task and returns the task's id. */
  async function offeredTo(worker: string): Promise<string> {
    const row = await until(
      `an offer to reach ${worker}`,
      () => scheduler.db.get<{ task_id: string }>("SELECT task_id FROM replicas WHERE worker = ? AND state = 'offered'", worker),
      30_000,
      50,
    );
    return row.task_id;
  }

  const record = async (worker: string) =>
    (await scheduler.db.get<{ good: number; bad: number }>("SELECT good, bad FROM workers WHERE address = ?", worker))!;

  it("a worker that heartbeats but never pulls loses its offer within one lease; another worker completes the task in time", async function () {
    const idle = await protocolWorker(WORKERS[0]!, { neverPulls: true });
    const outcome = request(["hung pull"]);
    const taskId = await offeredTo(idle.address);
    const offeredAt = (await scheduler.pool.replica(taskId, idle.address))!.offered_at;
    const steady = await protocolWorker(WORKERS[1]!);

    const [task] = (await outcome).tasks;

    expect(task!.outcome).to.equal("completed");
    expect(task!.energy.map((receipt) => receipt.worker)).to.deep.equal([steady.address]);
    const lost = (await scheduler.pool.replica(taskId, idle.address))!;
    expect([lost.state, lost.reason]).to.deep.equal(["lost", "the offer was not acknowledged within its lease"]);
    // Never before the lease ran out; handed on by a pass soon after (passes every 0.2 s; the slack
    // is for a loaded machine, far below the task's deadline, the failure this guards against).
    expect(lost.updated_at - offeredAt).to.be.within(LEASE_MS, LEASE_MS + 5000);
    expect((await record(idle.address)).bad).to.equal(1);
  });

  it("heartbeats listing a task renew its lease past one lease; once it is no longer listed it is lost within a lease, and revoked", async function () {
    const hand = await handWorker(WORKERS[0]!);
    const outcome = request(["renewed"]).catch((error: unknown) => error);
    const assignment = (await pullAssignment(hand.api, { waitSeconds: 10 }))!;
    expect(assignment.lease?.leaseSeconds).to.equal(LEASE_MS / 1000);
    const held = [{ taskId: assignment.taskId, lease: assignment.lease!.id }];

    // Twice the lease, acknowledged and renewed by heartbeats only.
    for (let i = 0; i < 6; i++) {
      const ack = await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: held });
      expect(ack.revoked).to.deep.equal([]);
      await sleep(1000);
    }
    expect((await scheduler.pool.replica(assignment.taskId, hand.address))!.state).to.equal("running");
    // Another worker is there when the lease runs out: the task goes to it at once.
    const steady = await protocolWorker(WORKERS[1]!);

    await until(
      "the unlisted lease to be given up",
      async () => {
        await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [] });
        return (await scheduler.pool.replica(assignment.taskId, hand.address))!.state === "running" ? undefined : true;
      },
      LEASE_MS + 10_000,
    );
    expect(await scheduler.pool.replica(assignment.taskId, hand.address)).to.include({
      state: "lost",
      reason: "the lease was not renewed",
    });
    // Listed again, too late: the pool says it withdrew the offer, and the slot is free again.
    const ack = await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: held });
    expect(ack.revoked).to.deep.equal([assignment.taskId]);
    expect(scheduler.pool.dispatcher.workers.get(hand.address)!.active).to.equal(0);
    const result = (await outcome) as Awaited<ReturnType<typeof request>>;
    expect(result.tasks[0]!.energy.map((receipt) => receipt.worker)).to.deep.equal([steady.address]);
  });

  it("a worker whose lease ran out while it was down gets the task again once it is back, under a new lease, and completes it", async function () {
    // A one-worker pool: a solar Pi that browned out mid-task is the only one that can run it.
    const hand = await handWorker(WORKERS[0]!);
    const outcome = request(["browned out"]);
    outcome.catch(() => undefined); // awaited below; a failure above must not leave it unhandled
    const first = (await pullAssignment(hand.api, { waitSeconds: 10 }))!;
    await reportTask(hand.api, first.taskId, { state: "running", lease: first.lease!.id });
    const held = [{ taskId: first.taskId, lease: first.lease!.id }];

    // Down: no heartbeat, no pull. The lease runs out and the pool takes the task back.
    await until(
      "the lease to run out",
      async () => ((await scheduler.pool.replica(first.taskId, hand.address))!.state === "lost" ? true : undefined),
      LEASE_MS + 10_000,
    );
    expect((await record(hand.address)).bad).to.equal(1);
    // Nothing is offered while the worker may still think it holds the old offer.
    expect(await pullAssignment(hand.api, { waitSeconds: 0 })).to.equal(undefined);

    // Back: its first heartbeat lists what it held and hears it was revoked; then it is offered the task again.
    expect((await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: held })).revoked).to.deep.equal([first.taskId]);
    const again = (await pullAssignment(hand.api, { waitSeconds: 10 }))!;
    expect([again.action, again.taskId]).to.deep.equal(["run", first.taskId]);
    expect(again.lease!.id).to.not.equal(first.lease!.id);
    // One replica per worker and task: the old lease renews nothing and acknowledges nothing.
    expect((await scheduler.pool.replicas(first.taskId)).map((replica) => [replica.worker, replica.state])).to.deep.equal([
      [hand.address, "offered"],
    ]);
    await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: held });
    expect((await scheduler.pool.replica(first.taskId, hand.address))!.state).to.equal("offered");
    const stale = await reportTask(hand.api, first.taskId, { state: "running", lease: first.lease!.id }).catch(
      (error: unknown) => error,
    );
    expect((stale as SchedulerRejectedError).status).to.equal(409);

    await reportTask(hand.api, again.taskId, { state: "running", lease: again.lease!.id });
    const files = echoApp(decodeTaskParams(again.params, sha256(toUtf8Bytes(again.params))), again.index);
    const location = await ipfs.addFiles(files);
    await pinResult(hand.api, { cid: location, providers: ipfs.multiaddrs() });
    const { hub } = await market.client(WORKERS[0]!);
    const energy = { milliwattHours: 1, solarShareBps: 0 };
    await (
      await hub.submitResult(again.dealId, again.index, resultDigest(files), toUtf8Bytes(location), energy, again.authorization)
    ).wait();
    const [task] = (await outcome).tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.energy.map((receipt) => receipt.worker)).to.deep.equal([hand.address]);
  });

  it("a lease id that is not the current offer's renews nothing, and a running report naming it is refused", async function () {
    const hand = await handWorker(WORKERS[0]!);
    void request(["forged lease"]).catch(() => undefined);
    const assignment = (await pullAssignment(hand.api, { waitSeconds: 10 }))!;
    const forged = "0".repeat(32);
    expect(forged).to.not.equal(assignment.lease!.id);

    const refused = await reportTask(hand.api, assignment.taskId, { state: "running", lease: forged }).catch(
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(SchedulerRejectedError);
    expect((refused as SchedulerRejectedError).status).to.equal(409);
    await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [{ taskId: assignment.taskId, lease: forged }] });
    const replica = (await scheduler.pool.replica(assignment.taskId, hand.address))!;
    expect(replica.state).to.equal("offered");
    expect(replica.lease_until).to.equal(replica.offered_at + LEASE_MS);

    // The real lease acknowledges it.
    await reportTask(hand.api, assignment.taskId, { state: "running", lease: assignment.lease!.id });
    expect((await scheduler.pool.replica(assignment.taskId, hand.address))!.state).to.equal("running");
  });

  it("a farewell takes the worker offline at once and hands its unacknowledged offer on, without blame", async function () {
    const hand = await handWorker(WORKERS[0]!);
    const outcome = request(["farewell"]);
    const taskId = await offeredTo(hand.address);
    const leaving = Date.now();

    await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [], farewell: true });

    const replica = (await scheduler.pool.replica(taskId, hand.address))!;
    expect([replica.state, replica.reason]).to.deep.equal(["lost", "the worker stopped before starting it"]);
    expect(replica.updated_at - leaving).to.be.below(LEASE_MS);
    expect(scheduler.pool.dispatcher.isOnline(hand.address, Date.now())).to.equal(false);
    expect(await record(hand.address)).to.deep.equal({ good: 0, bad: 0 });
    const steady = await protocolWorker(WORKERS[1]!);
    expect((await outcome).tasks[0]!.energy.map((receipt) => receipt.worker)).to.deep.equal([steady.address]);
  });

  it("tasks a worker lists that the pool has no offer of count against its slots", async function () {
    const hand = await handWorker(WORKERS[0]!);
    // A task from before this database (a scheduler that lost it): the worker is busy with it.
    const foreign = [{ taskId: `0x${"ab".repeat(32)}` }];
    await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: foreign });
    const outcome = request(["full"]).catch((error: unknown) => error);
    await sleep(1500);
    expect(await scheduler.pool.pendingFor(hand.address, Date.now())).to.equal(0);

    await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [] });
    const assignment = await pullAssignment(hand.api, { waitSeconds: 10 });
    expect(assignment?.action).to.equal("run");
    await reportTask(hand.api, assignment!.taskId, { state: "failed", cause: "worker", reason: "test over" });
    await protocolWorker(WORKERS[1]!);
    await outcome;
  });

  it("workers that decline a task (cause: worker) hand it on without ending it as AppFailed or counting against themselves", async function () {
    const outcome = request(["declined twice"]);
    const declined: string[] = [];
    for (const account of WORKERS.slice(0, 2)) {
      const hand = await handWorker(account);
      const assignment = (await pullAssignment(hand.api, { waitSeconds: 10 }))!;
      await reportTask(hand.api, assignment.taskId, { state: "failed", cause: "worker", reason: "not enough energy" });
      expect((await scheduler.pool.replica(assignment.taskId, hand.address))!.state).to.equal("declined");
      expect(await record(hand.address)).to.deep.equal({ good: 0, bad: 0 });
      declined.push(assignment.taskId);
      await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [], farewell: true });
    }
    expect(declined[0]).to.equal(declined[1]);
    // failAfter is 2: two app failures would have ended it; two declines did not.
    const steady = await protocolWorker(WORKERS[2]!);
    const [task] = (await outcome).tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.energy.map((receipt) => receipt.worker)).to.deep.equal([steady.address]);
  });
});
