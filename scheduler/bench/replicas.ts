// The scheduler's API throughput by store, same machine, same run (issue 17): one process on
// SQLite, one on PostgreSQL, and two replicas on one PostgreSQL database with the clients spread
// over both (half of them reach the leader through the follower). Real `sunpool-scheduler`
// processes on a `hardhat node` chain, over HTTP:
//   - order intake: signed request orders POSTed to /v1/orders (schema, EIP-712 signer recovery,
//     the book's on-chain reads, the insert), `clients` at a time;
//   - worker requests: signed heartbeats (signature recovery, replay check, the worker's clock,
//     the heartbeat history), one at a time per worker.
// The clients sign on the same machine, so the figures are a floor for the scheduler.
//   npm run bench:replicas -- [orders=300] [heartbeats=1200] [clients=8]
// Run after `npm run build`; it starts the local PostgreSQL server (scripts/postgres.sh ensure).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Wallet } from "ethers";

import { createWorkerApiClient, registerWorker, sendHeartbeat } from "../../sdk/src/scheduler/workers.js";
import { publishOrder } from "../../sdk/src/actions/market.js";
import { createRequestOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import { encodeTaskParams } from "../../sdk/src/results/params.js";
import { orderToJson } from "../../sdk/src/orders/json.js";
import { signOrder } from "../../sdk/src/orders/sign.js";
import { postgresSchemaUrl } from "../../test/helpers/postgres.js";
import { prepareSchedulerFolder, startSchedulerProcess, type SchedulerProcess } from "../../test/helpers/schedulerProcess.js";
import { fundParticipants, POOL_PRICE, SUN, startMarket } from "../../test/sdk/helpers/market.js";

const orders = Number(process.argv[2] ?? 300);
const heartbeats = Number(process.argv[3] ?? 1200);
const clients = Number(process.argv[4] ?? 8);

interface Setup {
  name: string;
  start(folder: string): Promise<SchedulerProcess[]>;
}

const market = await startMarket();
await fundParticipants(market, []);
const requester = market.chain.wallet(1);
const folder = mkdtempSync(join(tmpdir(), "sunpool-bench-replicas-"));
await prepareSchedulerFolder(market, folder);
const workers = Array.from({ length: clients }, () => Wallet.createRandom());
// Closed to strangers, open to the bench's workers; no quota in the way of the intake.
const settings = {
  workers: { heartbeatSeconds: 15, allow: workers.map((worker) => worker.address) },
  book: { maxOpenOrdersPerSigner: 100_000 },
  rateLimitPerMinute: 1_000_000,
  logLevel: "warn",
};

const setups: Setup[] = [
  { name: "SQLite, one process", start: async () => [await startSchedulerProcess(market, folder, "sqlite", settings)] },
  {
    name: "PostgreSQL, one process",
    start: async (dir) => [
      await startSchedulerProcess(market, folder, "postgres", { ...settings, store: { postgres: await postgresSchemaUrl(dir) } }),
    ],
  },
  {
    name: "PostgreSQL, two replicas (clients on both)",
    start: async (dir) => {
      const store = { postgres: await postgresSchemaUrl(dir) };
      // Each resolves once it serves: a leads, then b follows it.
      const a = await startSchedulerProcess(market, folder, "a", { ...settings, store, replica: { id: "a" } });
      const b = await startSchedulerProcess(market, folder, "b", { ...settings, store, replica: { id: "b" } });
      return [a, b];
    },
  },
];

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

const domain = (await market.client(1)).domain;
const poolClient = await market.client(3);
try {
  const results: string[] = [];
  for (const [index, setup] of setups.entries()) {
    const replicas = await setup.start(join(folder, `store-${index.toString()}`));
    // The pool's own order makes the requests servable; with no app order, none is matched (the
    // intake is measured, not the chain).
    await publishOrder(poolClient, createSchedulerClient({ url: replicas[0]!.url }), {
      kind: "workerpool",
      order: createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, volume: 1_000_000, trust: 1 }),
    });
    const urlOf = (lane: number) => replicas[lane % replicas.length]!.url;
    // Signed before the clock starts: the figure is the scheduler's, not the signing.
    const bodies: string[] = [];
    for (let i = 0; i < orders; i++) {
      const params = encodeTaskParams({ args: ["bench", index.toString(), i.toString()] });
      const order = createRequestOrder({
        app: market.appId,
        appMaxPrice: SUN,
        workerpoolMaxPrice: 2n * SUN,
        requester: requester.address,
        volume: 1,
        params: params.digest,
      });
      const signature = await signOrder(requester, domain, "request", order);
      bodies.push(JSON.stringify({ kind: "request", order: orderToJson(order), signature, params: params.text }));
    }
    const intake = await throughput(orders, clients, async (i, lane) => {
      const response = await fetch(`${urlOf(lane)}/v1/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: bodies[i],
      });
      if (response.status !== 201 && response.status !== 200) {
        throw new Error(`order ${i.toString()} refused (${response.status.toString()}): ${await response.text()}`);
      }
    });
    const workerClients = workers.map((wallet, lane) =>
      createWorkerApiClient({
        url: urlOf(lane),
        signer: wallet,
        scope: { chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId },
      }),
    );
    for (const client of workerClients) {
      await registerWorker(client, {
        platforms: ["linux/amd64"],
        cores: 4,
        slots: 1,
        memoryMiB: 4096,
        board: "bench",
        ipfsPeers: [],
      });
    }
    const outlook = { stateOfChargePct: 80, pvWatts: 6, loadWatts: 4, awakeSeconds: 36_000 };
    const beats = await throughput(heartbeats, clients, async (_, lane) => {
      await sendHeartbeat(workerClients[lane]!, { outlook, running: [] });
    });
    const line = `${setup.name.padEnd(44)} intake ${intake.toFixed(0).padStart(5)} orders/s   heartbeats ${beats.toFixed(0).padStart(5)}/s`;
    console.log(line);
    results.push(line);
    for (const replica of replicas) await replica.kill();
  }
  console.log(`\n${orders.toString()} orders and ${heartbeats.toString()} heartbeats per setup, ${clients.toString()} clients`);
} finally {
  await market.stop();
}
process.exit(0);
