// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AppOrder, DatasetOrder, OrderKind, RequestOrder, WorkerpoolOrder} from "../types/Orders.sol";

/**
 * @title IOrderManagement
 * @notice Signed orders and their matching into deals. Orders are EIP-712 typed data in the domain
 * `{name: "Sunpool", version: "1", chainId, verifyingContract: hub}`, so a signature is valid on one
 * chain for one hub only. An order is authorized by its signer's ECDSA signature, an EIP-1271
 * signature when the signer is a contract, an on-chain presignature, or by its signer being the
 * caller of {matchOrders}.
 */
interface IOrderManagement {
    /// @notice Thrown when an order's signature is not valid for its signer.
    error OrderInvalidSignature(OrderKind kind, bytes32 orderHash, address signer);
    /// @notice Thrown when someone other than an order's signer tries to presign or cancel it.
    error OrderNotSigner(OrderKind kind, address caller, address signer);
    /// @notice Thrown when an order has no volume left (consumed or cancelled).
    error OrderExhausted(OrderKind kind, bytes32 orderHash);
    /// @notice Thrown when the caller of {matchOrders} is neither the requester nor the scheduler.
    error MatchUnauthorizedCaller(address caller, address requester, address scheduler);
    /// @notice Thrown when an order names a different asset than the request.
    error MatchAssetMismatch(OrderKind kind, bytes32 requested, bytes32 offered);
    /// @notice Thrown when the request and workerpool orders differ in category.
    error MatchCategoryMismatch(uint256 requested, uint256 offered);
    /// @notice Thrown when a category does not exist.
    error MatchUnknownCategory(uint256 category);
    /// @notice Thrown when the requested trust exceeds what the workerpool order offers or the maximum.
    error MatchTrustTooHigh(uint256 requested, uint256 offered);
    /// @notice Thrown when a request asks for replication (trust >= 2) of an app registered as non-deterministic.
    error MatchAppNotDeterministic(bytes32 app, uint256 trust);
    /// @notice Thrown when an order's price exceeds what the requester accepts.
    error MatchPriceTooHigh(OrderKind kind, uint256 price, uint256 maxPrice);
    /// @notice Thrown when the workerpool order's tag lacks bits the other orders require.
    error MatchTagUnsatisfied(bytes32 required, bytes32 offered);
    /// @notice Thrown when `restricting`'s order excludes the `restricted` party.
    error MatchRestricted(OrderKind restricting, OrderKind restricted);
    /// @notice Thrown when the request names a dataset but none was given (or the reverse).
    error MatchDatasetMissing(bytes32 requested);
    /// @notice Thrown when the encoded orders of {matchOrders} are truncated, name unknown fields or
    /// have trailing bytes; `offset` is where decoding stopped. Encode them with the SDK.
    error MatchMalformedInput(uint256 offset);

    /// @notice An order's signer presigned it on-chain.
    event OrderPresigned(OrderKind indexed kind, bytes32 indexed orderHash, address indexed signer);
    /// @notice An order's signer cancelled its remaining volume.
    event OrderCancelled(OrderKind indexed kind, bytes32 indexed orderHash, address indexed signer);
    /**
     * @notice A deal was created. Everything a scheduler and its workers need to run the tasks is
     * here or in the hub's {ISunpoolHub-deal} view.
     */
    event DealCreated(
        bytes32 indexed dealId,
        bytes32 indexed workerpool,
        address indexed requester,
        bytes32 app,
        bytes32 dataset,
        address beneficiary,
        bytes32 params,
        bytes32 tag,
        uint256 volume,
        bytes32 requestOrderHash
    );

    /**
     * @notice Matches an app order, an optional dataset order, a workerpool order and a request
     * order into a deal; locks the requester's payment and the scheduler's stake for every task.
     * @dev Only the requester or the workerpool's scheduler may call, so nobody else can decide
     * when, or with which offers, a victim's request is filled. The deal volume is the smallest
     * remaining volume of the orders (at most 2^24-1). The orders come in the compact encoding of
     * {OrderCodec} (zero fields left out) to keep calldata small; `encodeMatchOrders` in the SDK
     * (test/helpers/orderCodec.ts) produces it.
     * @param encodedOrders The four orders and their signatures, encoded by {OrderCodec}.
     * @return dealId       `keccak256(abi.encode(requestOrderHash, consumedBefore))`.
     */
    function matchOrders(bytes calldata encodedOrders) external returns (bytes32 dealId);

    /// @notice Presigns an app order; only the app's owner may.
    function presignAppOrder(AppOrder calldata order) external;

    /// @notice Presigns a dataset order; only the dataset's owner may.
    function presignDatasetOrder(DatasetOrder calldata order) external;

    /// @notice Presigns a workerpool order; only the workerpool's scheduler may.
    function presignWorkerpoolOrder(WorkerpoolOrder calldata order) external;

    /// @notice Presigns a request order; only its requester may.
    function presignRequestOrder(RequestOrder calldata order) external;

    /// @notice Cancels what remains of an app order; only the app's owner may.
    function cancelAppOrder(AppOrder calldata order) external;

    /// @notice Cancels what remains of a dataset order; only the dataset's owner may.
    function cancelDatasetOrder(DatasetOrder calldata order) external;

    /// @notice Cancels what remains of a workerpool order; only the workerpool's scheduler may.
    function cancelWorkerpoolOrder(WorkerpoolOrder calldata order) external;

    /// @notice Cancels what remains of a request order; only its requester may.
    function cancelRequestOrder(RequestOrder calldata order) external;

    /// @notice EIP-712 struct hash of an app order (sign `hashTypedData(domain, this)`).
    function hashAppOrder(AppOrder calldata order) external pure returns (bytes32);

    /// @notice EIP-712 struct hash of a dataset order.
    function hashDatasetOrder(DatasetOrder calldata order) external pure returns (bytes32);

    /// @notice EIP-712 struct hash of a workerpool order.
    function hashWorkerpoolOrder(WorkerpoolOrder calldata order) external pure returns (bytes32);

    /// @notice EIP-712 struct hash of a request order.
    function hashRequestOrder(RequestOrder calldata order) external pure returns (bytes32);

    /// @notice Volume consumed from the order with this struct hash (max uint256 once cancelled).
    function consumed(bytes32 orderHash) external view returns (uint256);

    /// @notice Who presigned the order with this struct hash (zero if nobody).
    function presigner(bytes32 orderHash) external view returns (address);
}
