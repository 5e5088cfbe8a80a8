// The worker's transactions: submit (trust 1), contribute and reveal (trust >= 2).
// Each is idempotent from the worker's point of view: before sending, the chain is asked whether
// this worker already did it (ContributionAccepted / ContributionRevealed logs), so a restart
// after a power cut never contributes twice and never loses a contribution it made. Transactions
// are sent one at a time (the agent's queue), so the provider's pending nonce is the right one;
// a transaction still pending from before a crash is waited for, not replaced.
import { AbiCoder, keccak256, type ContractTransactionResponse } from "ethers";

import { decodeRevert, type SunpoolClient } from "@sunpool/sdk";

import type { EnergyReceipt } from "../energy/meter.js";

const coder = AbiCoder.defaultAbiCoder();

/** The commitment's public half: keccak256(abi.encode(taskId, digest)). */
export function resultHashOf(taskId: string, digest: string): string {
  return keccak256(coder.encode(["bytes32", "bytes32"], [taskId, digest]));
}

/** The commitment's worker-bound half: keccak256(abi.encode(worker, taskId, digest)). */
export function resultSealOf(worker: string, taskId: string, digest: string): string {
  return keccak256(coder.encode(["address", "bytes32", "bytes32"], [worker, taskId, digest]));
}

export interface TaskRef {
  taskId: string;
  dealId: string;
  index: number;
  authorization: string;
}

export type RevealState = "wait" | "reveal" | "revealed" | "lost" | "ended";

/** A revert that says the action can never succeed (as opposed to an RPC hiccup). */
export class TaskRevertedError extends Error {
  readonly action: string;
  readonly errorName: string;

  constructor(action: string, errorName: string, options?: { cause?: unknown }) {
    super(`${action} reverted: ${errorName}`, options);
    this.name = "TaskRevertedError";
    this.action = action;
    this.errorName = errorName;
  }
}

export interface Contributions {
  readonly address: string;
  blockNumber(): Promise<number>;
  /** The hash of this worker's accepted contribution or submission to the task, if any. */
  findContribution(taskId: string, fromBlock: number): Promise<string | undefined>;
  findReveal(taskId: string, fromBlock: number): Promise<string | undefined>;
  /** Whether an earlier transaction of this worker is still pending (sent before a crash). */
  hasPending(): Promise<boolean>;
  submit(task: TaskRef, digest: string, location: string, energy: EnergyReceipt, onSent: (hash: string) => void): Promise<string>;
  contribute(task: TaskRef, digest: string, energy: EnergyReceipt, onSent: (hash: string) => void): Promise<string>;
  revealState(task: TaskRef, digest: string): Promise<RevealState>;
  reveal(task: TaskRef, digest: string, onSent: (hash: string) => void): Promise<string>;
}

export function createContributions(client: SunpoolClient, address: string): Contributions {
  const { hub, provider } = client;

  async function send(action: string, transaction: () => Promise<ContractTransactionResponse>, onSent: (hash: string) => void) {
    let response: ContractTransactionResponse;
    try {
      response = await transaction();
    } catch (error) {
      throw asRevert(action, error);
    }
    onSent(response.hash);
    const receipt = await response.wait();
    if (receipt === null) throw new Error(`${action}: no receipt for ${response.hash}`);
    return receipt.hash;
  }

  return {
    address,
    blockNumber: () => provider.getBlockNumber(),
    async findContribution(taskId, fromBlock) {
      const logs = await hub.queryFilter(hub.filters.ContributionAccepted(taskId, address), fromBlock);
      return logs[0]?.transactionHash;
    },
    async findReveal(taskId, fromBlock) {
      const logs = await hub.queryFilter(hub.filters.ContributionRevealed(taskId, address), fromBlock);
      return logs[0]?.transactionHash;
    },
    async hasPending() {
      const [latest, pending] = await Promise.all([
        provider.getTransactionCount(address, "latest"),
        provider.getTransactionCount(address, "pending"),
      ]);
      return pending > latest;
    },
    submit(task, digest, location, energy, onSent) {
      return send(
        "submitResult",
        () => hub.submitResult(task.dealId, task.index, digest, new TextEncoder().encode(location), energy, task.authorization),
        onSent,
      );
    },
    contribute(task, digest, energy, onSent) {
      return send(
        "contribute",
        () =>
          hub.contribute(
            task.dealId,
            task.index,
            resultHashOf(task.taskId, digest),
            resultSealOf(address, task.taskId, digest),
            energy,
            task.authorization,
          ),
        onSent,
      );
    },
    async revealState(ref, digest) {
      const [task, outcome] = await Promise.all([hub.task(ref.taskId), hub.taskOutcome(ref.dealId, ref.index)]);
      if (Number(outcome) !== 0) return "ended";
      // TaskStatus: 0 Unset, 1 Active, 2 Revealing (contracts/types/Tasks.sol).
      if (Number(task.status) !== 2) return "wait";
      return task.consensusHash === resultHashOf(ref.taskId, digest) ? "reveal" : "lost";
    },
    reveal(task, digest, onSent) {
      return send("reveal", () => hub.reveal(task.dealId, task.index, digest), onSent);
    },
  };
}

function asRevert(action: string, error: unknown): unknown {
  const data = (error as { data?: string } | undefined)?.data;
  const decoded = decodeRevert(data);
  return decoded === undefined ? error : new TaskRevertedError(action, decoded.name, { cause: error });
}
