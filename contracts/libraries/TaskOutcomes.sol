// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TaskOutcome} from "../types/Tasks.sol";

/**
 * @title TaskOutcomes
 * @notice Outcome of every task of a deal in a bitmap, 4 bits per task (64 tasks per slot): ending
 * a task of a batch writes to a slot its neighbours already warmed, instead of a fresh record.
 * The outcome is written once: it is the guard against paying or refunding a task twice.
 */
library TaskOutcomes {
    uint256 private constant _BITS = 4;
    uint256 private constant _PER_WORD = 256 / _BITS;
    uint256 private constant _MASK = (1 << _BITS) - 1;

    /// @dev The outcome map of one deal.
    struct Map {
        mapping(uint256 word => uint256 bits) words;
    }

    /// @dev Outcome of task `index`.
    function get(Map storage map, uint256 index) internal view returns (TaskOutcome) {
        uint256 word = map.words[index / _PER_WORD];
        return TaskOutcome((word >> ((index % _PER_WORD) * _BITS)) & _MASK);
    }

    /// @dev Records the outcome of task `index`; the caller checked it was `None`.
    function set(Map storage map, uint256 index, TaskOutcome outcome) internal {
        map.words[index / _PER_WORD] |= uint256(outcome) << ((index % _PER_WORD) * _BITS);
    }
}
