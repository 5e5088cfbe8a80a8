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
 * {contribute} a hidden commitment with stake. A round's contribution window closes by itself
 * once its commitments could reach the trust level; its contributors then {reveal}. When the
 * round is fully revealed, either a result holds consensus (the task is decided and anyone can
 * soon {finalize} it) or a new round starts. A scheduler ends a task that cannot end well early
 * with a reason ({fail}); anything left is refunded through {claim} after its deadline.
 *
 * `commitment = keccak256(abi.encode(taskId, resultDigest, worker, salt))`: it hides the vote
 * until the window closes (a low-entropy result cannot be guessed from it), and binds it to one
 * task and one worker, so neither a vote nor a revealed digest can be replayed elsewhere.
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
    /// @notice Thrown when a commitment is zero.
    error TaskInvalidCommitment(bytes32 taskId);
    /// @notice Thrown when a reveal does not open the caller's commitment of the current round.
    error TaskInvalidReveal(bytes32 taskId, address worker);
    /// @notice Thrown when the contributors passed do not match those recorded for the task.
    error TaskInvalidContributors(bytes32 taskId);
    /// @notice Thrown when finalizing a task whose revealed results do not (yet) hold consensus.
    error TaskNoConsensus(bytes32 taskId);
    /// @notice Thrown when reopening or claiming a task whose revealed results hold consensus: finalize it.
    error TaskConsensusReached(bytes32 taskId);
    /// @notice Thrown when {fail} is given an outcome that is not an early failure.
    error TaskInvalidFailure(TaskOutcome reason);
    /// @notice Thrown when an energy receipt's solar share exceeds 100 %.
    error TaskInvalidEnergyReceipt(uint256 solarShareBps);
    /// @notice Thrown when a batch range is empty or leaves the deal.
    error TaskInvalidRange(bytes32 dealId, uint256 first, uint256 count);
    /// @notice Thrown at deployment when the treasury is the zero address (use a burn address to burn).
    error TaskInvalidTreasury();
    /// @notice Thrown at deployment when the minimum scored stake is zero (scores would be free to farm).
    error TaskInvalidMinScoredStake();

    /// @notice A replicated task started: its deadlines run from `startTime`.
    event TaskStarted(bytes32 indexed taskId, uint256 startTime, uint256 contributionDeadline, uint256 finalDeadline);
    /**
     * @notice A worker's contribution was accepted, with the energy it measured for the task.
     * `commitment` hides the vote (trust >= 2); for a trust-1 submission it is the result digest.
     */
    event ContributionAccepted(
        bytes32 indexed taskId,
        address indexed worker,
        bytes32 commitment,
        uint32 milliwattHours,
        uint16 solarShareBps
    );
    /// @notice The round's contribution window closed: its contributors reveal until `revealDeadline`.
    event RevealOpened(bytes32 indexed taskId, uint256 round, uint256 revealDeadline);
    /// @notice A contributor opened its commitment; `resultLocation` is where it published the result.
    event ContributionRevealed(
        bytes32 indexed taskId,
        address indexed worker,
        bytes32 resultDigest,
        bytes resultLocation
    );
    /// @notice The revealed results hold consensus on `resultDigest`: the task waits for {finalize}.
    event ConsensusReached(bytes32 indexed taskId, bytes32 resultDigest);
    /// @notice A round ended without consensus: round `round` accepts contributions.
    event TaskReopened(bytes32 indexed taskId, uint256 round);
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
     * @param resultDigest   Digest of the result (docs/results.md says how it is computed).
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
     * starts the task and its deadlines; the one that makes the round's commitments able to reach
     * the trust level closes the round's window ({RevealOpened}).
     * @param dealId        The deal.
     * @param index         The task index.
     * @param commitment    `keccak256(abi.encode(taskId, resultDigest, worker, salt))`, salt secret and random.
     * @param energy        The worker's energy receipt.
     * @param authorization The scheduler's `TaskAuthorization` signature.
     */
    function contribute(
        bytes32 dealId,
        uint256 index,
        bytes32 commitment,
        EnergyReceipt calldata energy,
        bytes calldata authorization
    ) external;

    /**
     * @notice Opens the caller's commitment of the current round, before the round's reveal
     * deadline. The round's last reveal decides: consensus ({ConsensusReached}) or a new round
     * ({TaskReopened}).
     * @param dealId         The deal.
     * @param index          The task index.
     * @param resultDigest   The result digest committed to.
     * @param salt           The salt committed to.
     * @param resultLocation Where the worker published the result (an IPFS CID).
     */
    function reveal(
        bytes32 dealId,
        uint256 index,
        bytes32 resultDigest,
        bytes32 salt,
        bytes calldata resultLocation
    ) external;

    /**
     * @notice After a round's reveal deadline, when its revealed results do not hold consensus:
     * starts a new round. Unrevealed commitments of the ended round stay recorded and lose their
     * stake when the task ends. Anyone may call.
     * @param dealId The deal.
     * @param index  The task index.
     */
    function reopen(bytes32 dealId, uint256 index) external;

    /**
     * @notice Completes a task whose revealed results hold consensus, settling payments, stakes
     * and reputation: by the scheduler as soon as it is decided, by anyone after the reveal
     * deadline (so revealers are paid even if the scheduler disappears).
     * @param dealId         The deal.
     * @param index          The task index.
     * @param resultLocation Where the result is published (an IPFS CID; the scheduler pins it).
     * @param contributors   Every contributor in contribution order (from {ContributionAccepted}).
     */
    function finalize(
        bytes32 dealId,
        uint256 index,
        bytes calldata resultLocation,
        address[] calldata contributors
    ) external;

    /**
     * @notice Scheduler only: ends a task that cannot end well, early and with a reason, while no
     * reveal is running. The requester gets its payment back; revealed contributors get their
     * stake back (members of a strictly heaviest revealed group also share the stakes of the
     * other revealed groups); unrevealed commitments of a closed round lose their stake. The
     * scheduler's stake is returned, except for `SchedulerGaveUp` (to the treasury).
     * @param dealId       The deal.
     * @param index        The task index.
     * @param reason       `AppFailed`, `NoConsensus` or `SchedulerGaveUp`.
     * @param contributors Every contributor in contribution order (empty if none).
     */
    function fail(bytes32 dealId, uint256 index, TaskOutcome reason, address[] calldata contributors) external;

    /**
     * @notice Refunds a task that can no longer end well: unstarted after the deal's start
     * deadline, or started and past its final deadline without a consensus. The requester gets
     * its payment back; the scheduler's stake goes to the treasury; contributors are settled as
     * in {fail}. Anyone may call.
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

    /// @notice Reputation score of `worker` in the pool of `scheduler` (scores do not cross pools).
    function scoreOf(address scheduler, address worker) external view returns (uint256);

    /// @notice Where forfeited scheduler stakes (and stakes no worker can be compensated with) go.
    function treasury() external view returns (address);

    /// @notice Smallest worker stake per task for which a correct contribution raises a score.
    function minScoredStake() external view returns (uint256);
}
