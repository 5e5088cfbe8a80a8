// One running scheduler: wires the database, the chain client, the order book, the matcher, the
// pool, settlement, the IPFS node and the HTTP API, and drives them with one scheduling pass at a
// time (`tick`), woken by new blocks, by a timer, and by API calls that change something.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { createSunpoolClient, signTaskAuthorization, type Deployment, type SunpoolClient } from "@sunpool/sdk";
import { createIpfsNode } from "@sunpool/sdk/node";
import type { Provider, Signer } from "ethers";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";

import type { ApiContext, SchedulerInfoJson } from "./api/context.js";
import { SetupError } from "./errors.js";
import { createApi } from "./api/server.js";
import { History } from "./dashboard/history.js";
import { pruneSeenRequests } from "./api/workerAuth.js";
import { OrderBook } from "./book/orderBook.js";
import { Reconciler } from "./chain/reconciler.js";
import { TransactionSender } from "./chain/transactions.js";
import { DEFAULT_POLICY, Dispatcher, type DispatchPolicy } from "./dispatch/dispatcher.js";
import { Pinner } from "./ipfs/pinner.js";
import { Matcher } from "./matching/matcher.js";
import { createMetrics, registerStateGauges } from "./metrics.js";
import { lockDataDir, type DataDirLock } from "./store/sqlite.js";
import { openStore, type Store, type StoreConfig } from "./store/store.js";
import { Admission, DEFAULT_PROBATION, type ProbationCaps } from "./tasks/admission.js";
import { nextAssignment } from "./tasks/assignments.js";
import { Pool } from "./tasks/pool.js";
import { Settlement } from "./tasks/settlement.js";

export interface SchedulerOptions {
  deployment: Deployment;
  /** An ethers provider, or rpcUrl. */
  provider?: Provider;
  rpcUrl?: string;
  /** The workerpool owner's key: it matches orders, signs authorizations and settles. */
  signer: Signer;
  workerpool: string;
  /** Folder for the database and the IPFS repository. */
  dataDir: string;
  /**
   * Where the scheduler keeps its state: SQLite in `dataDir` (the default), or a PostgreSQL
   * database (`{ postgres: url }`).
   */
  store?: StoreConfig;
  host?: string;
  port?: number;
  ipfsListen?: string[];
  heartbeatSeconds?: number;
  /**
   * Heartbeats an offer waits for its acknowledgement, and a lease for its renewal, before the
   * task goes to another worker (default 3).
   */
  leaseHeartbeats?: number;
  /** Worker addresses admitted whatever their stake. */
  allowedWorkers?: string[];
  /**
   * Escrow balance (token base units, hub.balanceOf) that admits a worker not on
   * `allowedWorkers`. Absent: with `allowedWorkers`, only the list (a closed pool); without, 0
   * (anyone who signs). The CLI's config defaults it to 1 SUN.
   */
  minWorkerStake?: bigint;
  /** How long a worker's balance reading is trusted (default 60 s). */
  stakeRefreshSeconds?: number;
  /** Caps on what a worker without a record with this pool declares (tasks/admission.ts). */
  probation?: Partial<ProbationCaps>;
  /** Distinct workers reporting a task failed that end it as AppFailed (default 2). */
  failAfter?: number;
  /** Open orders one signer may have in the book (default 100). */
  maxOpenOrdersPerSigner?: number;
  /** How long a cached consumed volume is trusted without an event (default 120 s). */
  consumedTtlSeconds?: number;
  /**
   * Blocks an event must be below the head before it is applied, or "finalized" (the chain's
   * finalized block). Default 0 here (tests, devnet); the CLI's config defaults to 12.
   */
  confirmations?: number | "finalized";
  /** Deepest chain reorganisation undone (default 64 blocks). */
  reorgWindow?: number;
  pollSeconds?: number;
  logsChunk?: number;
  maxPinBytes?: number;
  pinTimeoutSeconds?: number;
  rateLimitPerMinute?: number;
  /** Accept orders but match none (maintenance, or draining the pool before an upgrade). */
  pauseMatching?: boolean;
  dispatch?: Partial<DispatchPolicy>;
  logger?: Logger;
}

