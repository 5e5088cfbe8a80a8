// The devnet's long-running parts as child processes of `npm run devnet`: the Hardhat node, the
// scheduler and the workers, each in its own process group with its log in the state folder, so
// that Ctrl-C can stop them in order (workers, scheduler, chain) and wait until their ports are free.
// A part that dies on its own is started again, as systemd would on a Pi or a server: a worker
// killed mid-task is a power cut, and its restart the power coming back.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";

/** More crashes than this within CRASH_WINDOW_MS and the part is given up on. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 300;

export interface Service {
  name: string;
  log: string;
  /** The current process (a new one after each restart). */
  readonly child: ChildProcess;
  readonly restarts: number;
  /** Resolves when the part died and will not be restarted (restart off, or crashing in a loop). */
  failed: Promise<string>;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServiceOptions {
  log: string;
  env?: NodeJS.ProcessEnv;
  /** Start it again when it exits on its own (default false). */
  restart?: boolean;
  /** Written with the current pid at each start (for tools and tests that need to signal it). */
  pidFile?: string;
  /** The program to run (default: this Node, with `args` as its script and arguments). */
  command?: string;
}

export function startService(name: string, args: string[], options: ServiceOptions): Service {
  const fd = openSync(options.log, "a");
  let stopping = false;
  let restarts = 0;
  const crashes: number[] = [];
  let giveUp: (reason: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (giveUp = resolve));
  let child: ChildProcess;
  let exited: Promise<void>;

  const launch = () => {
    child = spawn(options.command ?? process.execPath, args, {
      stdio: ["ignore", fd, fd],
      detached: true,
      env: { ...process.env, ...options.env },
    });
    if (options.pidFile !== undefined && child.pid !== undefined) writeFileSync(options.pidFile, `${child.pid.toString()}\n`);
    exited = new Promise<void>((resolve) =>
      child.once("exit", (code, signal) => {
        resolve();
        if (stopping) return;
        const how = signal === null ? `code ${String(code)}` : signal;
        const now = Date.now();
        crashes.push(now);
        while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
        if (options.restart !== true) return giveUp(`the ${name} exited (${how})`);
        if (crashes.length > MAX_CRASHES)
          return giveUp(`the ${name} exited ${crashes.length.toString()} times within a minute (last: ${how})`);
        console.log(`devnet: the ${name} exited (${how}); starting it again`);
        restarts += 1;
        setTimeout(() => stopping || launch(), RESTART_DELAY_MS);
      }),
    );
  };
  launch();

  return {
    name,
    log: options.log,
    get child() {
      return child;
    },
    get restarts() {
      return restarts;
    },
    failed,
    async stop(graceMs = 10_000) {
      stopping = true;
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Resolves when `url` answers 2xx (and `accept` agrees); rejects if the service gives up or after `timeoutMs`. */
export async function waitForHttp(
  service: Service,
  url: string,
  timeoutMs: number,
  init?: RequestInit,
  accept: (response: Response) => Promise<boolean> = () => Promise.resolve(true),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gaveUp: string | undefined;
  void service.failed.then((reason) => (gaveUp = reason));
  while (Date.now() < deadline) {
    if (gaveUp !== undefined) throw new Error(`${gaveUp}; see ${service.log}`);
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      if (response.ok && (await accept(response))) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`the ${service.name} was not ready at ${url} within ${(timeoutMs / 1000).toString()} s; see ${service.log}`);
}

/** Rejects with what to do when something already listens on host:port. */
export async function checkPortFree(host: string, port: number, what: string, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", () =>
      reject(
        new Error(
          `port ${port.toString()} on ${host} (${what}) is in use. Stop what listens there (ss -ltnp 'sport = :${port.toString()}'), ` +
            `or set ${variable} to another port.`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
