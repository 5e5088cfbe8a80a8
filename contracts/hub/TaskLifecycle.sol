// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {ITaskLifecycle} from "../interfaces/ITaskLifecycle.sol";
import {Categories} from "../libraries/Categories.sol";
import {Commitments} from "../libraries/Commitments.sol";
import {Consensus} from "../libraries/Consensus.sol";
import {OrderHashing} from "../libraries/OrderHashing.sol";
import {TaskOutcomes} from "../libraries/TaskOutcomes.sol";
import {Deal, EnergyReceipt} from "../types/Deals.sol";
import {ResultGroup, Task, TaskOutcome, TaskStatus} from "../types/Tasks.sol";
import {OrderManagement} from "./OrderManagement.sol";

/**
 * @title TaskLifecycle
 * @notice Proof-of-Contribution (see {ITaskLifecycle} and docs/protocol.md).
 *
 * Invariants:
 * - A task's outcome is written once; every payment or refund of a task happens in the same
 *   call that writes it, so no task is paid twice and none is refunded after completion.
 * - For a deal, `requester.locked` holds `taskPrice` for every task without an outcome and the
 *   scheduler's locked holds its stake for each; a contributor's stake stays locked until its
 *   task ends.
 * - No party gains from a task that does not complete: the requester gets back exactly what it
 *   locked, the scheduler at most its stake, a contributor at most its stake plus stakes forfeited
 *   by contributors who withheld or contradicted a strictly heavier revealed result.
 * - Votes are hidden while a round accepts contributions; result groups form from reveals only.
 */
