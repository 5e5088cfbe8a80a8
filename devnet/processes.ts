// The devnet's long-running parts as child processes of `npm run devnet`: the Hardhat node, the
// scheduler and the workers, each in its own process group with its log in the state folder, so
// that Ctrl-C can stop them in order (workers, scheduler, chain) and wait until their ports are free.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { createServer } from "node:net";

export interface Service {
  name: string;
  child: ChildProcess;
  log: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function startService(name: string, args: string[], options: { log: string; env?: NodeJS.ProcessEnv }): Service {
  const fd = openSync(options.log, "a");
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", fd, fd],
    detached: true,
    env: { ...process.env, ...options.env },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    log: options.log,
    exited,
    async stop(graceMs = 10_000) {
      if (!running()) return;
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

/** Resolves when `url` answers 2xx; rejects if `service` exits first or after `timeoutMs`. */
export async function waitForHttp(
  service: Service,
  url: string,
  timeoutMs: number,
  init?: RequestInit,
  accept: (response: Response) => Promise<boolean> = () => Promise.resolve(true),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null || service.child.signalCode !== null)
      throw new Error(
        `the ${service.name} exited (code ${String(service.child.exitCode ?? service.child.signalCode)}); see ${service.log}`,
      );
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
