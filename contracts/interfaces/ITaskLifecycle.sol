// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Deal, EnergyReceipt} from "../types/Deals.sol";
import {Task, TaskOutcome, TaskStatus} from "../types/Tasks.sol";

/**
 * @title ITaskLifecycle
 * @notice Proof-of-Contribution for the tasks of a deal. Task `index` of deal `dealId` has id
 * `keccak256(abi.encode(dealId, index))`. A worker acts on a task only with its scheduler's
 * EIP-712 `TaskAuthorization(bytes32 taskId,address worker)` signature (or as the scheduler).
 *
 * Trust <= 1: one transaction, {submitResult}, completes the task. Trust >= 2: workers
 * {contribute} a commitment `(resultHash, resultSeal)` with stake; when a result group reaches
 * consensus, its members {reveal}; the scheduler {finalize}s and everyone is paid, or {reopen}s
 * when nobody revealed. A task that cannot end well is refunded through {claim}.
 *
 * `resultHash = keccak256(abi.encode(taskId, resultDigest))` is the vote;
 * `resultSeal = keccak256(abi.encode(worker, taskId, resultDigest))` proves the worker knew the
 * digest itself and did not copy another worker's vote.
 */
interface ITaskLifecycle {
    /// @notice Thrown when no deal has this id.
    error TaskUnknownDeal(bytes32 dealId);
    /// @notice Thrown when a task index is not below the deal's volume.
    error TaskIndexOutOfRange(bytes32 dealId, uint256 index, uint256 volume);
    /// @notice Thrown when a task has already ended.
    error TaskAlreadyEnded(bytes32 taskId, TaskOutcome outcome);
    /// @notice Thrown when a task is not in the status the call needs.
    error TaskWrongStatus(bytes32 taskId, TaskStatus status);
    /// @notice Thrown when a call is for the other trust path (one-transaction vs replicated).
    error TaskWrongTrustPath(bytes32 taskId, uint256 trust);
    /// @notice Thrown when the scheduler's authorization of the worker for the task is not valid.
    error TaskUnauthorizedWorker(bytes32 taskId, address worker, address scheduler);
    /// @notice Thrown when a call reserved to the deal's scheduler comes from someone else.
    error TaskNotScheduler(address caller, address scheduler);
    /// @notice Thrown when a deadline has passed (`deadline` is the one that passed).
    error TaskDeadlinePassed(bytes32 taskId, uint256 deadline);
    /// @notice Thrown when a call must wait for a deadline (`deadline` is the one to wait for).
    error TaskDeadlineNotReached(bytes32 taskId, uint256 deadline);
    /// @notice Thrown when a worker contributes twice to a task.
    error TaskAlreadyContributed(bytes32 taskId, address worker);
    /// @notice Thrown when a task already has the maximum number of contributions.
    error TaskTooManyContributors(bytes32 taskId, uint256 max);
    /// @notice Thrown when a commitment is malformed (zero hash or seal).
    error TaskInvalidCommitment(bytes32 taskId);
    /// @notice Thrown when a reveal does not match the worker's commitment and the consensus.
    error TaskInvalidReveal(bytes32 taskId, address worker);
    /// @notice Thrown when a result digest does not match the consensus.
    error TaskInvalidResult(bytes32 taskId, bytes32 resultDigest);
    /// @notice Thrown when the contributors passed do not match those recorded for the task.
    error TaskInvalidContributors(bytes32 taskId);
    /// @notice Thrown when finalizing before every winner revealed and before the reveal deadline.
    error TaskRevealsPending(bytes32 taskId, uint256 revealed, uint256 winners);
    /// @notice Thrown when reopening a task in which a winner has revealed.
    error TaskHasReveals(bytes32 taskId, uint256 revealed);
    /// @notice Thrown when an energy receipt's solar share exceeds 100 %.
    error TaskInvalidEnergyReceipt(uint256 solarShareBps);
    /// @notice Thrown when a batch range is empty or leaves the deal.
    error TaskInvalidRange(bytes32 dealId, uint256 first, uint256 count);

    /// @notice A replicated task started: its deadlines run from `startTime`.
    event TaskStarted(bytes32 indexed taskId, uint256 startTime, uint256 contributionDeadline, uint256 finalDeadline);
    /// @notice A worker's contribution was accepted, with the energy it measured for the task.
    event ContributionAccepted(
        bytes32 indexed taskId,
        address indexed worker,
        bytes32 resultHash,
        uint32 milliwattHours,
        uint16 solarShareBps
    );
    /// @notice A result group reached consensus; its members may reveal until `revealDeadline`.
    event ConsensusReached(bytes32 indexed taskId, bytes32 consensusHash, uint256 revealDeadline);
    /// @notice A member of the consensus group revealed the result digest.
    event ContributionRevealed(bytes32 indexed taskId, address indexed worker, bytes32 resultDigest);
    /// @notice Nobody revealed in time: the consensus group is void and the task accepts contributions again.
    event TaskReopened(bytes32 indexed taskId, bytes32 voidedHash);
    /**
     * @notice A task ended. `outcome` says why; for `Completed`, `resultDigest` is the consensus
     * digest of the result and `resultLocation` where to fetch it (an IPFS CID).
     */
    event TaskEnded(
        bytes32 indexed dealId,
        bytes32 indexed taskId,
        uint256 index,
        TaskOutcome outcome,
        bytes32 resultDigest,
        bytes resultLocation
    );

