// Ends what can be ended, each decision re-checked against the chain just before its transaction
// (a restart or a second pass never acts twice):
// - a decided task (ConsensusReached) is finalized with a result location read from the chain:
//   the one a revealer of the consensus digest put in its ContributionRevealed event, pinned on
//   the scheduler's node first. A worker's HTTP report never chooses it, so a co-replica cannot
//   make the scheduler pin and finalize something else;
// - after a round's reveal deadline, a task whose revealed results hold consensus is finalized,
//   otherwise reopened for a new round (more replicas);
// - a task whose app failed on `failAfter` distinct workers (and that nobody completed a
//   contribution for) ends early as AppFailed; one that used every contribution slot without
//   consensus as NoConsensus: the requester is refunded and the scheduler keeps its stake;
// - tasks past their deadlines are refunded (unstarted ones in batches per deal).
import type { SunpoolClient } from "@sunpool/sdk";
import { toUtf8Bytes } from "ethers";
import type { Logger } from "pino";

import type { Pinner } from "../ipfs/pinner.js";
import { TransactionReverted, type TransactionSender } from "../chain/transactions.js";
import { FAILURE, MAX_CONTRIBUTIONS, type Pool, type TaskRow } from "./pool.js";

/** TaskStatus.Revealing (contracts/types/Tasks.sol). */
const REVEALING = 2n;

type SettleRow = TaskRow & { trust: number; failures: number; contributions: number };

export class Settlement {
  constructor(
    private readonly chain: SunpoolClient,
    private readonly pool: Pool,
    private readonly sender: TransactionSender,
    private readonly pinner: Pinner,
    private readonly log: Logger,
  ) {}

  async settle(chainNow: number): Promise<void> {
    const tasks = await this.pool.tasksToSettle(chainNow);
    const unstarted = new Map<string, number[]>();
    for (const task of tasks) {
      try {
        if (task.status === "waiting" && task.declined !== null && task.contributions === 0) {
          // Forecast-driven admission gave it up (pool.ts declineReason): refund the requester now.
          this.log.info(
            { taskId: task.task_id, reason: task.declined },
            "declined a task no worker can finish on harvested energy",
          );
          await this.fail(task, FAILURE.schedulerGaveUp);
        } else if (task.status !== "revealing" && task.failures >= this.pool.failAfter && task.contributions === 0) {
          await this.fail(task, FAILURE.appFailed);
        } else if (task.status === "active" && task.contributions >= MAX_CONTRIBUTIONS) {
          await this.fail(task, FAILURE.noConsensus);
        } else if (task.status === "revealing") {
          await this.settleRound(task, chainNow);
        } else if (chainNow < (task.final_deadline ?? task.deadline)) {
          continue; // listed for failures that do not (yet) make an AppFailed
        } else if (task.status === "waiting") {
          unstarted.set(task.deal_id, [...(unstarted.get(task.deal_id) ?? []), task.idx]);
        } else {
          await this.claim(task);
        }
      } catch (error) {
        this.log.warn({ err: error, taskId: task.task_id }, "could not settle task; retrying on the next pass");
      }
    }
    for (const [dealId, indexes] of unstarted) {
      for (const [first, count] of ranges(indexes)) {
        await this.tolerate(`claimUnstarted ${dealId} ${first.toString()}+${count.toString()}`, () =>
          this.sender.send("claimUnstarted", () => this.chain.hub.claimUnstarted(dealId, first, count)),
        );
      }
    }
  }

  /** A round whose window closed: finalize once decided, else reopen (or refund) after its deadline. */
  private async settleRound(task: SettleRow, chainNow: number): Promise<void> {
    const state = await this.chain.hub.task(task.task_id);
    if (state.status !== REVEALING) return; // the events saying what happened are on their way
    if (state.decided) return this.finalize(task, state.bestDigest);
    if (chainNow <= Number(state.revealDeadline)) return; // reveals are running
    const contributors = await this.pool.contributors(task.task_id);
    // The revealed results may hold consensus without every member having revealed: the hub
    // says so by accepting a finalize (a dry run; the location is not looked at).
    const holds =
      state.revealCount > 0n &&
      (await this.chain.hub.finalize
        .staticCall(task.deal_id, task.idx, "0x", contributors)
        .then(() => true)
        .catch(() => false));
    if (holds) return this.finalize(task, state.bestDigest);
    if (task.final_deadline !== null && chainNow > task.final_deadline) return this.claim(task);
    await this.tolerate(`reopen ${task.task_id}`, () =>
      this.sender.send("reopen", () => this.chain.hub.reopen(task.deal_id, task.idx)),
    );
  }

