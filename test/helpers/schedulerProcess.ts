// The pool's scheduler as a real `sunpool-scheduler` process (scheduler/dist/cli.js) on a test
// market's chain: its config written into a folder, its JSON log lines kept (and written to a file
// next to the config), resolved once its API answers. The replicas test and `bench:replicas` start
// their schedulers this way.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { writeKeystore } from "../../sdk/src/node/keystore.js";
import { freePort } from "../sdk/helpers/chain.js";
import type { TestMarket } from "../sdk/helpers/market.js";
import { until } from "./wait.js";

const CLI = new URL("../../scheduler/dist/cli.js", import.meta.url).pathname;
/** The password of the keystore prepareSchedulerFolder writes (SUNPOOL_SCHEDULER_PASSWORD). */
export const SCHEDULER_PASSWORD = "scheduler-process-password";

/** A log line (pino JSON) with an `event` field. */
export interface LogEvent {
  event: string;
  time: number;
  at?: number;
  label?: string;
  nonce?: number;
  replica?: string;
}

export interface SchedulerProcess {
  name: string;
  url: string;
  child: ChildProcess;
  events: LogEvent[];
  /** Its log file (JSON lines). */
  logFile: string;
  /** kill -9, and waits for the exit. */
  kill(): Promise<void>;
}

/** Writes the scheduler's keystore (account 3 of the market) and deployment into `folder`. */
export async function prepareSchedulerFolder(market: TestMarket, folder: string): Promise<void> {
  await writeKeystore({
    path: join(folder, "keystore.json"),
    password: SCHEDULER_PASSWORD,
    privateKey: market.chain.wallet(3).privateKey,
  });
  const { chainId, ...addresses } = market.chain.deployment;
  writeFileSync(join(folder, "deployment.json"), JSON.stringify({ chainId: Number(chainId), ...addresses }));
}

/**
 * Writes the config of a scheduler named `name` into `folder` (prepared by prepareSchedulerFolder),
 * on a free port, with `settings` over the test defaults (fast chain polling, 5 s heartbeats,
 * debug logs, a data folder of its own); returns its path, port and URL.
 */
export async function writeSchedulerConfig(
  market: TestMarket,
  folder: string,
  name: string,
  settings: Record<string, unknown> = {},
): Promise<{ path: string; port: number; url: string }> {
  const port = await freePort();
  const path = join(folder, `${name}.config.json`);
  writeFileSync(
    path,
    JSON.stringify({
      rpcUrl: market.chain.rpcUrl,
      deployment: "deployment.json",
      workerpool: market.workerpoolId,
      keystore: "keystore.json",
      dataDir: `data-${name}-${port.toString()}`,
      listen: { port },
      workers: { heartbeatSeconds: 5 },
      ipfs: { dialPrivate: true }, // the test workers' nodes listen on loopback
      chain: { pollSeconds: 0.2, confirmations: 0 },
      logLevel: "debug",
      ...settings,
    }),
  );
  return { path, port, url: `http://127.0.0.1:${port.toString()}` };
}

/**
 * Starts a scheduler process named `name` in `folder`, its config from writeSchedulerConfig.
 * Resolves once its /healthz says 200: it leads, or follows a replica that does.
 */
export async function startSchedulerProcess(
  market: TestMarket,
  folder: string,
  name: string,
  settings: Record<string, unknown> = {},
): Promise<SchedulerProcess> {
  const { path, port, url } = await writeSchedulerConfig(market, folder, name, settings);
  const child = spawn(process.execPath, [CLI, "start", "--config", path], {
    env: { ...process.env, SUNPOOL_SCHEDULER_PASSWORD: SCHEDULER_PASSWORD },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const logFile = join(folder, `${name}-${port.toString()}.log`);
  const started: SchedulerProcess = {
    name,
    url,
    child,
    events: [],
    logFile,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
  createInterface({ input: child.stdout }).on("line", (line) => {
    appendFileSync(logFile, `${line}\n`);
    try {
      const entry = JSON.parse(line) as Partial<LogEvent>;
      if (typeof entry.event === "string") started.events.push(entry as LogEvent);
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) =>
      reject(new Error(`scheduler ${name} exited (${String(code ?? signal)}) before its API answered: see ${logFile}`)),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([
    until(
      `scheduler ${name} to serve (it leads, or knows who does)`,
      async () => ((await fetch(`${started.url}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined),
      60_000,
    ),
    exited,
  ]);
  return started;
}
