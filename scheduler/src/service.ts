// One running scheduler: wires the database, the chain client, the order book, the matcher, the
// pool, settlement, the IPFS node and the HTTP API, and drives them with one scheduling pass at a
// time (`tick`), woken by new blocks, by a timer, and by API calls that change something.
import { mkdirSync } from "node:fs";
import { createServer, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";

import { createSunpoolClient, signTaskAuthorization, type Deployment, type SunpoolClient } from "@sunpool/sdk";
import { createIpfsNode, type IpfsNode } from "@sunpool/sdk/node";
import type { Provider, Signer } from "ethers";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { Counter, Gauge } from "prom-client";

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
import { fencedStore } from "./leader/fencedStore.js";
import { deriveReplicaKey, FORWARDED_FOR, forward, sendJson, unavailable, type ReplicaKey } from "./leader/forwarding.js";
import { LeaderLease, NotLeaderError, type Role } from "./leader/lease.js";
import { Matcher } from "./matching/matcher.js";
import { PassWatch } from "./passWatch.js";
import { createMetrics, registerStateGauges, type Metrics } from "./metrics.js";
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
  /**
   * This replica among several on one PostgreSQL store (docs/scheduler.md, "Running two
   * replicas"): its name (default the host name and port) and the URL the other replicas forward
   * API requests to while it leads (default http://host:port). Ignored on SQLite.
   */
  replica?: { id?: string; advertiseUrl?: string };
  /** The leader lease's timing (ms), for tests; defaults in leader/lease.ts. */
  lease?: { leaseMs?: number; renewMs?: number; retryMs?: number };
  host?: string;
  port?: number;
  ipfsListen?: string[];
  /**
   * Whether the pool's IPFS node may dial private, loopback and link-local addresses, and names,
   * that workers register or send as providers. Default true here (tests, devnet: everything on
   * loopback); the CLI's config defaults to false (`ipfs.dialPrivate`; sdk/src/node/ipfs.ts).
   */
  ipfsDialPrivate?: boolean;
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
  /** The leader's task pool (throws on a follower: it keeps no task state in memory). */
  pool: Pool;
  /** "leader", or "follower" (a replica on PostgreSQL that forwards to the leader). */
  role(): Role;
  /** Runs one scheduling pass now (tests and the CLI's status use it); nothing on a follower. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** A leader's transactions need at least this much of its lease left when they are sent (ms). */
const SEND_MARGIN_MS = 500;

/** What runs only on the leader: the in-memory pool and dispatcher, the passes, the API handlers. */
interface LeaderPart {
  db: Store;
  pool: Pool;
  dispatcher: Dispatcher;
  reconciler: Reconciler;
  api: FastifyInstance;
  tick(): Promise<void>;
  health(): { ok: boolean; checks: Record<string, string> };
  stop(): Promise<void>;
}

export async function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  const log = options.logger ?? pino({ level: process.env.SUNPOOL_LOG_LEVEL ?? "info" });
  const pollMs = (options.pollSeconds ?? 2) * 1000;
  const heartbeatSeconds = options.heartbeatSeconds ?? 15;
  const host = options.host ?? "127.0.0.1";
  const { lock, chain, schedulerAddress, db } = await openDataAndChain(options, pollMs);
  const metrics = createMetrics();
  const leaderMetrics = createLeaderMetrics(metrics);
  const ipfs = await createIpfsNode({
    repo: join(options.dataDir, "ipfs"),
    ...(options.ipfsListen ? { listen: options.ipfsListen } : {}),
    dialPrivate: options.ipfsDialPrivate ?? true,
  });
  const info: SchedulerInfoJson = {
    chainId: options.deployment.chainId.toString(),
    hub: options.deployment.hub,
    workerpool: options.workerpool,
    scheduler: schedulerAddress,
    ipfsPeers: ipfs.multiaddrs(),
  };

  // The front: every replica's HTTP server. The leader's requests go to its API in process; a
  // follower forwards them to the leader the lease row names, or answers 503 when none leads.
  let part: LeaderPart | undefined;
  let lease: LeaderLease | undefined;
  const replicated = "postgres" in (options.store ?? { sqlite: "" });
  // Stamps (as a follower) and checks (as the leader) the client address of forwarded requests.
  const replicaKey = replicated ? await deriveReplicaKey(options.signer, options.workerpool) : undefined;
  let starting = true;
  const forwards = new Set<ClientRequest>();
  const server = createServer((request, response) => {
    // Every replica, the leader too, answers its own health with its role in it (the leader's
    // API alone would not say that it leads).
    if ((request.url ?? "/").split("?")[0] === "/healthz") {
      const health = replicaHealth();
      sendJson(response, health.ok ? 200 : 503, { status: health.ok ? "ok" : "degraded", checks: health.checks });
      return;
    }
    if (part !== undefined && (lease === undefined || lease.isLeader())) {
      part.api.routing(request, response);
      return;
    }
    front(request, response);
  });
  const front = (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0]!;
    if (path === "/metrics") {
      void metrics.registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        () => sendJson(response, 500, { title: "internal error", status: 500, detail: "could not collect the metrics" }),
      );
      return;
    }
    const leader = lease?.leader;
    // A request another replica forwarded is never forwarded again (no loop on a stale lease row);
    // known by its stamp, which a client cannot forge, so a client's own header changes nothing.
    const forwarded = replicaKey?.verify(request.headers[FORWARDED_FOR]) !== undefined;
    if (
      lease !== undefined &&
      replicaKey !== undefined &&
      leader !== undefined &&
      leader.holder !== lease.holder &&
      lease.lastError === undefined &&
      !forwarded
    ) {
      forward(request, response, { leaderUrl: leader.url, via: lease.holder, key: replicaKey }, forwards);
      return;
    }
    const detail =
      lease === undefined
        ? "the scheduler is starting"
        : lease.lastError !== undefined
          ? `this replica cannot reach the database to learn who leads (${lease.lastError})`
          : leader?.holder === lease.holder
            ? "this replica has just become the leader and is starting its scheduler"
            : "no replica leads the pool right now";
    unavailable(response, detail);
  };
  let url = "";
  let port = 0;
  const listen = async () => {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 7300, host, () => resolve());
    });
    const address = server.address();
    port = typeof address === "object" && address !== null ? address.port : 0;
    url = `http://${host}:${port.toString()}`;
  };

  const startPart = () =>
    startLeaderPart({
      options,
      log,
      chain,
      db: lease === undefined ? db : fencedStore(db, lease),
      metrics,
      ipfs,
      info,
      pollMs,
      heartbeatSeconds,
      mayAct: () => lease === undefined || lease.isLeader(SEND_MARGIN_MS),
      replica: lease !== undefined,
      replicaKey,
      // A replica taking over serves at once; one starting waits for its first pass, as on SQLite.
      firstPassFirst: lease === undefined || starting,
    });
  registerStateGauges(metrics, {
    workers: async () => (part === undefined ? { online: 0, offline: 0, busy: 0 } : (await poolStatus(part)).workers),
    tasks: async () => (part === undefined ? {} : part.pool.counts()),
    outlook: async () =>
      part === undefined ? { solarWorkers: 0, medianAwakeSeconds: 0, pvWatts: 0 } : (await poolStatus(part)).outlook,
  });

  const replicaHealth = (): { ok: boolean; checks: Record<string, string> } => {
    const own = part?.health() ?? { ok: false, checks: { pass: "the scheduler is not running here" } };
    if (lease === undefined) return own;
    const leader = lease.leader;
    const checks = part === undefined ? {} : { ...own.checks };
    if (lease.isLeader()) {
      checks.leader = `this replica (${lease.holder}) leads, term ${lease.epoch.toString()}`;
      return { ok: own.ok && part !== undefined, checks };
    }
    if (lease.lastError !== undefined) {
      checks.leader = `follower: cannot reach the database (${lease.lastError})`;
      return { ok: false, checks };
    }
    checks.leader =
      leader === undefined || leader.holder === lease.holder
        ? "follower: no replica leads right now"
        : `follower: replica ${leader.holder} at ${leader.url} leads, term ${leader.epoch.toString()}`;
    return { ok: leader !== undefined && leader.holder !== lease.holder, checks };
  };

  try {
    if (!replicated) {
      // SQLite: one process per data folder (the folder lock), so always the leader.
      part = await startPart();
      leaderMetrics.leader.set(1);
      await listen();
    } else {
      // Replicas: the API answers (forwarding, or 503) before this one knows its role.
      await listen();
      lease = new LeaderLease({
        url: (options.store as { postgres: string }).postgres,
        replica: options.replica?.id ?? `${hostname()}:${port.toString()}`,
        advertiseUrl: options.replica?.advertiseUrl ?? url,
        log,
        ...options.lease,
      });
      const current = lease;
      let transitions = Promise.resolve();
      const become = async (role: Role) => {
        if (role === "leader") {
          if (!current.isLeader() || part !== undefined) return;
          try {
            const started = await startPart();
            if (current.isLeader()) {
              part = started;
              leaderMetrics.leader.set(1);
              leaderMetrics.changes.inc();
              log.warn(
                { event: "leader-started", replica: current.holder, epoch: current.epoch },
                "leading: the scheduler runs here",
              );
            } else {
              await started.stop();
            }
          } catch (error) {
            log.error({ err: error }, "this replica leads but its scheduler failed to start; retrying in a second");
            setTimeout(() => {
              transitions = transitions.then(() => become("leader"));
            }, 1000).unref();
          }
          return;
        }
        const stopping = part;
        part = undefined;
        leaderMetrics.leader.set(0);
        if (stopping !== undefined) {
          leaderMetrics.changes.inc();
          await stopping.stop();
        }
      };
      current.onChange((role) => {
        for (const upstream of forwards) upstream.destroy(new Error("leadership changed"));
        transitions = transitions.then(() => become(role));
      });
      await current.start();
      await transitions;
      leaderMetrics.leader.set(current.isLeader() ? 1 : 0);
    }
  } catch (error) {
    server.close();
    server.closeAllConnections();
    await lease?.stop();
    await ipfs.stop();
    if (options.provider === undefined) chain.provider.destroy();
    await db.close();
    lock.release();
    throw error;
  }
  starting = false;
  log.info(
    { url, workerpool: options.workerpool, scheduler: schedulerAddress, ipfs: info.ipfsPeers, role: lease?.role ?? "leader" },
    "scheduler started",
  );

  let stopped = false;
  return {
    url,
    info,
    db,
    get pool(): Pool {
      if (part === undefined) throw new NotLeaderError("this replica does not lead the pool: it keeps no task pool");
      return part.pool;
    },
    role: () => (lease === undefined || lease.isLeader() ? "leader" : "follower"),
    tick: () => part?.tick() ?? Promise.resolve(),
    async stop() {
      if (stopped) return;
      stopped = true;
      const closed = new Promise((resolve) => server.close(resolve));
      if (lease !== undefined) {
        // Steps down (the scheduler stops acting at once) and gives the lease up for a follower.
        await lease.stop();
      }
      const stopping = part;
      part = undefined;
      await stopping?.stop();
      server.closeAllConnections();
      await closed;
      await ipfs.stop();
      if (options.provider === undefined) chain.provider.destroy();
      await db.close();
      lock.release();
      log.info("scheduler stopped");
    },
  };
}

