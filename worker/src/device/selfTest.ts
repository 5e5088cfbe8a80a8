// `sunpool-worker self-test`: what an owner (or the image build) runs to know a worker can earn.
// Each check says what it saw; a failed one says what to do. With `simulate`, the board is the
// register-level simulator of the owner's own battery and panel, driven through the same drivers,
// which is how the image build proves an arm64 root file system on an x86 machine.
import { createRequire } from "node:module";
import { dirname } from "node:path";

import Docker from "dockerode";
import type { Wallet } from "ethers";
import type { Logger } from "pino";

import { boardOptions, createBoardSource } from "../boardFactory.js";
import type { WorkerConfig } from "../config.js";
import { startWorker } from "../runtime.js";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SelfTestOptions {
  config: WorkerConfig;
  /** Replace the configured board by a simulation of the same battery and panel. */
  simulate: boolean;
  /** Also start the agent and wait for one task to finish (needs the wallet and a live pool). */
  task?: { wallet: Wallet; timeoutMs: number; logger: Logger };
  /** Told of each check as soon as it is done (the CLI prints them as they come). */
  onCheck?: (check: Check) => void;
}

/** The simulated June noon in Albuquerque the self-test starts from: sun, so a task may start. */
const SIMULATED_NOON = "2026-06-21T18:00:00.000Z";

export async function runSelfTest(options: SelfTestOptions): Promise<Check[]> {
  const checks: Check[] = [];
  const record = (check: Check) => {
    checks.push(check);
    options.onCheck?.(check);
  };
  const config = options.simulate ? { ...options.config, board: simulatedBoard(options.config.board) } : options.config;
  record(runtimeCheck());
  record(await addonsCheck());
  record(await dockerCheck(config.docker.socketPath));
  record(await boardCheck(config));
  if (options.task !== undefined && checks.every((check) => check.ok)) record(await taskCheck(config, options.task));
  return checks;
}

function runtimeCheck(): Check {
  const major = Number(process.versions.node.split(".")[0]);
  return {
    name: "runtime",
    ok: major >= 24,
    detail: `Node ${process.version} on ${process.platform}/${process.arch}${major >= 24 ? "" : ": Node 24 or later is needed"}`,
  };
}

/** The native addons load: they were built for this CPU and this Node's ABI. */
async function addonsCheck(): Promise<Check> {
  const require = createRequire(import.meta.url);
  try {
    await import("i2c-bus");
    const { Gpio } = await import("onoff");
    const where = dirname(dirname(require.resolve("i2c-bus")));
    return {
      name: "native addons",
      ok: true,
      detail: `i2c-bus and onoff/epoll load (${where}); GPIO sysfs ${Gpio.accessible ? "accessible" : "not accessible here"}`,
    };
  } catch (error) {
    return {
      name: "native addons",
      ok: false,
      detail: `${(error as Error).message.split("\n")[0] ?? ""}: rebuild them for ${process.arch} with this Node (firmware-scripts/build-worker.sh)`,
    };
  }
}

async function dockerCheck(socketPath: string): Promise<Check> {
  try {
    const version = await new Docker({ socketPath }).version();
    return { name: "docker", ok: true, detail: `engine ${version.Version} (${version.Os}/${version.Arch}) at ${socketPath}` };
  } catch (error) {
    return {
      name: "docker",
      ok: false,
      detail: `no engine at ${socketPath} (${(error as Error).message}): systemctl status docker`,
    };
  }
}

/** The board through the real drivers: probe, boot routine, one sample. */
async function boardCheck(config: WorkerConfig): Promise<Check> {
  const source = createBoardSource(config);
  if (source === undefined) return { name: "board", ok: true, detail: "none configured: mains power, no energy policy" };
  try {
    const board = await source.open();
    try {
      const up = await board.start();
      const sample = await board.sample();
      return {
        name: "board",
        ok: true,
        detail: [
          `${source.simulator === undefined ? "" : "simulated "}Witty Pi 4 firmware 0x${up.firmwareId.toString(16)} rev ${up.firmwareRevision.toString()}`,
          `woke: ${up.reason}`,
          `battery ${sample.batteryVolts.toFixed(2)} V ${sample.batteryAmps.toFixed(3)} A`,
          `charge ${(sample.stateOfCharge * 100).toFixed(0)} %`,
          `panel ${sample.pvWatts.toFixed(1)} W${sample.pvMeasured ? "" : " (estimated)"}`,
          `Pi ${sample.loadWatts.toFixed(2)} W`,
        ].join(", "),
      };
    } finally {
      await board.close();
    }
  } catch (error) {
    return {
      name: "board",
      ok: false,
      detail: `${(error as Error).message}: check the Witty Pi is seated, I2C is on (dtparam=i2c_arm=on), and i2cdetect -y 1 shows 0x08`,
    };
  } finally {
    source.simulator?.close();
  }
}

/** The whole loop once: heartbeat, offer, Docker run, IPFS publish, commit and reveal on chain. */
async function taskCheck(config: WorkerConfig, task: NonNullable<SelfTestOptions["task"]>): Promise<Check> {
  const source = createBoardSource(config);
  const worker = await startWorker({
    config,
    wallet: task.wallet,
    ...boardOptions(source),
    logger: task.logger,
  });
  const before = new Set(worker.journal.recent(1000).map((entry) => entry.taskId));
  const started = Date.now();
  try {
    while (Date.now() - started < task.timeoutMs) {
      const done = worker.journal.recent(20).find((entry) => entry.step === "done" && !before.has(entry.taskId));
      if (done !== undefined) {
        const energy = done.energy === undefined ? "" : `, ${(done.energy.milliwattHours / 1000).toFixed(3)} Wh`;
        return {
          name: "task",
          ok: true,
          detail: `task ${done.taskId} done in ${((Date.now() - started) / 1000).toFixed(1)} s${energy}`,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return {
      name: "task",
      ok: false,
      detail: `no task finished within ${(task.timeoutMs / 1000).toFixed(0)} s: is the worker's stake funded, and does the pool have work? (sunpool-worker status)`,
    };
  } finally {
    await worker.stop();
    source?.simulator?.close();
  }
}

/** A simulation of the configured board's battery and panel (a default 20 W / 6 Ah board for none). */
function simulatedBoard(board: WorkerConfig["board"]): WorkerConfig["board"] {
  if (board.kind === "simulated") return board;
  const battery = board.kind === "witty-pi-4" ? board.battery : { chemistry: "lifepo4" as const, cells: 4, capacityAh: 6 };
  return {
    kind: "simulated",
    site: "albuquerque",
    panelWatts: (board.kind === "witty-pi-4" ? board.panelWatts : undefined) ?? 20,
    battery,
    initialStateOfCharge: 0.8,
    speed: 1,
    startTime: SIMULATED_NOON,
  };
}
