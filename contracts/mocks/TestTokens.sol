// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev Test token that burns 1 % of every transfer, to check the escrow credits what arrives.
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @dev Test token that calls back into a target during transferFrom (an ERC777-style hook).
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _payload;

    constructor() ERC20("Reentrant", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setCallback(address target, bytes calldata payload) external {
        _target = target;
        _payload = payload;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (_target != address(0)) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory result) = _target.call(_payload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(result, 0x20), mload(result))
                }
            }
        }
        return super.transferFrom(from, to, value);
    }
}
