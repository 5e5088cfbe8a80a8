// Reveals: a worker that owes one is told so once per lease, not on every pull (it would spin
// pulling while its reveal transaction awaits confirmations), and the offers it can run are still
// shown meanwhile; a reveal owed for a task whose params the pool does not have (its database lost
// the request) is told like any other, and the task completes. Played by a worker driven by hand
// through the SDK's signed client, against a real scheduler on a real chain.
import { expect } from "chai";
import { hexlify, randomBytes, sha256, toUtf8Bytes, ZeroHash, type Wallet } from "ethers";

import { publishOrder } from "../../sdk/src/actions/market.js";
import { run } from "../../sdk/src/actions/run.js";
import { computeCommitment } from "../../sdk/src/actions/tasks.js";
import type { SunpoolClient } from "../../sdk/src/client.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
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
  type Assignment,
  type Heartbeat,
} from "../../sdk/src/scheduler/workers.js";
import type { Scheduler } from "../../scheduler/src/service.js";
import { until } from "../helpers/wait.js";
import {
  APP_PRICE,
  echoApp,
  fundParticipants,
  POOL_PRICE,
  startMarket,
  startPoolScheduler,
  type TestMarket,
} from "../sdk/helpers/market.js";

const WORKERS = [4, 6];
const OUTLOOK: Heartbeat["outlook"] = { stateOfChargePct: 80, pvWatts: 6, loadWatts: 4, awakeSeconds: 36_000 };
/** The test scheduler's heartbeat (1 s) times the default three heartbeats. */
const LEASE_MS = 3000;

interface HandWorker {
  api: SchedulerClient;
  address: string;
  hub: SunpoolClient["hub"];
}

/** A contribution's hidden vote, and what opens it. */
interface Vote {
  assignment: Assignment;
  digest: string;
  salt: string;
  location: string;
}

