// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {MarketHandler} from "./MarketHandler.sol";

/// @dev Money invariants of the hub under random market activity (see {MarketHandler}).
contract EscrowInvariantsTest is Test {
    MarketHandler private _handler;

    function setUp() public {
        _handler = new MarketHandler();
        targetContract(address(_handler));
    }

    /// @dev The escrow holds exactly the sum of every account's balance and locked amount.
    function invariant_escrowConservation() public view {
        uint256 total;
        for (uint256 i = 0; i < _handler.actorCount(); ++i) {
            address actor = _handler.actors(i);
            total += _handler.hub().balanceOf(actor) + _handler.hub().lockedOf(actor);
        }
        assertEq(_handler.token().balanceOf(address(_handler.hub())), total);
    }

    /// @dev The requester's locked amount is exactly the price of its tasks that have not ended.
    function invariant_requesterLockCoversOpenTasks() public view {
        assertEq(_handler.hub().lockedOf(_handler.requester()), _handler.openTaskValue());
    }

    /// @dev Nobody who controls a failure gains from it: the requester gets back exactly what it
    /// locked, the scheduler at most its stake.
    function invariant_noProfitFromFailure() public view {
        assertEq(_handler.profitsFromFailure(), 0);
    }

    /// @dev No task is paid twice, and none is refunded after it was finalized.
    function invariant_taskSettledOnce() public view {
        assertEq(_handler.violations(), 0);
    }
}

/// @dev The handler's steps really move money, so the invariants above are not vacuous.
contract MarketHandlerTest is Test {
    function test_handler_settlesAndRefundsTasks() public {
        MarketHandler handler = new MarketHandler();
        handler.matchDeal(3, 0, 30 ether); // trust 1, 3 tasks
        handler.matchDeal(2, 1, 30 ether); // trust 2, 2 tasks
        handler.submit(0, 0);
        handler.submit(0, 0); // same task again: refused
        handler.replicate(1, 0, true);
        handler.replicate(1, 1, false);
        assertEq(handler.ended(), 2);
        handler.claim(0, 0, 4000); // completed task: no refund
        handler.claim(0, 1, 4000); // unstarted, past the start window: refunded
        handler.claim(1, 1, 4000); // unrevealed commitment, past its final deadline: refunded
        assertEq(handler.ended(), 4);
        handler.fail(0, 2, 0); // app failed: refunded early
        handler.fail(0, 2, 1); // already ended: refused
        assertEq(handler.ended(), 5);
        assertEq(handler.violations(), 0);
        assertEq(handler.profitsFromFailure(), 0);
        assertEq(handler.hub().lockedOf(handler.requester()), 0);
        // Two refunds past their deadlines sent the scheduler's stake (30 % of 30 ether each) to the
        // treasury, and the silent commitment's stake (30 %) too: nobody revealed to be compensated.
        assertEq(handler.hub().balanceOf(handler.treasury()), 3 * 9 ether);
    }
}
