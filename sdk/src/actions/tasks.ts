// Deals and tasks as the chain records them: status, where a replicated task's hidden votes
// stand, outcome (and for a failure what it means), result digest and location, and the energy
// receipts the workers reported.
import { AbiCoder, keccak256, toUtf8String, ZeroHash } from "ethers";

import { read, send } from "../chain.js";
import { type SunpoolClient, requireSigner } from "../client.js";
import { InvalidInputError } from "../errors/input.js";
import { describeTaskFailure, type TaskFailure, type TaskFailureOutcome } from "../errors/run.js";
import { address, bytes32 } from "../orders/build.js";

/** Why a task ended, in the order of the contracts' TaskOutcome enum (contracts/types/Tasks.sol). */
export const TASK_OUTCOMES = [
  "none",
  "completed",
  "expired-unstarted",
  "expired-no-consensus",
  "expired-unrevealed",
  "app-failed",
  "no-consensus",
  "scheduler-gave-up",
] as const;
export type TaskOutcomeName = (typeof TASK_OUTCOMES)[number];

/** The contracts' TaskStatus enum: Unset, Active, Revealing. */
const TASK_STATUSES = ["unstarted", "active", "revealing"] as const;

/**
 * Where a task is: `unstarted`; `active` (a round accepts hidden contributions); `revealing` (the
 * round's window closed, its contributors reveal); `decided` (the revealed results hold consensus,
 * the task waits for `finalize`); `ended` (see the outcome).
 */
export type TaskStatusName = (typeof TASK_STATUSES)[number] | "decided" | "ended";

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

/** Where the hidden votes of a started replicated task (trust >= 2) stand. */
export interface TaskConsensus {
  /** The round, from 0: a round that ends without consensus starts the next one with new workers. */
  round: number;
  /** Contributions of every round. */
  contributors: number;
  /** Commitments of the current round not revealed yet. */
  pending: number;
  /** Contributions revealed, every round. */
  reveals: number;
  /** Unix time until which the current round's contributors may reveal (while revealing). */
  revealDeadline?: number;
  /** Digest of the heaviest revealed result, when one group leads alone (the consensus once decided). */
  leadingDigest?: string;
  /** The revealed results hold consensus on `leadingDigest`. */
  decided: boolean;
}

export interface TaskView {
  dealId: string;
  index: number;
  taskId: string;
  status: TaskStatusName;
  outcome: TaskOutcomeName;
  /** Set when the task completed: the consensus digest and where the result is. */
  resultDigest?: string;
  resultLocation?: string;
  /**
   * Completed replicated tasks: where the workers who revealed the consensus digest published the
   * result (`getResult` falls back on them when `resultLocation` does not serve it).
   */
  revealedLocations?: string[];
  /** Set when the task ended without a result: what that means and what to do. */
  failure?: TaskFailure;
  /** Replicated tasks once started: round, contributions, reveals, consensus. */
  consensus?: TaskConsensus;
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

/**
 * The commitment a worker sends with `contribute` to a replicated task (trust >= 2):
 * `keccak256(abi.encode(taskId, resultDigest, worker, salt))`, as the hub checks it on `reveal`
 * (contracts/libraries/Commitments.sol). The salt must be random (`randomSalt()`), secret until the
 * reveal, and stored durably before contributing: without it the commitment cannot be opened and
 * the worker's stake is lost.
 */
export function computeCommitment(taskId: string, resultDigest: string, worker: string, salt: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "bytes32", "address", "bytes32"],
      [bytes32("task id", taskId), bytes32("result digest", resultDigest), address("worker", worker), bytes32("salt", salt)],
    ),
  );
}

/** The task's state, outcome (with what a failure means), result and energy receipts. */
export async function getTask(client: SunpoolClient, locator: TaskLocator): Promise<TaskView> {
  const dealId = bytes32("deal id", locator.dealId);
  const taskId = computeTaskId(dealId, locator.index);
  const fromBlock = locator.fromBlock ?? client.deployment.deployedAtBlock;
  const [outcomeIndex, task, ended, accepted, revealed] = await read("task", () =>
    Promise.all([
      client.hub.taskOutcome(dealId, locator.index),
      client.hub.task(taskId),
      client.hub.queryFilter(client.hub.filters.TaskEnded(dealId, taskId), fromBlock),
      client.hub.queryFilter(client.hub.filters.ContributionAccepted(taskId), fromBlock),
      client.hub.queryFilter(client.hub.filters.ContributionRevealed(taskId), fromBlock),
    ]),
  );
  const outcome = TASK_OUTCOMES[Number(outcomeIndex)] ?? "none";
  const started = task.startTime !== 0n;
  const status = TASK_STATUSES[Number(task.status)] ?? "unstarted";
  const view: TaskView = {
    dealId,
    index: locator.index,
    taskId,
    status: outcome !== "none" ? "ended" : status === "revealing" && task.decided ? "decided" : status,
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
    view.resultLocation = decodeLocation(end.args.resultLocation);
    if (revealed.length > 0) {
      view.revealedLocations = [
        ...new Set(
          revealed
            .filter((log) => log.args.resultDigest === view.resultDigest)
            .map((log) => decodeLocation(log.args.resultLocation))
            .filter((location) => location !== ""),
        ),
      ];
    }
  } else if (outcome !== "none" && outcome !== "completed") {
    view.failure = describeTaskFailure(outcome satisfies TaskFailureOutcome);
  }
  if (started) {
    const leading = task.bestWeight !== 0n && !task.bestTied;
    view.consensus = {
      round: Number(task.round),
      contributors: Number(task.contributorCount),
      pending: Number(task.pendingCount),
      reveals: Number(task.revealCount),
      ...(status === "revealing" && outcome === "none" ? { revealDeadline: Number(task.revealDeadline) } : {}),
      ...(leading ? { leadingDigest: task.bestDigest } : {}),
      decided: task.decided,
    };
  }
  return view;
}

/** A result location as recorded on-chain: UTF-8 text (an IPFS CID); anything else is shown as hex. */
function decodeLocation(bytes: string): string {
  try {
    return toUtf8String(bytes);
  } catch {
    return bytes;
  }
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
