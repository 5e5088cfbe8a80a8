// The worker's transactions: submit (trust 1), contribute and reveal (trust >= 2).
// Each is idempotent from the worker's point of view: before sending, the chain is asked whether
// this worker already did it (ContributionAccepted / ContributionRevealed logs), so a restart
// after a power cut never contributes twice and never loses a contribution it made. Transactions
// are sent one at a time (the agent's queue), so the provider's pending nonce is the right one;
// a transaction still pending from before a crash is waited for, not replaced.
//
// Replicated tasks vote in secret (docs/protocol.md): the worker contributes
// `commitment = keccak256(abi.encode(taskId, resultDigest, worker, salt))` with a random salt it
// journals before sending, and once its round's contribution window closes (RevealOpened) it
// reveals the digest, the salt and where it published the result. A commitment belongs to the
// round it was made in: if the task is reopened first (TaskReopened), it can never be revealed.
import { hexlify, randomBytes, toUtf8Bytes, type ContractTransactionResponse } from "ethers";

import { computeCommitment, decodeRevert, type SunpoolClient } from "@sunpool/sdk";

import type { EnergyReceipt } from "../energy/meter.js";

/** TaskStatus (contracts/types/Tasks.sol). */
const STATUS_REVEALING = 2;

/**
 * The hidden vote a worker contributes: keccak256(abi.encode(taskId, resultDigest, worker, salt)),
 * as `Commitments.commitment` computes it on-chain.
 */
export const commitmentOf = computeCommitment;

/**
 * Gas for a contribution or a reveal: what it costs depends on who lands first (the one that closes
 * a round's window or decides it does more work), and an estimate taken before a co-worker's
 * transaction landed would run out of gas. Unused gas is refunded, so headroom costs nothing.
 */
export function withHeadroom(estimate: bigint): bigint {
  return (estimate * 13n) / 10n + 30_000n;
}

/** A fresh secret salt: 32 random bytes from the OS's CSPRNG, as 0x-hex. */
export function newSalt(): string {
  return hexlify(randomBytes(32));
}

export interface TaskRef {
  taskId: string;
  dealId: string;
  index: number;
  authorization: string;
}

/** This worker's accepted contribution (or trust-1 submission) to a task, from its log. */
export interface Contribution {
  transactionHash: string;
  /** The commitment (trust >= 2) or the result digest (trust 1). */
  commitment: string;
  blockNumber: number;
  logIndex: number;
}

/**
 * Where this worker's commitment stands:
 * `wait`: its round still accepts contributions; `reveal`: its round reveals now;
 * `void`: the task was reopened (a later round) before it revealed — it can never reveal;
 * `ended`: the task has an outcome.
 */
export interface RevealState {
  state: "wait" | "reveal" | "void" | "ended";
  /** The task's current round. */
  round: number;
}

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
  /** This worker's accepted contribution or submission to the task, if any (logs from `fromBlock`). */
  findContribution(taskId: string, fromBlock: number): Promise<Contribution | undefined>;
  /** The round `contribution` was made in: the task's round now, less the reopenings since. */
  roundOf(taskId: string, contribution: Contribution): Promise<number>;
  /** The hash of this worker's reveal of the task, if any (logs from `fromBlock`). */
  findReveal(taskId: string, fromBlock: number): Promise<string | undefined>;
  /** Whether an earlier transaction of this worker is still pending (sent before a crash). */
  hasPending(): Promise<boolean>;
  submit(task: TaskRef, digest: string, location: string, energy: EnergyReceipt, onSent: (hash: string) => void): Promise<string>;
  contribute(task: TaskRef, commitment: string, energy: EnergyReceipt, onSent: (hash: string) => void): Promise<string>;
  /** Where a commitment made in round `round` stands. */
  revealState(task: TaskRef, round: number): Promise<RevealState>;
  reveal(task: TaskRef, digest: string, salt: string, location: string, onSent: (hash: string) => void): Promise<string>;
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
      const [log] = await hub.queryFilter(hub.filters.ContributionAccepted(taskId, address), fromBlock);
      if (log === undefined) return undefined;
      return {
        transactionHash: log.transactionHash,
        commitment: log.args.commitment,
        blockNumber: log.blockNumber,
        logIndex: log.index,
      };
    },
    async roundOf(taskId, contribution) {
      // State and logs at one height, so a reopening between two reads cannot be missed or counted twice.
      const height = await provider.getBlockNumber();
      const [task, reopened] = await Promise.all([
        hub.task(taskId, { blockTag: height }),
        hub.queryFilter(hub.filters.TaskReopened(taskId), contribution.blockNumber, height),
      ]);
      const later = reopened.filter(
        (log) =>
          log.blockNumber > contribution.blockNumber ||
          (log.blockNumber === contribution.blockNumber && log.index > contribution.logIndex),
      );
      return Number(task.round) - later.length;
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
        () => hub.submitResult(task.dealId, task.index, digest, toUtf8Bytes(location), energy, task.authorization),
        onSent,
      );
    },
    contribute(task, commitment, energy, onSent) {
      return send(
        "contribute",
        async () => {
          const args = [task.dealId, task.index, commitment, energy, task.authorization] as const;
          return hub.contribute(...args, { gasLimit: withHeadroom(await hub.contribute.estimateGas(...args)) });
        },
        onSent,
      );
    },
    async revealState(ref, round) {
      const height = await provider.getBlockNumber();
      const [task, outcome] = await Promise.all([
        hub.task(ref.taskId, { blockTag: height }),
        hub.taskOutcome(ref.dealId, ref.index, { blockTag: height }),
      ]);
      const current = Number(task.round);
      if (Number(outcome) !== 0) return { state: "ended", round: current };
      if (current > round) return { state: "void", round: current };
      if (Number(task.status) === STATUS_REVEALING) return { state: "reveal", round: current };
      return { state: "wait", round: current };
    },
    reveal(task, digest, salt, location, onSent) {
      return send(
        "reveal",
        async () => {
          const args = [task.dealId, task.index, digest, salt, toUtf8Bytes(location)] as const;
          return hub.reveal(...args, { gasLimit: withHeadroom(await hub.reveal.estimateGas(...args)) });
        },
        onSent,
      );
    },
  };
}

function asRevert(action: string, error: unknown): unknown {
  const data = (error as { data?: string } | undefined)?.data;
  const decoded = decodeRevert(data);
  return decoded === undefined ? error : new TaskRevertedError(action, decoded.name, { cause: error });
}
