// A task as its workerpool's scheduler sees it (GET /v1/tasks/{taskId}): the workers it went to,
// what became of each, and for a failure each worker's reason and the app's last log lines. The
// chain says how a task ended; only the pool knows why the app failed. Log tails may hold the
// requester's data, so the scheduler returns them only to a request signed by the deal's requester.
import type { Signer } from "ethers";

import type { TaskOutcomeName } from "../actions/tasks.js";
import type { SchemaPoolReplica, SchemaPoolTask } from "../generated/scheduler-api.js";
import { address, bytes32 } from "../orders/build.js";
import { call, getSchedulerInfo, type SchedulerClient } from "./client.js";
import { signRequest } from "./signedRequests.js";

/** What became of one worker's part in a task (see the API's PoolReplica for each state). */
export type PoolReplicaState = SchemaPoolReplica["state"];

export interface PoolReplica {
  worker: string;
  state: PoolReplicaState;
  /** Why it failed or was dropped: the worker's report (e.g. `failed: exited with code 1`), or the pool's. */
  reason?: string;
  /** The last lines of the app's logs; present only for the deal's requester. */
  logTail?: string;
  /**
   * Where the task's energy came from, Wh, as the worker reported it: its word, unverified (the
   * on-chain energy receipt is what the pool acts on).
   */
  energySplit?: { pvWh: number; batteryWh: number; mainsWh: number };
  offeredAt: string;
  updatedAt: string;
}

export interface PoolTask {
  taskId: string;
  dealId: string;
  index: number;
  requester: string;
  trust: number;
  /** `waiting` (not started), `active`, `revealing`, `ended`. */
  status: SchemaPoolTask["status"];
  /** Why it ended, once it has. */
  outcome?: Exclude<TaskOutcomeName, "none">;
  /** Unix seconds: the task's next on-chain deadline. */
  deadline: number;
  finalDeadline?: number;
  round: number;
  contributions: number;
  /** Distinct workers whose failure reports end the task as `app-failed` in this pool. */
  failAfter: number;
  /** The consensus (trust 1: the submission) once known, and where its revealers published it. */
  result?: { digest: string; locations: string[] };
  /** Every worker the task went to, in the order it was offered. */
  replicas: PoolReplica[];
  /** Some log tail was left out: the request was not signed by the deal's requester. */
  logTailsWithheld: boolean;
  /** How to get the withheld log tails. */
  hint?: string;
}

export interface GetPoolTaskParameters {
  taskId: string;
  /**
   * The deal requester's wallet: the request is signed with it, and the scheduler returns the
   * replicas' log tails. Without it (or with another wallet) they are withheld.
   */
  signer?: Signer;
}

/** Keeps the timestamps of one process's signed requests distinct: the scheduler accepts each signed message once. */
let lastTimestamp = 0;

/**
 * A task as its workerpool's scheduler sees it. Signed by `signer` when given (the scope it signs
 * for, chain and workerpool, is the scheduler's own: GET /v1/info). Throws
 * SchedulerRejectedError (404) for a task the pool does not know.
 */
export async function getPoolTask(scheduler: SchedulerClient, parameters: GetPoolTaskParameters): Promise<PoolTask> {
  const taskId = bytes32("task id", parameters.taskId);
  let headers: Record<string, string> = {};
  if (parameters.signer !== undefined) {
    const { chainId, workerpool } = await getSchedulerInfo(scheduler);
    lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
    // The path as the scheduler receives it: the base URL's path, if any, is part of it.
    const base = new URL(scheduler.url).pathname.replace(/\/$/, "");
    headers = await signRequest(
      "requester",
      parameters.signer,
      { chainId, workerpool },
      { method: "GET", path: `${base}/v1/tasks/${taskId}`, timestamp: lastTimestamp, body: "" },
    );
  }
  const task = await call(scheduler, () => scheduler.api.GET("/v1/tasks/{taskId}", { params: { path: { taskId } }, headers }));
  return {
    taskId: bytes32("task id", task.taskId),
    dealId: bytes32("deal id", task.dealId),
    index: task.index,
    requester: address("requester", task.requester),
    trust: task.trust,
    status: task.status,
    ...(task.outcome === undefined ? {} : { outcome: task.outcome }),
    deadline: task.deadline,
    ...(task.finalDeadline === undefined ? {} : { finalDeadline: task.finalDeadline }),
    round: task.round,
    contributions: task.contributions,
    failAfter: task.failAfter,
    ...(task.result === undefined ? {} : { result: task.result }),
    replicas: task.replicas.map((replica) => ({
      worker: address("worker", replica.worker),
      state: replica.state,
      ...(replica.reason === undefined ? {} : { reason: replica.reason }),
      ...(replica.logTail === undefined ? {} : { logTail: replica.logTail }),
      ...(replica.energySplit === undefined
        ? {}
        : {
            energySplit: {
              pvWh: replica.energySplit.pvWh,
              batteryWh: replica.energySplit.batteryWh,
              mainsWh: replica.energySplit.mainsWh,
            },
          }),
      offeredAt: replica.offeredAt,
      updatedAt: replica.updatedAt,
    })),
    logTailsWithheld: task.logTailsWithheld,
    ...(task.hint === undefined ? {} : { hint: task.hint }),
  };
}