    /**
     * @notice Trust <= 1: submits the result of an unstarted task and completes it in one
     * transaction, paying the app and dataset owners, the scheduler and the worker.
     * @param dealId         The deal.
     * @param index          The task index.
     * @param resultDigest   Digest of the result (docs/protocol.md says how it is computed).
     * @param resultLocation Where the result is published (an IPFS CID).
     * @param energy         The worker's energy receipt.
     * @param authorization  The scheduler's `TaskAuthorization` signature (empty if the caller is the scheduler).
     */
    function submitResult(
        bytes32 dealId,
        uint256 index,
        bytes32 resultDigest,
        bytes calldata resultLocation,
        EnergyReceipt calldata energy,
        bytes calldata authorization
    ) external;

    /**
     * @notice Trust >= 2: commits to a result and locks the worker's stake. The first contribution
     * starts the task and its deadlines.
     * @param dealId        The deal.
     * @param index         The task index.
     * @param resultHash    `keccak256(abi.encode(taskId, resultDigest))`.
     * @param resultSeal    `keccak256(abi.encode(worker, taskId, resultDigest))`.
     * @param energy        The worker's energy receipt.
     * @param authorization The scheduler's `TaskAuthorization` signature.
     */
    function contribute(
        bytes32 dealId,
        uint256 index,
        bytes32 resultHash,
        bytes32 resultSeal,
        EnergyReceipt calldata energy,
        bytes calldata authorization
    ) external;

    /**
     * @notice Reveals the digest behind the caller's commitment, which must be the consensus one.
     * @param dealId       The deal.
     * @param index        The task index.
     * @param resultDigest The result digest.
     */
    function reveal(bytes32 dealId, uint256 index, bytes32 resultDigest) external;

    /**
     * @notice Scheduler only: voids a consensus nobody revealed before the reveal deadline; the
     * task accepts contributions again. The silent group's stakes stay locked until the task ends.
     * @param dealId The deal.
     * @param index  The task index.
     */
    function reopen(bytes32 dealId, uint256 index) external;

    /**
     * @notice Scheduler only: completes a task whose consensus was revealed, settling payments,
     * stakes and reputation.
     * @param dealId         The deal.
     * @param index          The task index.
     * @param resultDigest   The revealed consensus digest.
     * @param resultLocation Where the result is published (an IPFS CID), pinned by the scheduler.
     * @param contributors   Every contributor in contribution order (from {ContributionAccepted}).
     */
    function finalize(
        bytes32 dealId,
        uint256 index,
        bytes32 resultDigest,
        bytes calldata resultLocation,
        address[] calldata contributors
    ) external;

    /**
     * @notice Refunds a task that can no longer end well: unstarted after the deal's start
     * deadline, or started and past its final deadline. The requester gets its payment back plus
     * the scheduler's stake for the task; contributors get their stakes back. Anyone may call.
     * @param dealId       The deal.
     * @param index        The task index.
     * @param contributors Every contributor in contribution order (empty if none).
     */
    function claim(bytes32 dealId, uint256 index, address[] calldata contributors) external;

    /**
     * @notice {claim} for the unstarted tasks among `count` tasks from `first`; tasks already ended
     * or started are skipped. Anyone may call.
     * @param dealId The deal.
     * @param first  First task index.
     * @param count  Number of tasks.
     * @return refunded Number of tasks refunded.
     */
    function claimUnstarted(bytes32 dealId, uint256 first, uint256 count) external returns (uint256 refunded);

    /// @notice The deal's terms; `requester` is zero for an unknown deal.
    function deal(bytes32 dealId) external view returns (Deal memory);

    /// @notice The replicated-task state of a task.
    function task(bytes32 taskId) external view returns (Task memory);

    /// @notice How task `index` of `dealId` ended, or `None` if it has not.
    function taskOutcome(bytes32 dealId, uint256 index) external view returns (TaskOutcome);

    /// @notice The id of task `index` of `dealId`.
    function taskId(bytes32 dealId, uint256 index) external pure returns (bytes32);

    /// @notice EIP-712 digest a scheduler signs to authorize `worker` on `taskId_`.
    function authorizationDigest(bytes32 taskId_, address worker) external view returns (bytes32);
}
