// Deals and tasks as the chain records them: status, outcome, result digest and location, and
// the energy receipts the workers reported.
import { AbiCoder, keccak256, toUtf8String, ZeroHash } from "ethers";

import { read, send } from "../chain.js";
import { type SunpoolClient, requireSigner } from "../client.js";
import { InvalidInputError } from "../errors/input.js";
import { bytes32 } from "../orders/build.js";

/** Why a task ended, in the order of the contracts' TaskOutcome enum. */
export const TASK_OUTCOMES = ["none", "completed", "expired-unstarted", "expired-no-consensus", "expired-unrevealed"] as const;
export type TaskOutcomeName = (typeof TASK_OUTCOMES)[number];

const TASK_STATUSES = ["unstarted", "active", "revealing"] as const;

export interface Deal {
  dealId: string;
  requester: string;
  volume: number;
  trust: number;
  category: number;
  /** Unix time after which unstarted tasks can be refunded. */
  startDeadline: number;
  scheduler: string;
  /** Total price of one task (app + dataset + workerpool). */
  taskPrice: bigint;
}

export interface EnergyReceipt {
  worker: string;
  milliwattHours: number;
  /** Share of the energy that came from the sun, in basis points (10000 = all). */
  solarShareBps: number;
}

export interface TaskView {
  dealId: string;
  index: number;
  taskId: string;
  status: (typeof TASK_STATUSES)[number] | "ended";
  outcome: TaskOutcomeName;
  /** Set when the task completed: the consensus digest and where the result is. */
  resultDigest?: string;
  resultLocation?: string;
  energy: EnergyReceipt[];
}

export async function getDeal(client: SunpoolClient, dealId: string): Promise<Deal> {
  const id = bytes32("deal id", dealId);
  const deal = await read("deal", () => client.hub.deal(id));
  if (deal.volume === 0n) throw new InvalidInputError("deal id", dealId, "the id of a deal on this hub (DealCreated)");
  return {
    dealId: id,
    requester: deal.requester,
    volume: Number(deal.volume),
    trust: Number(deal.trust),
    category: Number(deal.category),
    startDeadline: Number(deal.startDeadline),
    scheduler: deal.scheduler,
    taskPrice: deal.appPrice + deal.datasetPrice + deal.workerpoolPrice,
  };
}

export interface TaskLocator {
  dealId: string;
  index: number;
  /** A block at or before the deal's creation: log scans start there (default: the deployment block). */
  fromBlock?: number;
}

/** The hub's task id, `keccak256(abi.encode(dealId, index))` (TaskLifecycle._taskId), without an RPC call. */
export function computeTaskId(dealId: string, index: number | bigint): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [dealId, index]));
}

/** The task's state, outcome, result and energy receipts. */
export async function getTask(client: SunpoolClient, locator: TaskLocator): Promise<TaskView> {
  const dealId = bytes32("deal id", locator.dealId);
  const taskId = computeTaskId(dealId, locator.index);
  const fromBlock = locator.fromBlock ?? client.deployment.deployedAtBlock;
  const [outcomeIndex, task, ended, accepted] = await read("task", () =>
    Promise.all([
      client.hub.taskOutcome(dealId, locator.index),
      client.hub.task(taskId),
      client.hub.queryFilter(client.hub.filters.TaskEnded(dealId, taskId), fromBlock),
      client.hub.queryFilter(client.hub.filters.ContributionAccepted(taskId), fromBlock),
    ]),
  );
  const outcome = TASK_OUTCOMES[Number(outcomeIndex)] ?? "none";
  const view: TaskView = {
    dealId,
    index: locator.index,
    taskId,
    status: outcome === "none" ? (TASK_STATUSES[Number(task.status)] ?? "unstarted") : "ended",
    outcome,
    energy: accepted.map((log) => ({
      worker: log.args.worker,
      milliwattHours: Number(log.args.milliwattHours),
      solarShareBps: Number(log.args.solarShareBps),
    })),
  };
  const end = ended.at(-1);
  if (outcome === "completed" && end !== undefined && end.args.resultDigest !== ZeroHash) {
    view.resultDigest = end.args.resultDigest;
    view.resultLocation = toUtf8String(end.args.resultLocation);
  }
  return view;
}

/**
 * Refunds the requester for every task of a deal that can no longer run: unstarted tasks after the
 * deal's start deadline (one transaction for the whole range). Returns the refunded indices.
 */
export async function claimExpiredTasks(client: SunpoolClient, dealId: string): Promise<number[]> {
  await requireSigner(client, "Claiming a refund");
  const deal = await getDeal(client, dealId);
  const latest = await read("block", () => client.provider.getBlock("latest"));
  if (latest === null || latest.timestamp <= deal.startDeadline) return [];
  const outcomes = await read("taskOutcome", () =>
    Promise.all(Array.from({ length: deal.volume }, (_, i) => client.hub.taskOutcome(deal.dealId, i))),
  );
  const statuses = await read("task", () =>
    Promise.all(
      Array.from({ length: deal.volume }, async (_, i) => (await client.hub.task(computeTaskId(deal.dealId, i))).status),
    ),
  );
  const refundable = outcomes.map((outcome, i) => (outcome === 0n && statuses[i] === 0n ? i : -1)).filter((i) => i >= 0);
  if (refundable.length === 0) return [];
  const first = refundable[0]!;
  const count = refundable.at(-1)! - first + 1;
  await send("claimUnstarted", () => client.hub.claimUnstarted(deal.dealId, first, count));
  return refundable;
}
