// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/**
 * @title SunpoolToken
 * @notice The ERC20 (with EIP-2612 permit) used on local and test chains. The hub accepts any
 * ERC20 given at deployment; nothing in the protocol depends on this contract.
 */
contract SunpoolToken is ERC20, ERC20Permit, Ownable {
    /**
     * @param initialHolder Receives `initialSupply` and owns the mint right.
     * @param initialSupply Amount minted at deployment.
     */
    constructor(
        address initialHolder,
        uint256 initialSupply
    ) ERC20("Sunpool Token", "SUN") ERC20Permit("Sunpool Token") Ownable(initialHolder) {
        _mint(initialHolder, initialSupply);
    }

    /**
     * @notice Mints tokens (devnet faucets and tests).
     * @param to     Receiver.
     * @param amount Amount to mint.
     */
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
