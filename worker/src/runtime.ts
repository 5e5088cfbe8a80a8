// Wires a worker from its config: journal, wallet, chain client, scheduler API, result store,
// Docker, board, energy manager, execution, agent and metrics. The CLI calls this; tests call it
// with their own board. The IPFS node of `ipfs.mode: "node"` is imported only when configured.
import { mkdir } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { readFile } from "node:fs/promises";

import Docker from "dockerode";
import type { Wallet } from "ethers";
import { pino, type Logger } from "pino";

import { createSunpoolClient, parseDeployment } from "@sunpool/sdk";
import { createNodeWorkerApiClient, type IpfsNode, type WorkerHttpClient } from "@sunpool/sdk/node";

import { startAgent, type Agent } from "./agent/agent.js";
import { createExecution } from "./agent/execution.js";
import type { BoardSource } from "./boardFactory.js";
import type { WorkerConfig } from "./config.js";
import { createPoolResultStore } from "./content/pool.js";
import type { ResultStore } from "./content/store.js";
import { createBoardEnergyManager, createMainsEnergyManager, type EnergyManager } from "./energy/manager.js";
import { PvForecast } from "./energy/forecast.js";
import {
  chargeCeilingAfterSleep,
  DEFAULT_ENERGY_POLICY,
  restoredStateOfCharge,
  type EnergyPolicyConfig,
} from "./energy/policy.js";
import { ImageCache } from "./executor/imageCache.js";
import { hostPlatform } from "./executor/images.js";
import { ensureTaskNetwork, type TaskNetwork } from "./executor/network.js";
import type { Board } from "./hardware/board.js";
import { systemClock } from "./hardware/clock.js";
import { Journal } from "./journal/journal.js";

export const WORKER_VERSION = "0.1.0";

export interface StartWorkerOptions {
  config: WorkerConfig;
  wallet: Wallet;
  /** The board (real or simulated), already created; none for a mains-powered host. */
  board?: Board;
  /**
   * Or: where to open the board from, given the state of charge to count from (restored from the
   * journal after a planned sleep; undefined after an unplanned cut: the voltage is the guide).
   */
  boardSource?: BoardSource;
  logger?: Logger;
  /**
   * Told when a task starts and stops: a simulated board draws the Pi's busy power meanwhile, as
   * the real one does when Docker loads its cores.
   */
  simulatedLoad?: (busy: boolean) => void;
  /** A running IPFS node to publish through, as in `ipfs.mode: "node"` (tests share one per process). */
  ipfs?: IpfsNode;
}

export interface RunningWorker {
  agent: Agent;
  journal: Journal;
  energy: EnergyManager;
  metricsUrl?: string;
  /** The owner's status page, when the config has `status`. */
  statusUrl?: string;
  /** Stops the agent (gracefully) and frees everything. */
  stop(): Promise<void>;
}

