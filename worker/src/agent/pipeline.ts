// One task's way through the worker, step by journaled step (journal.ts, TaskStep). `advance`
// takes the task from whatever step the journal says to the next point where it must wait (for
// its round's reveal window, for a pending transaction) or to a final step. It is safe to call again after a
// crash at any instant: each step either is idempotent or first asks the chain what happened.
import { sha256, toUtf8Bytes } from "ethers";

import {
  decodeTaskParams,
  encryptResult,
  ENCRYPTED_RESULT_FILE,
  reportTask,
  resultDigest,
  SchedulerRejectedError,
  type ResultFile,
  type TaskReport,
} from "@sunpool/sdk";
import type { Logger } from "pino";

import {
  commitmentOf,
  newSalt,
  TaskRevertedError,
  type Contribution,
  type Contributions,
  type TaskRef,
} from "../chain/contributions.js";
import type { ResultStore } from "../content/store.js";
import type { EnergyReceipt } from "../energy/meter.js";
import {
  MAX_REPORT_BACKOFF_MS,
  type EnergySplit,
  type JournaledTask,
  type Journal,
  type TaskStep,
  type TaskUpdate,
} from "../journal/journal.js";
import { failpoint, FAILPOINTS, type Failpoint } from "./failpoints.js";

type SchedulerClient = Parameters<typeof reportTask>[0];

/** What running the task's container produced. */
export type ExecutionOutcome =
  | {
      ok: true;
      files: ResultFile[];
      digest: string;
      energy: EnergyReceipt;
      /** The same metering by source (panel, battery, mains), for the report; absent when nothing was metered. */
      energySplit?: EnergySplit;
      seconds: number;
      wattHours: number;
    }
  | { ok: false; reason: string; logTail: string };

export interface PipelineContext {
  journal: Journal;
  api: SchedulerClient;
  chain: Contributions;
  /** Where results are published (the pool's IPFS node, or the worker's own). */
  results: ResultStore;
  log: Logger;
  /** Unix milliseconds (the board's clock: simulated time on a simulated board). */
  now(): number;
  /** Runs the task's container (or re-runs it after a crash) and collects its result. */
  execute(task: JournaledTask, signal: AbortSignal): Promise<ExecutionOutcome>;
  /** Reads back the result files of an executed task (kept on disk until the task is done). */
  readResult(task: JournaledTask): Promise<ResultFile[]>;
  /** Frees what the task kept on disk once it needs nothing more. */
  cleanUp(task: JournaledTask): Promise<void>;
  /**
   * Keeps (fsync'ed, in the task folder) an encrypted result's envelope before it is published:
   * encryption is randomized, so the envelope cannot be rebuilt with the same CID.
   */
  keepEnvelope?(task: JournaledTask, envelope: Uint8Array): Promise<void>;
  /** The envelope kept by keepEnvelope, if any. */
  readEnvelope?(task: JournaledTask): Promise<Uint8Array | undefined>;
  learnTask(appId: string, wattHours: number, seconds: number): void;
}

/** Why `advance` stopped short of a final step. */
export type Pause = "waiting-for-reveal" | "transaction-pending";

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

/** What a step's handler works with: the task as journaled, and `move` to journal its next step. */
interface StepRun {
  ctx: PipelineContext;
  task: JournaledTask;
  ref: TaskRef;
  signal: AbortSignal;
  pastDeadline: boolean;
  move: Move;
}

/** Journals the task's next step, and with it (one transaction) the report that follows that step. */
type Move = (update: TaskUpdate, report?: TaskReport) => void;

type StepHandler = (run: StepRun) => Promise<Pause | undefined>;

