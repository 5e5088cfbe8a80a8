// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

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
