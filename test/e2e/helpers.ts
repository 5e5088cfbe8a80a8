// End-to-end fixtures: `npm run devnet` as a real process (its own ports and a temporary state
// folder, so a developer's running devnet is left alone) and the `sunpool` CLI run against it the
// way a user runs it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { until } from "../helpers/wait.js";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * A devnet's chain and scheduler ports, free on 127.0.0.1 now: chosen by the kernel, so a test's
 * devnet never meets another run's, or a developer's devnet on the default ports. Both are held
 * open together so the two differ.
 */
export async function freeDevnetPorts(): Promise<{ chainPort: number; schedulerPort: number }> {
  const listen = () =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer().once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
  const servers = [await listen(), await listen()];
  const [chainPort, schedulerPort] = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return { chainPort: chainPort!, schedulerPort: schedulerPort! };
}
const CLI = join(ROOT, "sdk/dist/cli/main.js");

export interface DevnetInfo {
  rpcUrl: string;
  schedulerUrl: string;
  deployment: { hub: string; token: string; registry: string };
  workerpool: string;
  apps: Record<string, { id: string; image: string; imageDigest: string; datasetId?: string }>;
  datasets: Record<string, { id: string; cid: string }>;
  accounts: { requester: string; appOwner: string; scheduler: string; workers: string[] };
  requesterConfig: string;
  password: string;
}

export interface RunningDevnet {
  child: ChildProcess;
  state: string;
  output(): string;
  exited: Promise<number | null>;
  info(): DevnetInfo;
}

export function startDevnet(options: { chainPort: number; schedulerPort: number; args?: string[] }): RunningDevnet {
  const state = mkdtempSync(join(tmpdir(), "sunpool-devnet-"));
  const child = spawn(process.execPath, [join(ROOT, "devnet/start.ts"), ...(options.args ?? [])], {
    cwd: ROOT,
    env: {
      ...process.env,
      SUNPOOL_DEVNET_PORT: options.chainPort.toString(),
      SUNPOOL_DEVNET_SCHEDULER_PORT: options.schedulerPort.toString(),
      SUNPOOL_DEVNET_STATE: state,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    state,
    output: () => output,
    exited,
    info: () => JSON.parse(readFileSync(join(state, "devnet.json"), "utf8")) as DevnetInfo,
  };
}

/** Polls `predicate`, running `refresh` (if any) before each check. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
  refresh?: () => Promise<void>,
): Promise<void> {
  await until(
    what,
    async () => {
      await refresh?.();
      return predicate() ? true : undefined;
    },
    timeoutMs,
  );
}

export interface PoolStatus {
  workers: { online: number; offline: number; busy: number };
  tasks: { waiting: number; running: number; revealing: number; completed: number; expired: number };
  deals: number;
}

/** Polls the scheduler's /v1/status until `predicate` holds (tolerating a scheduler that restarts). */
export async function waitForStatus(
  devnet: DevnetInfo,
  predicate: (status: PoolStatus) => boolean,
  timeoutMs: number,
  what: string,
) {
  let status: PoolStatus | undefined;
  await waitFor(
    () => status !== undefined && predicate(status),
    timeoutMs,
    what,
    async () => {
      status = await fetch(`${devnet.schedulerUrl}/v1/status`)
        .then((response) => response.json() as Promise<PoolStatus>)
        .catch(() => undefined);
    },
  );
  return status!;
}

/** The pid of a devnet part (`scheduler`, `worker-1`, …), from the pid file the devnet keeps. */
export function readPid(devnet: RunningDevnet, part: string): number {
  return Number(readFileSync(join(devnet.state, "run", `${part}.pid`), "utf8").trim());
}

/** Waits for "devnet ready" (or the devnet's exit, with its output in the error). */
export async function waitForDevnet(devnet: RunningDevnet, timeoutMs = 240_000): Promise<number> {
  await waitFor(() => devnet.output().includes("devnet ready") || devnet.child.exitCode !== null, timeoutMs, "the devnet");
  if (!devnet.output().includes("devnet ready")) throw new Error(`the devnet did not start:\n${devnet.output()}`);
  return Number(/devnet ready in ([\d.]+) s/.exec(devnet.output())?.[1]);
}

/** A devnet started before the suite's tests and stopped with Ctrl-C (which must exit 0) after them. */
export function useDevnet(options: Parameters<typeof startDevnet>[0]): () => RunningDevnet {
  let devnet: RunningDevnet | undefined;
  before(async function () {
    devnet = startDevnet(options);
    await waitForDevnet(devnet);
  });
  after(async function () {
    if (devnet === undefined) return;
    devnet.child.kill("SIGINT");
    expect(await devnet.exited, devnet.output()).to.equal(0);
  });
  return () => devnet!;
}

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sunpool <args>` in `cwd` with the devnet's requester config, as the printed commands do. */
export function sunpool(devnet: DevnetInfo, cwd: string, args: string[]): Promise<CliOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: cwd, SUNPOOL_CONFIG: devnet.requesterConfig, SUNPOOL_PASSWORD: devnet.password },
      // Never outlive the test that started it (a hung CLI would keep mocha from exiting).
      timeout: 240_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The word counts the wordcount demo must produce for `text`, computed independently. */
export function expectedWordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    for (const raw of line.split(/\s+/)) {
      const word = raw.toLowerCase().replace(/[^a-z0-9]/g, "");
      if (word !== "") counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return counts;
}

export function parseCounts(text: string): Map<string, number> {
  return new Map(
    text
      .trim()
      .split("\n")
      .map((line) => {
        const [word, count] = line.split(" ");
        return [word!, Number(count)] as [string, number];
      }),
  );
}

export const REPO_ROOT = ROOT;
