// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AppOrder, DatasetOrder, RequestOrder, WorkerpoolOrder} from "../types/Orders.sol";

/**
 * @title OrderHashing
 * @notice EIP-712 struct hashes of the four orders and of worker authorizations. The type strings
 * are the single source of truth; `test/helpers/eip712.ts` and the shared vectors in
 * `test/vectors/orders.json` are checked against them.
 */
library OrderHashing {
    // prettier-ignore
    bytes32 internal constant APP_ORDER_TYPEHASH = keccak256(
        "AppOrder("
            "bytes32 app,"
            "uint256 price,"
            "uint256 volume,"
            "bytes32 tag,"
            "bytes32 datasetRestrict,"
            "bytes32 workerpoolRestrict,"
            "address requesterRestrict,"
            "bytes32 salt"
        ")"
    );

    // prettier-ignore
    bytes32 internal constant DATASET_ORDER_TYPEHASH = keccak256(
        "DatasetOrder("
            "bytes32 dataset,"
            "uint256 price,"
            "uint256 volume,"
            "bytes32 tag,"
            "bytes32 appRestrict,"
            "bytes32 workerpoolRestrict,"
            "address requesterRestrict,"
            "bytes32 salt"
        ")"
    );

    // prettier-ignore
    bytes32 internal constant WORKERPOOL_ORDER_TYPEHASH = keccak256(
        "WorkerpoolOrder("
            "bytes32 workerpool,"
            "uint256 price,"
            "uint256 volume,"
            "bytes32 tag,"
            "uint256 category,"
            "uint256 trust,"
            "bytes32 appRestrict,"
            "bytes32 datasetRestrict,"
            "address requesterRestrict,"
            "bytes32 salt"
        ")"
    );

    // prettier-ignore
    bytes32 internal constant REQUEST_ORDER_TYPEHASH = keccak256(
        "RequestOrder("
            "bytes32 app,"
            "uint256 appMaxPrice,"
            "bytes32 dataset,"
            "uint256 datasetMaxPrice,"
            "bytes32 workerpool,"
            "uint256 workerpoolMaxPrice,"
            "address requester,"
            "address beneficiary,"
            "uint256 volume,"
            "bytes32 tag,"
            "uint256 category,"
            "uint256 trust,"
            "bytes32 params,"
            "bytes32 salt"
        ")"
    );

    // prettier-ignore
    bytes32 internal constant TASK_AUTHORIZATION_TYPEHASH = keccak256(
        "TaskAuthorization("
            "bytes32 taskId,"
            "address worker"
        ")"
    );

    /// @dev Struct hash of an app order.
    function hash(AppOrder memory order) internal pure returns (bytes32) {
        return keccak256(abi.encode(APP_ORDER_TYPEHASH, order));
    }

    /// @dev Struct hash of a dataset order.
    function hash(DatasetOrder memory order) internal pure returns (bytes32) {
        return keccak256(abi.encode(DATASET_ORDER_TYPEHASH, order));
    }

    /// @dev Struct hash of a workerpool order.
    function hash(WorkerpoolOrder memory order) internal pure returns (bytes32) {
        return keccak256(abi.encode(WORKERPOOL_ORDER_TYPEHASH, order));
    }

    /// @dev Struct hash of a request order.
    function hash(RequestOrder memory order) internal pure returns (bytes32) {
        return keccak256(abi.encode(REQUEST_ORDER_TYPEHASH, order));
    }

    /// @dev Struct hash of a worker authorization.
    function hashAuthorization(bytes32 taskId, address worker) internal pure returns (bytes32) {
        return keccak256(abi.encode(TASK_AUTHORIZATION_TYPEHASH, taskId, worker));
    }
}
