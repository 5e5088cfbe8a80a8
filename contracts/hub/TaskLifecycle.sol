// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {ITaskLifecycle} from "../interfaces/ITaskLifecycle.sol";
import {Categories} from "../libraries/Categories.sol";
import {Consensus} from "../libraries/Consensus.sol";
import {OrderHashing} from "../libraries/OrderHashing.sol";
import {TaskOutcomes} from "../libraries/TaskOutcomes.sol";
import {Deal, EnergyReceipt} from "../types/Deals.sol";
import {Account, ResultGroup, Task, TaskOutcome, TaskStatus} from "../types/Tasks.sol";
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
 */
abstract contract TaskLifecycle is ITaskLifecycle, OrderManagement {
    using TaskOutcomes for TaskOutcomes.Map;

    /// @dev Commitment value of a contribution once revealed.
    bytes32 private constant _REVEALED = bytes32(uint256(1));

    mapping(bytes32 dealId => TaskOutcomes.Map outcomes) private _outcomes;
    mapping(bytes32 taskId => Task task) private _tasks;
    mapping(bytes32 taskId => mapping(bytes32 resultHash => ResultGroup)) private _groups;
    mapping(bytes32 taskId => mapping(address worker => bytes32 commitment)) private _commitments;

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

        emit ContributionAccepted(
            id,
            msg.sender,
            _resultHash(id, resultDigest),
            energy.milliwattHours,
            energy.solarShareBps
        );
        _settlePayment(d, id, 0);
        _credit(msg.sender, _workersShare(d), id);
        _end(dealId, index, id, TaskOutcome.Completed, resultDigest, resultLocation);
    }

    /// @inheritdoc ITaskLifecycle
    function contribute(
        bytes32 dealId,
        uint256 index,
        bytes32 resultHash,
        bytes32 resultSeal,
        EnergyReceipt calldata energy,
        bytes calldata authorization
    ) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        uint256 trust = d.trust;
        if (trust < 2) revert TaskWrongTrustPath(id, trust);
        if (resultHash == bytes32(0) || resultSeal == bytes32(0)) revert TaskInvalidCommitment(id);
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

        _commitments[id][msg.sender] = _commitment(resultHash, resultSeal, t.round);
        t.contributorsDigest = keccak256(abi.encode(t.contributorsDigest, msg.sender));
        t.contributorCount += 1;
        _lock(msg.sender, _workerStake(d), id);
        emit ContributionAccepted(id, msg.sender, resultHash, energy.milliwattHours, energy.solarShareBps);

        _vote(t, id, resultHash, _accounts[msg.sender].score, trust, d.category);
    }

    /// @inheritdoc ITaskLifecycle
    function reveal(bytes32 dealId, uint256 index, bytes32 resultDigest) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        Task storage t = _tasks[id];
        if (t.status != TaskStatus.Revealing) revert TaskWrongStatus(id, t.status);
        if (block.timestamp > t.revealDeadline) revert TaskDeadlinePassed(id, t.revealDeadline);

        bytes32 resultHash = _resultHash(id, resultDigest);
        bytes32 resultSeal = keccak256(abi.encode(msg.sender, id, resultDigest));
        bytes32 stored = _commitments[id][msg.sender];
        uint256 round = uint8(uint256(stored));
        if (
            resultHash != t.consensusHash ||
            stored != _commitment(resultHash, resultSeal, round) ||
            // A vote from the current round is live (voidedBefore <= round); only older ones need the lookup.
            (round < t.round && round < _groups[id][resultHash].voidedBefore)
        ) revert TaskInvalidReveal(id, msg.sender);

        _commitments[id][msg.sender] = _REVEALED;
        t.revealCount += 1;
        emit ContributionRevealed(id, msg.sender, resultDigest);
    }

    /// @inheritdoc ITaskLifecycle
    function reopen(bytes32 dealId, uint256 index) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        _checkScheduler(d);
        Task storage t = _tasks[id];
        if (t.status != TaskStatus.Revealing) revert TaskWrongStatus(id, t.status);
        if (t.revealCount != 0) revert TaskHasReveals(id, t.revealCount);
        if (block.timestamp <= t.revealDeadline) revert TaskDeadlineNotReached(id, t.revealDeadline);

        // The silent group's commitments stay: its members cannot contribute again, cannot reveal
        // (their commitments predate `voidedBefore`, even if the same result wins again), and lose
        // their stake when the task completes. Other groups keep their members and weight.
        bytes32 voided = t.consensusHash;
        ResultGroup storage group = _groups[id][voided];
        t.totalWeight -= group.weight;
        t.round += 1;
        group.weight = 0;
        group.count = 0;
        group.voidedBefore = t.round;
        t.consensusHash = bytes32(0);
        t.winnerCount = 0;
        t.revealDeadline = 0;
        t.status = TaskStatus.Active;
        emit TaskReopened(id, voided);
    }

    /// @inheritdoc ITaskLifecycle
    function finalize(
        bytes32 dealId,
        uint256 index,
        bytes32 resultDigest,
        bytes calldata resultLocation,
        address[] calldata contributors
    ) external {
        Deal storage d = _deals[dealId];
        bytes32 id = _openTask(dealId, index, d);
        _checkScheduler(d);
        Task storage t = _tasks[id];
        if (t.status != TaskStatus.Revealing) revert TaskWrongStatus(id, t.status);
        uint256 finalDeadline = _finalDeadline(t, d);
        if (block.timestamp > finalDeadline) revert TaskDeadlinePassed(id, finalDeadline);
        if (t.revealCount == 0 || (t.revealCount < t.winnerCount && block.timestamp <= t.revealDeadline)) {
            revert TaskRevealsPending(id, t.revealCount, t.winnerCount);
        }
        if (_resultHash(id, resultDigest) != t.consensusHash) revert TaskInvalidResult(id, resultDigest);
        _checkContributors(t, id, contributors);

        uint256 dust = _settleContributors(d, t, id, contributors);
        _settlePayment(d, id, dust);
        _end(dealId, index, id, TaskOutcome.Completed, resultDigest, resultLocation);
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
            outcome = t.status == TaskStatus.Active ? TaskOutcome.ExpiredNoConsensus : TaskOutcome.ExpiredUnrevealed;
        }
        _checkContributors(t, id, contributors);
        uint256 stake = _workerStake(d);
        for (uint256 i = 0; i < contributors.length; ++i) {
            _unlock(contributors[i], stake, id);
        }
        _refund(d, id);
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
            _refund(d, id);
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
        emit TaskStarted(
            id,
            block.timestamp,
            block.timestamp + Categories.CONTRIBUTION_DEADLINE_RATIO * timeref,
            block.timestamp + Categories.FINAL_DEADLINE_RATIO * timeref
        );
    }

    /// @dev Adds a contribution's weight to its result group and moves to reveals on consensus.
    function _vote(
        Task storage t,
        bytes32 id,
        bytes32 resultHash,
        uint256 score,
        uint256 trust,
        uint256 category
    ) private {
        ResultGroup storage group = _groups[id][resultHash];
        uint256 before = group.weight;
        uint256 weight = (before == 0 ? 1 : before) * Consensus.workerWeight(score);
        uint256 total = t.totalWeight + weight - before;
        // Cannot truncate: see the bounds in {Consensus}.
        group.weight = uint96(weight);
        group.count += 1;
        t.totalWeight = uint96(total);

        if (Consensus.isReached(weight, total, trust)) {
            uint256 revealDeadline = block.timestamp + Categories.REVEAL_DEADLINE_RATIO * Categories.timeref(category);
            t.status = TaskStatus.Revealing;
            t.consensusHash = resultHash;
            t.winnerCount = group.count;
            t.revealDeadline = uint40(revealDeadline);
            emit ConsensusReached(id, resultHash, revealDeadline);
        }
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
     * their stake back, an equal share of the workers' pool and +1 score; the others (wrong or
     * silent) lose their stake to that pool and a third of their score. Returns the dust.
     */
    function _settleContributors(
        Deal storage d,
        Task storage t,
        bytes32 id,
        address[] calldata contributors
    ) private returns (uint256 dust) {
        uint256 stake = _workerStake(d);
        uint256 winners = t.revealCount;
        uint256 pool = _workersShare(d) + (contributors.length - winners) * stake;
        uint256 share = pool / winners;
        dust = pool - share * winners;
        for (uint256 i = 0; i < contributors.length; ++i) {
            address worker = contributors[i];
            Account storage account = _accounts[worker];
            if (_commitments[id][worker] == _REVEALED) {
                account.score = Consensus.scoreAfterCorrect(account.score, contributors.length);
                _unlock(worker, stake, id);
                _credit(worker, share, id);
            } else {
                account.score = Consensus.scoreAfterWrong(account.score);
                _debitLocked(worker, stake, id);
            }
        }
    }

    /// @dev Refunds a task: the requester gets its payment back and the scheduler's stake for it.
    function _refund(Deal storage d, bytes32 id) private {
        uint256 stake = _schedulerStake(d.workerpoolPrice);
        _unlock(d.requester, _taskPrice(d), id);
        _debitLocked(d.scheduler, stake, id);
        _credit(d.requester, stake, id);
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

    /**
     * @dev What a contribution stores: the hash of vote and seal bound together (its top 248 bits)
     * and the round it was made in (the low byte), so a reveal can tell a voided vote from a live one.
     */
    function _commitment(bytes32 resultHash, bytes32 resultSeal, uint256 round) private pure returns (bytes32) {
        return bytes32(((uint256(keccak256(abi.encode(resultHash, resultSeal))) >> 8) << 8) | round);
    }

    function _resultHash(bytes32 id, bytes32 resultDigest) private pure returns (bytes32) {
        return keccak256(abi.encode(id, resultDigest));
    }

    function _taskId(bytes32 dealId, uint256 index) private pure returns (bytes32) {
        return keccak256(abi.encode(dealId, index));
    }
}