async function step(ctx: PipelineContext, task: JournaledTask, signal: AbortSignal): Promise<Pause | undefined> {
  const ref: TaskRef = {
    taskId: task.taskId,
    dealId: task.dealId,
    index: task.index,
    authorization: task.assignment.authorization,
  };
  const move: Move = (update, report) => {
    ctx.journal.advance(task.taskId, update, Math.floor(ctx.now() / 1000), report);
    const reached = update.step === "sent" ? (update.transactionHash === undefined ? "sending" : "sent") : update.step;
    if ((FAILPOINTS as readonly string[]).includes(reached)) failpoint(reached as Failpoint);
  };
  return STEPS[task.step]({ ctx, task, ref, signal, move, pastDeadline: ctx.now() / 1000 > task.deadline });
}

const nothingLeft: StepHandler = () => Promise.resolve(undefined);

/** Each journaled step's handler: it acts, then journals the next step (or pauses, or ends the task). */
const STEPS: Record<TaskStep, StepHandler> = {
  accepted: runContainer,
  executed: publishResult,
  published: pinPublished,
  pinned: contribute,
  sent: confirmContribution,
  committed: revealCommitment,
  revealed: reportRevealed,
  done: nothingLeft,
  failed: nothingLeft,
  abandoned: nothingLeft,
};

async function runContainer({ ctx, task, signal, move, pastDeadline }: StepRun): Promise<Pause | undefined> {
  if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before it could run");
  if (await leaseWithdrawn(ctx, task)) return withdraw(ctx, task);
  const outcome = await ctx.execute(task, signal);
  if (!outcome.ok) return giveUp(ctx, task, "failed", outcome.reason, outcome.logTail);
  ctx.learnTask(task.assignment.app.id, outcome.wattHours, outcome.seconds);
  // The split is journaled with the receipt: a power cut before the report loses neither.
  move({
    step: "executed",
    digest: outcome.digest,
    energy: outcome.energy,
    ...(outcome.energySplit === undefined ? {} : { energySplit: outcome.energySplit }),
  });
  return undefined;
}

async function publishResult({ ctx, task, move, pastDeadline }: StepRun): Promise<Pause | undefined> {
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
  let stored = files;
  if (params.resultEncryption !== undefined) {
    const envelope = await encryptResult(files, params.resultEncryption.publicKey);
    await ctx.keepEnvelope?.(task, envelope);
    stored = [{ path: ENCRYPTED_RESULT_FILE, content: envelope }];
  }
  const location = await ctx.results.add(stored);
  move({ step: "published", location });
  return undefined;
}

async function pinPublished({ ctx, task, move, pastDeadline }: StepRun): Promise<Pause | undefined> {
  if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before its result was pinned");
  // The files are read again from the task folder (same bytes, same CID): a power cut can lose
  // IPFS blocks the worker's node had not synced, and in pool mode they are uploaded from here.
  const files = await republish(ctx, task);
  // The scheduler's always-on node keeps the result available while this Pi sleeps.
  await retryable(() => ctx.results.pin(task.location!, files, task.assignment.ipfsPeers));
  move({ step: "pinned" });
  return undefined;
}

async function contribute({ ctx, task, ref, move, pastDeadline }: StepRun): Promise<Pause | undefined> {
  if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before contributing");
  const fromBlock = Math.max(0, (await retryable(() => ctx.chain.blockNumber())) - 1);
  // Recorded before sending: a restart finds a transaction it cannot remember sending. A
  // replicated task's salt goes to disk in the same write (synchronous = FULL: fsync'ed), so
  // a commitment never exists on-chain without the salt that opens it, and a retry after a
  // power cut sends the same commitment.
  move({ step: "sent", fromBlock, ...(task.trust >= 2 ? { salt: task.salt ?? newSalt() } : {}) });
  return send(ctx, ctx.journal.get(task.taskId)!, ref, move);
}

async function confirmContribution({ ctx, task, ref, move, pastDeadline }: StepRun): Promise<Pause | undefined> {
  const fromBlock = task.fromBlock ?? 0;
  const found = await retryable(() => ctx.chain.findContribution(task.taskId, fromBlock));
  if (found !== undefined) return contributed(ctx, task, found, move);
  if (await retryable(() => ctx.chain.hasPending())) return "transaction-pending";
  if (pastDeadline) return giveUp(ctx, task, "abandoned", "the task's deadline passed before the contribution was mined");
  if (task.trust >= 2 && task.salt === undefined) {
    // Journaled by a worker from before hidden votes: nothing was contributed, so a new salt is safe.
    move({ step: "sent", salt: newSalt() });
    return undefined;
  }
  return send(ctx, task, ref, move);
}

