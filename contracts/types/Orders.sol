// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @dev An app owner's offer to let its app run. Signed as EIP-712 typed data by the app's owner
 * (or presigned on-chain). Restriction fields are 0 for "anyone", otherwise the only counterparty
 * allowed. `volume` is the number of tasks the order may be consumed for, across deals.
 */
struct AppOrder {
    bytes32 app;
    uint256 price;
    uint256 volume;
    bytes32 tag;
    bytes32 datasetRestrict;
    bytes32 workerpoolRestrict;
    address requesterRestrict;
    bytes32 salt;
}

/**
 * @dev A dataset owner's offer to let its dataset be used, per task.
 */
struct DatasetOrder {
    bytes32 dataset;
    uint256 price;
    uint256 volume;
    bytes32 tag;
    bytes32 appRestrict;
    bytes32 workerpoolRestrict;
    address requesterRestrict;
    bytes32 salt;
}

/**
 * @dev A scheduler's offer of its workerpool's capacity: price per task, the category (time
 * budget) and the highest trust level it can serve, and the tag bits its workers satisfy.
 */
struct WorkerpoolOrder {
    bytes32 workerpool;
    uint256 price;
    uint256 volume;
    bytes32 tag;
    uint256 category;
    uint256 trust;
    bytes32 appRestrict;
    bytes32 datasetRestrict;
    address requesterRestrict;
    bytes32 salt;
}

/**
 * @dev A requester's demand: which app (and optionally dataset) to run, the highest prices it
 * accepts, the workerpool (0 for any), how many tasks, the requirements (tag), the category and
 * trust level, who receives the results (`beneficiary`, 0 for the requester), and `params`: the
 * sha256 digest of the task parameters document, which travels off-chain (order book, IPFS) and
 * is checked by workers against this digest.
 */
struct RequestOrder {
    bytes32 app;
    uint256 appMaxPrice;
    bytes32 dataset;
    uint256 datasetMaxPrice;
    bytes32 workerpool;
    uint256 workerpoolMaxPrice;
    address requester;
    address beneficiary;
    uint256 volume;
    bytes32 tag;
    uint256 category;
    uint256 trust;
    bytes32 params;
    bytes32 salt;
}

/**
 * @dev Signatures over the EIP-712 digests of the matched orders. An empty signature is accepted
 * when the order's signer is the caller or has presigned the order.
 */
struct OrderSignatures {
    bytes app;
    bytes dataset;
    bytes workerpool;
    bytes request;
}

/// @dev Which of the four orders an error or event refers to.
enum OrderKind {
    App,
    Dataset,
    Workerpool,
    Request
}
