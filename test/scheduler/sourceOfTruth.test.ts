// Issue 14, items 7-10: the chain is the source of truth. Each test plays the attacker against a
// real scheduler (real Hardhat node, real SQLite, real IPFS) and asserts the honest outcome:
// - worker requests: a signature re-encoded (v 27 -> 0, 64-byte compact) is a replay, timestamps
//   only go up, strangers of a closed pool are refused before any signature work or write;
// - admission: no stake and not listed, no work; a newcomer declaring 64 slots gets the capped one;
// - order intake: requests for another pool, unfunded or unservable requests and over-quota
//   signers are refused and change nothing; matching reads consumed volumes from a cache;
// - results: a co-replica's poisoned location, over HTTP or even on-chain, is never finalized;
//   an app that fails on several workers ends the task as AppFailed, with nobody blamed.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import {
  AbiCoder,
  concat,
  hexlify,
  Interface,
  JsonRpcProvider,
  keccak256,
  randomBytes,
  sha256,
  Signature,
  toBeHex,
  toUtf8Bytes,
  toUtf8String,
  Wallet,
  ZeroHash,
  type JsonRpcPayload,
  type JsonRpcResult,
  type Signer,
} from "ethers";

import { deposit, withdraw } from "../../sdk/src/actions/account.js";
import { publishOrder } from "../../sdk/src/actions/market.js";
import { run } from "../../sdk/src/actions/run.js";
import { sunpoolHubAbi } from "../../sdk/src/generated/abis.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import { createAppOrder, createRequestOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { orderToJson } from "../../sdk/src/orders/json.js";
import { signOrder } from "../../sdk/src/orders/sign.js";
import { resultDigest } from "../../sdk/src/results/digest.js";
import { decodeTaskParams, encodeTaskParams } from "../../sdk/src/results/params.js";
import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import { signWorkerRequest, WORKER_AUTH_HEADERS } from "../../sdk/src/scheduler/workerAuth.js";
import {
  createWorkerApiClient,
  pullAssignment,
  registerWorker,
  reportTask,
  sendHeartbeat,
  type Assignment,
} from "../../sdk/src/scheduler/workers.js";
import { Dispatcher, DEFAULT_POLICY } from "../../scheduler/src/dispatch/dispatcher.js";
import type { Scheduler, SchedulerOptions } from "../../scheduler/src/index.js";
import { openStore } from "../../scheduler/src/store/store.js";
import { DEFAULT_PROBATION } from "../../scheduler/src/tasks/admission.js";
import { Pool } from "../../scheduler/src/tasks/pool.js";
import { testStore } from "../helpers/postgres.js";
import { startProtocolWorker, type ProtocolWorker } from "../helpers/protocolWorker.js";
import {
  APP_PRICE,
  echoApp,
  POOL_PRICE,
  fundParticipants,
  startMarket,
  startPoolScheduler,
  SUN,
  type TestMarket,
} from "../sdk/helpers/market.js";
import { until } from "../helpers/wait.js";

interface Problem {
  title: string;
  status: number;
  detail: string;
  hint?: string;
}

const OUTLOOK = { stateOfChargePct: 80, pvWatts: 6, loadWatts: 4, awakeSeconds: 36_000 };
const REGISTRATION = { platforms: ["linux/amd64"], cores: 4, memoryMiB: 4096, slots: 1 };
/** TaskOutcome.AppFailed and NoConsensus (contracts/types/Tasks.sol). */
const APP_FAILED = 5n;
const NO_CONSENSUS = 6n;
/**
 * Tasks of deals made from this scheduler's book. A fresh database reads the deals of earlier
 * tests (same chain, same pool) too, but without their params: they are never dispatched.
 */
/** Eight workers that all compute a different result (the hub's cap of contributions per task). */
const DISSENTERS = [12, 13, 14, 15, 16, 17, 18, 19];
const DISPATCHABLE_TASKS = "SELECT count(*) AS n FROM tasks JOIN deals USING (deal_id) WHERE params IS NOT NULL";

