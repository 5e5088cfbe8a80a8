// One task's way through the worker, step by journaled step (journal.ts, TaskStep). `advance`
// takes the task from whatever step the journal says to the next point where it must wait (for
// consensus, for a pending transaction) or to a final step. It is safe to call again after a
// crash at any instant: each step either is idempotent or first asks the chain what happened.
import { sha256, toUtf8Bytes } from "ethers";

import {
  decodeTaskParams,
  encryptResult,
  ENCRYPTED_RESULT_FILE,
  pinResult,
  reportTask,
  resultDigest,
  type ResultFile,
  type TaskReport,
} from "@sunpool/sdk";
import type { IpfsNode } from "@sunpool/sdk/node";
import type { Logger } from "pino";

import { TaskRevertedError, type Contributions, type TaskRef } from "../chain/contributions.js";
import type { EnergyReceipt } from "../energy/meter.js";
import type { JournaledTask, Journal, TaskUpdate } from "../journal/journal.js";
import { failpoint, FAILPOINTS, type Failpoint } from "./failpoints.js";

type SchedulerClient = Parameters<typeof reportTask>[0];

/** What running the task's container produced. */
export type ExecutionOutcome =
  | { ok: true; files: ResultFile[]; digest: string; energy: EnergyReceipt; seconds: number; wattHours: number }
  | { ok: false; reason: string; logTail: string };

export interface PipelineContext {
  journal: Journal;
  api: SchedulerClient;
  chain: Contributions;
  ipfs: IpfsNode;
  log: Logger;
  /** Unix milliseconds (the board's clock: simulated time on a simulated board). */
  now(): number;
  /** Runs the task's container (or re-runs it after a crash) and collects its result. */
  execute(task: JournaledTask, signal: AbortSignal): Promise<ExecutionOutcome>;
  /** Reads back the result files of an executed task (kept on disk until the task is done). */
  readResult(task: JournaledTask): Promise<ResultFile[]>;
  /** Frees what the task kept on disk once it needs nothing more. */
  cleanUp(task: JournaledTask): Promise<void>;
  learnTask(appId: string, wattHours: number, seconds: number): void;
}

/** Why `advance` stopped short of a final step. */
export type Pause = "waiting-for-consensus" | "transaction-pending";

/** Thrown when a step cannot be taken now but may be later (RPC down, scheduler unreachable). */
export class RetryLater extends Error {
  override readonly name = "RetryLater";
}

export async function advance(ctx: PipelineContext, taskId: string, signal: AbortSignal): Promise<Pause | undefined> {
  for (;;) {
    signal.throwIfAborted();
    const task = ctx.journal.get(taskId);
    if (task === undefined) throw new Error(`no journaled task ${taskId}`);
    const pause = await step(ctx, task, signal);
    if (pause !== undefined) return pause;
    const next = ctx.journal.get(taskId)!;
    if (next.step === "done" || next.step === "failed" || next.step === "abandoned") {
      if (next.step !== task.step || task.step === "done") await ctx.cleanUp(next).catch(() => undefined);
      return undefined;
    }
  }
}

