// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {Commitments} from "../../contracts/libraries/Commitments.sol";
import {Consensus} from "../../contracts/libraries/Consensus.sol";
import {TaskOutcomes} from "../../contracts/libraries/TaskOutcomes.sol";
import {TaskOutcome} from "../../contracts/types/Tasks.sol";

contract ConsensusTest is Test {
    function test_fuzz_workerWeight_boundedAndMonotonic(uint256 score, uint256 more) public pure {
        score = _bound(score, 0, type(uint32).max);
        more = _bound(more, 0, type(uint32).max - score);
        uint256 weight = Consensus.workerWeight(score);
        assertGe(weight, 2);
        assertLe(weight, Consensus.MAX_WORKER_WEIGHT);
        assertGe(Consensus.workerWeight(score + more), weight);
    }

    /// @dev The largest group the bounds allow still fits the 96-bit fields without overflow.
    function test_fuzz_groupWeights_fit96Bits(uint8 count) public pure {
        count = uint8(_bound(count, 1, Consensus.MAX_CONTRIBUTORS));
        uint256 weight = 1;
        for (uint256 i = 0; i < count; ++i) weight *= Consensus.MAX_WORKER_WEIGHT;
        uint256 total = 1 + weight * Consensus.MAX_CONTRIBUTORS;
        assertLt(total, 2 ** 96);
        assertLt(total * Consensus.MAX_TRUST, 2 ** 256 - 1);
    }

    function test_isReached_newWorkers() public pure {
        // trust 3: two agreeing new workers (2*2 = 4) among total 5: 12 > 10.
        assertTrue(Consensus.isReached(4, 5, 3));
        // One new worker alone at trust 3: 6 > 6 fails.
        assertFalse(Consensus.isReached(2, 3, 3));
        // Trust 1 is reached by any contribution.
        assertTrue(Consensus.isReached(2, 3, 1));
    }

    function test_fuzz_scores(uint32 score, uint8 contributors) public pure {
        assertLe(Consensus.scoreAfterWrong(score), score);
        uint32 next = Consensus.scoreAfterCorrect(score, contributors);
        if (contributors < 2 || score == type(uint32).max) assertEq(next, score);
        else assertEq(next, score + 1);
    }
}

contract TaskOutcomesTest is Test {
    using TaskOutcomes for TaskOutcomes.Map;

    TaskOutcomes.Map private _map;

    function test_fuzz_set_isolatesNeighbours(uint24 index, uint8 raw) public {
        TaskOutcome outcome = TaskOutcome(_bound(raw, 1, 4));
        _map.set(index, outcome);
        assertEq(uint8(_map.get(index)), uint8(outcome));
        if (index > 0) assertEq(uint8(_map.get(index - 1)), 0);
        assertEq(uint8(_map.get(uint256(index) + 1)), 0);
    }
}

contract CommitmentsTest is Test {
    /// @dev A stored commitment keeps its weight and round, opens only with its own hash, and a
    /// revealed slot never passes for a live round.
    function test_fuzz_pack_roundTrips(bytes32 commitment, bytes32 other, uint256 weight, uint8 round) public pure {
        weight = _bound(weight, 2, Consensus.MAX_WORKER_WEIGHT);
        round = uint8(_bound(round, 0, Consensus.MAX_CONTRIBUTORS));
        bytes32 stored = Commitments.pack(commitment, weight, round);
        assertEq(Commitments.weight(stored), weight);
        assertEq(Commitments.round(stored), round);
        assertTrue(Commitments.opens(stored, commitment));
        if (uint256(other) >> 24 != uint256(commitment) >> 24) assertFalse(Commitments.opens(stored, other));
        assertEq(Commitments.round(Commitments.revealed(commitment)), Commitments.REVEALED);
    }

    /// @dev The commitment binds task, digest, worker and salt: changing any one changes it.
    function test_fuzz_commitment_bindsEveryInput(
        bytes32 taskId,
        bytes32 digest,
        address worker,
        bytes32 salt
    ) public pure {
        bytes32 c = Commitments.commitment(taskId, digest, worker, salt);
        assertNotEq(c, Commitments.commitment(bytes32(uint256(taskId) ^ 1), digest, worker, salt));
        assertNotEq(c, Commitments.commitment(taskId, bytes32(uint256(digest) ^ 1), worker, salt));
        assertNotEq(c, Commitments.commitment(taskId, digest, address(uint160(worker) ^ 1), salt));
        assertNotEq(c, Commitments.commitment(taskId, digest, worker, bytes32(uint256(salt) ^ 1)));
    }
}