function createLeaderMetrics(metrics: Metrics) {
  return {
    leader: new Gauge({
      name: "sunpool_scheduler_leader",
      help: "1 while this replica leads the pool (always on SQLite), 0 while it follows.",
      registers: [metrics.registry],
    }),
    changes: new Counter({
      name: "sunpool_scheduler_leader_changes_total",
      help: "Times this replica started or stopped leading.",
      registers: [metrics.registry],
    }),
  };
}

interface LeaderPartOptions {
  options: SchedulerOptions;
  log: Logger;
  chain: SunpoolClient;
  db: Store;
  metrics: Metrics;
  ipfs: IpfsNode;
  info: SchedulerInfoJson;
  pollMs: number;
  heartbeatSeconds: number;
  /** Whether this replica may still send transactions (the lease, with a margin). */
  mayAct(): boolean;
  /** The store is shared by replicas (PostgreSQL), each with its own IPFS node. */
  replica: boolean;
  /** With replicas: the key followers stamp forwarded clients' addresses with (leader/forwarding.ts). */
  replicaKey: ReplicaKey | undefined;
  /**
   * Whether the first pass ends before the API serves (at start, as always); a replica taking over
   * from another serves as soon as the pool is loaded, while its first pass runs.
   */
  firstPassFirst: boolean;
}