export interface Scheduler {
  url: string;
  info: SchedulerInfoJson;
  db: Store;
  pool: Pool;
  /** Runs one scheduling pass now (tests and the CLI's status use it). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export async function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  const log = options.logger ?? pino({ level: process.env.SUNPOOL_LOG_LEVEL ?? "info" });
  const pollMs = (options.pollSeconds ?? 2) * 1000;
  const heartbeatSeconds = options.heartbeatSeconds ?? 15;
  const { lock, chain, schedulerAddress, db } = await openDataAndChain(options, pollMs);
  const metrics = createMetrics();
  const ipfs = await createIpfsNode({
    repo: join(options.dataDir, "ipfs"),
    ...(options.ipfsListen ? { listen: options.ipfsListen } : {}),
  });
  const dispatcher = new Dispatcher({
    ...DEFAULT_POLICY,
    offlineAfterMs: heartbeatSeconds * 3000,
    ...options.dispatch,
  });
  const admission = new Admission(
    {
      ...(options.allowedWorkers === undefined
        ? {}
        : { allow: new Set(options.allowedWorkers.map((address) => address.toLowerCase())) }),
      ...(options.minWorkerStake === undefined ? {} : { minStake: options.minWorkerStake }),
      probation: { ...DEFAULT_PROBATION, ...options.probation },
      stakeTtlMs: (options.stakeRefreshSeconds ?? 60) * 1000,
    },
    (worker) => chain.hub.balanceOf(worker),
  );
  const pool = await Pool.open(db, dispatcher, {
    limits: { admitted: (worker) => admission.admitted(worker), probation: admission.policy.probation },
    ...(options.failAfter === undefined ? {} : { failAfter: options.failAfter }),
    leaseMs: heartbeatSeconds * 1000 * (options.leaseHeartbeats ?? 3),
  });
  const book = new OrderBook(db, chain, chain.domain, options.workerpool, {
    ...(options.maxOpenOrdersPerSigner === undefined ? {} : { maxOpenOrdersPerSigner: options.maxOpenOrdersPerSigner }),
    ...(options.consumedTtlSeconds === undefined ? {} : { consumedTtlMs: options.consumedTtlSeconds * 1000 }),
  });
  const sender = new TransactionSender(log, metrics);
  const pinner = new Pinner(ipfs, db, {
    maxBytes: options.maxPinBytes ?? 64 * 1024 * 1024,
    timeoutMs: (options.pinTimeoutSeconds ?? 60) * 1000,
  });
  const reconciler = new Reconciler(
    db,
    chain,
    pool,
    book,
    {
      workerpool: options.workerpool,
      fromBlock: options.deployment.deployedAtBlock ?? 0,
      confirmations: options.confirmations ?? 0,
      ...(options.reorgWindow === undefined ? {} : { reorgWindow: options.reorgWindow }),
      chunk: options.logsChunk ?? 2000,
    },
    log,
    metrics,
  );
  const matcher = new Matcher(db, chain, book, sender, log, options.workerpool);
  const settlement = new Settlement(chain, pool, sender, pinner, log);

  const info: SchedulerInfoJson = {
    chainId: options.deployment.chainId.toString(),
    hub: options.deployment.hub,
    workerpool: options.workerpool,
    scheduler: schedulerAddress,
    ipfsPeers: ipfs.multiaddrs(),
  };

  const pulls = new WaitingPulls(async (worker) => (await pool.pendingFor(worker, Date.now())) > 0);

  // The scheduling pass: everything the scheduler does, in order, run by one single-flight tick.
  const pass = async () => {
    const now = Date.now();
    await reconciler.sync();
    if (options.pauseMatching !== true && (await matcher.matchOpenRequests(now)) > 0) await reconciler.sync();
    await settlement.settle(reconciler.now());
    await pool.expireLeases(now);
    // Admission follows the chain: balances older than their TTL are read again before dispatch.
    const online = [...dispatcher.workers.keys()].filter((worker) => dispatcher.isOnline(worker, now));
    for (const worker of await admission.refresh(online, now)) pool.readmit(worker);
    await dispatch(now);
    await pulls.wake();
  };
  const dispatch = async (now: number) => {
    const plan = await pool.planOffers(now, reconciler.now());
    if (plan.length === 0) return;
    let recorded: number;
    try {
      const offers = [];
      for (const item of plan) {
        offers.push({
          ...item,
          authorization: await signTaskAuthorization(options.signer, chain.domain, item.taskId, item.worker),
        });
      }
      recorded = await pool.recordOffers(offers, Date.now());
    } catch (error) {
      pool.cancelPlan(plan);
      throw error;
    }
    for (const item of plan) metrics.assignmentLatency.observe(Math.max(0, (Date.now() - item.queuedAt) / 1000));
    metrics.offers.inc(recorded);
    log.debug({ offers: recorded }, "offered tasks");
  };
  const passes = new SingleFlight(pass, (error) => log.error({ err: error }, "scheduling pass failed; retrying on the next one"));
  const tick = () => passes.run();
  const kick = (reason?: "order" | "worker" | "report") => {
    // A new order may fill a request that was waiting for one: wake the requests first.
    const woken = reason === "order" ? matcher.wake() : Promise.resolve();
    void woken.then(tick, (error: unknown) => {
      log.warn({ err: error }, "could not wake the waiting requests; the next pass retries them");
      return tick();
    });
  };

  const context: ApiContext = {
    db,
    book,
    pool,
    pinner,
    metrics,
    scope: { chainId: options.deployment.chainId, workerpool: options.workerpool },
    admission,
    heartbeatSeconds,
    history: new History(db),
    chain,
    info: () => info,
    kick,
    assignmentFor: (worker) => nextAssignment(pool, worker, info.ipfsPeers, Date.now()),
    waitForAssignment: (worker, ms, signal) => pulls.wait(worker, ms, signal),
    status: () => poolStatus(pool, dispatcher, reconciler, db),
    health: () => {
      const checks: Record<string, string> = {};
      const syncAge = Date.now() - reconciler.lastSyncMs;
      checks.chain =
        syncAge <= pollMs * 3 + 30_000
          ? `synced ${Math.round(syncAge / 1000).toString()} s ago`
          : `not synced for ${Math.round(syncAge / 1000).toString()} s`;
      checks.pass = passes.lastError === undefined ? "ok" : `last pass failed: ${passes.lastError}`;
      return { ok: syncAge <= pollMs * 3 + 30_000 && passes.lastError === undefined, checks };
    },
  };
  registerStateGauges(metrics, {
    workers: async () => {
      const { workers } = await poolStatus(pool, dispatcher, reconciler, db);
      return workers;
    },
    tasks: () => pool.counts(),
    outlook: async () => (await poolStatus(pool, dispatcher, reconciler, db)).outlook,
  });

  await tick();
  const api: FastifyInstance = await createApi(context, log, { rateLimitPerMinute: options.rateLimitPerMinute ?? 6000 });
  await api.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 7300 });
  const address = api.server.address();
  const url = `http://${options.host ?? "127.0.0.1"}:${(typeof address === "object" && address !== null ? address.port : 0).toString()}`;
  const onBlock = () => kick();
  await chain.provider.on("block", onBlock);
  const timer = setInterval(() => kick(), pollMs);
  // Seen worker requests are pruned on their own clock, never on a request's path.
  await pruneSeenRequests(db);
  const pruning = setInterval(() => {
    pruneSeenRequests(db).catch((error: unknown) => {
      log.warn({ err: error }, "could not prune seen worker requests; retrying in a minute");
    });
  }, 60_000);
  log.info({ url, workerpool: options.workerpool, scheduler: schedulerAddress, ipfs: info.ipfsPeers }, "scheduler started");

  let stopped = false;
  return {
    url,
    info,
    db,
    pool,
    tick,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearInterval(pruning);
      await chain.provider.off("block", onBlock);
      pulls.releaseAll();
      await api.close();
      await passes.idle();
      await ipfs.stop();
      if (options.provider === undefined) chain.provider.destroy();
      await db.close();
      lock.release();
      log.info("scheduler stopped");
    },
  };
}

/**
 * Takes the data folder (one process per folder: a second one would match, dispatch and settle
 * twice), checks the chain and that this key runs the workerpool, and opens the database; the
 * lock is given back if any of it fails.
 */
async function openDataAndChain(
  options: SchedulerOptions,
  pollMs: number,
): Promise<{ lock: DataDirLock; chain: SunpoolClient; schedulerAddress: string; db: Store }> {
  mkdirSync(options.dataDir, { recursive: true });
  const lock = lockDataDir(options.dataDir);
  try {
    const chain = await createSunpoolClient({
      deployment: options.deployment,
      ...(options.provider === undefined ? {} : { provider: options.provider }),
      ...(options.rpcUrl === undefined ? {} : { rpcUrl: options.rpcUrl }),
      signer: options.signer,
      pollingIntervalMs: Math.min(pollMs, 1000),
    });
    const schedulerAddress = await options.signer.getAddress();
    await assertOwnsWorkerpool(chain, options.workerpool, schedulerAddress);
    const db = await openStore(options.store ?? { sqlite: join(options.dataDir, "scheduler.sqlite") });
    return { lock, chain, schedulerAddress, db };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Workers' long polls for an assignment, woken when a pass leaves something for them. */
class WaitingPulls {
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly hasWork: (worker: string) => Promise<boolean>) {}

  /** Resolves after `ms`, on abort, or as soon as a pass finds work for `worker`. */
  wait(worker: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.get(worker)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      const set = this.waiters.get(worker) ?? new Set();
      set.add(done);
      this.waiters.set(worker, set);
    });
  }

