// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @dev Test wallet: a contract account whose signatures are its owner key's (EIP-1271).
contract ERC1271Wallet is IERC1271 {
    address private immutable _OWNER;

    error NotOwner();

    constructor(address owner) {
        _OWNER = owner;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, , ) = ECDSA.tryRecover(hash, signature);
        return signer == _OWNER ? IERC1271.isValidSignature.selector : bytes4(0);
    }

    /// @dev Lets tests act as the wallet (presign, cancel, withdraw).
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != _OWNER) revert NotOwner();
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }
}