async function revealCommitment({ ctx, task, ref, move }: StepRun): Promise<Pause | undefined> {
  if (task.salt === undefined || task.round === undefined) {
    // A commitment made by a worker from before hidden votes: there is no salt to open it with.
    return finish(ctx, task, "error", "contributed without a journaled salt: the commitment cannot be revealed");
  }
  const { state, round } = await retryable(() => ctx.chain.revealState(ref, task.round!));
  if (state === "wait") return "waiting-for-reveal";
  // A reveal sent before a crash may have landed, and may have ended the round (reopened or decided).
  const revealed = await retryable(() => ctx.chain.findReveal(task.taskId, task.fromBlock ?? 0));
  if (revealed !== undefined) {
    move({ step: "revealed", transactionHash: revealed });
    return undefined;
  }
  if (state === "ended") return finish(ctx, task, "info", "the task ended before this worker revealed");
  if (state === "void") {
    return finish(
      ctx,
      task,
      "error",
      `commitment void: the task was reopened (now round ${round.toString()}) before this worker revealed its ` +
        `round-${task.round.toString()} commitment; it cannot be revealed and its stake will be forfeited`,
    );
  }
  // The round reveals: every contributor of it opens its commitment, whatever the others voted.
  if (await retryable(() => ctx.chain.hasPending())) return "transaction-pending";
  let hash: string;
  try {
    hash = await ctx.chain.reveal(ref, task.digest!, task.salt, task.location!, () => undefined);
  } catch (error) {
    if (error instanceof TaskRevertedError) {
      return finish(ctx, task, "error", `the hub refused the reveal: ${error.errorName}`);
    }
    throw new RetryLater(`reveal failed: ${(error as Error).message}`, { cause: error });
  }
  move({ step: "revealed", transactionHash: hash });
  return undefined;
}

async function reportRevealed({ ctx, task, move }: StepRun): Promise<Pause | undefined> {
  move(
    { step: "done" },
    { state: "revealed", resultLocation: task.location, transaction: task.transactionHash, ...splitOf(task) },
  );
  await sendQueuedReports(ctx);
  return undefined;
}

/**
 * Adds a published task's result again (idempotent) and returns its files; none when they are
 * lost or no longer make the published CID (logged, not published).
 */
async function republish(ctx: PipelineContext, task: JournaledTask): Promise<ResultFile[]> {
  const params = decodeTaskParams(task.assignment.params, sha256(toUtf8Bytes(task.assignment.params)));
  let stored: ResultFile[];
  if (params.resultEncryption === undefined) {
    stored = await ctx.readResult(task).catch(() => []);
    if (stored.length > 0 && resultDigest(stored) !== task.digest) stored = [];
  } else {
    const envelope = await ctx.readEnvelope?.(task).catch(() => undefined);
    stored = envelope === undefined ? [] : [{ path: ENCRYPTED_RESULT_FILE, content: envelope }];
  }
  if (stored.length === 0) {
    ctx.log.warn(
      { taskId: task.taskId },
      "the published result is no longer in the task folder: asking the pool to pin what IPFS still holds",
    );
    return [];
  }
  const location = await ctx.results.add(stored);
  if (location === task.location) return stored;
  ctx.log.error({ taskId: task.taskId, location, published: task.location }, "re-adding the result gave another CID");
  return [];
}

