// Running one task: pull and verify the image, create the sandboxed container (sandbox.ts), start
// it, wait with a wall-clock limit while watching the output size, then classify the outcome,
// collect the result and its digest, and always remove the container. The wall-clock limit covers
// the pull too: a slow or stalled registry eats the task's budget, not the worker's day.
import { setTimeout as sleep } from "node:timers/promises";

import type Docker from "dockerode";
import type { ContainerInspectInfo } from "dockerode";

import type { ResultFile } from "@sunpool/sdk";

import { TaskContainerExistsError } from "./errors.js";
import { dockerError, pullImageByDigest, statusCode, type PulledImage, type PullLimits } from "./images.js";
import { readContainerLogs, type TaskLogs } from "./logs.js";
import { checkOutput, collectOutput, prepareOutputDir } from "./output.js";
import { containerSpec, defaultTimeoutSeconds, maxOutputBytes, STOP_GRACE_SECONDS, type ExecutorTask } from "./sandbox.js";

export type TaskRunStatus = "succeeded" | "failed" | "timeout" | "oom" | "output-too-large";

export interface TaskRunResult {
  status: TaskRunStatus;
  /** The container's exit code; null if it never reported one. */
  exitCode: number | null;
  /** The result digest (docs/results.md), only when status is "succeeded". */
  digest?: string;
  files?: ResultFile[];
  logs: TaskLogs;
  /** Why the run did not succeed, in words (exit code, limit hit, refused output entry). */
  reason?: string;
  startedAt: Date;
  finishedAt: Date;
}

export interface RunTaskOptions {
  /** Aborting stops the container (SIGTERM, SIGKILL after STOP_GRACE_SECONDS), removes it, and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** How often the output folder is measured while the task runs (ms). */
  outputPollMs?: number;
  /** Called once the image is present and verified. */
  onImage?: (image: PulledImage) => void;
  /** Called once the container has started (e.g. to journal it before waiting). */
  onStarted?: (containerId: string) => void;
  /**
   * Disk and time bounds of the image pull. Its `timeoutMs` is further cut to what is left of the
   * task's wall-clock limit, and the container gets only what the pull left.
   */
  pullLimits?: PullLimits;
}

/** Exit code of a process killed by SIGXFSZ: a file write went over the fsize ulimit (= the output cap). */
const EXIT_SIGXFSZ = 128 + 25;
/** The kernel's OOM killer sends SIGKILL; a shell reports its killed child as 128 + 9. */
const EXIT_SIGKILL = 128 + 9;

/**
 * Runs `task` to completion and reports how it ended. Throws (and runs nothing) if the image is
 * not the registered digest or not for this platform; rejects with `signal.reason` on abort. The
 * container is removed in every case.
 */
export async function runTask(docker: Docker, task: ExecutorTask, options: RunTaskOptions = {}): Promise<TaskRunResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const spec = containerSpec(task);
  const budgetMs = (task.timeoutSeconds ?? defaultTimeoutSeconds(task.app.resources)) * 1000;
  const pullStarted = Date.now();
  const pullTimeoutMs = Math.min(options.pullLimits?.timeoutMs ?? budgetMs, budgetMs);
  const image = await pullImageByDigest(docker, {
    image: task.app.image,
    imageDigest: task.app.imageDigest,
    signal,
    limits: { ...options.pullLimits, timeoutMs: pullTimeoutMs },
    ...(task.platform === undefined ? {} : { platform: task.platform }),
  });
  options.onImage?.(image);
  signal?.throwIfAborted();
  await prepareOutputDir(task.outputDir);

  const cap = maxOutputBytes(task.app.resources);
  // At least a second: a task whose pull took nearly all of its budget still starts, and times out.
  const timeoutMs = Math.max(1000, budgetMs - (Date.now() - pullStarted));
  let container: Docker.Container;
  try {
    container = await docker.createContainer(spec);
  } catch (error) {
    if (statusCode(error) === 409) {
      const existing = await docker.getContainer(spec.name!).inspect();
      throw new TaskContainerExistsError(task.taskId, existing.Id);
    }
    throw dockerError(docker, error);
  }

  let result: TaskRunResult | undefined;
  try {
    await container.start();
    options.onStarted?.(container.id);
    // "not-running" returns at once for a task that already exited; there is no restart policy.
    const exited = container.wait({ condition: "not-running" }) as Promise<{ StatusCode: number }>;

    let stopReason: "timeout" | "output-too-large" | "aborted" | undefined;
    let capDetail: string | undefined;
    const stop = (reason: typeof stopReason) => {
      if (stopReason !== undefined) return;
      stopReason = reason;
      // A task over its output cap is killed at once (nothing it writes now can be used); on a
      // timeout or an abort it gets SIGTERM and STOP_GRACE_SECONDS to exit cleanly.
      const stopping =
        reason === "output-too-large" ? container.kill({ signal: "SIGKILL" }) : container.stop({ t: STOP_GRACE_SECONDS });
      stopping.catch(() => undefined);
    };
    const timer = setTimeout(() => stop("timeout"), timeoutMs);
    const onAbort = () => stop("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    // Aborted while the container was being created or started: the event has fired already.
    if (signal?.aborted === true) onAbort();
    const watching = new AbortController();
    const watcher = (async () => {
      const interval = options.outputPollMs ?? 500;
      while (!watching.signal.aborted) {
        await sleep(interval, undefined, { signal: watching.signal }).catch(() => undefined);
        if (watching.signal.aborted) break;
        const problem = await checkOutput(task.outputDir, cap).catch(() => undefined);
        if (problem?.kind === "too-large") {
          capDetail = problem.detail;
          stop("output-too-large");
          break;
        }
      }
    })();
    try {
      await exited;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      watching.abort();
      await watcher;
    }
    if (stopReason === "aborted") throw signal?.reason ?? new Error("aborted");
    const info = await container.inspect();
    result = await finishContainer(container, info, { outputDir: task.outputDir, maxOutputBytes: cap, stopReason, capDetail });
  } finally {
    // A failure to remove must not hide the error that ended the run; after a result it is thrown.
    const removal = removeContainer(container);
    if (result === undefined) await removal.catch(() => undefined);
    else await removal;
  }
  return result;
}

