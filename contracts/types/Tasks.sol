// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @dev Where a replicated task (trust >= 2) is in its lifecycle. Trust-1 tasks never leave
/// `Unset`: their single transaction moves them straight to an outcome.
enum TaskStatus {
    Unset, // not started
    Active, // a round is accepting hidden contributions (commitments)
    Revealing // the round's contribution window closed: its contributors reveal; `decided` once consensus holds
}

/// @dev Why a task ended; recorded on-chain per task (see {ITaskLifecycle-taskOutcome}) and in
/// {ITaskLifecycle-TaskEnded}. `None` means the task has not ended. Values 5..7 are the early
/// failures a scheduler declares with {ITaskLifecycle-fail}.
enum TaskOutcome {
    None,
    Completed, // consensus result finalized, everyone paid
    ExpiredUnstarted, // never started before the deal's start deadline: refunded
    ExpiredNoConsensus, // started, but contributions never agreed before the final deadline: refunded
    ExpiredUnrevealed, // reveals were running at the final deadline without a consensus: refunded
    AppFailed, // the request cannot run: the app failed the same way on several workers, or its inputs are invalid
    NoConsensus, // results disagree and the task ran out of contribution slots or time to converge
    SchedulerGaveUp // the scheduler could not run the task (no capacity): its stake goes to the treasury
}

/**
 * @dev Per-task state of a replicated task. Contributions are hidden commitments; result groups
 * form only from reveals. `totalWeight` is 1 plus the sum of every revealed group's weight (see
 * {Consensus}); `pendingWeight` is the product of the weights of the current round's unrevealed
 * commitments (1 when none), `pendingCount` their number.
 */
struct Task {
    // slot 0
    TaskStatus status;
    uint40 startTime;
    uint40 revealDeadline; // of the current round, 0 while it accepts contributions
    uint8 contributorCount;
    uint8 revealCount;
    uint8 round; // incremented each time a round ends without consensus
    uint8 pendingCount;
    bool decided; // consensus holds: the task waits for {ITaskLifecycle-finalize}
    bool bestTied; // another revealed group weighs as much as the heaviest one
    uint96 totalWeight;
    // slot 1
    uint96 bestWeight; // weight of the heaviest revealed group, 0 before any reveal
    uint96 pendingWeight;
    uint8 bestCount; // members of the heaviest revealed group
    // slot 2
    bytes32 bestDigest; // result digest of the heaviest revealed group (the consensus once decided)
    // slot 3
    bytes32 contributorsDigest; // hash chain over contributors, in order
}

/// @dev Weight and size of the group of reveals of one result digest, kept in storage only while
/// it is not the heaviest group (the heaviest lives in the task's own slots).
struct ResultGroup {
    uint96 weight;
    uint8 count;
}

/**
 * @dev Escrow ledger entry: spendable balance and the amount locked (requester payments in flight,
 * scheduler and worker stakes), in one slot.
 */
struct Account {
    uint112 balance;
    uint112 locked;
}
