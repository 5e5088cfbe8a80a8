// The scheduler by store, same machine, same run (issue 17): one process on SQLite, one on
// PostgreSQL, and two replicas on one PostgreSQL database with the clients spread over both (half
// of them reach the leader through the follower). Real `sunpool-scheduler` processes on a
// `hardhat node` chain, over HTTP:
//   - order intake: signed request orders POSTed to /v1/orders (schema, EIP-712 signer recovery,
//     the book's on-chain reads, the insert), `clients` at a time;
//   - worker requests: signed heartbeats (signature recovery, replay check, the worker's clock,
//     the heartbeat history), one at a time per worker;
//   - dispatch: one request of `tasks` trust-1 tasks, from its POST to the last of its tasks
//     offered (matchOrders and its block, the deal's reconciliation, then planning, one EIP-712
//     authorization per offer, and the offers' transaction), read from the leader's offers counter.
// The clients sign on the same machine, so the figures are a floor for the scheduler.
//   npm run bench:replicas -- [orders=300] [heartbeats=1200] [clients=8] [tasks=400]
// Run after `npm run build`; it starts the local PostgreSQL server (scripts/postgres.sh ensure).
// BENCH_ONLY=<0|1|2> runs one setup; BENCH_LOG=debug keeps the schedulers' debug logs (in the
// bench's temporary folder) to see why a request is not matched or a task not offered.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Wallet } from "ethers";