  /**
   * Finalizes with the location a revealer of the consensus digest published on-chain, pinned
   * first (results must stay available while the worker's Pi sleeps). Revealers are tried in
   * contribution order until one's location can be pinned and serves the consensus result.
   */
  private async finalize(task: SettleRow, digest: string): Promise<void> {
    const candidates = await this.pool.revealedLocations(task.task_id, digest);
    if (candidates.length === 0) {
      this.log.debug({ taskId: task.task_id }, "decided, but no reveal of the consensus read yet");
      return;
    }
    let location: string | undefined;
    for (const candidate of candidates) {
      try {
        const pinning = performance.now();
        await this.pinner.ensurePinned(candidate.location, await this.pool.workerPeers(candidate.worker), candidate.worker);
        this.log.debug(
          { taskId: task.task_id, location: candidate.location, ms: Math.round(performance.now() - pinning) },
          "revealed result pinned",
        );
        // A member of the consensus may still have revealed a location that serves something
        // else: finalize only content that hashes to the digest (encrypted: cannot tell).
        if ((await this.pinner.matchesDigest(candidate.location, digest)) === false) {
          this.log.warn(
            { taskId: task.task_id, worker: candidate.worker, location: candidate.location },
            "a revealed location does not serve the consensus result; trying the next revealer",
          );
          continue;
        }
        location = candidate.location;
        break;
      } catch (error) {
        this.log.warn(
          { err: error, taskId: task.task_id, worker: candidate.worker, location: candidate.location },
          "could not pin a revealed result; trying the next revealer",
        );
      }
    }
    if (location === undefined) return; // retried on the next pass
    const chosen = location;
    await this.tolerate(`finalize ${task.task_id}`, () =>
      this.sender.send("finalize", async () =>
        this.chain.hub.finalize(task.deal_id, task.idx, toUtf8Bytes(chosen), await this.pool.contributors(task.task_id)),
      ),
    );
  }

  private async fail(task: SettleRow, reason: (typeof FAILURE)[keyof typeof FAILURE]): Promise<void> {
    if (reason === FAILURE.appFailed) {
      this.log.info(
        { taskId: task.task_id, failures: await this.pool.failures(task.task_id) },
        "the app failed on several workers",
      );
    }
    await this.tolerate(`fail ${task.task_id}`, () =>
      this.sender.send("fail", async () =>
        this.chain.hub.fail(task.deal_id, task.idx, reason, await this.pool.contributors(task.task_id)),
      ),
    );
  }

  private async claim(task: TaskRow): Promise<void> {
    await this.tolerate(`claim ${task.task_id}`, () =>
      this.sender.send("claim", async () =>
        this.chain.hub.claim(task.deal_id, task.idx, await this.pool.contributors(task.task_id)),
      ),
    );
  }

  /** Reverts that mean "someone already did it" (or "not yet") are expected; log the rest. */
  private async tolerate(what: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (
        error instanceof TransactionReverted &&
        [
          "TaskAlreadyEnded",
          "TaskDeadlineNotReached",
          "TaskWrongStatus",
          "TaskConsensusReached",
          "TaskNoConsensus",
          "TaskInvalidContributors",
        ].includes(error.errorName)
      ) {
        this.log.debug({ what, error: error.errorName }, "settlement skipped");
        return;
      }
      throw error;
    }
  }
}

/** Contiguous runs of sorted indexes, as [first, count]. */
export function ranges(indexes: readonly number[]): [number, number][] {
  const sorted = [...indexes].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const index of sorted) {
    const last = runs.at(-1);
    if (last !== undefined && last[0] + last[1] === index) last[1] += 1;
    else runs.push([index, 1]);
  }
  return runs;
}
