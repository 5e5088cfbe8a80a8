// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IAssetRegistry} from "../interfaces/IAssetRegistry.sol";
import {Escrow} from "./Escrow.sol";
import {OrderManagement} from "./OrderManagement.sol";
import {TaskLifecycle} from "./TaskLifecycle.sol";

/**
 * @title SunpoolHub
 * @notice The marketplace: escrow of one ERC20, EIP-712 orders matched into deals, and
 * Proof-of-Contribution for their tasks. Immutable: no owner, no upgrade, no parameter an admin
 * could change under a running deal (docs/protocol.md argues why).
 */
contract SunpoolHub is TaskLifecycle {
    /**
     * @param token_          The ERC20 held in escrow.
     * @param registry_       The asset registry (apps, datasets, workerpools).
     * @param treasury_       Receives forfeited stakes that compensate nobody (a burn address burns them).
     * @param minScoredStake_ Smallest worker stake per task whose correct contribution raises a score.
     */
    constructor(
        IERC20 token_,
        IAssetRegistry registry_,
        address treasury_,
        uint256 minScoredStake_
    ) Escrow(token_) OrderManagement(registry_) TaskLifecycle(treasury_, minScoredStake_) {}

    /// @notice The asset registry this hub reads owners and policies from.
    function registry() external view returns (IAssetRegistry) {
        return _REGISTRY;
    }
}