async function send(ctx: PipelineContext, task: JournaledTask, ref: TaskRef, move: Move): Promise<Pause | undefined> {
  const energy = task.energy ?? { milliwattHours: 0, solarShareBps: 0 };
  const onSent = (hash: string) => move({ step: "sent", transactionHash: hash });
  try {
    if (task.trust <= 1) {
      const hash = await ctx.chain.submit(ref, task.digest!, task.location!, energy, onSent);
      return submitted(ctx, task, hash, move);
    }
    await ctx.chain.contribute(ref, commitmentOf(task.taskId, task.digest!, ctx.chain.address, task.salt!), energy, onSent);
  } catch (error) {
    if (error instanceof TaskRevertedError) {
      // Already contributed (a transaction this worker lost track of): the logs will show it.
      if (error.errorName === "TaskAlreadyContributed") return "transaction-pending";
      return giveUp(ctx, task, "abandoned", `the hub refused the contribution: ${error.errorName}`);
    }
    throw new RetryLater(`sending the contribution failed: ${(error as Error).message}`, { cause: error });
  }
  // Mined: its log says which round it joined (the step `sent` finds it again if this fails).
  const found = await retryable(() => ctx.chain.findContribution(task.taskId, task.fromBlock ?? 0));
  if (found === undefined) return "transaction-pending";
  return contributed(ctx, task, found, move);
}

async function submitted(ctx: PipelineContext, task: JournaledTask, hash: string, move: Move): Promise<undefined> {
  move(
    { step: "done", transactionHash: hash },
    { state: "submitted", resultLocation: task.location, transaction: hash, ...splitOf(task) },
  );
  await sendQueuedReports(ctx);
  return undefined;
}

/** The contribution (or submission) is on-chain: a commitment is checked and its round journaled. */
async function contributed(ctx: PipelineContext, task: JournaledTask, found: Contribution, move: Move): Promise<undefined> {
  if (task.trust <= 1) return submitted(ctx, task, found.transactionHash, move);
  const expected = task.salt === undefined ? undefined : commitmentOf(task.taskId, task.digest!, ctx.chain.address, task.salt);
  if (found.commitment !== expected) {
    return finish(
      ctx,
      task,
      "error",
      `the commitment on-chain (${found.commitment}) is not the journal's: it cannot be revealed and its stake will be forfeited`,
    );
  }
  const round = await retryable(() => ctx.chain.roundOf(task.taskId, found));
  move(
    { step: "committed", transactionHash: found.transactionHash, round },
    { state: "contributed", resultLocation: task.location, transaction: found.transactionHash, ...splitOf(task) },
  );
  await sendQueuedReports(ctx);
  return undefined;
}

/**
 * Ends a contributed task this worker can do nothing more for. Not reported as failed: the
 * scheduler reassigns failed tasks and counts failures against the app, and it learns what
 * happened to a contribution from the chain.
 */
function finish(ctx: PipelineContext, task: JournaledTask, level: "info" | "error", reason: string): undefined {
  ctx.journal.advance(task.taskId, { step: "done", reason }, Math.floor(ctx.now() / 1000));
  ctx.log[level]({ taskId: task.taskId, round: task.round }, reason);
  return undefined;
}

/**
 * Acknowledges the offer (a `running` report naming its lease); true when the pool answers that
 * it withdrew the offer (the lease expired, the task went to another worker).
 */
async function leaseWithdrawn(ctx: PipelineContext, task: JournaledTask): Promise<boolean> {
  const lease = task.assignment.lease?.id;
  try {
    await reportTask(ctx.api, task.taskId, { state: "running", ...(lease === undefined ? {} : { lease }) });
    return false;
  } catch (error) {
    if (error instanceof SchedulerRejectedError && error.status === 409) return true;
    ctx.log.warn({ taskId: task.taskId, err: error }, "could not report to the scheduler (it will learn from the chain)");
    return false;
  }
}

/**
 * Drops a task whose offer the pool withdrew, before contributing (its lease expired and another
 * worker has it): nothing to report, the pool already handed it on.
 */
export function withdraw(ctx: PipelineContext, task: JournaledTask): undefined {
  ctx.journal.advance(
    task.taskId,
    { step: "abandoned", reason: "the pool withdrew the offer (its lease expired)" },
    Math.floor(ctx.now() / 1000),
  );
  ctx.log.warn({ taskId: task.taskId }, "the pool withdrew the offer: dropped the task");
  return undefined;
}