  async wake(): Promise<void> {
    for (const [worker, resolvers] of [...this.waiters]) {
      if (!(await this.hasWork(worker))) continue;
      for (const resolve of resolvers) resolve();
      this.waiters.delete(worker);
    }
  }

  releaseAll(): void {
    for (const resolvers of this.waiters.values()) for (const resolve of resolvers) resolve();
    this.waiters.clear();
  }
}

/**
 * Runs `work` one at a time: a call while it runs makes it run once more afterwards (events,
 * timers and API calls only ask for a pass; none is lost and none overlaps another).
 */
class SingleFlight {
  private running: Promise<void> | undefined;
  private again = false;
  /** The last run's error message, until a run succeeds. */
  lastError: string | undefined;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  run(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.work();
          this.lastError = undefined;
        } catch (error) {
          this.lastError = error instanceof Error ? error.message : String(error);
          this.onError(error);
        }
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Settles when no run is in progress. */
  async idle(): Promise<void> {
    await this.running;
  }
}

async function assertOwnsWorkerpool(chain: SunpoolClient, workerpool: string, scheduler: string): Promise<void> {
  const owner = await chain.registry.ownerOf(2, workerpool).catch(() => undefined);
  if (owner === undefined || BigInt(owner) === 0n) {
    throw new SetupError(
      `workerpool ${workerpool} is not registered on this hub; register it first: sunpool workerpool register --name <name>`,
    );
  }
  if (owner !== scheduler) {
    throw new SetupError(
      `workerpool ${workerpool} belongs to ${owner}, not to this scheduler's key ${scheduler}; use the owner's keystore`,
    );
  }
}

