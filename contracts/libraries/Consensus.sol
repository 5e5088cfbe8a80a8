// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title Consensus
 * @notice Reputation-weighted agreement among replicated contributions (Sarmenta's credibility,
 * as iExec PoCo uses it; derivation in docs/protocol.md).
 *
 * A worker with score `s` votes with odds-weight `w(s) = clamp(s / 3, 3, MAX_WORKER_WEIGHT + 1) - 1`,
 * so a new worker weighs 2. A result group's weight is the product of its members' weights; the
 * task's total weight is 1 plus the sum of all groups' weights. A group reaches consensus at trust
 * `t` when `weight * t > total * (t - 1)`, i.e. when its credibility `weight / total` exceeds
 * `1 - 1/t`.
 *
 * Bounds: weights <= 1023 and at most 8 contributors per task keep every group weight below 2^80
 * and the total below 2^84, so they fit the 96-bit fields and `weight * t` cannot overflow.
 */
library Consensus {
    /// @dev Highest trust level a request may ask for. With 8 contributions, trust 20 is still
    /// reached by 5 agreeing new workers against 1 new dissenter (32·20 > 35·19) with 2 slots to spare.
    uint256 internal constant MAX_TRUST = 20;
    /// @dev Most contributions one task accepts.
    uint256 internal constant MAX_CONTRIBUTORS = 8;
    /// @dev Cap on a single worker's weight.
    uint256 internal constant MAX_WORKER_WEIGHT = 1023;

    /// @dev Odds-weight of a worker with reputation `score`.
    function workerWeight(uint256 score) internal pure returns (uint256) {
        uint256 third = score / 3;
        if (third < 3) return 2;
        if (third > MAX_WORKER_WEIGHT + 1) return MAX_WORKER_WEIGHT;
        return third - 1;
    }

    /// @dev Whether a group of weight `groupWeight` among `totalWeight` meets trust level `trust`.
    function isReached(uint256 groupWeight, uint256 totalWeight, uint256 trust) internal pure returns (bool) {
        return groupWeight * trust > totalWeight * (trust - 1);
    }

    /// @dev Score after a correct contribution to a task with `contributors` contributions: +1 when
    /// the result was actually cross-checked (more than one contributor), unchanged otherwise.
    function scoreAfterCorrect(uint32 score, uint256 contributors) internal pure returns (uint32) {
        if (contributors < 2 || score == type(uint32).max) return score;
        return score + 1;
    }

    /// @dev Score after a wrong or silent contribution: loses a third.
    function scoreAfterWrong(uint32 score) internal pure returns (uint32) {
        return uint32((uint256(score) * 2) / 3);
    }
}