async function step(ctx: PipelineContext, task: JournaledTask, signal: AbortSignal): Promise<Pause | undefined> {
  const ref: TaskRef = {
    taskId: task.taskId,
    dealId: task.dealId,
    index: task.index,
    authorization: task.assignment.authorization,
  };
  const move = (update: TaskUpdate) => {
    ctx.journal.advance(task.taskId, update, Math.floor(ctx.now() / 1000));
    const reached = update.step === "sent" ? (update.transactionHash === undefined ? undefined : "sent") : update.step;
    if (reached !== undefined && (FAILPOINTS as readonly string[]).includes(reached)) failpoint(reached as Failpoint);
  };
  const pastDeadline = ctx.now() / 1000 > task.deadline;

  switch (task.step) {
    case "accepted": {
      if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before it could run");
      await report(ctx, task.taskId, { state: "running" });
      const outcome = await ctx.execute(task, signal);
      if (!outcome.ok) return giveUp(ctx, task, "failed", outcome.reason, outcome.logTail);
      ctx.learnTask(task.assignment.app.id, outcome.wattHours, outcome.seconds);
      move({ step: "executed", digest: outcome.digest, energy: outcome.energy });
      return undefined;
    }
    case "executed": {
      if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before its result was published");
      const files = await ctx.readResult(task);
      // The files on disk are what the digest was computed over; if a power cut damaged them, the
      // task is run again rather than published with a digest that does not match.
      if (resultDigest(files) !== task.digest) {
        ctx.log.warn({ taskId: task.taskId }, "result on disk no longer matches its digest: running the task again");
        move({ step: "accepted" });
        return undefined;
      }
      const params = decodeTaskParams(task.assignment.params, sha256(toUtf8Bytes(task.assignment.params)));
      const stored =
        params.resultEncryption === undefined
          ? files
          : [{ path: ENCRYPTED_RESULT_FILE, content: await encryptResult(files, params.resultEncryption.publicKey) }];
      const location = await ctx.ipfs.addFiles(stored);
      move({ step: "published", location });
      return undefined;
    }
    case "published": {
      if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before its result was pinned");
      // The scheduler's always-on node keeps the result available while this Pi sleeps.
      await ctx.ipfs.connect(task.assignment.ipfsPeers);
      await retryable(() => pinResult(ctx.api, { cid: task.location!, providers: ctx.ipfs.multiaddrs() }));
      move({ step: "pinned" });
      return undefined;
    }
    case "pinned": {
      if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before contributing");
      const fromBlock = Math.max(0, (await retryable(() => ctx.chain.blockNumber())) - 1);
      // Recorded before sending: a restart finds a transaction it cannot remember sending.
      move({ step: "sent", fromBlock });
      return send(ctx, task, ref, move);
    }
    case "sent": {
      const fromBlock = task.fromBlock ?? 0;
      const found = await retryable(() => ctx.chain.findContribution(task.taskId, fromBlock));
      if (found !== undefined) return sentDone(ctx, task, found, move);
      if (await retryable(() => ctx.chain.hasPending())) return "transaction-pending";
      if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before the contribution was mined");
      return send(ctx, task, ref, move);
    }
    case "committed": {
      const state = await retryable(() => ctx.chain.revealState(ref, task.digest!));
      if (state === "wait") return "waiting-for-consensus";
      if (state === "ended" || state === "lost") {
        move({ step: "done", reason: state === "lost" ? "consensus was reached on another result" : "the task ended" });
        return undefined;
      }
      const revealed = await retryable(() => ctx.chain.findReveal(task.taskId, task.fromBlock ?? 0));
      const hash =
        revealed ??
        (await ctx.chain
          .reveal(ref, task.digest!, () => undefined)
          .catch((error: unknown) => {
            if (error instanceof TaskRevertedError) return undefined;
            throw new RetryLater(`reveal failed: ${(error as Error).message}`, { cause: error });
          }));
      if (hash === undefined) {
        move({ step: "done", reason: "the reveal was refused (deadline passed or consensus changed)" });
        return undefined;
      }
      move({ step: "revealed", transactionHash: hash });
      return undefined;
    }
    case "revealed": {
      await report(ctx, task.taskId, { state: "revealed", resultLocation: task.location, transaction: task.transactionHash });
      move({ step: "done" });
      return undefined;
    }
    case "done":
    case "failed":
    case "abandoned":
      return undefined;
  }
}

async function send(
  ctx: PipelineContext,
  task: JournaledTask,
  ref: TaskRef,
  move: (update: TaskUpdate) => void,
): Promise<Pause | undefined> {
  const energy = task.energy ?? { milliwattHours: 0, solarShareBps: 0 };
  const onSent = (hash: string) => move({ step: "sent", transactionHash: hash });
  try {
    const hash =
      task.trust <= 1
        ? await ctx.chain.submit(ref, task.digest!, task.location!, energy, onSent)
        : await ctx.chain.contribute(ref, task.digest!, energy, onSent);
    return sentDone(ctx, task, hash, move);
  } catch (error) {
    if (error instanceof TaskRevertedError) {
      // Already contributed (a transaction this worker lost track of): the logs will show it.
      if (error.errorName === "TaskAlreadyContributed") return "transaction-pending";
      return giveUp(ctx, task, "abandoned", `the hub refused the contribution: ${error.errorName}`);
    }
    throw new RetryLater(`sending the contribution failed: ${(error as Error).message}`, { cause: error });
  }
}

async function sentDone(
  ctx: PipelineContext,
  task: JournaledTask,
  hash: string,
  move: (update: TaskUpdate) => void,
): Promise<undefined> {
  if (task.trust <= 1) {
    move({ step: "done", transactionHash: hash });
    await report(ctx, task.taskId, { state: "submitted", resultLocation: task.location, transaction: hash });
  } else {
    move({ step: "committed", transactionHash: hash });
    await report(ctx, task.taskId, { state: "contributed", resultLocation: task.location, transaction: hash });
  }
  return undefined;
}

async function giveUp(
  ctx: PipelineContext,
  task: JournaledTask,
  step: "failed" | "abandoned",
  reason: string,
  logTail?: string,
): Promise<undefined> {
  ctx.journal.advance(task.taskId, { step, reason, ...(logTail === undefined ? {} : { logTail }) }, Math.floor(ctx.now() / 1000));
  ctx.log.warn({ taskId: task.taskId, step, reason }, "gave the task up");
  await report(ctx, task.taskId, { state: "failed", reason, ...(logTail ? { logTail: logTail.slice(-16_000) } : {}) });
  return undefined;
}

/** Reports are best effort: the scheduler also learns everything from the chain. */
async function report(ctx: PipelineContext, taskId: string, body: TaskReport): Promise<void> {
  try {
    await reportTask(ctx.api, taskId, body);
  } catch (error) {
    ctx.log.warn({ taskId, state: body.state, err: error }, "could not report to the scheduler (it will learn from the chain)");
  }
}

async function retryable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new RetryLater((error as Error).message, { cause: error });
  }
}