abstract contract TaskLifecycle is ITaskLifecycle, OrderManagement {
    using TaskOutcomes for TaskOutcomes.Map;

    address private immutable _TREASURY;
    uint256 private immutable _MIN_SCORED_STAKE;

    mapping(bytes32 dealId => TaskOutcomes.Map outcomes) private _outcomes;
    mapping(bytes32 taskId => Task task) private _tasks;
    mapping(bytes32 taskId => mapping(bytes32 resultDigest => ResultGroup)) private _groups;
    mapping(bytes32 taskId => mapping(address worker => bytes32 stored)) private _commitments;
    mapping(address scheduler => mapping(address worker => uint32 score)) private _scores;

    /**
     * @param treasury_       Receives forfeited scheduler stakes (a burn address burns them).
     * @param minScoredStake_ Smallest worker stake per task whose correct contribution raises a score.
     */
    constructor(address treasury_, uint256 minScoredStake_) {
        if (treasury_ == address(0)) revert TaskInvalidTreasury();
        if (minScoredStake_ == 0) revert TaskInvalidMinScoredStake();
        _TREASURY = treasury_;
        _MIN_SCORED_STAKE = minScoredStake_;
    }

    /// @inheritdoc ITaskLifecycle
    function submitResult(
        bytes32 dealId,
        uint256 index,
        bytes32 resultDigest,
        bytes calldata resultLocation,
        EnergyReceipt calldata energy,
        bytes calldata authorization
    ) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        if (d.trust > 1) revert TaskWrongTrustPath(id, d.trust);
        if (block.timestamp > d.startDeadline) revert TaskDeadlinePassed(id, d.startDeadline);
        _checkWorker(id, d.scheduler, authorization);
        _checkEnergy(energy);

        emit ContributionAccepted(id, msg.sender, resultDigest, energy.milliwattHours, energy.solarShareBps);
        _settlePayment(d, id, 0);
        _credit(msg.sender, _workersShare(d), id);
        _end(dealId, index, id, TaskOutcome.Completed, resultDigest, resultLocation);
    }

    /// @inheritdoc ITaskLifecycle
    function contribute(
        bytes32 dealId,
        uint256 index,
        bytes32 commitment,
        EnergyReceipt calldata energy,
        bytes calldata authorization
    ) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        uint256 trust = d.trust;
        if (trust < 2) revert TaskWrongTrustPath(id, trust);
        if (commitment == bytes32(0)) revert TaskInvalidCommitment(id);
        _checkWorker(id, d.scheduler, authorization);
        _checkEnergy(energy);

        Task storage t = _tasks[id];
        if (t.status == TaskStatus.Unset) _start(t, id, d);
        else if (t.status != TaskStatus.Active) revert TaskWrongStatus(id, t.status);
        uint256 deadline = t.startTime + Categories.CONTRIBUTION_DEADLINE_RATIO * Categories.timeref(d.category);
        if (block.timestamp > deadline) revert TaskDeadlinePassed(id, deadline);
        if (_commitments[id][msg.sender] != bytes32(0)) revert TaskAlreadyContributed(id, msg.sender);
        if (t.contributorCount >= Consensus.MAX_CONTRIBUTORS) {
            revert TaskTooManyContributors(id, Consensus.MAX_CONTRIBUTORS);
        }

        uint256 weight = Consensus.workerWeight(_scores[d.scheduler][msg.sender]);
        _commitments[id][msg.sender] = Commitments.pack(commitment, weight, t.round);
        t.contributorsDigest = keccak256(abi.encode(t.contributorsDigest, msg.sender));
        t.contributorCount += 1;
        _lock(msg.sender, _workerStake(d), id);
        emit ContributionAccepted(id, msg.sender, commitment, energy.milliwattHours, energy.solarShareBps);

        _addPending(t, id, weight, trust, d.category);
    }

    /// @inheritdoc ITaskLifecycle
    function reveal(
        bytes32 dealId,
        uint256 index,
        bytes32 resultDigest,
        bytes32 salt,
        bytes calldata resultLocation
    ) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        Task storage t = _tasks[id];
        if (t.status != TaskStatus.Revealing) revert TaskWrongStatus(id, t.status);
        if (block.timestamp > t.revealDeadline) revert TaskDeadlinePassed(id, t.revealDeadline);

        bytes32 stored = _commitments[id][msg.sender];
        // A revealed slot has round REVEALED and an empty one fails `opens`, so neither passes.
        if (
            Commitments.round(stored) != t.round ||
            !Commitments.opens(stored, Commitments.commitment(id, resultDigest, msg.sender, salt))
        ) revert TaskInvalidReveal(id, msg.sender);

        uint256 weight = Commitments.weight(stored);
        _commitments[id][msg.sender] = Commitments.revealed(resultDigest);
        // Cannot truncate or be inexact: `pendingWeight` is the product of the weights of the
        // round's unrevealed commitments, this one among them.
        t.pendingWeight = uint96(t.pendingWeight / weight);
        t.pendingCount -= 1;
        t.revealCount += 1;
        _addToGroup(t, id, resultDigest, weight);
        emit ContributionRevealed(id, msg.sender, resultDigest, resultLocation);

        if (t.pendingCount == 0) {
            if (_holdsConsensus(t, d.trust)) {
                t.decided = true;
                emit ConsensusReached(id, t.bestDigest);
            } else {
                _newRound(t, id);
            }
        }
    }

    /// @inheritdoc ITaskLifecycle
    function reopen(bytes32 dealId, uint256 index) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        Task storage t = _tasks[id];
        if (t.status != TaskStatus.Revealing) revert TaskWrongStatus(id, t.status);
        if (t.decided || _holdsConsensus(t, d.trust)) revert TaskConsensusReached(id);
        if (block.timestamp <= t.revealDeadline) revert TaskDeadlineNotReached(id, t.revealDeadline);
        // The round's unrevealed commitments stay: their round is now past, so they can neither
        // reveal nor contribute again, and they lose their stake when the task ends.
        _newRound(t, id);
    }

    /// @inheritdoc ITaskLifecycle
    function finalize(
        bytes32 dealId,
        uint256 index,
        bytes calldata resultLocation,
        address[] calldata contributors
    ) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        Task storage t = _tasks[id];
        if (t.status != TaskStatus.Revealing) revert TaskWrongStatus(id, t.status);
        bool revealWindowOver = block.timestamp > t.revealDeadline;
        // Before the reveal deadline only the scheduler finalizes, and only a decided task.
        if (!revealWindowOver && (msg.sender != d.scheduler || !t.decided)) {
            revert TaskDeadlineNotReached(id, t.revealDeadline);
        }
        if (!t.decided && !_holdsConsensus(t, d.trust)) revert TaskNoConsensus(id);
        _checkContributors(t, id, contributors);

        uint256 dust = _settleContributors(d, t, id, contributors);
        _settlePayment(d, id, dust);
        _end(dealId, index, id, TaskOutcome.Completed, t.bestDigest, resultLocation);
    }

    /// @inheritdoc ITaskLifecycle
    function fail(bytes32 dealId, uint256 index, TaskOutcome reason, address[] calldata contributors) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        _checkScheduler(d);
        if (reason < TaskOutcome.AppFailed) revert TaskInvalidFailure(reason);
        Task storage t = _tasks[id];
        // While reveals run the round decides; the scheduler cannot cut it short.
        if (t.status == TaskStatus.Revealing) revert TaskWrongStatus(id, t.status);
        _checkContributors(t, id, contributors);

        _settleUnfinished(d, t, id, contributors);
        _refund(d, id, reason != TaskOutcome.SchedulerGaveUp);
        _end(dealId, index, id, reason, bytes32(0), "");
    }

    /// @inheritdoc ITaskLifecycle
    function claim(bytes32 dealId, uint256 index, address[] calldata contributors) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        Task storage t = _tasks[id];
        TaskOutcome outcome;
        if (t.status == TaskStatus.Unset) {
            if (block.timestamp <= d.startDeadline) revert TaskDeadlineNotReached(id, d.startDeadline);
            outcome = TaskOutcome.ExpiredUnstarted;
        } else {
            uint256 finalDeadline = _finalDeadline(t, d);
            if (block.timestamp <= finalDeadline) revert TaskDeadlineNotReached(id, finalDeadline);
            if (t.status == TaskStatus.Active) {
                outcome = TaskOutcome.ExpiredNoConsensus;
            } else {
                // Revealers of a consensus are paid through finalize, whoever calls it.
                if (t.decided || _holdsConsensus(t, d.trust)) revert TaskConsensusReached(id);
                outcome = TaskOutcome.ExpiredUnrevealed;
            }
        }
        _checkContributors(t, id, contributors);
        _settleUnfinished(d, t, id, contributors);
        _refund(d, id, false);
        _end(dealId, index, id, outcome, bytes32(0), "");
    }

    /// @inheritdoc ITaskLifecycle
    function claimUnstarted(bytes32 dealId, uint256 first, uint256 count) external returns (uint256 refunded) {
        Deal storage d = _deals[dealId];
        if (d.requester == address(0)) revert TaskUnknownDeal(dealId);
        if (count == 0 || first + count > d.volume) revert TaskInvalidRange(dealId, first, count);
        if (block.timestamp <= d.startDeadline) revert TaskDeadlineNotReached(bytes32(0), d.startDeadline);
        TaskOutcomes.Map storage outcomes = _outcomes[dealId];
        for (uint256 index = first; index < first + count; ++index) {
            if (outcomes.get(index) != TaskOutcome.None) continue;
            bytes32 id = _taskId(dealId, index);
            if (_tasks[id].status != TaskStatus.Unset) continue;
            _refund(d, id, false);
            _end(dealId, index, id, TaskOutcome.ExpiredUnstarted, bytes32(0), "");
            ++refunded;
        }
    }

    /// @inheritdoc ITaskLifecycle
    function deal(bytes32 dealId) external view returns (Deal memory) {
        return _deals[dealId];
    }

    /// @inheritdoc ITaskLifecycle
    function task(bytes32 taskId_) external view returns (Task memory) {
        return _tasks[taskId_];
    }

    /// @inheritdoc ITaskLifecycle
    function taskOutcome(bytes32 dealId, uint256 index) external view returns (TaskOutcome) {
        return _outcomes[dealId].get(index);
    }

    /// @inheritdoc ITaskLifecycle
    function taskId(bytes32 dealId, uint256 index) external pure returns (bytes32) {
        return _taskId(dealId, index);
    }

    /// @inheritdoc ITaskLifecycle
    function authorizationDigest(bytes32 taskId_, address worker) external view returns (bytes32) {
        return _hashTypedDataV4(OrderHashing.hashAuthorization(taskId_, worker));
    }

    /// @inheritdoc ITaskLifecycle
    function scoreOf(address scheduler, address worker) external view returns (uint256) {
        return _scores[scheduler][worker];
    }

    /// @inheritdoc ITaskLifecycle
    function treasury() external view returns (address) {
        return _TREASURY;
    }

    /// @inheritdoc ITaskLifecycle
    function minScoredStake() external view returns (uint256) {
        return _MIN_SCORED_STAKE;
    }

    /// @dev Checks the deal exists, the index is in range and the task has not ended; returns its id.
    function _openTask(bytes32 dealId, uint256 index, Deal storage d) private view returns (bytes32 id) {
        if (d.requester == address(0)) revert TaskUnknownDeal(dealId);
        if (index >= d.volume) revert TaskIndexOutOfRange(dealId, index, d.volume);
        id = _taskId(dealId, index);
        TaskOutcome outcome = _outcomes[dealId].get(index);
        if (outcome != TaskOutcome.None) revert TaskAlreadyEnded(id, outcome);
    }

    /// @dev Starts a replicated task: its deadlines run from now, if the deal's start window is open.
    function _start(Task storage t, bytes32 id, Deal storage d) private {
        if (block.timestamp > d.startDeadline) revert TaskDeadlinePassed(id, d.startDeadline);
        uint256 timeref = Categories.timeref(d.category);
        t.status = TaskStatus.Active;
        t.startTime = uint40(block.timestamp);
        t.totalWeight = 1;
        t.pendingWeight = 1;
        emit TaskStarted(
            id,
            block.timestamp,
            block.timestamp + Categories.CONTRIBUTION_DEADLINE_RATIO * timeref,
            block.timestamp + Categories.FINAL_DEADLINE_RATIO * timeref
        );
    }

    /**
     * @dev Adds a hidden commitment of `weight` to the round, and closes the round's window once
     * its commitments, if they all agreed with the heaviest revealed group (or formed a new one),
     * would reach the trust level: waiting longer could only add votes nobody needs.
     */
    function _addPending(Task storage t, bytes32 id, uint256 weight, uint256 trust, uint256 category) private {
        // Cannot truncate: see the bounds in {Consensus}.
        uint256 pending = t.pendingWeight * weight;
        t.pendingWeight = uint96(pending);
        t.pendingCount += 1;
        uint256 best = t.bestWeight;
        uint256 group = (best == 0 ? 1 : best) * pending;
        if (Consensus.isReached(group, t.totalWeight + group - best, trust)) {
            uint256 revealDeadline = block.timestamp + Categories.REVEAL_DEADLINE_RATIO * Categories.timeref(category);
            t.status = TaskStatus.Revealing;
            t.revealDeadline = uint40(revealDeadline);
            emit RevealOpened(id, t.round, revealDeadline);
        }
    }

    /**
     * @dev Adds a revealed vote of `weight` to the group of `resultDigest`. The heaviest group lives
     * in the task's slots (the common case, every reveal agreeing, writes no group record); a
     * group is written to `_groups` only while it is not the heaviest.
     */
    function _addToGroup(Task storage t, bytes32 id, bytes32 resultDigest, uint256 weight) private {
        uint256 best = t.bestWeight;
        if (best != 0 && resultDigest == t.bestDigest) {
            // Cannot truncate: see the bounds in {Consensus}.
            t.bestWeight = uint96(best * weight);
            t.bestCount += 1;
            t.bestTied = false;
            t.totalWeight = uint96(t.totalWeight + best * weight - best);
            return;
        }
        ResultGroup storage group = _groups[id][resultDigest];
        uint256 before = group.weight;
        uint256 after_ = (before == 0 ? 1 : before) * weight;
        uint256 count = group.count + 1;
        t.totalWeight = uint96(t.totalWeight + after_ - before);
        if (after_ > best) {
            // The group takes the lead: the former leader moves to `_groups`, this one leaves it.
            if (best != 0) _groups[id][t.bestDigest] = ResultGroup(uint96(best), t.bestCount);
            if (before != 0) delete _groups[id][resultDigest];
            t.bestDigest = resultDigest;
            t.bestWeight = uint96(after_);
            t.bestCount = uint8(count);
            t.bestTied = false;
        } else {
            group.weight = uint96(after_);
            group.count = uint8(count);
            // Weights only grow, so an equal weight is another group's: a tie until one of them grows.
            if (after_ == best) t.bestTied = true;
        }
    }

    /// @dev Whether the heaviest revealed group, alone at the top, meets the trust level.
    function _holdsConsensus(Task storage t, uint256 trust) private view returns (bool) {
        return !t.bestTied && t.bestWeight != 0 && Consensus.isReached(t.bestWeight, t.totalWeight, trust);
    }

    /// @dev Ends the current round without consensus: the task accepts contributions again.
    function _newRound(Task storage t, bytes32 id) private {
        uint256 round = t.round + 1;
        t.round = uint8(round);
        t.status = TaskStatus.Active;
        t.revealDeadline = 0;
        t.pendingWeight = 1;
        t.pendingCount = 0;
        emit TaskReopened(id, round);
    }

    /**
     * @dev Settles a completed task: takes the requester's payment, pays the app and dataset
     * owners and the scheduler (its reward plus `dust`), and releases the scheduler's stake.
     */
    function _settlePayment(Deal storage d, bytes32 id, uint256 dust) private {
        uint256 workerpoolPrice = d.workerpoolPrice;
        _debitLocked(d.requester, _taskPrice(d), id);
        _credit(d.appOwner, d.appPrice, id);
        if (d.datasetOwner != address(0)) _credit(d.datasetOwner, d.datasetPrice, id);
        _credit(d.scheduler, workerpoolPrice - _workersShare(d) + dust, id);
        _unlock(d.scheduler, _schedulerStake(workerpoolPrice), id);
    }

    /**
     * @dev Settles the contributors of a completed task: those who revealed the consensus get
     * their stake back, an equal share of the workers' pool and, when the task cost them a
     * scored stake, +1 score in this pool; the others (wrong or silent) lose their stake to that
     * pool and a third of their score in this pool. Returns the dust.
     */
    function _settleContributors(
        Deal storage d,
        Task storage t,
        bytes32 id,
        address[] calldata contributors
    ) private returns (uint256 dust) {
        uint256 stake = _workerStake(d);
        uint256 winners = t.bestCount;
        uint256 pool = _workersShare(d) + (contributors.length - winners) * stake;
        uint256 share = pool / winners;
        dust = pool - share * winners;
        bool scored = stake >= _MIN_SCORED_STAKE && contributors.length >= 2;
        bytes32 winning = Commitments.revealed(t.bestDigest);
        mapping(address worker => uint32 score) storage scores = _scores[d.scheduler];
        for (uint256 i = 0; i < contributors.length; ++i) {
            address worker = contributors[i];
            uint32 score = scores[worker];
            if (_commitments[id][worker] == winning) {
                if (scored) scores[worker] = Consensus.scoreAfterCorrect(score, contributors.length);
                _unlock(worker, stake, id);
                _credit(worker, share, id);
            } else {
                if (score != 0) scores[worker] = Consensus.scoreAfterWrong(score);
                _debitLocked(worker, stake, id);
            }
        }
    }

    /**
     * @dev Settles the contributors of a task that ends without completing. A contribution
     * forfeits its stake when it was never revealed although its round's window closed
     * (withholding), or when it revealed a result other than a strictly heaviest revealed group
     * (dissent that blocked consensus). Forfeited stakes go to the members of that group, who did
     * the work, or to the treasury when there are none. Everyone else gets their stake back.
     */
    function _settleUnfinished(Deal storage d, Task storage t, bytes32 id, address[] calldata contributors) private {
        uint256 stake = _workerStake(d);
        bool leader = t.bestWeight != 0 && !t.bestTied;
        bytes32 leading = leader ? Commitments.revealed(t.bestDigest) : bytes32(0);
        // On a claim the status may be Revealing: then the round's reveal deadline has passed.
        bool roundClosed = t.status == TaskStatus.Revealing;
        uint256 forfeited;
        for (uint256 i = 0; i < contributors.length; ++i) {
            bytes32 stored = _commitments[id][contributors[i]];
            uint256 round = Commitments.round(stored);
            bool forfeits =
                round == Commitments.REVEALED ? leader && stored != leading : round < t.round || roundClosed;
            if (forfeits) {
                _debitLocked(contributors[i], stake, id);
                forfeited += stake;
            } else {
                _unlock(contributors[i], stake, id);
            }
        }
        if (forfeited == 0) return;
        uint256 winners = leader ? t.bestCount : 0;
        if (winners == 0) {
            _credit(_TREASURY, forfeited, id);
            return;
        }
        uint256 share = forfeited / winners;
        for (uint256 i = 0; i < contributors.length; ++i) {
            if (_commitments[id][contributors[i]] == leading) _credit(contributors[i], share, id);
        }
        _credit(_TREASURY, forfeited - share * winners, id);
    }

    /**
     * @dev Refunds a task: the requester gets its payment back; the scheduler's stake returns to
     * it (`keepStake`, an early failure it declared for a reason outside its control) or goes to
     * the treasury — never to the requester, who could otherwise profit from a failure it causes.
     */
    function _refund(Deal storage d, bytes32 id, bool keepStake) private {
        uint256 stake = _schedulerStake(d.workerpoolPrice);
        _unlock(d.requester, _taskPrice(d), id);
        if (keepStake) {
            _unlock(d.scheduler, stake, id);
        } else {
            _debitLocked(d.scheduler, stake, id);
            _credit(_TREASURY, stake, id);
        }
    }

    /// @dev Records the task's outcome (once) and emits its ending.
    function _end(
        bytes32 dealId,
        uint256 index,
        bytes32 id,
        TaskOutcome outcome,
        bytes32 resultDigest,
        bytes memory resultLocation
    ) private {
        _outcomes[dealId].set(index, outcome);
        emit TaskEnded(dealId, id, index, outcome, resultDigest, resultLocation);
    }

    /// @dev Checks `contributors` is exactly the recorded contributors of the task, in order.
    function _checkContributors(Task storage t, bytes32 id, address[] calldata contributors) private view {
        if (contributors.length != t.contributorCount) revert TaskInvalidContributors(id);
        bytes32 digest;
        for (uint256 i = 0; i < contributors.length; ++i) {
            digest = keccak256(abi.encode(digest, contributors[i]));
        }
        if (digest != t.contributorsDigest) revert TaskInvalidContributors(id);
    }

    /// @dev Checks the caller is authorized by the deal's scheduler to work on task `id`.
    function _checkWorker(bytes32 id, address scheduler, bytes calldata authorization) private view {
        if (msg.sender == scheduler) return;
        bytes32 digest = _hashTypedDataV4(OrderHashing.hashAuthorization(id, msg.sender));
        if (!SignatureChecker.isValidSignatureNow(scheduler, digest, authorization)) {
            revert TaskUnauthorizedWorker(id, msg.sender, scheduler);
        }
    }

    function _checkScheduler(Deal storage d) private view {
        if (msg.sender != d.scheduler) revert TaskNotScheduler(msg.sender, d.scheduler);
    }

    function _checkEnergy(EnergyReceipt calldata energy) private pure {
        if (energy.solarShareBps > 10_000) revert TaskInvalidEnergyReceipt(energy.solarShareBps);
    }

    function _finalDeadline(Task storage t, Deal storage d) private view returns (uint256) {
        return t.startTime + Categories.FINAL_DEADLINE_RATIO * Categories.timeref(d.category);
    }

    /// @dev What the requester pays per task.
    function _taskPrice(Deal storage d) private view returns (uint256) {
        return uint256(d.appPrice) + d.datasetPrice + d.workerpoolPrice;
    }

    /// @dev Part of the workerpool price that goes to the workers of a task.
    function _workersShare(Deal storage d) private view returns (uint256) {
        return (uint256(d.workerpoolPrice) * (100 - d.schedulerRewardRatio)) / 100;
    }

    /// @dev Stake a worker locks per contribution.
    function _workerStake(Deal storage d) private view returns (uint256) {
        return (uint256(d.workerpoolPrice) * d.workerStakeRatio) / 100;
    }

    function _taskId(bytes32 dealId, uint256 index) private pure returns (bytes32) {
        return keccak256(abi.encode(dealId, index));
    }
}