async function poolStatus(pool: Pool, dispatcher: Dispatcher, reconciler: Reconciler, db: Store) {
  const now = Date.now();
  let online = 0;
  let busy = 0;
  let solarWorkers = 0;
  let pvWatts = 0;
  const awake: number[] = [];
  for (const worker of dispatcher.workers.values()) {
    if (!dispatcher.isOnline(worker.address, now)) continue;
    online += 1;
    if (worker.active > 0) busy += 1;
    if (worker.outlook !== undefined) {
      pvWatts += worker.outlook.pvWatts;
      if (worker.outlook.pvWatts >= worker.outlook.loadWatts) solarWorkers += 1;
      awake.push(worker.outlook.awakeSeconds);
    }
  }
  awake.sort((a, b) => a - b);
  const counts = await pool.counts();
  const { n: deals } = (await db.get<{ n: number }>("SELECT count(*) AS n FROM deals"))!;
  return {
    workers: { online, offline: dispatcher.workers.size - online, busy },
    tasks: {
      waiting: counts.waiting,
      running: counts.active,
      revealing: counts.revealing,
      completed: counts.completed,
      expired: counts.expired,
    },
    deals,
    outlook: {
      solarWorkers,
      medianAwakeSeconds: awake[Math.floor(awake.length / 2)] ?? 0,
      pvWatts: Math.round(pvWatts * 10) / 10,
    },
    chain: { block: await reconciler.cursor() },
  };
}