export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const log = options.logger ?? pino({ level: config.logLevel });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const journal = new Journal(join(config.dataDir, "journal.sqlite"));
  const policy =
    config.board.kind === "none"
      ? undefined
      : { ...DEFAULT_ENERGY_POLICY, ...config.energy, batteryWattHours: batteryWattHours(config.board.battery) };
  const source = options.boardSource;
  const opening = async (from: BoardSource): Promise<Board> => {
    const restored = policy && restoreStateOfCharge(journal, policy, from.clock.now());
    return from.open(restored?.stateOfCharge, restored?.atMost);
  };
  const board = options.board ?? (source === undefined ? undefined : await opening(source));
  const clock = board?.clock ?? systemClock;

  const deployment = parseDeployment(JSON.parse(await readFile(config.deployment, "utf8")) as unknown);
  const client = await createSunpoolClient({ deployment, rpcUrl: config.rpcUrl, signer: options.wallet });
  const api = createNodeWorkerApiClient({
    url: config.scheduler,
    signer: options.wallet,
    scope: { chainId: deployment.chainId, workerpool: config.workerpool },
  });
  const results = await openResultStore(config, api, options.ipfs);
  const docker = new Docker({ socketPath: config.docker.socketPath });

  if (board !== undefined) {
    const up = await board.start();
    log.info(up, "board started");
  }
  const energy =
    board === undefined || policy === undefined
      ? createMainsEnergyManager()
      : createBoardEnergyManager(board, journal, policy, options.simulatedLoad);
  const persistCharge = () => {
    const last = energy.last;
    if (last === undefined) return;
    journal.setMeta(
      PERSISTED_CHARGE,
      JSON.stringify({ stateOfCharge: last.stateOfCharge, pvWatts: last.pvWatts, atMs: last.at }),
    );
  };

  const limits = config.executor;
  let network: TaskNetwork | undefined;
  if (limits.network.enabled) {
    try {
      network = await ensureTaskNetwork(docker, limits.network);
    } catch (error) {
      log.error({ err: error }, "network tasks will be refused: their isolation could not be set up");
    }
  }
  const MiB = 1024 * 1024;
  const execution = createExecution({
    docker,
    results,
    energy,
    tasksDir: join(config.dataDir, "tasks"),
    now: () => clock.now(),
    worker: options.wallet.address,
    ...(config.platform === undefined ? {} : { platform: config.platform }),
    pullLimits: {
      maxImageBytes: limits.maxImageMiB * MiB,
      minFreeDiskBytes: limits.minFreeDiskMiB * MiB,
      timeoutMs: limits.pullTimeoutSeconds * 1000,
    },
    images: { cache: new ImageCache(join(config.dataDir, "images.json")), retentionMs: limits.imageRetentionHours * 3_600_000 },
    ...(network === undefined ? {} : { network }),
    ...(limits.writeMiBPerSecond > 0
      ? {
          writeRate: {
            bytesPerSecond: Math.round(limits.writeMiBPerSecond * MiB),
            ...(limits.writeIops > 0 ? { iops: limits.writeIops } : {}),
          },
        }
      : {}),
    warn: (message) => log.warn(message),
  });
  // prom-client is loaded only for a worker that serves metrics.
  let served: { url: string; close(): Promise<void> } | undefined;
  if (config.metrics !== undefined) {
    const { createMetrics, serveMetrics } = await import("./metrics.js");
    served = await serveMetrics(createMetrics(journal, energy), config.metrics.host, config.metrics.port);
  }
  let status: { url: string; close(): Promise<void> } | undefined;
  if (config.status !== undefined) {
    const { serveStatus } = await import("./status/server.js");
    const source = { address: options.wallet.address, board: board?.kind ?? "none", journal, energy, now: () => clock.now() };
    status = await serveStatus(source, config.status.listen.host, config.status.listen.port);
  }

  const agent = await startAgent({
    schedulerUrl: config.scheduler,
    api,
    client,
    address: options.wallet.address,
    journal,
    results,
    energy,
    now: () => clock.now(),
    sleep: (ms, signal) => clock.sleep(ms, signal),
    execution,
    capabilities: {
      platforms: [config.platform ?? hostPlatform()],
      cores: cpus().length,
      memoryMiB: Math.floor(totalmem() / 1024 / 1024),
      board: board?.kind ?? "none",
      version: WORKER_VERSION,
    },
    heartbeatSeconds: config.heartbeatSeconds,
    sleepWhenIdle: config.energy.sleep && board !== undefined,
    ...(board === undefined
      ? {}
      : {
          powerOffUntil: (at: number) => {
            persistCharge();
            return board.sleepUntil(new Date(at));
          },
        }),
    log,
  });
  // The MCU cuts the power a fixed delay after asking, halted or not (25 s at most): halt Linux at
  // once. systemd stops this service on the way down (SIGTERM: tasks stopped, journal closed) and
  // the image's power-off hook arms the wake-up; waiting for the agent first could miss the delay.
  board?.onShutdownRequest(() => {
    log.warn("the Witty Pi asks to shut down: powering off");
    persistCharge();
    void board.powerOff().catch((error: unknown) => log.error({ err: error }, "could not power off"));
    void agent.stop();
  });

  let stopped = false;
  return {
    agent,
    journal,
    energy,
    ...(served === undefined ? {} : { metricsUrl: served.url }),
    ...(status === undefined ? {} : { statusUrl: status.url }),
    async stop() {
      if (stopped) return;
      stopped = true;
      await agent.stop();
      persistCharge();
      await served?.close();
      await status?.close();
      await results.stop();
      (client.provider as { destroy?: () => void }).destroy?.();
      await board?.close();
      journal.close();
    },
  };
}

/** Pool mode needs nothing loaded; node mode starts a Helia node (its modules load only now). */
async function openResultStore(config: WorkerConfig, api: WorkerHttpClient, node: IpfsNode | undefined): Promise<ResultStore> {
  if (node !== undefined) {
    const { nodeResultStore } = await import("./content/node.js");
    return nodeResultStore(node, api, { owned: false });
  }
  if (config.ipfs.mode === "pool") return createPoolResultStore(api);
  const { startNodeResultStore } = await import("./content/node.js");
  return startNodeResultStore(api, {
    repo: join(config.dataDir, "ipfs"),
    ...(config.ipfs.listen === undefined ? {} : { listen: config.ipfs.listen }),
  });
}

const PERSISTED_CHARGE = "stateOfCharge";

/**
 * The state of charge saved at the last clean stop or planned sleep, advanced by what the panel
 * probably charged meanwhile; after a long sleep only an upper bound for the voltage the battery
 * monitor starts from (`chargeCeilingAfterSleep`); undefined after an unplanned power cut (nothing
 * was saved): the voltage alone. Read once: a later cut must not reuse it.
 */
function restoreStateOfCharge(
  journal: Journal,
  policy: EnergyPolicyConfig,
  nowMs: number,
): { stateOfCharge?: number; atMost?: number } | undefined {
  const saved = journal.getMeta(PERSISTED_CHARGE);
  if (saved === undefined) return undefined;
  journal.deleteMeta(PERSISTED_CHARGE);
  const persisted = JSON.parse(saved) as { stateOfCharge: number; pvWatts: number; atMs: number };
  const forecast = new PvForecast(journal.pvProfile(), persisted.atMs, persisted.pvWatts);
  const restored = restoredStateOfCharge(policy, persisted, forecast, nowMs);
  return restored === undefined
    ? { atMost: chargeCeilingAfterSleep(policy, persisted, forecast, nowMs) }
    : { stateOfCharge: restored };
}

/** Usable energy of the pack, Wh: cells x nominal cell voltage x capacity. */
export function batteryWattHours(battery: { chemistry: "lifepo4" | "li-ion"; cells: number; capacityAh: number }): number {
  const nominal = battery.chemistry === "lifepo4" ? 3.2 : 3.6;
  return battery.cells * nominal * battery.capacityAh;
}