import { deposit } from "../../sdk/src/actions/account.js";
import { registerApp, registerWorkerpool } from "../../sdk/src/actions/assets.js";
import { publishOrder } from "../../sdk/src/actions/market.js";
import { createAppOrder, createRequestOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { orderToJson } from "../../sdk/src/orders/json.js";
import { signOrder } from "../../sdk/src/orders/sign.js";
import { encodeTaskParams } from "../../sdk/src/results/params.js";
import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import { createWorkerApiClient, registerWorker, sendHeartbeat } from "../../sdk/src/scheduler/workers.js";
import { postgresSchemaUrl } from "../../test/helpers/postgres.js";
import { prepareSchedulerFolder, startSchedulerProcess, type SchedulerProcess } from "../../test/helpers/schedulerProcess.js";
import { until } from "../../test/helpers/wait.js";
import { fundParticipants, POOL_PRICE, SUN, startMarket } from "../../test/sdk/helpers/market.js";

const orders = Number(process.argv[2] ?? 300);
const heartbeats = Number(process.argv[3] ?? 1200);
const clients = Number(process.argv[4] ?? 8);
const tasks = Number(process.argv[5] ?? 400);

interface Setup {
  name: string;
  /** Starts the setup's scheduler(s) for `workerpool`, with the store keyed by `folder`. */
  start(folder: string, workerpool: string): Promise<SchedulerProcess[]>;
}

const market = await startMarket();
const running: SchedulerProcess[] = [];
try {
  await fundParticipants(market, []);
  const requester = market.chain.wallet(1);
  // Escrow for the dispatch requests: their most per task (the app's and the pool's), three setups.
  const dispatchEscrow = 3n * BigInt(tasks) * (SUN + POOL_PRICE);
  await (await (await market.client(0)).token.transfer(requester.address, dispatchEscrow)).wait();
  await deposit(await market.client(1), { amount: dispatchEscrow });
  // And the pool's stake that each deal locks (30 % of its price), for the scheduler's key.
  const poolStake = BigInt(tasks) * POOL_PRICE;
  await (await (await market.client(0)).token.transfer(market.chain.wallet(3).address, poolStake)).wait();
  await deposit(await market.client(3), { amount: poolStake });
  // The dispatch request is for an app of its own: an order of the intake's app would match the
  // intake's requests too.
  const appOwner = await market.client(2);
  const { id: dispatchApp } = await registerApp(appOwner, {
    name: "bench-dispatch",
    image: "127.0.0.1:5000/echo",
    imageDigest: `sha256:${"cd".repeat(32)}`,
    platforms: ["linux/amd64"],
  });
  const poolOwner = await market.client(3);
  const domain = (await market.client(1)).domain;
  const folder = mkdtempSync(join(tmpdir(), "sunpool-bench-replicas-"));
  await prepareSchedulerFolder(market, folder);
  const workers = Array.from({ length: clients }, () => Wallet.createRandom());
  // Closed to strangers, open to the bench's workers, whose declared capacity is believed at once
  // (no probation: the dispatch request needs every slot); no quota in the way of the intake.
  const settings = {
    workers: { heartbeatSeconds: 15, allow: workers.map((worker) => worker.address), probation: { tasks: 0 } },
    book: { maxOpenOrdersPerSigner: 100_000 },
    rateLimitPerMinute: 1_000_000,
    logLevel: process.env.BENCH_LOG ?? "warn",
  };
  const setups: Setup[] = [
    {
      name: "SQLite, one process",
      start: async (_, workerpool) => [await startSchedulerProcess(market, folder, "sqlite", { ...settings, workerpool })],
    },
    {
      name: "PostgreSQL, one process",
      start: async (dir, workerpool) => [
        await startSchedulerProcess(market, folder, "postgres", {
          workerpool,
          ...settings,
          store: { postgres: await postgresSchemaUrl(dir) },
        }),
      ],
    },
    {
      name: "PostgreSQL, two replicas (clients on both)",
      start: async (dir, workerpool) => {
        const store = { postgres: await postgresSchemaUrl(dir) };
        // Each resolves once it serves: a leads, then b follows it.
        const a = await startSchedulerProcess(market, folder, "a", { ...settings, workerpool, store, replica: { id: "a" } });
        running.push(a);
        return [a, await startSchedulerProcess(market, folder, "b", { ...settings, workerpool, store, replica: { id: "b" } })];
      },
    },
  ];

  /** A request order of `volume` tasks of `app`, signed, as the body POST /v1/orders takes. */
  const requestBody = async (app: string, volume: number, args: string[]) => {
    const params = encodeTaskParams({ args });
    const order = createRequestOrder({
      app,
      appMaxPrice: SUN,
      workerpoolMaxPrice: POOL_PRICE,
      requester: requester.address,
      volume,
      params: params.digest,
    });
    const signature = await signOrder(requester, domain, "request", order);
    return JSON.stringify({ kind: "request", order: orderToJson(order), signature, params: params.text });
  };
  const postOrder = async (url: string, body: string) => {
    const response = await fetch(`${url}/v1/orders`, { method: "POST", headers: { "content-type": "application/json" }, body });
    if (!response.ok) throw new Error(`an order was refused (${response.status.toString()}): ${await response.text()}`);
  };

  /** POSTs one request of `tasks` tasks to the leader; seconds until the first and the last of them were offered. */
  const dispatchTime = async (leaderUrl: string, tag: string): Promise<{ first: number; all: number }> => {
    await publishOrder(appOwner, createSchedulerClient({ url: leaderUrl }), {
      kind: "app",
      order: createAppOrder({ app: dispatchApp, price: 0n, volume: 1_000_000 }),
    });
    const body = await requestBody(dispatchApp, tasks, ["dispatch", tag]);
    const before = await offersMade(leaderUrl);
    const sent = performance.now();
    await postOrder(leaderUrl, body);
    let first: number | undefined;
    await until(
      `${tasks.toString()} offers`,
      async () => {
        const made = (await offersMade(leaderUrl)) - before;
        if (made > 0) first ??= performance.now();
        return made >= tasks ? true : undefined;
      },
      120_000,
      10,
    );
    return { first: (first! - sent) / 1000, all: (performance.now() - sent) / 1000 };
  };

  for (const [index, setup] of setups.entries()) {
    if (process.env.BENCH_ONLY !== undefined && process.env.BENCH_ONLY !== index.toString()) continue;
    // A workerpool per setup: a scheduler follows every deal of its pool on the chain, and the
    // earlier setups' deals would be dispatched again.
    const { id: workerpool } = await registerWorkerpool(poolOwner, { name: `bench-${index.toString()}` });
    const replicas = await setup.start(join(folder, `store-${index.toString()}`), workerpool);
    running.push(...replicas.filter((replica) => !running.includes(replica)));
    const urlOf = (lane: number) => replicas[lane % replicas.length]!.url;
    // The pool's own order makes the requests servable; with no order of their app, none is
    // matched (the intake is measured, not the chain).
    await publishOrder(poolOwner, createSchedulerClient({ url: urlOf(0) }), {
      kind: "workerpool",
      order: createWorkerpoolOrder({ workerpool, price: POOL_PRICE, volume: 1_000_000, trust: 1 }),
    });
    // Signed before the clock starts: the figure is the scheduler's, not the signing.
    const bodies: string[] = [];
    for (let i = 0; i < orders; i++) bodies.push(await requestBody(market.appId, 1, ["bench", index.toString(), i.toString()]));
    const intake = await throughput(orders, clients, (i, lane) => postOrder(urlOf(lane), bodies[i]!));

    const workerClients = workers.map((wallet, lane) =>
      createWorkerApiClient({
        url: urlOf(lane),
        signer: wallet,
        scope: { chainId: market.chain.deployment.chainId, workerpool },
      }),
    );
    for (const client of workerClients) {
      await registerWorker(client, {
        platforms: ["linux/amd64"],
        cores: 64,
        slots: 64,
        memoryMiB: 65_536,
        board: "bench",
        ipfsPeers: [],
      });
    }
    // Plugged in: energy-aware admission has nothing to refuse.
    const outlook = { stateOfChargePct: 100, pvWatts: 0, loadWatts: 4, awakeSeconds: 36_000, mainsPowered: true };
    const beats = await throughput(heartbeats, clients, async (_, lane) => {
      await sendHeartbeat(workerClients[lane]!, { outlook, running: [] });
    });

    const dispatch = await dispatchTime(urlOf(0), index.toString());
    console.log(
      `${setup.name.padEnd(44)} intake ${intake.toFixed(0).padStart(4)} orders/s, heartbeats ${beats.toFixed(0).padStart(4)}/s, ` +
        `${tasks.toString()} tasks offered ${dispatch.all.toFixed(2)} s after their request (the first at ${dispatch.first.toFixed(2)} s)`,
    );
    for (const replica of running.splice(0)) await replica.kill();
  }
  console.log(
    `\n${orders.toString()} orders, ${heartbeats.toString()} heartbeats, ${clients.toString()} clients, ` +
      `${tasks.toString()} tasks on ${clients.toString()} workers of 64 slots, per setup`,
  );
} finally {
  for (const replica of running) await replica.kill();
  await market.stop();
}
process.exit(0);

/** Runs `total` jobs, `parallel` at a time (job i on lane i % parallel); returns jobs per second. */
async function throughput(total: number, parallel: number, job: (index: number, lane: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, lane) => {
      while (next < total) await job(next++, lane);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** The leader's count of offers made (its /metrics). */
async function offersMade(leaderUrl: string): Promise<number> {
  const text = await (await fetch(`${leaderUrl}/metrics`)).text();
  return Number(/^sunpool_scheduler_offers_total (\d+)/m.exec(text)?.[1] ?? 0);
}
