// The worker agent: one loop that reads the board, advances journaled tasks, pulls new work when
// the energy manager allows it, and sleeps the Pi when it does not. Like balena's supervisor, it
// keeps no state worth having outside the journal and the chain: start it after a crash and it
// picks up every task where the journal left it.
import {
  pullAssignment,
  registerWorker,
  reportTask,
  SchedulerRejectedError,
  sendHeartbeat,
  type Assignment,
  type Heartbeat,
  type Platform,
  type SchedulerClient,
  type SunpoolClient,
} from "@sunpool/sdk";
import type { Logger } from "pino";

import { createContributions } from "../chain/contributions.js";
import type { ResultStore } from "../content/store.js";
import { heartbeatEnergy, type EnergyManager } from "../energy/manager.js";
import { retakable, type Journal } from "../journal/journal.js";
import { failpoint } from "./failpoints.js";
import { advance, RetryLater, withdraw, type PipelineContext } from "./pipeline.js";

export interface AgentOptions {
  schedulerUrl: string;
  /** The scheduler's worker API, its requests signed with the worker's key. */
  api: SchedulerClient;
  client: SunpoolClient;
  address: string;
  journal: Journal;
  /** Where results are published and datasets read. */
  results: ResultStore;
  energy: EnergyManager;
  /** Unix milliseconds (the board's clock). */
  now(): number;
  /** Sleeps in board time. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  execution: Pick<PipelineContext, "execute" | "readResult" | "cleanUp" | "keepEnvelope" | "readEnvelope"> & {
    /** Removes this worker's task containers that no open journal row owns (at start). */
    sweep?(openTaskIds: ReadonlySet<string>): Promise<number>;
  };
  capabilities: { platforms: Platform[]; cores: number; memoryMiB: number; board: string; version: string };
  heartbeatSeconds: number;
  /** Shut the Pi down when idle with a poor outlook (needs a board). */
  sleepWhenIdle: boolean;
  /** Programs the wake-up and powers the Pi off (the board's `sleepUntil`). */
  powerOffUntil?(wakeAtMs: number): Promise<void>;
  log: Logger;
  /** Seconds a pull waits for an assignment. */
  pullWaitSeconds?: number;
}

export type AgentExit = { reason: "stopped" } | { reason: "sleep"; wakeAtMs: number; why: string };

export interface Agent {
  readonly address: string;
  /** Resolves when the loop ends: stopped, or the Pi went to sleep. */
  readonly exited: Promise<AgentExit>;
  /** Stops gracefully: a running container is stopped, every step is journaled. */
  stop(): Promise<AgentExit>;
}