async function giveUp(
  ctx: PipelineContext,
  task: JournaledTask,
  step: "failed" | "abandoned",
  reason: string,
  logTail?: string,
): Promise<undefined> {
  // `failed`: the app's doing (counts toward ending the task as AppFailed); `abandoned`: this worker's.
  const cause = step === "failed" ? "app" : "worker";
  ctx.journal.advance(
    task.taskId,
    { step, reason, ...(logTail === undefined ? {} : { logTail }) },
    Math.floor(ctx.now() / 1000),
    { state: "failed", cause, reason, ...(logTail ? { logTail: logTail.slice(-16_000) } : {}) },
  );
  ctx.log.warn({ taskId: task.taskId, step, reason }, "gave the task up");
  await sendQueuedReports(ctx);
  return undefined;
}

/** The API's bound on each part of a split (TaskEnergySplit): a Pi at 27 W for over two weeks. */
const MAX_SPLIT_WH = 10_000;

/**
 * The journaled energy split as a report carries it; none when the task predates it or a part is
 * out of the API's bounds (a broken meter reading must not get the whole report refused).
 */
function splitOf(task: JournaledTask): Pick<TaskReport, "energySplit"> {
  const split = task.energySplit;
  if (split === undefined) return {};
  const parts = [split.pvWh, split.batteryWh, split.mainsWh];
  if (!parts.every((wh) => Number.isFinite(wh) && wh >= 0 && wh <= MAX_SPLIT_WH)) return {};
  return { energySplit: { pvWh: split.pvWh, batteryWh: split.batteryWh, mainsWh: split.mainsWh } };
}

/** The first wait before a queued report is sent again (ms); it doubles up to MAX_REPORT_BACKOFF_MS. */
const REPORT_BACKOFF_MS = 1000;
/** How long a report is sent again before it is given up (ms): the scheduler learns every state from the chain anyway. */
const REPORT_LIFETIME_MS = 24 * 3600_000;

/**
 * Sends the journal's queued reports that are due, oldest first. What only a report carries (why a
 * task failed, its log tail, the energy split) must not be lost to a scheduler restart, a dropped
 * connection or a power cut: a report stays queued until the scheduler answers it, and is sent
 * again with a doubling wait (the agent's loop calls this every round). A refusal (4xx) is final,
 * except a stale timestamp (a request signed later got in first: signed anew, it is taken).
 */
export async function sendQueuedReports(ctx: Pick<PipelineContext, "journal" | "api" | "log" | "now">): Promise<void> {
  for (const queued of ctx.journal.queuedReports(ctx.now())) {
    const { taskId, body } = queued;
    try {
      await reportTask(ctx.api, taskId, body);
      ctx.journal.unqueueReport(queued.seq);
      continue;
    } catch (error) {
      const refused = error instanceof SchedulerRejectedError && error.status < 500 && error.title !== "stale request";
      const expired = ctx.now() - queued.queuedAt > REPORT_LIFETIME_MS;
      if (refused || expired) {
        ctx.journal.unqueueReport(queued.seq);
        ctx.log.warn(
          { taskId, state: body.state, attempts: queued.attempts + 1, err: error },
          refused ? "the scheduler refused the report" : "gave the report up after a day (the scheduler learns from the chain)",
        );
        continue;
      }
      const wait = Math.min(REPORT_BACKOFF_MS * 2 ** Math.min(queued.attempts, 20), MAX_REPORT_BACKOFF_MS);
      ctx.journal.deferReport(queued.seq, ctx.now() + wait, (error as Error).message);
      if (queued.attempts === 0) {
        ctx.log.warn({ taskId, state: body.state, err: error }, "could not report to the scheduler; the report stays queued");
      }
      // The scheduler is not answering: the rest waits for the next round rather than each timing out.
      return;
    }
  }
}

async function retryable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new RetryLater((error as Error).message, { cause: error });
  }
}
