// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {IOrderManagement} from "../../contracts/interfaces/IOrderManagement.sol";
import {OrderHashing} from "../../contracts/libraries/OrderHashing.sol";
import {AppOrder, RequestOrder, WorkerpoolOrder} from "../../contracts/types/Orders.sol";
import {OrderCodecHarness, OrderEncoding} from "./OrderEncoding.sol";

/// @dev The decoder of untrusted matchOrders input: round trips, and clean failures on bad input.
contract OrderCodecTest is Test, OrderCodecHarness {
    function _orders(
        bytes32 seed,
        uint96 price,
        uint64 volume,
        uint8 small
    ) private pure returns (AppOrder memory a, WorkerpoolOrder memory w, RequestOrder memory r) {
        address someone = address(uint160(uint256(seed)));
        a = AppOrder(seed, price, volume, ~seed, 0, seed, someone, keccak256(abi.encode(seed)));
        w = WorkerpoolOrder(seed, price, volume, seed, small, small, 0, ~seed, someone, seed);
        r = RequestOrder(seed, price, 0, price, seed, price, someone, someone, volume, seed, small, small, ~seed, seed);
    }

    function test_fuzz_decode_roundTrips(bytes32 seed, uint96 price, uint64 volume, uint8 small) public view {
        (AppOrder memory a, WorkerpoolOrder memory w, RequestOrder memory r) = _orders(seed, price, volume, small);
        (AppOrder memory a2, , WorkerpoolOrder memory w2, RequestOrder memory r2, , bool hasDataset) = this.decode(
            OrderEncoding.encode(a, w, r)
        );
        assertFalse(hasDataset);
        assertEq(OrderHashing.hash(a2), OrderHashing.hash(a));
        assertEq(OrderHashing.hash(w2), OrderHashing.hash(w));
        assertEq(OrderHashing.hash(r2), OrderHashing.hash(r));
    }

    function test_fuzz_decode_truncatedInputReverts(bytes32 seed, uint256 cut) public {
        (AppOrder memory a, WorkerpoolOrder memory w, RequestOrder memory r) = _orders(seed, 1, 1, 1);
        bytes memory full = OrderEncoding.encode(a, w, r);
        uint256 length = _bound(cut, 0, full.length - 1);
        bytes memory truncated = new bytes(length);
        for (uint256 i = 0; i < length; ++i) truncated[i] = full[i];
        vm.expectPartialRevert(IOrderManagement.MatchMalformedInput.selector);
        this.decode(truncated);
    }
}