/**
 * Starts what only the leader runs, from the store (as a restart does): the pool and dispatcher,
 * the order book, the reconciler, matcher, settlement and pinner, the transaction sender, the
 * scheduling passes and the API's handlers.
 */
async function startLeaderPart(parts: LeaderPartOptions): Promise<LeaderPart> {
  const { options, log, chain, db, metrics, ipfs, info, pollMs, heartbeatSeconds } = parts;
  let closed = false;
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
  const sender = new TransactionSender(log, metrics, () => !closed && parts.mayAct());
  const pinner = new Pinner(ipfs, db, {
    maxBytes: options.maxPinBytes ?? 64 * 1024 * 1024,
    timeoutMs: (options.pinTimeoutSeconds ?? 60) * 1000,
    sharedStore: parts.replica,
    globalOnly: options.ipfsDialPrivate === false,
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

  const pulls = new WaitingPulls(async (worker) => (await pool.pendingFor(worker, Date.now())) > 0);

  // The scheduling pass: everything the scheduler does, in order, run by one single-flight tick.
  const watch = new PassWatch(log);
  const pass = () =>
    watch.pass(async (step) => {
      const now = Date.now();
      await step("sync", () => reconciler.sync());
      if (options.pauseMatching !== true && (await step("match", () => matcher.matchOpenRequests(now))) > 0) {
        await step("sync", () => reconciler.sync());
      }
      await step("settle", () => settlement.settle(reconciler.now()));
      await step("leases", () => pool.expireLeases(now));
      // Admission follows the chain: balances older than their TTL are read again before dispatch.
      const online = [...dispatcher.workers.keys()].filter((worker) => dispatcher.isOnline(worker, now));
      for (const worker of await step("admission", () => admission.refresh(online, now))) pool.readmit(worker);
      await step("dispatch", () => dispatch(now));
      await step("wake", () => pulls.wake());
    });
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
    status: () => poolStatus({ pool, dispatcher, reconciler, db }),
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
  const passesHealth = () => context.health();
  if (parts.firstPassFirst) await tick();
  else void tick();
  const api: FastifyInstance = await createApi(context, log, {
    rateLimitPerMinute: options.rateLimitPerMinute ?? 6000,
    ...(parts.replicaKey === undefined ? {} : { forwardedClient: parts.replicaKey.verify }),
  });
  await api.ready();
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
  return {
    db,
    pool,
    dispatcher,
    reconciler,
    api,
    tick,
    health: passesHealth,
    async stop() {
      if (closed) return;
      // No transaction leaves from here on, even from a pass still running.
      closed = true;
      clearInterval(timer);
      clearInterval(pruning);
      watch.stop();
      await chain.provider.off("block", onBlock);
      pulls.releaseAll();
      await api.close();
      await passes.idle();
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

async function poolStatus({ pool, dispatcher, reconciler, db }: Pick<LeaderPart, "pool" | "dispatcher" | "reconciler" | "db">) {
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
