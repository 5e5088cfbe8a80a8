// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title Categories
 * @notice Time budgets of tasks. A category is a reference duration `timeref`; deadlines are
 * multiples of it (docs/protocol.md). The table is fixed at deployment: no admin can change
 * the deadlines of deals already matched, or of future ones.
 */
library Categories {
    /// @dev Number of categories: 0 XS, 1 S, 2 M, 3 L, 4 XL.
    uint256 internal constant COUNT = 5;
    /// @dev Window, in timerefs from match time, in which each task of a deal must start.
    uint256 internal constant START_WINDOW_RATIO = 10;
    /// @dev Contributions are accepted until `start + 7 * timeref`.
    uint256 internal constant CONTRIBUTION_DEADLINE_RATIO = 7;
    /// @dev A round's reveals are accepted until `window close + 2 * timeref` (at most `start + 9 * timeref`).
    uint256 internal constant REVEAL_DEADLINE_RATIO = 2;
    /// @dev A started task must be finalized before `start + 10 * timeref`.
    uint256 internal constant FINAL_DEADLINE_RATIO = 10;

    /// @dev Reference duration of `category`, in seconds. Callers check `category < COUNT`.
    function timeref(uint256 category) internal pure returns (uint256) {
        if (category == 0) return 300;
        if (category == 1) return 1_200;
        if (category == 2) return 3_600;
        if (category == 3) return 10_800;
        return 36_000;
    }
}