describe("scheduler: the chain is the source of truth (issue 14)", function () {
  this.timeout(240_000);
  let market: TestMarket;
  const stopAfter: (() => Promise<void>)[] = [];

  before(async function () {
    market = await startMarket();
    await fundParticipants(market, [4, 6, 7, 8, 9, 10, 11, ...DISSENTERS], { stake: false });
  });

  afterEach(async function () {
    for (const stop of stopAfter.splice(0).reverse()) await stop();
  });

  after(async function () {
    await market.stop();
  });

  const scope = () => ({ chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId });

  async function scheduler(options: Partial<SchedulerOptions> = {}): Promise<Scheduler> {
    // Heartbeats every 30 s: workers driven by hand stay online between their requests.
    const started = await startPoolScheduler(market.chain, market.workerpoolId, { heartbeatSeconds: 30, ...options });
    stopAfter.push(() => started.stop());
    return started;
  }

  async function send(url: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return { status: response.status, json: text.length > 0 ? (JSON.parse(text) as unknown) : undefined };
  }

  async function signed(signer: Signer, method: string, path: string, body: unknown, timestamp = Date.now()) {
    const text = body === undefined ? "" : JSON.stringify(body);
    return { text, headers: await signWorkerRequest(signer, scope(), { method, path, timestamp, body: text }) };
  }

  function expectProblem(response: { status: number; json: unknown }, status: number, detail: RegExp): Problem {
    expect(response.status, JSON.stringify(response.json)).to.equal(status);
    const problem = response.json as Problem;
    expect(problem.detail).to.match(detail);
    expect(problem.title).to.be.a("string").and.not.empty;
    expect(problem.hint).to.be.a("string").and.not.empty;
    return problem;
  }

  const count = async (db: Scheduler["db"], sql: string, ...values: string[]) => (await db.get<{ n: number }>(sql, ...values))!.n;

  async function publishPoolOrders(url: string, trust = 1) {
    const book = createSchedulerClient({ url });
    await publishOrder(await market.client(2), book, {
      kind: "app",
      order: createAppOrder({ app: market.appId, price: APP_PRICE, volume: 1000 }),
    });
    await publishOrder(await market.client(3), book, {
      kind: "workerpool",
      order: createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, volume: 1000, trust, tag: ZeroHash }),
    });
    return book;
  }

  async function requestBody(overrides: Partial<Parameters<typeof createRequestOrder>[0]> = {}, signer = market.chain.wallet(1)) {
    const params = encodeTaskParams({ args: ["issue-14"] });
    const order = createRequestOrder({
      app: market.appId,
      appMaxPrice: APP_PRICE,
      workerpool: market.workerpoolId,
      workerpoolMaxPrice: POOL_PRICE,
      requester: signer.address,
      volume: 1,
      params: params.digest,
      ...overrides,
    });
    const signature = await signOrder(signer, (await market.client(1)).domain, "request", order);
    return JSON.stringify({ kind: "request", order: orderToJson(order), signature, params: params.text });
  }

  /** Runs scheduling passes until `done` holds. */
  async function passes(running: Scheduler, done: () => boolean | Promise<boolean>, what: string) {
    await until(what, async () => {
      await running.tick();
      return (await done()) ? true : undefined;
    });
  }

  /** Registers a worker by hand (signed HTTP) and sends one heartbeat; returns the response of the registration. */
  async function joinPool(url: string, wallet: Signer, registration: object = REGISTRATION, outlook: object = OUTLOOK) {
    const registered = await signed(wallet, "POST", "/v1/workers", registration);
    const response = await send(url, "POST", "/v1/workers", registered.text, registered.headers);
    if (response.status === 200) {
      const beat = await signed(wallet, "POST", "/v1/workers/heartbeat", { outlook });
      expect((await send(url, "POST", "/v1/workers/heartbeat", beat.text, beat.headers)).status).to.equal(200);
    }
    return response;
  }

  const offersByWorker = async (db: Scheduler["db"]) =>
    Object.fromEntries(
      (await db.all<{ worker: string; n: number }>("SELECT worker, count(*) AS n FROM replicas GROUP BY worker")).map((row) => [
        row.worker,
        row.n,
      ]),
    );

  describe("worker requests (item 9)", function () {
    it("a signed request re-encoded (v 27 -> 0, 64-byte compact) is a replay, not a new request", async function () {
      const worker = market.chain.wallet(6);
      const running = await scheduler({ allowedWorkers: [worker.address] });
      const { text, headers } = await signed(worker, "POST", "/v1/workers", REGISTRATION);
      expect((await send(running.url, "POST", "/v1/workers", text, headers)).status).to.equal(200);

      const zeroOne = (signature: string) => {
        const parsed = Signature.from(signature);
        return concat([parsed.r, parsed.s, toBeHex(parsed.v - 27, 1)]);
      };
      const compact = (signature: string) => Signature.from(signature).compactSerialized;
      const signature = String(headers[WORKER_AUTH_HEADERS.signature]);
      expect([zeroOne(signature).length, compact(signature).length]).to.deep.equal([132, 130]);
      for (const encoding of [zeroOne(signature), compact(signature), `0x${signature.slice(2).toUpperCase()}`]) {
        const replay = await send(running.url, "POST", "/v1/workers", text, {
          ...headers,
          [WORKER_AUTH_HEADERS.signature]: encoding,
        });
        expectProblem(replay, 401, /already accepted once/);
      }
      // The encodings themselves are valid: new requests signed so are accepted.
      for (const encode of [zeroOne, compact]) {
        const fresh = await signed(worker, "POST", "/v1/workers/heartbeat", { outlook: OUTLOOK });
        const accepted = await send(running.url, "POST", "/v1/workers/heartbeat", fresh.text, {
          ...fresh.headers,
          [WORKER_AUTH_HEADERS.signature]: encode(String(fresh.headers[WORKER_AUTH_HEADERS.signature])),
        });
        expect(accepted.status, JSON.stringify(accepted.json)).to.equal(200);
      }
    });

    it("a request with a timestamp not after the worker's last accepted one is refused", async function () {
      const worker = market.chain.wallet(6);
      const running = await scheduler({ allowedWorkers: [worker.address] });
      const now = Date.now();
      const first = await signed(worker, "POST", "/v1/workers", REGISTRATION, now);
      expect((await send(running.url, "POST", "/v1/workers", first.text, first.headers)).status).to.equal(200);
      // A different request (another body), signed earlier, captured and sent late.
      for (const timestamp of [now - 1000, now]) {
        const older = await signed(worker, "POST", "/v1/workers/heartbeat", { outlook: OUTLOOK }, timestamp);
        const problem = expectProblem(
          await send(running.url, "POST", "/v1/workers/heartbeat", older.text, older.headers),
          401,
          /is not after the last one accepted from 0x[0-9a-fA-F]{40} \(\d+\)/,
        );
        expect(problem.title).to.equal("stale request");
      }
      const later = await signed(worker, "POST", "/v1/workers/heartbeat", { outlook: OUTLOOK }, now + 1);
      expect((await send(running.url, "POST", "/v1/workers/heartbeat", later.text, later.headers)).status).to.equal(200);
    });

    it("a closed pool refuses strangers before any signature recovery, and nothing a stranger sends is written", async function () {
      const worker = market.chain.wallet(6);
      const running = await scheduler({ allowedWorkers: [worker.address] });
      const stranger = Wallet.createRandom();
      const rows = async () =>
        (await count(running.db, "SELECT count(*) AS n FROM seen_messages")) +
        (await count(running.db, "SELECT count(*) AS n FROM worker_clocks")) +
        (await count(running.db, "SELECT count(*) AS n FROM workers"));
      const before = await rows();
      // A garbage signature: refused as not listed (403), so the signature was never looked at.
      const garbage = await signed(stranger, "POST", "/v1/workers", REGISTRATION);
      expectProblem(
        await send(running.url, "POST", "/v1/workers", garbage.text, {
          ...garbage.headers,
          [WORKER_AUTH_HEADERS.signature]: `0x${"11".repeat(65)}`,
        }),
        403,
        /is not on this pool's list/,
      );
      const valid = await signed(stranger, "POST", "/v1/workers", REGISTRATION);
      expectProblem(await send(running.url, "POST", "/v1/workers", valid.text, valid.headers), 403, /is not on this pool's list/);
      expect(await rows()).to.equal(before);

      // In a pool open to staked workers, a stranger without stake is refused after its signature
      // is checked (its claim must be its own), and still before anything is written.
      const open = await scheduler({ minWorkerStake: SUN, port: 0 });
      const openRows = async () =>
        (await count(open.db, "SELECT count(*) AS n FROM seen_messages")) +
        (await count(open.db, "SELECT count(*) AS n FROM worker_clocks"));
      const broke = await signed(stranger, "POST", "/v1/workers", REGISTRATION);
      expectProblem(await send(open.url, "POST", "/v1/workers", broke.text, broke.headers), 403, /holds 0\.0 SUN in escrow/);
      expect(await openRows()).to.equal(0);
    });
  });

  describe("admission (item 8)", function () {
    it("a worker with no stake and not on the allow list gets no offers", async function () {
      const listed = market.chain.wallet(6);
      const staked = market.chain.wallet(7);
      const broke = market.chain.wallet(8);
      await deposit(await market.client(7), { amount: 2n * SUN });
      const running = await scheduler({
        allowedWorkers: [listed.address],
        minWorkerStake: SUN,
        stakeRefreshSeconds: 0,
      });

      const refused = expectProblem(await joinPool(running.url, broke), 403, /holds 0\.0 SUN in escrow; .* at least 1\.0 SUN/);
      expect(refused.hint).to.match(/sunpool account deposit/);
      expect(running.pool.isRegistered(broke.address)).to.equal(false);
      expect((await joinPool(running.url, staked)).status).to.equal(200);
      expect((await joinPool(running.url, listed)).status).to.equal(200);
      // The staked worker takes its stake back after joining: the chain says it no longer qualifies.
      await withdraw(await market.client(7), { amount: 2n * SUN });

      await publishPoolOrders(running.url);
      expect((await send(running.url, "POST", "/v1/orders", await requestBody({ volume: 3 }))).status).to.equal(201);
      await passes(running, async () => (await count(running.db, "SELECT count(*) AS n FROM replicas")) > 0, "an offer");
      await running.tick();
      // Only the listed worker gets work (one replica: it has no record yet).
      expect(await offersByWorker(running.db)).to.deep.equal({ [listed.address]: 1 });
    });

    it("a self-declared 64-slot, 64-core, mains-powered worker without a record gets at most the capped number of offers", async function () {
      const boaster = market.chain.wallet(9);
      await deposit(await market.client(9), { amount: 2n * SUN });
      const running = await scheduler({ minWorkerStake: SUN });
      const joined = await joinPool(
        running.url,
        boaster,
        { ...REGISTRATION, slots: 64, cores: 64, memoryMiB: 65_536 },
        { stateOfChargePct: 5, pvWatts: 90, loadWatts: 4, awakeSeconds: 600, mainsPowered: true },
      );
      expect(joined.status).to.equal(200);
      const state = running.pool.dispatcher.workers.get(boaster.address)!;
      expect([state.slots, state.cores, state.unproven]).to.deep.equal([DEFAULT_PROBATION.slots, DEFAULT_PROBATION.cores, true]);

      await publishPoolOrders(running.url);
      expect((await send(running.url, "POST", "/v1/orders", await requestBody({ volume: 5 }))).status).to.equal(201);
      await passes(running, async () => (await count(running.db, DISPATCHABLE_TASKS)) === 5, "the deal's tasks");
      await running.tick();
      await running.tick();
      expect(await offersByWorker(running.db)).to.deep.equal({ [boaster.address]: DEFAULT_PROBATION.slots });
    });

    /** A pool on its own store (no chain, no API) with one registered 64-slot worker and one deal's worth of fields. */
    async function lonePool(probationSlots = 1) {
      const folder = mkdtempSync(join(tmpdir(), "sunpool-probation-"));
      const db = await openStore((await testStore(folder)) ?? { sqlite: join(folder, "pool.sqlite") });
      const pool = await Pool.open(db, new Dispatcher(DEFAULT_POLICY), {
        limits: { admitted: () => true, probation: { ...DEFAULT_PROBATION, tasks: 1, slots: probationSlots } },
      });
      const worker = Wallet.createRandom().address;
      await pool.register(
        { address: worker, platforms: ["linux/amd64"], cores: 64, memoryMiB: 65_536, slots: 64, ipfsPeers: [] },
        1,
      );
      await pool.heartbeat(worker, OUTLOOK, 1);
      const deal = (n: number) => ({
        dealId: `0x${n.toString(16).padStart(2, "0").repeat(32)}`,
        requestHash: `0x${(n + 128).toString(16).repeat(32)}`,
        requester: worker,
        trust: 1,
        category: 0,
        volume: 1,
        startDeadline: 2_000_000_000,
        app: {
          id: market.appId,
          owner: worker,
          name: "echo",
          image: "127.0.0.1:5000/echo",
          imageDigest: `sha256:${"ab".repeat(32)}`,
          platforms: ["linux/amd64" as const],
          deterministic: true,
          resources: { memoryMiB: 256, cpuMillicores: 1000, expectedSeconds: 60, maxOutputMiB: 16, network: false },
        },
        params: "{}",
        block: 1,
      });
      return { db, pool, worker, deal };
    }

    it("the caps lift once the worker has its record with the pool", async function () {
      const { db, pool, worker, deal } = await lonePool();
      try {
        expect(pool.dispatcher.workers.get(worker)!.slots).to.equal(1);
        await pool.addDeal(deal(1), 1);
        const [offer] = await pool.planOffers(2, 1);
        await pool.recordOffers([{ taskId: offer!.taskId, worker, authorization: "0x" }], 2);
        const digest = `0x${"ad".repeat(32)}`;
        await pool.onContribution(offer!.taskId, worker, digest, 3);
        await pool.onEnded(offer!.taskId, "completed", digest, 4);
        const state = pool.dispatcher.workers.get(worker)!;
        expect([state.good, state.slots, state.cores, state.unproven]).to.deep.equal([1, 64, 64, undefined]);
      } finally {
        await db.close();
      }
    });

    it("an offer that cannot be recorded (its replica exists) gives the slot planned for it back", async function () {
      const { db, pool, worker, deal } = await lonePool(2);
      try {
        await pool.addDeal(deal(2), 1);
        // Two plans of one task for this worker before either is written (the replica row is what
        // excludes a worker): the second offer is not recorded, and the slot it held is free again.
        const [first] = await pool.planOffers(2, 1);
        const [second] = await pool.planOffers(2, 1);
        expect(second).to.deep.include({ taskId: first!.taskId, worker });
        const state = pool.dispatcher.workers.get(worker)!;
        expect(state.active).to.equal(2);
        expect(await pool.recordOffers([{ taskId: first!.taskId, worker, authorization: "0x" }], 2)).to.equal(1);
        expect(await pool.recordOffers([{ taskId: second!.taskId, worker, authorization: "0x" }], 2)).to.equal(0);
        expect(state.active).to.equal(1);
        expect(await pool.replicas(first!.taskId)).to.have.length(1);
      } finally {
        await db.close();
      }
    });
  });

  describe("order intake (item 10)", function () {
    it("refuses requests for another pool, unfunded or unservable requests, and over-quota signers, and changes nothing", async function () {
      const running = await scheduler({ maxOpenOrdersPerSigner: 2 });
      await publishPoolOrders(running.url);
      const snapshot = async () => await running.db.all("SELECT hash, status FROM orders ORDER BY seq");
      const before = await snapshot();

      const elsewhere = expectProblem(
        await send(running.url, "POST", "/v1/orders", await requestBody({ workerpool: `0x${"ab".repeat(32)}` })),
        422,
        /the request is for workerpool 0x(ab){32}; this book serves workerpool/,
      );
      expect(elsewhere.hint).to.match(/Publish it at the scheduler of that workerpool/);
      // Account 5 holds tokens but deposited none.
      const unfunded = expectProblem(
        await send(running.url, "POST", "/v1/orders", await requestBody({ volume: 3 }, market.chain.wallet(5))),
        422,
        /the requester 0x[0-9a-fA-F]{40} has 0\.0 SUN in escrow; 3 task\(s\) at 3\.0 SUN need 9\.0 SUN/,
      );
      expect(unfunded.hint).to.match(/Deposit at least 9\.0 SUN more/);
      expectProblem(
        await send(running.url, "POST", "/v1/orders", await requestBody({ trust: 5 })),
        422,
        /no open workerpool order of this pool can serve the request: .*serves trust up to 1, you asked for 5/,
      );
      // The app owner has 1 open order; a second is fine, a third is over the quota.
      const book = createSchedulerClient({ url: running.url });
      await publishOrder(await market.client(2), book, {
        kind: "app",
        order: createAppOrder({ app: market.appId, price: APP_PRICE, volume: 10 }),
      });
      const withSecond = await snapshot();
      const third = createAppOrder({ app: market.appId, price: APP_PRICE, volume: 10 });
      const quota = expectProblem(
        await send(
          running.url,
          "POST",
          "/v1/orders",
          JSON.stringify({
            kind: "app",
            order: orderToJson(third),
            signature: await signOrder(market.chain.wallet(2), (await market.client(2)).domain, "app", third),
          }),
        ),
        429,
        /0x[0-9a-fA-F]{40} already has 2 open orders in this book, the most one signer may have/,
      );
      expect(quota.title).to.equal("quota exceeded");
      expect(withSecond).to.have.length(before.length + 1);
      expect(await snapshot()).to.deep.equal(withSecond);
      expect(await count(running.db, "SELECT count(*) AS n FROM orders WHERE kind = 'request'")).to.equal(0);
    });

    it("matching reads consumed volumes from a cache, not once per open order per pass", async function () {
      const consumedSelector = new Interface(sunpoolHubAbi).getFunction("consumed")!.selector;
      const provider = new CountingProvider(market.chain.rpcUrl, consumedSelector);
      stopAfter.push(() => Promise.resolve(provider.destroy()));
      const running = await scheduler({ provider, pollSeconds: 0.1 });
      // Ten app orders, one workerpool order: eleven open orders for every matching pass to look at.
      const book = await publishPoolOrders(running.url);
      for (let i = 0; i < 9; i++) {
        await publishOrder(await market.client(2), book, {
          kind: "app",
          order: createAppOrder({ app: market.appId, price: APP_PRICE + BigInt(i + 1), volume: 100 }),
        });
      }
      const openOrders = await count(running.db, "SELECT count(*) AS n FROM orders WHERE status = 'open'");
      expect(openOrders).to.equal(11);
      provider.calls = 0;
      const requests = 3;
      for (let i = 0; i < requests; i++) {
        expect((await send(running.url, "POST", "/v1/orders", await requestBody({ volume: 2 }))).status).to.equal(201);
      }
      await passes(
        running,
        async () => (await count(running.db, "SELECT count(*) AS n FROM deals WHERE params IS NOT NULL")) === requests,
        "the deals",
      );
      for (let i = 0; i < 5; i++) await running.tick();
      // Intake reads each new request's volume once; the passes read nothing the cache knows.
      expect(provider.calls).to.be.at.most(requests + 2);
      expect(provider.calls).to.be.below(openOrders);
    });
  });

  describe("results come from the chain (item 7)", function () {
    async function startIpfs(): Promise<IpfsNode> {
      const node = await createIpfsNode();
      stopAfter.push(() => node.stop());
      return node;
    }

    /** A worker driven by hand: it does the work honestly on-chain, and says what it likes over HTTP. */
    async function handWorker(url: string, wallet: Wallet, ipfs?: IpfsNode) {
      const client = createWorkerApiClient({ url, signer: wallet, scope: scope() });
      await registerWorker(client, { ...REGISTRATION, platforms: ["linux/amd64"], ipfsPeers: ipfs?.multiaddrs() ?? [] });
      // No heartbeat timer: every signed request counts as a sign of life, and one client's
      // requests are sent one at a time (its timestamps must arrive in order).
      await sendHeartbeat(client, { outlook: OUTLOOK, running: [] });
      return {
        client,
        async pull(): Promise<Assignment> {
          // Each pull is a one-second long poll: no pause between them.
          return until("an assignment", () => pullAssignment(client, { waitSeconds: 1 }), 200_000, 0);
        },
      };
    }

    async function untilTask(taskId: string, check: (task: { status: bigint; revealCount: bigint }) => boolean) {
      const hub = (await market.client(0)).hub;
      await until(`task ${taskId} on chain`, async () => (check(await hub.task(taskId)) ? true : undefined), 60_000);
    }

    interface Vote {
      assignment: Assignment;
      digest: string;
      salt: string;
      index: number;
    }

    /** Contributes a hidden vote for `digest` as the node's account `index`. */
    async function contributeAs(index: number, assignment: Assignment, digest: string): Promise<Vote> {
      const salt = hexlify(randomBytes(32));
      const commitment = keccak256(
        AbiCoder.defaultAbiCoder().encode(
          ["bytes32", "bytes32", "address", "bytes32"],
          [assignment.taskId, digest, market.chain.wallet(index).address, salt],
        ),
      );
      const hub = (await market.client(index)).hub;
      await (
        await hub.contribute(
          assignment.dealId,
          assignment.index,
          commitment,
          { milliwattHours: 1, solarShareBps: 0 },
          assignment.authorization,
        )
      ).wait();
      return { assignment, digest, salt, index };
    }

    async function revealAs(vote: Vote, location = "none"): Promise<void> {
      const hub = (await market.client(vote.index)).hub;
      await (
        await hub.reveal(vote.assignment.dealId, vote.assignment.index, vote.digest, vote.salt, toUtf8Bytes(location))
      ).wait();
    }

    for (const variant of ["over HTTP", "on-chain too"] as const) {
      it(`a co-replica's poisoned result location (${variant}) is not what the scheduler pins and finalizes`, async function () {
        const running = await scheduler({ heartbeatSeconds: 5 });
        const book = await publishPoolOrders(running.url, 3);
        const cheatIpfs = await startIpfs();
        const honestIpfs = await startIpfs();
        const cheatWallet = market.chain.wallet(10);
        await deposit(await market.client(10), { amount: 5n * SUN });
        await deposit(await market.client(11), { amount: 5n * SUN });
        const cheat = await handWorker(running.url, cheatWallet, cheatIpfs);

        const outcome = run(await market.client(1), {
          scheduler: book,
          app: market.appId,
          trust: 3,
          params: { args: ["poison", variant] },
          timeoutMs: 180_000,
        });
        outcome.catch(() => undefined);
        const assignment = await cheat.pull();
        // The cheat computes the right result (it wants to be paid) and publishes it...
        const files = echoApp(decodeTaskParams(assignment.params, sha256(toUtf8Bytes(assignment.params))), assignment.index);
        const digest = resultDigest(files);
        const honestLocation = await cheatIpfs.addFiles(files);
        // ...and something else, which it serves too, to have the pool pin and deliver instead.
        const poison = await cheatIpfs.addFiles([{ path: "echo.txt", content: toUtf8Bytes("buy my token\n") }]);
        const salt = hexlify(randomBytes(32));
        const commitment = keccak256(
          AbiCoder.defaultAbiCoder().encode(
            ["bytes32", "bytes32", "address", "bytes32"],
            [assignment.taskId, digest, cheatWallet.address, salt],
          ),
        );
        const hub = (await market.client(10)).hub;
        await (
          await hub.contribute(
            assignment.dealId,
            assignment.index,
            commitment,
            { milliwattHours: 1, solarShareBps: 0 },
            assignment.authorization,
          )
        ).wait();
        await reportTask(cheat.client, assignment.taskId, { state: "contributed", resultLocation: poison });
        // The honest co-replica joins once the cheat has contributed (trust 3: two replicas), so
        // the cheat's reveal comes first in contribution order.
        const honest: ProtocolWorker = await startProtocolWorker({
          url: running.url,
          deployment: market.chain.deployment,
          workerpool: market.workerpoolId,
          wallet: market.chain.wallet(11),
          ipfs: honestIpfs,
          app: echoApp,
          heartbeatMs: 1000,
        });
        stopAfter.push(() => honest.stop());
        // The cheat reveals after the honest worker (one reveal at a time: the last one of a
        // round costs more gas than an estimate made before the other was mined).
        await untilTask(assignment.taskId, (task) => task.status === 2n && task.revealCount === 1n);
        const revealed = variant === "over HTTP" ? honestLocation : poison;
        await (await hub.reveal(assignment.dealId, assignment.index, digest, salt, toUtf8Bytes(revealed))).wait();
        await reportTask(cheat.client, assignment.taskId, { state: "revealed", resultLocation: poison });

        const result = await outcome;
        const [task] = result.tasks;
        expect(task!.outcome).to.equal("completed");
        expect(task!.resultDigest).to.equal(digest);
        expect(task!.resultLocation).to.not.equal(poison);
        const [ended] = await hub.queryFilter(hub.filters.TaskEnded(task!.dealId));
        expect(toUtf8String(ended!.args.resultLocation)).to.equal(task!.resultLocation);
        // The requester saw the end on-chain; one more pass and the scheduler has read it too.
        await running.tick();
        // What the pool pinned for the task serves the consensus result.
        const pinned = await running.db.all<{ cid: string }>("SELECT cid FROM pins");
        expect(pinned.map((row) => row.cid)).to.include(task!.resultLocation);
        if (variant === "over HTTP") expect(pinned.map((row) => row.cid)).to.not.include(poison);
        // The report never put the poison anywhere the scheduler reads a location from.
        expect(await count(running.db, "SELECT count(*) AS n FROM contributions WHERE location = ?", poison)).to.equal(
          variant === "over HTTP" ? 0 : 1,
        );
        expect(await count(running.db, "SELECT count(*) AS n FROM replicas WHERE location = ?", poison)).to.equal(0);
        expect(honest.errors).to.deep.equal([]);
      });
    }

    it("a task that used all 8 contribution slots without consensus ends as NoConsensus", async function () {
      const running = await scheduler();
      await publishPoolOrders(running.url, 3);
      // Eight workers driven by hand, one step at a time: each contributes a result of its own and
      // reveals it when its round closes.
      const workers = new Map<string, { hand: Awaited<ReturnType<typeof handWorker>>; index: number }>();
      for (const index of DISSENTERS) {
        await deposit(await market.client(index), { amount: 2n * SUN });
        workers.set(market.chain.wallet(index).address, {
          hand: await handWorker(running.url, market.chain.wallet(index)),
          index,
        });
      }
      expect((await send(running.url, "POST", "/v1/orders", await requestBody({ trust: 3 }))).status).to.equal(201);
      const pending = new Map<string, Vote>();
      const task = async () =>
        await running.db.get<{ task_id: string; deal_id: string; idx: number; status: string; outcome: string | null }>(
          "SELECT t.* FROM tasks t JOIN deals d USING (deal_id) WHERE d.params IS NOT NULL",
        );
      const hub = (await market.client(0)).hub;
      // Each step: a pass, every offer contributed to, every pending vote revealed once the round allows.
      await until(
        "the task to end without consensus",
        async () => {
          if ((await task())?.status === "ended") return true;
          await running.tick();
          const offered = await running.db.all<{ worker: string }>("SELECT worker FROM replicas WHERE state = 'offered'");
          for (const { worker } of offered) {
            const { hand, index } = workers.get(worker)!;
            pending.set(
              worker,
              await contributeAs(index, await hand.pull(), keccak256(toUtf8Bytes(`my own opinion: ${worker}`))),
            );
          }
          const current = await task();
          if (current !== undefined && (await hub.task(current.task_id)).status === 2n) {
            for (const [worker, vote] of pending) {
              await revealAs(vote);
              pending.delete(worker);
            }
          }
          return undefined;
        },
        120_000,
        50,
      );
      const ended = (await task())!;
      expect(ended.outcome).to.equal("no-consensus");
      expect(await hub.taskOutcome(ended.deal_id, ended.idx)).to.equal(NO_CONSENSUS);
      expect(await hub.queryFilter(hub.filters.ContributionAccepted(ended.task_id))).to.have.length(8);
      // Ended by the scheduler (fail), long before any deadline would let anyone claim it.
      const [event] = await hub.queryFilter(hub.filters.TaskEnded(ended.deal_id));
      expect((await event!.getTransaction()).from).to.equal(market.chain.wallet(3).address);
    });

    it("an app that fails on two distinct workers ends the task as AppFailed, and neither worker is blamed", async function () {
      const running = await scheduler({ failAfter: 2 });
      await publishPoolOrders(running.url);
      const first = await handWorker(running.url, market.chain.wallet(6), await startIpfs());
      const second = await handWorker(running.url, market.chain.wallet(7), await startIpfs());
      const requester = await market.client(1);
      expect((await send(running.url, "POST", "/v1/orders", await requestBody())).status).to.equal(201);

      // Whoever gets the task reports the app crashing; it goes to the other, which does too.
      const workers = new Map([
        [market.chain.wallet(6).address, first],
        [market.chain.wallet(7).address, second],
      ]);
      let assignment: Assignment | undefined;
      for (let failures = 0; failures < 2; failures++) {
        const offered = async () =>
          await running.db.get<{ worker: string }>("SELECT worker FROM replicas WHERE state = 'offered'");
        await passes(running, async () => (await offered()) !== undefined, "an offer");
        const worker = workers.get((await offered())!.worker)!;
        workers.delete((await offered())!.worker);
        const pulled = await pullAssignment(worker.client, { waitSeconds: 0 });
        if (assignment !== undefined) expect(pulled?.taskId).to.equal(assignment.taskId);
        assignment = pulled;
        await reportTask(worker.client, pulled!.taskId, { state: "failed", reason: "exit code 139 (segmentation fault)" });
      }
      const { taskId, dealId, index } = assignment!;
      await passes(running, async () => (await running.pool.task(taskId))?.status === "ended", "the task to end");
      expect(await requester.hub.taskOutcome(dealId, index)).to.equal(APP_FAILED);
      expect((await running.pool.task(taskId))!.outcome).to.equal("app-failed");
      const records = await running.db.all<{
        address: string;
        good: number;
        bad: number;
      }>("SELECT address, good, bad FROM workers ORDER BY address");
      expect(records.map((row) => [row.good, row.bad])).to.deep.equal([
        [0, 0],
        [0, 0],
      ]);
      expect((await running.pool.replicas(taskId)).map((replica) => replica.state)).to.deep.equal(["failed", "failed"]);
    });

    // Last in the file: it moves the chain's clock forward.
    it("a round a contributor never reveals is reopened after its reveal deadline, and the task gets a new replica", async function () {
      const running = await scheduler();
      await publishPoolOrders(running.url, 3);
      const [talker, mute, third] = [6, 7, 8];
      const hands = new Map<string, { hand: Awaited<ReturnType<typeof handWorker>>; index: number }>();
      for (const index of [talker, mute]) {
        await deposit(await market.client(index), { amount: 2n * SUN });
        hands.set(market.chain.wallet(index).address, { hand: await handWorker(running.url, market.chain.wallet(index)), index });
      }
      expect((await send(running.url, "POST", "/v1/orders", await requestBody({ trust: 3 }))).status).to.equal(201);
      await passes(
        running,
        async () => (await count(running.db, "SELECT count(*) AS n FROM replicas WHERE state = 'offered'")) === 2,
        "two offers",
      );
      const votes = new Map<number, Vote>();
      for (const { worker } of await running.db.all<{
        worker: string;
      }>("SELECT worker FROM replicas WHERE state = 'offered'")) {
        const { hand, index } = hands.get(worker)!;
        votes.set(index, await contributeAs(index, await hand.pull(), keccak256(toUtf8Bytes("the answer"))));
      }
      const { taskId, dealId } = votes.get(talker)!.assignment;
      const hub = (await market.client(0)).hub;
      expect((await hub.task(taskId)).status).to.equal(2n);
      await revealAs(votes.get(talker)!);
      // A third worker is there to take the next round; the mute contributor never reveals.
      await deposit(await market.client(third), { amount: 2n * SUN });
      const newcomer = await handWorker(running.url, market.chain.wallet(third));
      await running.tick();
      expect((await running.pool.replicas(taskId)).map((replica) => replica.state)).to.have.members(["revealed", "reveal"]);

      await market.chain.increaseTime(2 * 300 + 1);
      await passes(running, async () => (await running.pool.task(taskId))?.status === "active", "the reopened round");
      const [reopened] = await hub.queryFilter(hub.filters.TaskReopened(taskId));
      expect(reopened!.args.round).to.equal(1n);
      expect((await reopened!.getTransaction()).from).to.equal(market.chain.wallet(3).address);
      const replicas = async () =>
        Object.fromEntries((await running.pool.replicas(taskId)).map((replica) => [replica.worker, replica.state]));
      await passes(
        running,
        async () => (await replicas())[market.chain.wallet(third).address] === "offered",
        "an offer to the third worker",
      );
      expect(await replicas()).to.deep.equal({
        [market.chain.wallet(talker).address]: "revealed",
        [market.chain.wallet(mute).address]: "silent",
        [market.chain.wallet(third).address]: "offered",
      });
      expect((await newcomer.pull()).taskId).to.equal(taskId);
      expect(await hub.taskOutcome(dealId, 0)).to.equal(0n);
    });
  });
});

/** A JSON-RPC provider that counts `hub.consumed` calls (the chain itself is real). */
class CountingProvider extends JsonRpcProvider {
  calls = 0;

  constructor(
    url: string,
    private readonly selector: string,
  ) {
    super(url, undefined, { cacheTimeout: -1, pollingInterval: 200 });
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    for (const call of Array.isArray(payload) ? payload : [payload]) {
      const [transaction] = call.params as [{ data?: string } | undefined];
      if (call.method === "eth_call" && transaction?.data?.startsWith(this.selector) === true) this.calls += 1;
    }
    return super._send(payload);
  }
}
