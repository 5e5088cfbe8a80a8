// Issue 17: the chain follower survives reorganisations. On a real Hardhat (EDR) node, blocks the
// scheduler already applied are taken away (evm_snapshot, let it follow, evm_revert) and replaced
// by other blocks; the scheduler must end up in the state a fresh scheduler reaches by reading
// the canonical chain from scratch, without losing what only it knew (offers, their
// authorizations and leases). Once while it runs (a contribution is replaced by another worker's),
// once while it is stopped (a whole deal disappears, and comes back when the book matches it again).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { hexlify, keccak256, randomBytes, ZeroHash, type Wallet } from "ethers";

import { publishOrder } from "../../sdk/src/actions/market.js";
import { createAppOrder, createRequestOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { orderToJson } from "../../sdk/src/orders/json.js";
import { signOrder } from "../../sdk/src/orders/sign.js";
import { encodeTaskParams } from "../../sdk/src/results/params.js";
import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import {
  createWorkerApiClient,
  pullAssignment,
  registerWorker,
  reportTask,
  sendHeartbeat,
  type Assignment,
} from "../../sdk/src/scheduler/workers.js";
import type { Scheduler, SchedulerOptions } from "../../scheduler/src/index.js";
import {
  APP_PRICE,
  fundParticipants,
  POOL_PRICE,
  startMarket,
  startPoolScheduler,
  type TestMarket,
} from "../sdk/helpers/market.js";
import { until } from "../helpers/wait.js";

const OUTLOOK = { stateOfChargePct: 80, pvWatts: 6, loadWatts: 4, awakeSeconds: 36_000 };
const REGISTRATION = { platforms: ["linux/amd64" as const], cores: 4, memoryMiB: 4096, slots: 1, ipfsPeers: [] };

type Rows = Record<string, unknown>[];

/**
 * What the chain decides, as the scheduler recorded it: deals (without the params document, which
 * comes from the book), tasks (without the local time they were queued), contributions, and the
 * replicas whose state only chain events set. Local rows (offers still held, failures) are not
 * part of it: a scheduler reading the chain from scratch has none.
 */
async function chainState(
  db: Scheduler["db"],
): Promise<Record<"deals" | "tasks" | "contributions" | "replicas" | "cursor", Rows>> {
  const all = (sql: string): Promise<Rows> => db.all(sql);
  return {
    deals: await all(
      "SELECT deal_id, request_hash, requester, trust, category, volume, start_deadline, app, dataset, block FROM deals ORDER BY deal_id",
    ),
    tasks: await all(
      `SELECT task_id, deal_id, idx, status, outcome, deadline, final_deadline, consensus_hash, result_digest, round, decided,
         contribution_deadline FROM tasks ORDER BY task_id`,
    ),
    contributions: await all("SELECT * FROM contributions ORDER BY task_id, seq"),
    replicas: await all(
      "SELECT task_id, worker, state FROM replicas WHERE state NOT IN ('offered', 'running', 'failed', 'declined', 'lost') ORDER BY task_id, worker",
    ),
    cursor: await all("SELECT value FROM meta WHERE key = 'chain.cursor'"),
  };
}

describe("scheduler: a chain follower that survives reorganisations (issue 17)", function () {
  this.timeout(240_000);
  let market: TestMarket;
  const stopAfter: (() => Promise<void>)[] = [];

  before(async function () {
    market = await startMarket();
    // Workers 10 and 11 for the first test, 12 for the second (staked), the requester's escrow.
    await fundParticipants(market, [10, 11, 12]);
  });

  afterEach(async function () {
    for (const stop of stopAfter.splice(0).reverse()) await stop();
  });

  after(async function () {
    await market.stop();
  });

  const rpc = (method: string, params: unknown[] = []) => market.chain.provider.send(method, params);
  const scope = () => ({ chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId });

  async function scheduler(options: Partial<SchedulerOptions> = {}): Promise<Scheduler> {
    // Hand-driven workers stay online between their requests (heartbeats every 30 s).
    const started = await startPoolScheduler(market.chain, market.workerpoolId, {
      heartbeatSeconds: 30,
      confirmations: 0,
      ...options,
    });
    stopAfter.push(() => started.stop());
    return started;
  }

  /** A scheduler on a new data folder that reads the whole chain once, and matches and sends nothing. */
  async function freshState(): Promise<ReturnType<typeof chainState>> {
    const fresh = await startPoolScheduler(market.chain, market.workerpoolId, { pauseMatching: true, confirmations: 0 });
    try {
      await fresh.tick();
      return await chainState(fresh.db);
    } finally {
      await fresh.stop();
    }
  }

  async function publishPoolOrders(url: string, trust: number) {
    const book = createSchedulerClient({ url });
    await publishOrder(await market.client(2), book, {
      kind: "app",
      order: createAppOrder({ app: market.appId, price: APP_PRICE, volume: 1000 }),
    });
    await publishOrder(await market.client(3), book, {
      kind: "workerpool",
      order: createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, volume: 1000, trust, tag: ZeroHash }),
    });
  }

  async function request(url: string, trust: number, tag: string): Promise<void> {
    const params = encodeTaskParams({ args: ["issue-17", tag] });
    const order = createRequestOrder({
      app: market.appId,
      appMaxPrice: APP_PRICE,
      workerpool: market.workerpoolId,
      workerpoolMaxPrice: POOL_PRICE,
      requester: market.chain.wallet(1).address,
      volume: 1,
      trust,
      params: params.digest,
    });
    const signature = await signOrder(market.chain.wallet(1), (await market.client(1)).domain, "request", order);
    const response = await fetch(`${url}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "request", order: orderToJson(order), signature, params: params.text }),
    });
    expect(response.status, await response.text()).to.equal(201);
  }

  /** A worker driven by hand: it registers, says it is awake, and pulls its offer. */
  async function handWorker(url: string, wallet: Wallet) {
    const client = createWorkerApiClient({ url, signer: wallet, scope: scope() });
    await registerWorker(client, REGISTRATION);
    await sendHeartbeat(client, { outlook: OUTLOOK, running: [] });
    return {
      client,
      async pull(): Promise<Assignment> {
        // Each pull is a one-second long poll: no pause between them.
        return until("an assignment", () => pullAssignment(client, { waitSeconds: 1 }), 100_000, 0);
      },
    };
  }

  /** Contributes a (hidden) vote for the assignment's task as the node's account `index`. */
  async function contribute(index: number, assignment: Assignment): Promise<void> {
    const hub = (await market.client(index)).hub;
    const commitment = keccak256(hexlify(randomBytes(32)));
    await (
      await hub.contribute(
        assignment.dealId,
        assignment.index,
        commitment,
        { milliwattHours: 1, solarShareBps: 0 },
        assignment.authorization,
      )
    ).wait();
  }

  const cursor = async (running: Scheduler) =>
    Number((await running.db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'chain.cursor'"))!.value);

  async function metric(url: string, name: string): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split("\n").find((row) => row.startsWith(`${name} `));
    if (line === undefined) throw new Error(`no ${name} in /metrics`);
    return Number(line.split(" ")[1]);
  }

  it("a reorg of depth 3 that removes a contribution: the running scheduler follows the canonical chain", async function () {
    const running = await scheduler();
    await publishPoolOrders(running.url, 3);
    const x = await handWorker(running.url, market.chain.wallet(10));
    const y = await handWorker(running.url, market.chain.wallet(11));
    await request(running.url, 3, "contribution");
    // Trust 3: two replicas, one each.
    const [offerX, offerY] = [await x.pull(), await y.pull()];
    expect(offerX.taskId).to.equal(offerY.taskId);
    await reportTask(x.client, offerX.taskId, { state: "running" });
    await reportTask(y.client, offerY.taskId, { state: "running" });
    const taskId = offerX.taskId.toLowerCase();
    const replica = async (worker: Wallet) =>
      await running.db.get<{ state: string; authorization: string; lease: string; lease_until: number }>(
        "SELECT * FROM replicas WHERE task_id = ? AND worker = ?",
        taskId,
        worker.address,
      );
    const heldBefore = (await replica(market.chain.wallet(10)))!;
    await running.tick();
    const forkBlock = await market.chain.provider.getBlockNumber();
    expect(await cursor(running)).to.equal(forkBlock);

    // The fork the scheduler follows first: X contributes, two more blocks.
    const snapshot = (await rpc("evm_snapshot")) as string;
    await contribute(10, offerX);
    await rpc("evm_mine");
    await rpc("evm_mine");
    await running.tick();
    expect(await cursor(running)).to.equal(forkBlock + 3);
    expect(await running.db.all("SELECT worker FROM contributions WHERE task_id = ?", taskId)).to.deep.equal([
      { worker: market.chain.wallet(10).address },
    ]);
    expect((await replica(market.chain.wallet(10)))!.state).to.equal("contributed");
    expect(running.pool.dispatcher.workers.get(market.chain.wallet(10).address)!.active).to.equal(0);
    // X's energy receipt taught the pool the app's energy.
    const learned = async () => ({
      workers: (
        await running.db.all<{ worker: string; runs: number }>("SELECT worker, runs FROM worker_app_energy ORDER BY worker")
      ).map(({ worker, runs }) => [worker, runs]),
      app: (await running.pool.appEnergy(market.appId))?.runs,
    });
    expect(await learned()).to.deep.equal({ workers: [[market.chain.wallet(10).address.toLowerCase(), 1]], app: 1 });

    // The canonical chain: those three blocks never happened; Y contributes instead, and the
    // chain grows past where the scheduler was.
    expect(await rpc("evm_revert", [snapshot])).to.equal(true);
    await contribute(11, offerY);
    for (let i = 0; i < 3; i++) await rpc("evm_mine");
    const head = await market.chain.provider.getBlockNumber();
    expect(head).to.equal(forkBlock + 4);
    await running.tick();

    expect(await cursor(running)).to.equal(head);
    const after = await chainState(running.db);
    expect(after.contributions.map((row) => row.worker)).to.deep.equal([market.chain.wallet(11).address]);
    expect(after).to.deep.equal(await freshState());
    // X's contribution is gone from the chain, not its offer: same authorization and lease id,
    // holding its slot again under a fresh lease.
    const heldAfter = (await replica(market.chain.wallet(10)))!;
    expect(heldAfter.state).to.equal("running");
    expect(heldAfter.authorization).to.equal(heldBefore.authorization);
    expect(heldAfter.lease).to.equal(heldBefore.lease);
    expect(heldAfter.lease_until).to.be.above(Date.now());
    expect(running.pool.dispatcher.workers.get(market.chain.wallet(10).address)!.active).to.equal(1);
    expect(await metric(running.url, "sunpool_scheduler_chain_reorgs_total")).to.equal(1);
    expect(await metric(running.url, "sunpool_scheduler_chain_reorg_deepest_blocks")).to.equal(3);
    expect(await metric(running.url, "sunpool_scheduler_chain_lag_blocks")).to.equal(0);
    // The removed receipt no longer counts: only Y's, in the store and in what the pool plans with.
    expect(await learned()).to.deep.equal({ workers: [[market.chain.wallet(11).address.toLowerCase(), 1]], app: 1 });

    // The pool carries on from the canonical state: X contributes on this chain, after Y.
    await contribute(10, offerX);
    await running.tick();
    expect(
      (await running.db.all("SELECT worker FROM contributions WHERE task_id = ? ORDER BY seq", taskId)).map((row) => row.worker),
    ).to.deep.equal([market.chain.wallet(11).address, market.chain.wallet(10).address]);
    expect(await chainState(running.db)).to.deep.equal(await freshState());
  });

  it("a reorg while the scheduler is stopped is found at restart; the removed deal's offer waits for it and comes back", async function () {
    const dataDir = mkdtempSync(join(tmpdir(), "sunpool-reorg-"));
    let running = await scheduler({ dataDir });
    await publishPoolOrders(running.url, 1);
    const worker = await handWorker(running.url, market.chain.wallet(12));
    await running.tick();
    const forkBlock = await market.chain.provider.getBlockNumber();
    const snapshot = (await rpc("evm_snapshot")) as string;

    // The fork: the book matches a request (the deal's block), the worker is offered its task.
    await request(running.url, 1, "deal");
    const offer = await worker.pull();
    const dealId = offer.dealId.toLowerCase();
    await rpc("evm_mine");
    await rpc("evm_mine");
    await running.tick();
    expect(await cursor(running)).to.equal(forkBlock + 3);
    const held = (await running.db.get<{
      authorization: string;
      lease: string;
    }>("SELECT * FROM replicas WHERE task_id = ?", offer.taskId.toLowerCase()))!;
    expect(held.authorization).to.equal(offer.authorization);
    await running.stop();

    // While it is stopped, the chain drops those blocks and grows longer without the deal.
    expect(await rpc("evm_revert", [snapshot])).to.equal(true);
    for (let i = 0; i < 5; i++) await rpc("evm_mine");
    const hub = (await market.client(0)).hub;
    expect((await hub.deal(dealId)).requester).to.equal("0x0000000000000000000000000000000000000000");

    // Restarted on the same folder, paused: the first pass finds the fork and undoes the deal.
    running = await scheduler({ dataDir, pauseMatching: true });
    expect(await running.db.get("SELECT count(*) AS n FROM deals WHERE deal_id = ?", dealId)).to.deep.equal({ n: 0 });
    expect(await chainState(running.db)).to.deep.equal(await freshState());
    // The offer is not lost: it waits for its deal, and the request is open again.
    expect(await running.db.all("SELECT task_id, worker FROM reorged_replicas")).to.deep.equal([
      { task_id: offer.taskId.toLowerCase(), worker: market.chain.wallet(12).address },
    ]);
    expect(await running.db.all("SELECT status FROM orders WHERE kind = 'request'")).to.deep.equal([{ status: "open" }]);
    expect(await metric(running.url, "sunpool_scheduler_chain_reorg_deepest_blocks")).to.equal(3);
    await running.stop();

    // Matching again on the canonical chain makes the same deal (its id is the request's hash and
    // consumed volume): the offer comes back with its authorization and lease id.
    running = await scheduler({ dataDir });
    await until("the deal made again on the canonical chain", async () => {
      if ((await hub.deal(dealId)).requester === market.chain.wallet(1).address) return true;
      await running.tick();
      return undefined;
    });
    await running.tick();
    const back = (await running.db.get<{
      worker: string;
      state: string;
      authorization: string;
      lease: string;
      lease_until: number;
    }>("SELECT * FROM replicas WHERE task_id = ?", offer.taskId.toLowerCase()))!;
    expect(back).to.deep.include({
      worker: market.chain.wallet(12).address,
      state: "offered",
      authorization: held.authorization,
    });
    expect(back.lease).to.equal(held.lease);
    expect(back.lease_until).to.be.above(Date.now());
    expect(await running.db.get("SELECT count(*) AS n FROM reorged_replicas")).to.deep.equal({ n: 0 });
    expect(await chainState(running.db)).to.deep.equal(await freshState());
  });
});