/** Steps in which the worker holds a task under the pool's lease (until its contribution is mined). */
const HELD_STEPS = new Set(["accepted", "executed", "published", "pinned", "sent"]);
/** Steps a task whose offer the pool withdrew is dropped in: nothing was sent to the chain yet. */
const WITHDRAWABLE_STEPS = new Set(["accepted", "executed", "published", "pinned"]);
const BACKOFF_MS = 2000;

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const { api, journal, energy, log } = options;
  const chain = createContributions(options.client, options.address);
  const ctx: PipelineContext = {
    journal,
    api,
    chain,
    results: options.results,
    log,
    now: () => options.now(),
    ...options.execution,
    learnTask: (appId, wattHours, seconds) => energy.learnTask(appId, wattHours, seconds),
  };
  const controller = new AbortController();
  const signal = controller.signal;

  // Containers this worker labelled that no open task owns (a crash between creating one and
  // journaling, a task closed while its container survived) would hold memory and disk forever.
  const swept = await options.execution.sweep?.(new Set(journal.open().map((task) => task.taskId)));
  if (swept !== undefined && swept > 0) log.warn({ containers: swept }, "removed task containers no journaled task owns");

  const join = async () => {
    await registerWorker(api, { ...options.capabilities, slots: 1, ipfsPeers: options.results.peers() });
    log.info({ address: options.address, scheduler: options.schedulerUrl }, "registered with the scheduler");
  };
  /** A scheduler that lost its database answers "unknown worker": join it again rather than strand. */
  const rejoinIfForgotten = async (error: unknown): Promise<boolean> => {
    if (!(error instanceof SchedulerRejectedError && error.status === 404 && error.title === "unknown worker")) return false;
    log.warn(
      { scheduler: options.schedulerUrl },
      "the scheduler does not know this worker (it lost its database?): registering again",
    );
    await join();
    return true;
  };
  await energy.sample();
  // A Witty Pi whose RTC lost its time, on a Pi without network time yet, takes the chain's latest
  // block time (docs/hardware.md §1.11): no wake alarm is armed from a reset clock.
  const clock = await energy
    .syncClock?.(async () => {
      const block = await options.client.provider.getBlock("latest");
      return block === null ? undefined : block.timestamp * 1000;
    })
    .catch((error: unknown) => log.warn({ err: error }, "could not set the board's clock from the chain"));
  if (clock !== undefined && !clock.trusted)
    log.warn("the board's RTC was reset and no time source answered: the Pi will not sleep");
  await join();

  /** Tasks whose offer the pool withdrew (a heartbeat's `revoked`), to drop before contributing. */
  const withdrawn = new Set<string>();
  const taskAborts = new Map<string, AbortController>();
  let heartbeatMs = options.heartbeatSeconds * 1000;
  const heartbeat = async (last?: { outlook: Heartbeat["outlook"] }) => {
    // Every task held, with its offer's lease: listing it acknowledges the offer and renews the lease.
    const tasks = journal
      .open()
      .filter((task) => HELD_STEPS.has(task.step))
      .map((task) => ({
        taskId: task.taskId,
        ...(task.assignment.lease === undefined ? {} : { lease: task.assignment.lease.id }),
      }));
    const accounts = energy.report();
    const ack = await sendHeartbeat(api, {
      outlook: last?.outlook ?? energy.outlook(),
      tasks,
      ...(last ? { farewell: true } : {}),
      ...(accounts === undefined ? {} : { energy: heartbeatEnergy(accounts) }),
    });
    heartbeatMs = Math.min(options.heartbeatSeconds, ack.heartbeatSeconds) * 1000;
    const listed = new Map(tasks.map((task) => [task.taskId, task.lease]));
    for (const taskId of ack.revoked) {
      const task = journal.get(taskId);
      if (!WITHDRAWABLE_STEPS.has(task?.step ?? "")) continue;
      // Revoked is the offer this heartbeat listed: not a new offer of the task taken meanwhile.
      if (task?.assignment.lease?.id !== listed.get(taskId)) continue;
      withdrawn.add(taskId);
      taskAborts.get(taskId)?.abort(new Error("the pool withdrew the offer"));
    }
  };
  const beat = async () => {
    await energy.sample();
    await heartbeat().catch(async (error: unknown) => {
      if (await rejoinIfForgotten(error)) await heartbeat();
      else throw error;
    });
  };
  await beat().catch((error: unknown) => log.warn({ err: error }, "first heartbeat failed"));
  // Heartbeats run on the board's clock like every other wait of the agent.
  const beating = new AbortController();
  const heartbeats = (async () => {
    while (!beating.signal.aborted) {
      await options.sleep(heartbeatMs, beating.signal).catch(() => undefined);
      if (beating.signal.aborted) break;
      await beat().catch((error: unknown) => log.warn({ err: error }, "heartbeat failed"));
    }
  })();

  /** Advances every open task once; true if one of them still occupies the slot. */
  const advanceOpen = async (): Promise<boolean> => {
    let busy = false;
    for (const task of journal.open()) {
      if (signal.aborted) break;
      if (withdrawn.delete(task.taskId) && WITHDRAWABLE_STEPS.has(task.step)) {
        withdraw(ctx, task);
        await ctx.cleanUp(journal.get(task.taskId)!).catch(() => undefined);
        continue;
      }
      const own = new AbortController();
      taskAborts.set(task.taskId, own);
      try {
        const pause = await advance(ctx, task.taskId, AbortSignal.any([signal, own.signal]));
        if (pause === "transaction-pending") busy = true;
      } catch (error) {
        if (signal.aborted) break;
        if (own.signal.aborted) continue; // withdrawn: dropped on the next pass
        busy = true;
        const level = error instanceof RetryLater ? "warn" : "error";
        log[level]({ taskId: task.taskId, err: error }, "task step failed; will retry");
      } finally {
        taskAborts.delete(task.taskId);
      }
    }
    return busy;
  };

  const decline = (taskId: string, reason: string, cause: "app" | "worker" = "worker") =>
    reportTask(api, taskId, { state: "failed", cause, reason });

  const accept = async (assignment: Assignment): Promise<void> => {
    const known = journal.get(assignment.taskId);
    // An offer of a task this worker abandoned before anything reached the chain (the pool withdrew
    // it: its lease ran out while the Pi was down) is a new offer: taken like one.
    const again = known !== undefined && assignment.action === "run" && retakable(known);
    if (known !== undefined && !again) {
      // A repeated offer: an open task is advanced by advanceOpen; one this worker gave up stays given up.
      if (known.step === "failed" || known.step === "abandoned") {
        await decline(known.taskId, known.reason ?? "given up earlier", known.step === "failed" ? "app" : "worker");
      }
      return;
    }
    if (assignment.action === "reveal") {
      await decline(assignment.taskId, "asked to reveal a task this worker has no contribution for");
      return;
    }
    const decision = energy.mayStart(assignment.app.id, assignment.app.needs);
    if (!decision.start) {
      log.info({ taskId: assignment.taskId, reason: decision.reason }, "declined a task: not enough energy");
      await decline(assignment.taskId, `not enough energy: ${decision.reason}`);
      return;
    }
    const now = Math.floor(options.now() / 1000);
    if (again) {
      if (!journal.retake(assignment, now)) return;
      withdrawn.delete(assignment.taskId);
      log.info({ taskId: assignment.taskId }, "the pool offered a withdrawn task again: taking it anew");
    } else {
      journal.accept(assignment, now);
    }
    failpoint("accepted");
  };

  const loop = async (): Promise<AgentExit> => {
    while (!signal.aborted) {
      try {
        await energy.sample();
        const busy = await advanceOpen();
        if (signal.aborted) break;
        if (busy) {
          await options.sleep(BACKOFF_MS, signal);
          continue;
        }
        if (options.sleepWhenIdle && options.powerOffUntil !== undefined && journal.open().length === 0) {
          const idle = energy.idle();
          if (idle.sleep) {
            log.info(
              { wakeAt: new Date(idle.wakeAtMs).toISOString(), reason: idle.reason },
              "idle with a poor outlook: sleeping",
            );
            return { reason: "sleep", wakeAtMs: idle.wakeAtMs, why: idle.reason };
          }
        }
        const assignment = await pullAssignment(api, { waitSeconds: options.pullWaitSeconds ?? 10, signal });
        if (assignment === undefined) continue;
        if (signal.aborted) {
          await decline(assignment.taskId, "the worker is stopping").catch(() => undefined);
          break;
        }
        await accept(assignment);
      } catch (error) {
        if (signal.aborted) break;
        if (await rejoinIfForgotten(error).catch(() => false)) continue;
        log.warn({ err: error }, "agent loop error; retrying");
        await options.sleep(BACKOFF_MS, signal).catch(() => undefined);
      }
    }
    return { reason: "stopped" };
  };

  const exited = loop()
    .catch((error: unknown): AgentExit => {
      if (!signal.aborted) log.error({ err: error }, "agent loop ended with an error");
      return { reason: "stopped" };
    })
    .then(async (exit) => {
      beating.abort();
      await heartbeats;
      // A farewell: the pool takes this worker offline now and hands on what it had not started.
      const outlook = exit.reason === "sleep" ? { ...energy.outlook(), awakeSeconds: 0 } : energy.outlook();
      await heartbeat({ outlook }).catch((error: unknown) => log.warn({ err: error }, "farewell heartbeat failed"));
      if (exit.reason === "sleep") await options.powerOffUntil?.(exit.wakeAtMs);
      return exit;
    });

  return {
    address: options.address,
    exited,
    async stop() {
      controller.abort(new Error("the agent is stopping"));
      return exited;
    },
  };
}
