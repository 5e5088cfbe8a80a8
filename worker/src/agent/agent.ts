// The worker agent: one loop that reads the board, advances journaled tasks, pulls new work when
// the energy manager allows it, and sleeps the Pi when it does not. Like balena's supervisor, it
// keeps no state worth having outside the journal and the chain: start it after a crash and it
// picks up every task where the journal left it.
import {
  createWorkerApiClient,
  pullAssignment,
  registerWorker,
  reportTask,
  sendHeartbeat,
  type Assignment,
  type Platform,
  type SunpoolClient,
} from "@sunpool/sdk";
import type { IpfsNode } from "@sunpool/sdk/node";
import type { Signer } from "ethers";
import type { Logger } from "pino";

import { createContributions } from "../chain/contributions.js";
import type { EnergyManager } from "../energy/manager.js";
import type { Journal } from "../journal/journal.js";
import { failpoint } from "./failpoints.js";
import { advance, RetryLater, type PipelineContext } from "./pipeline.js";

export interface AgentOptions {
  schedulerUrl: string;
  workerpool: string;
  client: SunpoolClient;
  signer: Signer;
  address: string;
  journal: Journal;
  ipfs: IpfsNode;
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

/** Steps during which the scheduler should count the task as this worker's running work. */
const RUNNING_STEPS = new Set(["accepted", "executed", "published", "pinned", "sent"]);
const BACKOFF_MS = 2000;

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const { journal, energy, log } = options;
  const scope = { chainId: options.client.deployment.chainId, workerpool: options.workerpool };
  const api = createWorkerApiClient({ url: options.schedulerUrl, signer: options.signer, scope });
  const chain = createContributions(options.client, options.address);
  const ctx: PipelineContext = {
    journal,
    api,
    chain,
    ipfs: options.ipfs,
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

  await energy.sample();
  await registerWorker(api, {
    ...options.capabilities,
    slots: 1,
    ipfsPeers: options.ipfs.multiaddrs(),
  });
  log.info({ address: options.address, scheduler: options.schedulerUrl }, "registered with the scheduler");

  const heartbeat = async () => {
    const running = journal
      .open()
      .filter((task) => RUNNING_STEPS.has(task.step))
      .map((task) => task.taskId);
    await sendHeartbeat(api, { outlook: energy.outlook(), running });
  };
  await heartbeat().catch((error: unknown) => log.warn({ err: error }, "first heartbeat failed"));
  const heartbeats = setInterval(() => {
    if (signal.aborted) return;
    void energy
      .sample()
      .then(heartbeat)
      .catch((error: unknown) => log.warn({ err: error }, "heartbeat failed"));
  }, options.heartbeatSeconds * 1000);

  /** Advances every open task once; true if one of them still occupies the slot. */
  const advanceOpen = async (): Promise<boolean> => {
    let busy = false;
    for (const task of journal.open()) {
      if (signal.aborted) break;
      try {
        const pause = await advance(ctx, task.taskId, signal);
        if (pause === "transaction-pending") busy = true;
      } catch (error) {
        if (signal.aborted) break;
        busy = true;
        const level = error instanceof RetryLater ? "warn" : "error";
        log[level]({ taskId: task.taskId, err: error }, "task step failed; will retry");
      }
    }
    return busy;
  };

  const accept = async (assignment: Assignment): Promise<void> => {
    const known = journal.get(assignment.taskId);
    if (known !== undefined) {
      // A repeated offer: an open task is advanced by advanceOpen; one this worker gave up stays given up.
      if (known.step === "failed" || known.step === "abandoned") {
        await reportTask(api, known.taskId, { state: "failed", reason: known.reason ?? "given up earlier" });
      }
      return;
    }
    if (assignment.action === "reveal") {
      await reportTask(api, assignment.taskId, {
        state: "failed",
        reason: "asked to reveal a task this worker has no contribution for",
      });
      return;
    }
    const decision = energy.mayStart(assignment.app.id, assignment.app.needs);
    if (!decision.start) {
      log.info({ taskId: assignment.taskId, reason: decision.reason }, "declined a task: not enough energy");
      await reportTask(api, assignment.taskId, { state: "failed", reason: `not enough energy: ${decision.reason}` });
      return;
    }
    journal.accept(assignment, Math.floor(options.now() / 1000));
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
        const assignment = await pullAssignment(api, { waitSeconds: options.pullWaitSeconds ?? 10 });
        if (assignment !== undefined && !signal.aborted) await accept(assignment);
      } catch (error) {
        if (signal.aborted) break;
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
      clearInterval(heartbeats);
      if (exit.reason === "sleep") {
        await sendHeartbeat(api, { outlook: { ...energy.outlook(), awakeSeconds: 0 }, running: [] }).catch(() => undefined);
        await options.powerOffUntil?.(exit.wakeAtMs);
      }
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
