// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @dev Where a replicated task (trust >= 2) is in its lifecycle. Trust-1 tasks never leave
/// `Unset`: their single transaction moves them straight to an outcome.
enum TaskStatus {
    Unset, // not started
    Active, // accepting contributions
    Revealing // consensus reached, accepting reveals of the consensus result
}

/// @dev Why a task ended; recorded on-chain per task (see {ISunpoolHub-taskOutcome}) and in
/// {ITaskLifecycle-TaskEnded}. `None` means the task has not ended.
enum TaskOutcome {
    None,
    Completed, // consensus result finalized, everyone paid
    ExpiredUnstarted, // never started before the deal's start deadline: refunded
    ExpiredNoConsensus, // started, but contributions never agreed before the final deadline: refunded
    ExpiredUnrevealed // consensus reached but not revealed/finalized before the final deadline: refunded
}

/**
 * @dev Per-task state of a replicated task, packed so that a contribution touches one slot of it.
 * `totalWeight` is 1 plus the sum of every result group's weight (see {Consensus}).
 */
struct Task {
    // slot 0
    TaskStatus status;
    uint40 startTime;
    uint40 revealDeadline;
    uint8 contributorCount;
    uint8 revealCount;
    uint8 winnerCount;
    uint8 round; // incremented by each reopen; each commitment records the round it was made in
    uint96 totalWeight;
    // slot 1
    bytes32 consensusHash; // result hash of the winning group, 0 until consensus
    // slot 2
    bytes32 contributorsDigest; // hash chain over contributors, in order (see {_contributorsDigest})
}

/**
 * @dev Weight and size of the group of contributions that voted for one result hash in the
 * current rounds. `voidedBefore` is set when a reopen voids the group: its members, whose
 * commitments are from earlier rounds, can no longer reveal even if the same result wins again.
 */
struct ResultGroup {
    uint96 weight;
    uint8 count;
    uint8 voidedBefore;
}

/**
 * @dev Escrow ledger entry: spendable balance, amount locked (requester payments in flight,
 * scheduler and worker stakes), and the worker reputation score, in one slot so that paying a
 * worker, releasing its stake and updating its score cost one storage write.
 */
struct Account {
    uint112 balance;
    uint112 locked;
    uint32 score;
}
