// Every endpoint of the scheduler against bad input: malformed, oversized, wrongly signed,
// replayed. Each refusal must be an RFC 9457 problem that says what was wrong and what to do,
// and must change nothing.
import { expect } from "chai";
import { Wallet, ZeroHash, type Signer } from "ethers";

import { createAppOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { orderToJson } from "../../sdk/src/orders/json.js";
import { signOrder } from "../../sdk/src/orders/sign.js";
import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import { REQUESTER_AUTH_HEADERS, signRequest } from "../../sdk/src/scheduler/signedRequests.js";
import { getPoolTask } from "../../sdk/src/scheduler/tasks.js";
import { signWorkerRequest, WORKER_AUTH_HEADERS } from "../../sdk/src/scheduler/workerAuth.js";
import { createWorkerApiClient, registerWorker, type WorkerRegistration } from "../../sdk/src/scheduler/workers.js";
import type { Scheduler } from "../../scheduler/src/index.js";
import { APP_PRICE, startMarket, startPoolScheduler, type TestMarket } from "../sdk/helpers/market.js";

interface Problem {
  title: string;
  status: number;
  detail: string;
  hint?: string;
  field?: string;
}

describe("scheduler: API input handling", function () {
  this.timeout(120_000);
  let market: TestMarket;
  let scheduler: Scheduler;
  let worker: Wallet;
  const stranger = Wallet.createRandom();

  before(async function () {
    market = await startMarket();
    worker = market.chain.wallet(4);
    scheduler = await startPoolScheduler(market.chain, market.workerpoolId, {
      allowedWorkers: [worker.address, market.chain.wallet(6).address],
      rateLimitPerMinute: 100_000,
    });
  });

  after(async function () {
    await scheduler.stop();
    await market.stop();
  });

  const scope = () => ({ chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId });

  async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${scheduler.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get("content-type") ?? "",
      json: text.length > 0 ? (JSON.parse(text) as unknown) : undefined,
    };
  }

  async function signed(signer: Signer, method: string, path: string, body: unknown, timestamp = Date.now()) {
    const text = body === undefined ? "" : JSON.stringify(body);
    const headers = await signWorkerRequest(signer, scope(), { method, path, timestamp, body: text });
    return { text, headers };
  }

  function expectProblem(response: { status: number; type: string; json: unknown }, status: number, detail: RegExp) {
    expect(response.status, JSON.stringify(response.json)).to.equal(status);
    expect(response.type).to.match(/application\/problem\+json/);
    const problem = response.json as Problem;
    expect(problem.status).to.equal(status);
    expect(problem.detail).to.match(detail);
    return problem;
  }

  async function appOrderBody(overrides: { signer?: Wallet; price?: bigint } = {}) {
    const order = createAppOrder({ app: market.appId, price: overrides.price ?? APP_PRICE, volume: 5 });
    const signature = await signOrder(overrides.signer ?? market.chain.wallet(2), (await market.client(2)).domain, "app", order);
    return { kind: "app", order: orderToJson(order), signature };
  }

  describe("order book", function () {
    it("refuses malformed, oversized and unknown-field bodies with the offending field", async function () {
      expectProblem(await send("POST", "/v1/orders", "{not json"), 400, /not valid JSON/);
      const body = await appOrderBody();
      const extra = expectProblem(
        await send("POST", "/v1/orders", JSON.stringify({ ...body, order: { ...body.order, evil: "1" } })),
        400,
        /order/,
      );
      expect(extra.hint).to.match(/openapi/);
      const badHash = expectProblem(
        await send("POST", "/v1/orders", JSON.stringify({ ...body, order: { ...body.order, app: "0x1234" } })),
        400,
        /must/,
      );
      expect(badHash.field).to.match(/^body\/order/);
      const huge = JSON.stringify({ ...body, params: "x".repeat(300 * 1024) });
      expectProblem(await send("POST", "/v1/orders", huge), 413, /too large|body/i);
      expectProblem(await send("GET", "/v1/orders?kind=bogus"), 400, /querystring\/kind/);
      expectProblem(await send("GET", "/v1/orders?kind=app&cursor=-3"), 400, /cursor/);
      expectProblem(await send("GET", "/v1/orders/0x1234"), 400, /params\/hash/);
      expectProblem(await send("GET", `/v1/orders/${ZeroHash}`), 404, /no order/);
      expectProblem(await send("GET", "/v1/nowhere"), 404, /no route GET \/v1\/nowhere/);
      const listed = (await send("GET", "/v1/orders?kind=app&status=any")).json as { orders: unknown[] };
      expect(listed.orders).to.deep.equal([]);
    });

    it("refuses orders signed by the wrong key or for another pool, and a replayed order changes nothing", async function () {
      const forged = await appOrderBody({ signer: market.chain.wallet(5) });
      const problem = expectProblem(await send("POST", "/v1/orders", JSON.stringify(forged)), 422, /signed by 0x.*, not by 0x/);
      expect(problem.field).to.equal("/signature");
      const garbage = { ...(await appOrderBody()), signature: `0x${"11".repeat(65)}` };
      expectProblem(await send("POST", "/v1/orders", JSON.stringify(garbage)), 422, /not a valid signature|signed by/);

      const other = createWorkerpoolOrder({ workerpool: `0x${"ab".repeat(32)}`, price: 1n, volume: 1, trust: 1, tag: ZeroHash });
      const otherBody = {
        kind: "workerpool",
        order: orderToJson(other),
        signature: await signOrder(market.chain.wallet(3), (await market.client(3)).domain, "workerpool", other),
      };
      expectProblem(await send("POST", "/v1/orders", JSON.stringify(otherBody)), 422, /this book serves workerpool/);

      const good = await appOrderBody({ price: 7n });
      expect((await send("POST", "/v1/orders", JSON.stringify(good))).status).to.equal(201);
      const again = await send("POST", "/v1/orders", JSON.stringify(good));
      expect(again.status).to.equal(200);
      const listed = (await send("GET", "/v1/orders?kind=app")).json as { orders: { hash: string }[] };
      expect(listed.orders).to.have.length(1);
      // Unpublishing a live order is refused: only its signer can end it, on-chain.
      expectProblem(await send("DELETE", `/v1/orders/${listed.orders[0]!.hash}`), 409, /still has volume on-chain/);
    });
  });

  describe("worker API", function () {
    const registration: WorkerRegistration = { platforms: ["linux/arm64"], cores: 4, memoryMiB: 4096, slots: 1 };

    it("refuses unsigned, wrongly signed, altered, stale and replayed requests", async function () {
      const path = "/v1/workers";
      expectProblem(await send("POST", path, JSON.stringify(registration)), 401, /x-sunpool-worker header is missing/);

      const { text, headers } = await signed(worker, "POST", path, registration);
      const impostor = { ...headers, [WORKER_AUTH_HEADERS.worker]: market.chain.wallet(6).address };
      expectProblem(await send("POST", path, text, impostor), 401, /signed by 0x.*, not by 0x/);
      expectProblem(
        await send("POST", path, JSON.stringify({ ...registration, cores: 64 }), headers),
        401,
        /signed by .* \(wrong key, or the request was altered\)/,
      );
      const otherPool = await signWorkerRequest(
        worker,
        { ...scope(), workerpool: `0x${"cd".repeat(32)}` },
        { method: "POST", path, timestamp: Date.now(), body: text },
      );
      expectProblem(await send("POST", path, text, otherPool), 401, /not by/);
      const stale = await signed(worker, "POST", path, registration, Date.now() - 10 * 60_000);
      expectProblem(await send("POST", path, stale.text, stale.headers), 401, /more than 5 minutes/);

      expect((await send("POST", path, text, headers)).status).to.equal(200);
      expectProblem(await send("POST", path, text, headers), 401, /already accepted once/);
    });

    it("the SDK's worker client signs again and resends a request another one overtook (refused as stale)", async function () {
      // Two requests in flight at once: the one signed later arrives first, so the earlier
      // signature is stale on arrival. The client must resend it with a fresh one.
      const held: { request: Request; deliver: (response: Promise<Response>) => void }[] = [];
      const statuses: number[] = [];
      const send = async (request: Request) => {
        const response = await fetch(request);
        statuses.push(response.status);
        return response;
      };
      const reordering = (request: Request) =>
        new Promise<Response>((deliver) => {
          if (held.length === 2 || statuses.length > 0) return deliver(send(request));
          held.push({ request, deliver });
          if (held.length < 2) return;
          const timestamp = (entry: (typeof held)[number]) => Number(entry.request.headers.get(WORKER_AUTH_HEADERS.timestamp));
          const [later, earlier] = [...held].sort((a, b) => timestamp(b) - timestamp(a));
          const first = send(later!.request);
          later!.deliver(first);
          earlier!.deliver(first.then(() => send(earlier!.request)));
        });
      const client = createWorkerApiClient({
        url: scheduler.url,
        signer: worker,
        scope: scope(),
        fetch: reordering as typeof fetch,
      });
      const records = await Promise.all([
        registerWorker(client, { ...registration, cores: 2 }),
        registerWorker(client, { ...registration, cores: 3 }),
      ]);
      expect(records.map((record) => record.address.toLowerCase())).to.deep.equal([
        worker.address.toLowerCase(),
        worker.address.toLowerCase(),
      ]);
      expect(statuses).to.deep.equal([200, 401, 200]);
    });

    it("refuses workers not admitted or not registered, and bad reports, outlooks and pins", async function () {
      const outsider = await signed(stranger, "POST", "/v1/workers", registration);
      expectProblem(await send("POST", "/v1/workers", outsider.text, outsider.headers), 403, /not on this pool's list/);

      const newcomer = market.chain.wallet(6);
      const early = await signed(newcomer, "POST", "/v1/workers/heartbeat", {
        outlook: { stateOfChargePct: 50, pvWatts: 1, loadWatts: 3, awakeSeconds: 600 },
      });
      expectProblem(await send("POST", "/v1/workers/heartbeat", early.text, early.headers), 404, /has not registered/);

      const joined = await signed(worker, "POST", "/v1/workers", registration);
      expect((await send("POST", "/v1/workers", joined.text, joined.headers)).status).to.equal(200);
      const badOutlook = await signed(worker, "POST", "/v1/workers/heartbeat", {
        outlook: { stateOfChargePct: 140, pvWatts: 1, loadWatts: 3, awakeSeconds: 600 },
      });
      expectProblem(
        await send("POST", "/v1/workers/heartbeat", badOutlook.text, badOutlook.headers),
        400,
        /stateOfChargePct must be <= 100/,
      );

      // A heartbeat (no admission step: freshness is checked only where the request is recorded)
      // is taken once; the same bytes again, or one signed before it, are refused.
      const outlook = { stateOfChargePct: 50, pvWatts: 1, loadWatts: 3, awakeSeconds: 600 };
      const before = await signed(worker, "POST", "/v1/workers/heartbeat", { outlook }, Date.now() - 1000);
      const beat = await signed(worker, "POST", "/v1/workers/heartbeat", { outlook });
      expect((await send("POST", "/v1/workers/heartbeat", beat.text, beat.headers)).status).to.equal(200);
      expectProblem(await send("POST", "/v1/workers/heartbeat", beat.text, beat.headers), 401, /already accepted once/);
      expectProblem(await send("POST", "/v1/workers/heartbeat", before.text, before.headers), 401, /is not after the last one/);

      const taskPath = `/v1/workers/tasks/${ZeroHash}/report`;
      const report = await signed(worker, "POST", taskPath, { state: "submitted" });
      expectProblem(await send("POST", taskPath, report.text, report.headers), 404, /is not assigned to/);
      const badState = await signed(worker, "POST", taskPath, { state: "finished" });
      expectProblem(
        await send("POST", taskPath, badState.text, badState.headers),
        400,
        /state must be equal to one of the allowed values/,
      );

      const pin = await signed(worker, "POST", "/v1/workers/pins", { cid: "not-a-cid" });
      expectProblem(await send("POST", "/v1/workers/pins", pin.text, pin.headers), 400, /not-a-cid/);

      const pull = await signed(worker, "POST", "/v1/workers/assignments?waitSeconds=0", undefined);
      const nothing = await send("POST", "/v1/workers/assignments?waitSeconds=0", undefined, pull.headers);
      expect(nothing.status).to.equal(204);
    });

    it("a requester's signature is not a worker's: sent under x-sunpool-worker it does not verify", async function () {
      const body = JSON.stringify(registration);
      const headers = await signRequest("requester", worker, scope(), {
        method: "POST",
        path: "/v1/workers",
        timestamp: Date.now(),
        body,
      });
      const { [REQUESTER_AUTH_HEADERS.requester]: address, ...rest } = headers;
      expectProblem(
        await send("POST", "/v1/workers", body, { ...rest, [WORKER_AUTH_HEADERS.worker]: address! }),
        401,
        /signed by 0x.*, not by 0x/,
      );
    });

    it("reports health, status and metrics", async function () {
      const health = await send("GET", "/healthz");
      expect(health.status).to.equal(200);
      expect((health.json as { status: string }).status).to.equal("ok");
      const status = (await send("GET", "/v1/status")).json as { workers: { online: number } };
      expect(status.workers.online).to.equal(1);
      const metrics = await fetch(`${scheduler.url}/metrics`).then((response) => response.text());
      expect(metrics).to.match(/sunpool_scheduler_workers\{state="online"\} 1/);
      expect(metrics).to.match(/sunpool_scheduler_requests_rejected_total\{status="401"\} [1-9]/);
    });
  });

  describe("task API", function () {
    const taskId = `0x${"7a".repeat(32)}`;
    const dealId = `0x${"7d".repeat(32)}`;
    const failing = { first: Wallet.createRandom().address, second: Wallet.createRandom().address };
    const logTail = "starting\nsecret input: 42\nboom: the app was asked to fail\n";

    before(async function () {
      // A task that ended as app-failed after two workers reported the app failing. Written
      // directly: the chain and Docker flows are covered by test/e2e/devnet.test.ts.
      const db = scheduler.db;
      const now = Date.now();
      await db.run(
        `INSERT INTO deals (deal_id, request_hash, requester, trust, category, volume, start_deadline, app, dataset, params, block)
         VALUES (?, ?, ?, 1, 0, 1, 0, '{}', NULL, NULL, 0)`,
        dealId,
        ZeroHash,
        market.chain.wallet(1).address,
      );
      await db.run(
        "INSERT INTO tasks (task_id, deal_id, idx, status, outcome, deadline, queued_at) VALUES (?, ?, 0, 'ended', 'app-failed', 100, ?)",
        taskId,
        dealId,
        now,
      );
      const replica = (...values: (string | number)[]) =>
        db.run(
          "INSERT INTO replicas (task_id, worker, state, authorization, offered_at, updated_at, reason, log_tail) VALUES (?, ?, 'failed', '0x', ?, ?, ?, ?)",
          ...values,
        );
      await replica(taskId, failing.first, now - 2000, now - 1500, "failed: exited with code 3", logTail);
      await replica(taskId, failing.second, now - 1000, now - 500, "failed: exited with code 3", logTail);
    });

    const book = () => createSchedulerClient({ url: scheduler.url });

    it("serves the task to anyone, without log tails unless the deal's requester signed the request", async function () {
      const anonymous = await getPoolTask(book(), { taskId });
      expect(anonymous).to.deep.include({
        taskId,
        dealId,
        index: 0,
        requester: market.chain.wallet(1).address,
        status: "ended",
        outcome: "app-failed",
        failAfter: 2,
        contributions: 0,
        logTailsWithheld: true,
      });
      expect(anonymous.replicas.map((replica) => [replica.worker, replica.state, replica.reason, replica.logTail])).to.deep.equal(
        [
          [failing.first, "failed", "failed: exited with code 3", undefined],
          [failing.second, "failed", "failed: exited with code 3", undefined],
        ],
      );
      expect(anonymous.hint).to.equal(
        "The request was not signed: log tails may hold the requester's data and go to the requester only. Sign the request with the requester's wallet (sunpool task show with that wallet, or the SDK's getPoolTask with its signer).",
      );

      const other = market.chain.wallet(5);
      const stranger = await getPoolTask(book(), { taskId, signer: other });
      expect(stranger.logTailsWithheld).to.equal(true);
      expect(stranger.replicas.every((replica) => replica.logTail === undefined)).to.equal(true);
      expect(stranger.hint).to.match(
        new RegExp(
          `^The request was signed by ${other.address}, not by the deal's requester ${market.chain.wallet(1).address}: `,
        ),
      );

      const requester = await getPoolTask(book(), { taskId, signer: market.chain.wallet(1) });
      expect(requester.logTailsWithheld).to.equal(false);
      expect(requester.hint).to.equal(undefined);
      expect(requester.replicas.map((replica) => replica.logTail)).to.deep.equal([logTail, logTail]);
    });

    it("keeps a worker's reported energy split with its replica for the task view, refuses one out of bounds, and admission never reads it", async function () {
      const reported = `0x${"7c".repeat(32)}`;
      const now = Date.now();
      await scheduler.db.run(
        "INSERT INTO tasks (task_id, deal_id, idx, status, outcome, deadline, queued_at) VALUES (?, ?, 1, 'ended', 'completed', 100, ?)",
        reported,
        dealId,
        now,
      );
      await scheduler.db.run(
        "INSERT INTO replicas (task_id, worker, state, authorization, offered_at, updated_at) VALUES (?, ?, 'done', '0x', ?, ?)",
        reported,
        worker.address,
        now - 1000,
        now - 500,
      );
      const joined = await signed(worker, "POST", "/v1/workers", {
        platforms: ["linux/arm64"],
        cores: 4,
        memoryMiB: 4096,
        slots: 1,
      });
      expect((await send("POST", "/v1/workers", joined.text, joined.headers)).status).to.equal(200);
      const appEnergy = async () => await scheduler.db.all("SELECT * FROM app_energy ORDER BY app");
      const learned = await appEnergy();

      const path = `/v1/workers/tasks/${reported}/report`;
      const refused: [unknown, RegExp][] = [
        [{ pvWh: -0.001, batteryWh: 0, mainsWh: 0 }, /energySplit\/pvWh must be >= 0/],
        [{ pvWh: 0.2, batteryWh: 10_000.5, mainsWh: 0 }, /energySplit\/batteryWh must be <= 10000/],
        [{ pvWh: 0.2, batteryWh: 0.1 }, /energySplit must have required property 'mainsWh'/],
        [{ pvWh: "0.2x", batteryWh: 0, mainsWh: 0 }, /energySplit\/pvWh must be number/],
      ];
      for (const [energySplit, detail] of refused) {
        const bad = await signed(worker, "POST", path, { state: "submitted", energySplit });
        const problem = expectProblem(await send("POST", path, bad.text, bad.headers), 400, detail);
        expect(problem.field).to.match(/^body\/energySplit/);
      }
      expect((await getPoolTask(book(), { taskId: reported })).replicas[0]!.energySplit).to.equal(undefined);

      const split = { pvWh: 0.2875, batteryWh: 0.0125, mainsWh: 0.004 };
      const good = await signed(worker, "POST", path, { state: "submitted", energySplit: split });
      const ack = await send("POST", path, good.text, good.headers);
      expect(ack.status, JSON.stringify(ack.json)).to.equal(200);
      // A later report without a split keeps it.
      const later = await signed(worker, "POST", path, { state: "revealed" });
      expect((await send("POST", path, later.text, later.headers)).status).to.equal(200);
      const view = await getPoolTask(book(), { taskId: reported });
      expect(view.replicas).to.have.length(1);
      expect(view.replicas[0]).to.deep.include({ worker: worker.address, state: "done", energySplit: split });
      // Informational only: what the pool learns each app's energy from is untouched.
      expect(await appEnergy()).to.deep.equal(learned);
    });

    it("refuses an unknown task with what to do, and a requester signature that does not verify or is replayed", async function () {
      const unknown = expectProblem(
        await send("GET", `/v1/tasks/${ZeroHash}`),
        404,
        new RegExp(`this pool has no task ${ZeroHash}`),
      );
      expect(unknown.hint).to.match(/computeTaskId\(dealId, index\)/);
      expectProblem(await send("GET", "/v1/tasks/0x1234"), 400, /params\/taskId/);

      const path = `/v1/tasks/${taskId}`;
      const requester = market.chain.wallet(1);
      const sign = (signer: Signer, signedPath = path, timestamp = Date.now()) =>
        signRequest("requester", signer, scope(), { method: "GET", path: signedPath, timestamp, body: "" });

      // A worker's signature of the same request, its address header renamed: the role differs.
      const asWorker = await signWorkerRequest(requester, scope(), { method: "GET", path, timestamp: Date.now(), body: "" });
      const { [WORKER_AUTH_HEADERS.worker]: address, ...rest } = asWorker;
      expectProblem(
        await send("GET", path, undefined, { ...rest, [REQUESTER_AUTH_HEADERS.requester]: address! }),
        401,
        new RegExp(`signed by 0x[0-9a-fA-F]{40}, not by ${requester.address}`),
      );
      const forged = { ...(await sign(market.chain.wallet(5))), [REQUESTER_AUTH_HEADERS.requester]: requester.address };
      expectProblem(await send("GET", path, undefined, forged), 401, /not by/);
      expectProblem(await send("GET", path, undefined, await sign(requester, `/v1/tasks/${ZeroHash}`)), 401, /not by/);
      expectProblem(
        await send("GET", path, undefined, await sign(requester, path, Date.now() - 10 * 60_000)),
        401,
        /more than 5 minutes/,
      );
      const unsigned = await sign(requester);
      delete unsigned[REQUESTER_AUTH_HEADERS.signature];
      expectProblem(await send("GET", path, undefined, unsigned), 401, /x-sunpool-signature header is missing/);

      const good = await sign(requester);
      const served = await send("GET", path, undefined, good);
      expect(served.status).to.equal(200);
      expect((served.json as { logTailsWithheld: boolean }).logTailsWithheld).to.equal(false);
      expectProblem(await send("GET", path, undefined, good), 401, /already accepted once/);
    });
  });
});
