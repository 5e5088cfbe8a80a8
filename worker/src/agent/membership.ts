// The worker's membership of the pool: registering, heartbeats on the board's clock (the outlook,
// the energy accounts and every task held, which acknowledges offers and renews their leases), and
// joining again when a scheduler that lost its database no longer knows the worker.
import {
  registerWorker,
  SchedulerRejectedError,
  sendHeartbeat,
  type Heartbeat,
  type Platform,
  type SchedulerClient,
} from "@sunpool/sdk";
import type { Logger } from "pino";

import type { ResultStore } from "../content/store.js";
import { heartbeatEnergy, type EnergyManager } from "../energy/manager.js";
import type { Journal } from "../journal/journal.js";
import { WITHDRAWABLE_STEPS, type Withdrawals } from "./withdrawals.js";

/** Steps in which the worker holds a task under the pool's lease (until its contribution is mined). */
const HELD_STEPS = new Set(["accepted", "executed", "published", "pinned", "sent"]);

export interface MembershipOptions {
  schedulerUrl: string;
  api: SchedulerClient;
  address: string;
  journal: Journal;
  results: ResultStore;
  energy: EnergyManager;
  capabilities: { platforms: Platform[]; cores: number; memoryMiB: number; board: string; version: string };
  heartbeatSeconds: number;
  /** Sleeps in board time. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  withdrawals: Withdrawals;
  log: Logger;
}

export interface Membership {
  join(): Promise<void>;
  /** True if `error` says the scheduler forgot this worker, which has then joined again. */
  rejoinIfForgotten(error: unknown): Promise<boolean>;
  /** Sends a first heartbeat, then one every `heartbeatSeconds` (or the pool's shorter period) until `stop`. */
  startBeating(): Promise<{ stop(): Promise<void> }>;
  /** The last heartbeat: the pool takes the worker offline now and hands on what it had not started. */
  farewell(outlook: Heartbeat["outlook"]): Promise<void>;
}

export function createMembership(options: MembershipOptions): Membership {
  const { api, journal, energy, log, withdrawals } = options;
  let heartbeatMs = options.heartbeatSeconds * 1000;

  const join = async () => {
    await registerWorker(api, { ...options.capabilities, slots: 1, ipfsPeers: options.results.peers() });
    log.info({ address: options.address, scheduler: options.schedulerUrl }, "registered with the scheduler");
  };
  const rejoinIfForgotten = async (error: unknown): Promise<boolean> => {
    if (!(error instanceof SchedulerRejectedError && error.status === 404 && error.title === "unknown worker")) return false;
    log.warn(
      { scheduler: options.schedulerUrl },
      "the scheduler does not know this worker (it lost its database?): registering again",
    );
    await join();
    return true;
  };

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
      withdrawals.withdraw(taskId);
    }
  };
  const beat = async () => {
    await energy.sample();
    await heartbeat().catch(async (error: unknown) => {
      if (await rejoinIfForgotten(error)) await heartbeat();
      else throw error;
    });
  };

  return {
    join,
    rejoinIfForgotten,
    async startBeating() {
      await beat().catch((error: unknown) => log.warn({ err: error }, "first heartbeat failed"));
      const beating = new AbortController();
      // Heartbeats run on the board's clock like every other wait of the agent.
      const loop = (async () => {
        while (!beating.signal.aborted) {
          await options.sleep(heartbeatMs, beating.signal).catch(() => undefined);
          if (beating.signal.aborted) break;
          await beat().catch((error: unknown) => log.warn({ err: error }, "heartbeat failed"));
        }
      })();
      return {
        async stop() {
          beating.abort();
          await loop;
        },
      };
    },
    async farewell(outlook) {
      await heartbeat({ outlook }).catch((error: unknown) => log.warn({ err: error }, "farewell heartbeat failed"));
    },
  };
}
