// A market for the SDK and CLI tests: a Hardhat node with the contracts, funded accounts, an app
// and a workerpool registered, the real scheduler with its orders published, protocol workers
// (test/helpers/protocolWorker.ts), and IPFS nodes.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ZeroHash, parseUnits } from "ethers";
import { pino } from "pino";

import { deposit } from "../../../sdk/src/actions/account.js";
import { registerApp, registerWorkerpool } from "../../../sdk/src/actions/assets.js";
import { publishOrder } from "../../../sdk/src/actions/market.js";
import { createSunpoolClient, type SunpoolClient } from "../../../sdk/src/client.js";
import { createIpfsNode, type IpfsNode } from "../../../sdk/src/node/ipfs.js";
import { createAppOrder, createWorkerpoolOrder } from "../../../sdk/src/orders/build.js";
import { createSchedulerClient } from "../../../sdk/src/scheduler/client.js";
import { startScheduler, type Scheduler, type SchedulerOptions } from "../../../scheduler/src/index.js";
import { testStore } from "../../helpers/postgres.js";
import { startProtocolWorker, type ProtocolWorker, type TestApp } from "../../helpers/protocolWorker.js";
import { startChain, type TestChain } from "./chain.js";

export const SUN = 10n ** 18n;
export const APP_PRICE = 1n * SUN;
export const POOL_PRICE = 2n * SUN;

/** The test app: echoes its arguments and task index, like a container writing to /out. */
export const echoApp: TestApp = (params, index) => [
  { path: "echo.txt", content: new TextEncoder().encode(`${(params.args ?? []).join(" ")} #${index}\n`) },
  { path: "meta/index.json", content: new TextEncoder().encode(JSON.stringify({ index })) },
];

export interface TestMarket {
  chain: TestChain;
  appId: string;
  workerpoolId: string;
  workerIpfs: IpfsNode;
  requesterIpfs: IpfsNode;
  /** A client signing as the node's account `index` (1 requester, 2 app owner, 3 scheduler, 4 worker). */
  client(index: number): Promise<SunpoolClient>;
  /**
   * Starts the pool's scheduler (stopping the previous one) with a fresh database, one protocol
   * worker (account 4), and the app and workerpool orders published.
   */
  scheduler(options?: MarketSchedulerOptions): Promise<MarketScheduler>;
  stop(): Promise<void>;
}

export interface MarketSchedulerOptions {
  /** The worker publishes content that differs from the digest it submits. */
  tamper?: boolean;
  /** Matching paused: requests are accepted but never matched. */
  matching?: boolean;
  /** Start no worker: tasks are matched but nobody works on them. */
  working?: boolean;
  scheduler?: Partial<SchedulerOptions>;
}

export interface MarketScheduler {
  url: string;
  scheduler: Scheduler;
  workers: ProtocolWorker[];
  /** What the workers ran into (a test fails on them). */
  errors: unknown[];
  stop(): Promise<void>;
}

/**
 * A scheduler for `workerpoolId`, run by account 3, on a fresh database in a temporary folder (SQLite
 * there, or its own PostgreSQL schema with SUNPOOL_TEST_STORE=postgres; the same folder again is
 * the same database).
 */
export async function startPoolScheduler(chain: TestChain, workerpoolId: string, options: Partial<SchedulerOptions> = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "sunpool-scheduler-"));
  const store = options.store ?? (await testStore(dataDir));
  return startScheduler({
    deployment: chain.deployment,
    rpcUrl: chain.rpcUrl,
    signer: chain.wallet(3).connect(null),
    workerpool: workerpoolId,
    dataDir,
    ...(store === undefined ? {} : { store }),
    port: 0,
    pollSeconds: 0.2,
    heartbeatSeconds: 1,
    logger: pino({ level: process.env.SUNPOOL_LOG_LEVEL ?? "silent" }),
    ...options,
  });
}

/**
 * Gives each worker account 100 tokens (staked 10 in escrow unless `stake` is false) and puts 100
 * tokens in the requester's (account 1) escrow; returns the requester's client.
 */
export async function fundParticipants(
  market: TestMarket,
  workers: readonly number[],
  { stake = true }: { stake?: boolean } = {},
): Promise<SunpoolClient> {
  const deployer = await market.client(0);
  for (const index of workers) {
    await (await deployer.token.transfer(market.chain.wallet(index).address, parseUnits("100", 18))).wait();
    if (stake) await deposit(await market.client(index), { amount: 10n * SUN });
  }
  const requester = await market.client(1);
  await deposit(requester, { amount: 100n * SUN });
  return requester;
}

export async function startMarket(): Promise<TestMarket> {
  const chain = await startChain();
  const client = (index: number) =>
    createSunpoolClient({
      deployment: chain.deployment,
      provider: chain.provider,
      signer: chain.wallet(index),
      pollingIntervalMs: 200,
    });
  const deployer = await client(0);
  for (const index of [1, 3, 5]) {
    await (await deployer.token.transfer(chain.wallet(index).address, parseUnits("1000", 18))).wait();
  }
  const appOwner = await client(2);
  const scheduler = await client(3);
  const { id: appId } = await registerApp(appOwner, {
    name: "echo",
    image: "127.0.0.1:5000/echo",
    imageDigest: `sha256:${"ab".repeat(32)}`,
    platforms: ["linux/amd64", "linux/arm64"],
  });
  const { id: workerpoolId } = await registerWorkerpool(scheduler, { name: "solar-pool" });
  await deposit(scheduler, { amount: 500n * SUN });
  const workerIpfs = await createIpfsNode();
  const requesterIpfs = await createIpfsNode();
  let current: MarketScheduler | undefined;
  return {
    chain,
    appId,
    workerpoolId,
    workerIpfs,
    requesterIpfs,
    client,
    async scheduler(options = {}) {
      await current?.stop();
      const running = await startPoolScheduler(chain, workerpoolId, {
        ...(options.matching === false ? { pauseMatching: true } : {}),
        ...options.scheduler,
      });
      const workers =
        options.working === false
          ? []
          : [
              await startProtocolWorker({
                url: running.url,
                deployment: chain.deployment,
                workerpool: workerpoolId,
                wallet: chain.wallet(4),
                ipfs: workerIpfs,
                app: echoApp,
                ...(options.tamper ? { tamper: true } : {}),
              }),
            ];
      const book = createSchedulerClient({ url: running.url });
      await publishOrder(appOwner, book, { kind: "app", order: createAppOrder({ app: appId, price: APP_PRICE, volume: 1000 }) });
      await publishOrder(scheduler, book, {
        kind: "workerpool",
        order: createWorkerpoolOrder({ workerpool: workerpoolId, price: POOL_PRICE, volume: 1000, trust: 1, tag: ZeroHash }),
      });
      current = {
        url: running.url,
        scheduler: running,
        workers,
        get errors() {
          return workers.flatMap((worker) => worker.errors);
        },
        async stop() {
          for (const worker of workers) await worker.stop();
          await running.stop();
        },
      };
      return current;
    },
    async stop() {
      await current?.stop();
      await workerIpfs.stop();
      await requesterIpfs.stop();
      await chain.stop();
    },
  };
}