/**
 * Classifies a stopped container's outcome and collects its logs and (on success) its result.
 * Shared by runTask and by recovery after a restart (recovery.ts).
 */
export async function finishContainer(
  container: Docker.Container,
  info: ContainerInspectInfo,
  context: { outputDir: string; maxOutputBytes: number; stopReason?: "timeout" | "output-too-large"; capDetail?: string },
): Promise<TaskRunResult> {
  const logs = await readContainerLogs(container);
  const state = info.State;
  const exitCode = state.Running ? null : state.ExitCode;
  const startedAt = new Date(state.StartedAt);
  // The engine stamps start and finish from different clocks (shim and daemon): a container that
  // exits at once can "finish" a millisecond before it started. A run never lasts less than zero.
  const finishedAt = new Date(Math.max(startedAt.getTime(), new Date(state.FinishedAt).getTime()));
  const base = { exitCode, logs, startedAt, finishedAt };

  if (context.stopReason === "output-too-large") {
    return {
      ...base,
      status: "output-too-large",
      reason: `output over the cap: ${context.capDetail ?? `more than ${context.maxOutputBytes} bytes`}`,
    };
  }
  if (context.stopReason === "timeout") return { ...base, status: "timeout", reason: "stopped at the wall-clock limit" };
  // Checked whatever the exit code: a write refused at the fsize limit (cap + 1, sandbox.ts) leaves
  // a file over the cap, and the app may or may not exit non-zero because of it.
  const problem = await checkOutput(context.outputDir, context.maxOutputBytes);
  if (problem?.kind === "too-large")
    return { ...base, status: "output-too-large", reason: `output over the cap: ${problem.detail}` };
  if (exitCode === EXIT_SIGXFSZ) {
    return {
      ...base,
      status: "output-too-large",
      reason: `a file write went over the ${context.maxOutputBytes}-byte limit (SIGXFSZ)`,
    };
  }
  if (exitCode !== 0) {
    if (state.OOMKilled || (exitCode === EXIT_SIGKILL && (await oomReportedLate(container))))
      return { ...base, status: "oom", reason: "killed at the memory limit" };
    return { ...base, status: "failed", reason: `exited with code ${exitCode}` };
  }
  if (problem?.kind === "invalid") return { ...base, status: "failed", reason: `refused output: ${problem.detail}` };
  const { files, digest } = await collectOutput(context.outputDir, context.maxOutputBytes);
  return { ...base, status: "succeeded", digest, files };
}

/** How long a SIGKILL exit waits for the engine's OOM event that may trail it. */
const OOM_EVENT_GRACE_MS = 2_000;

/**
 * Whether the engine marks the container OOM-killed shortly after its exit. The OOM event can reach
 * dockerd after the exit event (a shell whose child the kernel killed exits at once), so the first
 * inspect can show exit 137 with OOMKilled still false (seen on a loaded CI machine).
 */
async function oomReportedLate(container: Docker.Container): Promise<boolean> {
  for (let waited = 0; waited < OOM_EVENT_GRACE_MS; waited += 100) {
    await sleep(100);
    try {
      if ((await container.inspect()).State.OOMKilled) return true;
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw error;
    }
  }
  return false;
}

/** Removes a container and its anonymous volumes; a container already gone is fine. */
export async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    // 404: already removed; 409: removal already in progress.
    if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
  }
}
