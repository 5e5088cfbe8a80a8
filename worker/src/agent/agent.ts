// The worker agent: one loop that reads the board, advances journaled tasks, pulls new work when
// the energy manager allows it, and sleeps the Pi when it does not. Like balena's supervisor, it
// keeps no state worth having outside the journal and the chain: start it after a crash and it
// picks up every task where the journal left it.
import { pullAssignment, type Platform, type SchedulerClient, type SunpoolClient } from "@sunpool/sdk";
import type { Logger } from "pino";

import { createContributions } from "../chain/contributions.js";
import type { ResultStore } from "../content/store.js";
import type { EnergyManager } from "../energy/manager.js";
import type { Journal } from "../journal/journal.js";
import { createIntake } from "./intake.js";
import { createMembership } from "./membership.js";
import { advanceOpenTasks } from "./openTasks.js";
import { sendQueuedReports, type PipelineContext } from "./pipeline.js";
import { Withdrawals } from "./withdrawals.js";

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

const BACKOFF_MS = 2000;

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const { api, journal, energy, log } = options;
  const ctx: PipelineContext = {
    journal,
    api,
    chain: createContributions(options.client, options.address),
    results: options.results,
    log,
    now: () => options.now(),
    ...options.execution,
    learnTask: (appId, wattHours, seconds) => energy.learnTask(appId, wattHours, seconds),
  };
  const controller = new AbortController();
  const signal = controller.signal;
  const withdrawals = new Withdrawals();
  const membership = createMembership({ ...options, withdrawals });
  const intake = createIntake({ ...options, withdrawals });

  // Containers this worker labelled that no open task owns (a crash between creating one and
  // journaling, a task closed while its container survived) would hold memory and disk forever.
  const swept = await options.execution.sweep?.(new Set(journal.open().map((task) => task.taskId)));
  if (swept !== undefined && swept > 0) log.warn({ containers: swept }, "removed task containers no journaled task owns");

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
  await membership.join();
  const heartbeats = await membership.startBeating();

  /** Idle with a poor outlook and a board that can power the Pi off: the reason to sleep, if any. */
  const sleepNow = (): AgentExit | undefined => {
    if (!options.sleepWhenIdle || options.powerOffUntil === undefined || journal.open().length > 0) return undefined;
    const idle = energy.idle();
    if (!idle.sleep) return undefined;
    log.info({ wakeAt: new Date(idle.wakeAtMs).toISOString(), reason: idle.reason }, "idle with a poor outlook: sleeping");
    return { reason: "sleep", wakeAtMs: idle.wakeAtMs, why: idle.reason };
  };

  /** The pull's wait (s): cut short when a queued report falls due sooner, but never under a second. */
  const pullWait = (): number => {
    const longest = options.pullWaitSeconds ?? 10;
    const due = journal.nextReportAt();
    if (due === undefined) return longest;
    return Math.min(longest, Math.max(1, Math.ceil((due - options.now()) / 1000)));
  };

  const loop = async (): Promise<AgentExit> => {
    while (!signal.aborted) {
      try {
        await energy.sample();
        const busy = await advanceOpenTasks(ctx, withdrawals, signal);
        if (signal.aborted) break;
        // Reports a scheduler did not take (down, restarting, or this Pi lost power before sending).
        await sendQueuedReports(ctx);
        if (busy) {
          await options.sleep(BACKOFF_MS, signal);
          continue;
        }
        const sleep = sleepNow();
        if (sleep !== undefined) return sleep;
        const assignment = await pullAssignment(api, { waitSeconds: pullWait(), signal });
        if (assignment === undefined) continue;
        if (signal.aborted) {
          await intake.decline(assignment.taskId, "the worker is stopping").catch(() => undefined);
          break;
        }
        await intake.accept(assignment);
      } catch (error) {
        if (signal.aborted) break;
        if (await membership.rejoinIfForgotten(error).catch(() => false)) continue;
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
      await heartbeats.stop();
      // A farewell: the pool takes this worker offline now and hands on what it had not started.
      await membership.farewell(exit.reason === "sleep" ? { ...energy.outlook(), awakeSeconds: 0 } : energy.outlook());
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