describe("scheduler: owed reveals", function () {
  this.timeout(120_000);
  let market: TestMarket;
  let ipfs: IpfsNode;
  let requester: SunpoolClient;
  let schedulers: Scheduler[] = [];
  let requests = new AbortController();

  before(async function () {
    market = await startMarket();
    ipfs = await createIpfsNode();
    requester = await fundParticipants(market, WORKERS);
  });

  afterEach(async function () {
    requests.abort(new Error("the test is over"));
    requests = new AbortController();
    for (const scheduler of schedulers) await scheduler.stop();
    schedulers = [];
  });

  after(async function () {
    await ipfs.stop();
    await market.stop();
  });

  /** A scheduler on a fresh database; with `orders`, the app's and the pool's (trust 2) published. */
  async function scheduler(orders: boolean): Promise<{ scheduler: Scheduler; book: SchedulerClient }> {
    const started = await startPoolScheduler(market.chain, market.workerpoolId);
    schedulers.push(started);
    const book = createSchedulerClient({ url: started.url });
    if (orders) {
      await publishOrder(await market.client(2), book, {
        kind: "app",
        order: createAppOrder({ app: market.appId, price: APP_PRICE, volume: 100 }),
      });
      await publishOrder(await market.client(3), book, {
        kind: "workerpool",
        order: createWorkerpoolOrder({
          workerpool: market.workerpoolId,
          price: POOL_PRICE,
          volume: 100,
          trust: 2,
          tag: ZeroHash,
        }),
      });
    }
    return { scheduler: started, book };
  }

  async function handWorker(url: string, account: number): Promise<HandWorker> {
    const wallet: Wallet = market.chain.wallet(account);
    const api = createWorkerApiClient({
      url,
      signer: wallet,
      scope: { chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId },
    });
    await registerWorker(api, {
      platforms: ["linux/amd64"],
      cores: 4,
      slots: 1,
      memoryMiB: 4096,
      board: "test",
      ipfsPeers: ipfs.multiaddrs(),
    });
    await sendHeartbeat(api, { outlook: OUTLOOK, tasks: [] });
    return { api, address: wallet.address, hub: (await market.client(account)).hub };
  }

  /** A trust-2 request; resolves with the requester's whole run when it ends. */
  function request(book: SchedulerClient, args: string[]) {
    return run(requester, { scheduler: book, app: market.appId, trust: 2, params: { args }, signal: requests.signal });
  }

  /** The worker's next assignment, long-polled. */
  function pull(worker: HandWorker, what: string): Promise<Assignment> {
    return until(what, () => pullAssignment(worker.api, { waitSeconds: 1 }));
  }

  /** Runs the echo app, has the pool pin the result, and contributes its hidden vote. */
  async function contribute(worker: HandWorker, assignment: Assignment): Promise<Vote> {
    await reportTask(worker.api, assignment.taskId, { state: "running", lease: assignment.lease!.id });
    const files = echoApp(decodeTaskParams(assignment.params, sha256(toUtf8Bytes(assignment.params))), assignment.index);
    const location = await ipfs.addFiles(files);
    await pinResult(worker.api, { cid: location, providers: ipfs.multiaddrs() });
    const digest = resultDigest(files);
    const salt = hexlify(randomBytes(32));
    const commitment = computeCommitment(assignment.taskId, digest, worker.address, salt);
    const energy = { milliwattHours: 1, solarShareBps: 0 };
    await (await worker.hub.contribute(assignment.dealId, assignment.index, commitment, energy, assignment.authorization)).wait();
    return { assignment, digest, salt, location };
  }

  async function reveal(worker: HandWorker, vote: Vote): Promise<void> {
    const { dealId, index } = vote.assignment;
    await (await worker.hub.reveal(dealId, index, vote.digest, vote.salt, toUtf8Bytes(vote.location))).wait();
  }

  function untilOwed(pool: Scheduler, vote: Vote, worker: HandWorker) {
    return until("the round to reveal", async () =>
      (await pool.pool.replica(vote.assignment.taskId, worker.address))?.state === "reveal" ? true : undefined,
    );
  }

  it("tells an owed reveal once per lease, not on every pull, and still shows the offers the worker can run", async function () {
    const { scheduler: pool, book } = await scheduler(true);
    const hand = await handWorker(pool.url, WORKERS[0]!);
    const owed = request(book, ["owed"]);
    owed.catch(() => undefined); // awaited below; a failure above must not leave it unhandled
    const assignment = await pull(hand, "the first offer");
    expect(assignment.action).to.equal("run");
    // One new worker reaches trust 2 alone: its contribution closes the round, which reveals.
    const vote = await contribute(hand, assignment);
    await untilOwed(pool, vote, hand);

    const toldAt = Date.now();
    const told = await pullAssignment(hand.api, { waitSeconds: 0 });
    expect([told?.action, told?.taskId]).to.deep.equal(["reveal", assignment.taskId]);
    // The worker is revealing (its transaction awaits confirmations, say): the next pulls do not
    // repeat it, a long poll waits, and nothing is pending.
    expect(await pullAssignment(hand.api, { waitSeconds: 0 })).to.equal(undefined);
    expect(await pullAssignment(hand.api, { waitSeconds: 1 })).to.equal(undefined);
    expect((await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [] })).pending).to.equal(0);

    // Another task is offered to it meanwhile, and counted as pending until it is pulled.
    void request(book, ["runnable meanwhile"]).catch(() => undefined);
    await until("the second offer", async () =>
      (await pool.db.get("SELECT 1 FROM replicas WHERE worker = ? AND state = 'offered'", hand.address)) === undefined
        ? undefined
        : true,
    );
    expect((await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [] })).pending).to.equal(1);
    const offer = (await pullAssignment(hand.api, { waitSeconds: 0 }))!;
    expect(offer.action).to.equal("run");
    expect(offer.taskId).to.not.equal(assignment.taskId);
    await reportTask(hand.api, offer.taskId, { state: "failed", cause: "worker", reason: "the test declines it" });
    expect((await sendHeartbeat(hand.api, { outlook: OUTLOOK, tasks: [] })).pending).to.equal(0);

    // Not revealed within a lease of being told: told again.
    const again = await until("the reveal to be told again", async () => {
      const next = await pullAssignment(hand.api, { waitSeconds: 1 });
      return next?.action === "reveal" ? next : undefined;
    });
    expect(again.taskId).to.equal(assignment.taskId);
    expect(Date.now() - toldAt).to.be.at.least(LEASE_MS);

    await reveal(hand, vote);
    const [task] = (await owed).tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.resultDigest).to.equal(vote.digest);
    await until("the pool to read the reveal", async () =>
      (await pool.pool.replica(assignment.taskId, hand.address))?.state === "done" ? true : undefined,
    );
    expect(await pullAssignment(hand.api, { waitSeconds: 0 })).to.equal(undefined);
  });

  it("a reveal owed for a task whose params the pool does not have is told, and the task completes", async function () {
    const { scheduler: first, book } = await scheduler(true);
    const hand = await handWorker(first.url, WORKERS[1]!);
    const outcome = request(book, ["params lost"]);
    outcome.catch(() => undefined); // awaited below; a failure above must not leave it unhandled
    const assignment = await pull(hand, "the offer");
    const vote = await contribute(hand, assignment);
    await untilOwed(first, vote, hand);
    await first.stop();
    schedulers = [];

    // A scheduler whose database lost the request (an empty one): it rebuilds the deal, the
    // contribution and the open round from the chain, but not the params document.
    const { scheduler: second } = await scheduler(false);
    const back = await handWorker(second.url, WORKERS[1]!);
    await untilOwed(second, vote, back);
    expect((await second.pool.deal(assignment.dealId))!.params).to.equal(null);

    const told = await until("the reveal to be told", () => pullAssignment(back.api, { waitSeconds: 1 }), 15_000);
    expect([told.action, told.taskId]).to.deep.equal(["reveal", assignment.taskId]);
    expect((await sendHeartbeat(back.api, { outlook: OUTLOOK, tasks: [] })).pending).to.equal(0);

    await reveal(back, vote);
    const [task] = (await outcome).tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.resultDigest).to.equal(vote.digest);
    const ended = await until("the pool to end the task", async () => {
      const row = await second.pool.task(assignment.taskId);
      return row?.status === "ended" ? row : undefined;
    });
    expect(ended.outcome).to.equal("completed");
    expect((await second.pool.replica(assignment.taskId, back.address))!.state).to.equal("done");
  });
});
