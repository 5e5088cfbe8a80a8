// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {AssetKind, DealParties, IAssetRegistry} from "../interfaces/IAssetRegistry.sol";
import {IOrderManagement} from "../interfaces/IOrderManagement.sol";
import {Categories} from "../libraries/Categories.sol";
import {Consensus} from "../libraries/Consensus.sol";
import {OrderCodec} from "../libraries/OrderCodec.sol";
import {OrderHashing} from "../libraries/OrderHashing.sol";
import {Deal} from "../types/Deals.sol";
import {AppOrder, DatasetOrder, OrderKind, OrderSignatures, RequestOrder, WorkerpoolOrder} from "../types/Orders.sol";
import {Escrow} from "./Escrow.sol";

/**
 * @title OrderManagement
 * @notice Order authorization (signatures, presignatures, cancellation), consumption, and the
 * matching of compatible orders into deals.
 */
abstract contract OrderManagement is IOrderManagement, Escrow, EIP712 {
    using OrderHashing for AppOrder;
    using OrderHashing for DatasetOrder;
    using OrderHashing for WorkerpoolOrder;
    using OrderHashing for RequestOrder;

    /// @dev % of the workerpool price the scheduler stakes per task at match time.
    uint256 internal constant _SCHEDULER_STAKE_RATIO = 30;
    /// @dev Largest deal: task indices fit the 24-bit volume field.
    uint256 private constant _MAX_DEAL_VOLUME = type(uint24).max;

    IAssetRegistry internal immutable _REGISTRY;

    mapping(bytes32 orderHash => uint256 volume) private _consumed;
    mapping(bytes32 orderHash => address signer) private _presigners;
    mapping(bytes32 dealId => Deal deal) internal _deals;

    /// @dev Struct hashes of the orders of one match (`dataset` is zero without a dataset order).
    struct OrderHashes {
        bytes32 app;
        bytes32 dataset;
        bytes32 workerpool;
        bytes32 request;
    }

    /// @param registry The asset registry the hub trusts for owners and policies.
    constructor(IAssetRegistry registry) EIP712("Sunpool", "1") {
        _REGISTRY = registry;
    }

    /// @inheritdoc IOrderManagement
    function matchOrders(bytes calldata encodedOrders) external returns (bytes32 dealId) {
        (
            AppOrder memory appOrder,
            DatasetOrder memory datasetOrder,
            WorkerpoolOrder memory workerpoolOrder,
            RequestOrder memory requestOrder,
            OrderSignatures memory signatures,
            bool hasDataset
        ) = OrderCodec.decode(encodedOrders);

        _checkCompatible(appOrder, workerpoolOrder, requestOrder, datasetOrder.tag);
        _checkDatasetCompatible(appOrder, datasetOrder, hasDataset, workerpoolOrder, requestOrder);

        DealParties memory parties = _REGISTRY.dealParties(
            requestOrder.app,
            requestOrder.dataset,
            workerpoolOrder.workerpool
        );
        _checkParties(requestOrder, parties);
        OrderHashes memory hashes = _authorizeOrders(
            appOrder,
            hasDataset ? datasetOrder.hash() : bytes32(0),
            workerpoolOrder,
            requestOrder,
            signatures,
            parties
        );

        uint256 volume = _consumeVolume(
            hashes,
            appOrder.volume,
            datasetOrder.volume,
            workerpoolOrder.volume,
            requestOrder.volume
        );
        dealId = keccak256(abi.encode(hashes.request, _consumed[hashes.request] - volume));
        _recordDeal(dealId, requestOrder, parties, volume, appOrder.price, datasetOrder.price, workerpoolOrder.price);
        _emitDealCreated(
            dealId,
            appOrder.tag | datasetOrder.tag | requestOrder.tag,
            workerpoolOrder,
            requestOrder,
            volume,
            hashes
        );

        uint256 taskPrice = appOrder.price + datasetOrder.price + workerpoolOrder.price;
        _lock(requestOrder.requester, taskPrice * volume, dealId);
        _lock(parties.scheduler, _schedulerStake(workerpoolOrder.price) * volume, dealId);
    }

    /// @inheritdoc IOrderManagement
    function presignAppOrder(AppOrder calldata order) external {
        _presign(OrderKind.App, order.hash(), _REGISTRY.ownerOf(AssetKind.App, order.app));
    }

    /// @inheritdoc IOrderManagement
    function presignDatasetOrder(DatasetOrder calldata order) external {
        _presign(OrderKind.Dataset, order.hash(), _REGISTRY.ownerOf(AssetKind.Dataset, order.dataset));
    }

    /// @inheritdoc IOrderManagement
    function presignWorkerpoolOrder(WorkerpoolOrder calldata order) external {
        _presign(OrderKind.Workerpool, order.hash(), _REGISTRY.ownerOf(AssetKind.Workerpool, order.workerpool));
    }

    /// @inheritdoc IOrderManagement
    function presignRequestOrder(RequestOrder calldata order) external {
        _presign(OrderKind.Request, order.hash(), order.requester);
    }

    /// @inheritdoc IOrderManagement
    function cancelAppOrder(AppOrder calldata order) external {
        _cancel(OrderKind.App, order.hash(), _REGISTRY.ownerOf(AssetKind.App, order.app));
    }

    /// @inheritdoc IOrderManagement
    function cancelDatasetOrder(DatasetOrder calldata order) external {
        _cancel(OrderKind.Dataset, order.hash(), _REGISTRY.ownerOf(AssetKind.Dataset, order.dataset));
    }

    /// @inheritdoc IOrderManagement
    function cancelWorkerpoolOrder(WorkerpoolOrder calldata order) external {
        _cancel(OrderKind.Workerpool, order.hash(), _REGISTRY.ownerOf(AssetKind.Workerpool, order.workerpool));
    }

    /// @inheritdoc IOrderManagement
    function cancelRequestOrder(RequestOrder calldata order) external {
        _cancel(OrderKind.Request, order.hash(), order.requester);
    }

    /// @inheritdoc IOrderManagement
    function hashAppOrder(AppOrder calldata order) external pure returns (bytes32) {
        return order.hash();
    }

    /// @inheritdoc IOrderManagement
    function hashDatasetOrder(DatasetOrder calldata order) external pure returns (bytes32) {
        return order.hash();
    }

    /// @inheritdoc IOrderManagement
    function hashWorkerpoolOrder(WorkerpoolOrder calldata order) external pure returns (bytes32) {
        return order.hash();
    }

    /// @inheritdoc IOrderManagement
    function hashRequestOrder(RequestOrder calldata order) external pure returns (bytes32) {
        return order.hash();
    }

    /// @inheritdoc IOrderManagement
    function consumed(bytes32 orderHash) external view returns (uint256) {
        return _consumed[orderHash];
    }

    /// @inheritdoc IOrderManagement
    function presigner(bytes32 orderHash) external view returns (address) {
        return _presigners[orderHash];
    }

    /// @dev Hashes the orders and checks each is authorized by its signer; returns the hashes.
    function _authorizeOrders(
        AppOrder memory appOrder,
        bytes32 datasetHash,
        WorkerpoolOrder memory workerpoolOrder,
        RequestOrder memory requestOrder,
        OrderSignatures memory signatures,
        DealParties memory parties
    ) private view returns (OrderHashes memory hashes) {
        hashes.app = appOrder.hash();
        hashes.dataset = datasetHash;
        hashes.workerpool = workerpoolOrder.hash();
        hashes.request = requestOrder.hash();
        _checkAuthorized(OrderKind.App, hashes.app, parties.appOwner, signatures.app);
        if (datasetHash != bytes32(0)) {
            _checkAuthorized(OrderKind.Dataset, datasetHash, parties.datasetOwner, signatures.dataset);
        }
        _checkAuthorized(OrderKind.Workerpool, hashes.workerpool, parties.scheduler, signatures.workerpool);
        _checkAuthorized(OrderKind.Request, hashes.request, requestOrder.requester, signatures.request);
    }

    function _emitDealCreated(
        bytes32 dealId,
        bytes32 tag,
        WorkerpoolOrder memory workerpoolOrder,
        RequestOrder memory requestOrder,
        uint256 volume,
        OrderHashes memory hashes
    ) private {
        emit DealCreated(
            dealId,
            workerpoolOrder.workerpool,
            requestOrder.requester,
            requestOrder.app,
            requestOrder.dataset,
            requestOrder.beneficiary == address(0) ? requestOrder.requester : requestOrder.beneficiary,
            requestOrder.params,
            tag,
            volume,
            hashes.request
        );
    }

    /// @dev Writes the deal's packed terms; the dataset slot is written only when there is one.
    function _recordDeal(
        bytes32 dealId,
        RequestOrder memory requestOrder,
        DealParties memory parties,
        uint256 volume,
        uint256 appPrice,
        uint256 datasetPrice,
        uint256 workerpoolPrice
    ) private {
        Deal storage d = _deals[dealId];
        d.requester = requestOrder.requester;
        // Cannot truncate: volume <= _MAX_DEAL_VOLUME, category < COUNT, trust <= MAX_TRUST,
        // ratios <= 100 (registry), prices are read as 12 bytes by {OrderCodec}, and the start
        // deadline is far below 2^40 seconds.
        d.volume = uint24(volume);
        d.startDeadline = uint40(
            block.timestamp + Categories.START_WINDOW_RATIO * Categories.timeref(requestOrder.category)
        );
        d.trust = uint8(requestOrder.trust == 0 ? 1 : requestOrder.trust);
        d.category = uint8(requestOrder.category);
        d.schedulerRewardRatio = parties.schedulerRewardRatio;
        d.workerStakeRatio = parties.workerStakeRatio;
        d.appOwner = parties.appOwner;
        d.appPrice = uint96(appPrice);
        if (parties.datasetOwner != address(0)) {
            d.datasetOwner = parties.datasetOwner;
            d.datasetPrice = uint96(datasetPrice);
        }
        d.scheduler = parties.scheduler;
        d.workerpoolPrice = uint96(workerpoolPrice);
    }

    /// @dev Checks the orders agree on assets, category, trust, prices, tags and restrictions.
    function _checkCompatible(
        AppOrder memory appOrder,
        WorkerpoolOrder memory workerpoolOrder,
        RequestOrder memory requestOrder,
        bytes32 datasetTag
    ) private pure {
        if (requestOrder.app != appOrder.app) revert MatchAssetMismatch(OrderKind.App, requestOrder.app, appOrder.app);
        if (requestOrder.workerpool != bytes32(0) && requestOrder.workerpool != workerpoolOrder.workerpool) {
            revert MatchAssetMismatch(OrderKind.Workerpool, requestOrder.workerpool, workerpoolOrder.workerpool);
        }
        if (requestOrder.category != workerpoolOrder.category) {
            revert MatchCategoryMismatch(requestOrder.category, workerpoolOrder.category);
        }
        if (requestOrder.category >= Categories.COUNT) revert MatchUnknownCategory(requestOrder.category);
        if (requestOrder.trust > workerpoolOrder.trust || requestOrder.trust > Consensus.MAX_TRUST) {
            revert MatchTrustTooHigh(requestOrder.trust, workerpoolOrder.trust);
        }
        if (appOrder.price > requestOrder.appMaxPrice) {
            revert MatchPriceTooHigh(OrderKind.App, appOrder.price, requestOrder.appMaxPrice);
        }
        if (workerpoolOrder.price > requestOrder.workerpoolMaxPrice) {
            revert MatchPriceTooHigh(OrderKind.Workerpool, workerpoolOrder.price, requestOrder.workerpoolMaxPrice);
        }
        bytes32 required = appOrder.tag | datasetTag | requestOrder.tag;
        if (required & ~workerpoolOrder.tag != 0) revert MatchTagUnsatisfied(required, workerpoolOrder.tag);

        _checkRestriction(appOrder.workerpoolRestrict, workerpoolOrder.workerpool, OrderKind.App, OrderKind.Workerpool);
        _checkRestriction(appOrder.datasetRestrict, requestOrder.dataset, OrderKind.App, OrderKind.Dataset);
        _checkRequester(appOrder.requesterRestrict, requestOrder.requester, OrderKind.App);
        _checkRestriction(workerpoolOrder.appRestrict, appOrder.app, OrderKind.Workerpool, OrderKind.App);
        _checkRestriction(
            workerpoolOrder.datasetRestrict,
            requestOrder.dataset,
            OrderKind.Workerpool,
            OrderKind.Dataset
        );
        _checkRequester(workerpoolOrder.requesterRestrict, requestOrder.requester, OrderKind.Workerpool);
    }

    /// @dev Checks what the registered parties allow: the caller is the requester or the scheduler,
    /// and a replicated request names a deterministic app (replicas of any other cannot agree).
    function _checkParties(RequestOrder memory requestOrder, DealParties memory parties) private view {
        if (requestOrder.trust > 1 && !parties.appDeterministic) {
            revert MatchAppNotDeterministic(requestOrder.app, requestOrder.trust);
        }
        if (msg.sender != requestOrder.requester && msg.sender != parties.scheduler) {
            revert MatchUnauthorizedCaller(msg.sender, requestOrder.requester, parties.scheduler);
        }
    }

    /// @dev The dataset checks of {matchOrders}: a dataset order iff the request names a dataset, and
    /// then the same asset, price and restrictions.
    function _checkDatasetCompatible(
        AppOrder memory appOrder,
        DatasetOrder memory datasetOrder,
        bool hasDataset,
        WorkerpoolOrder memory workerpoolOrder,
        RequestOrder memory requestOrder
    ) private pure {
        if (!hasDataset) {
            if (requestOrder.dataset != bytes32(0)) revert MatchDatasetMissing(requestOrder.dataset);
            return;
        }
        if (requestOrder.dataset == bytes32(0)) revert MatchDatasetMissing(bytes32(0));
        if (requestOrder.dataset != datasetOrder.dataset) {
            revert MatchAssetMismatch(OrderKind.Dataset, requestOrder.dataset, datasetOrder.dataset);
        }
        if (datasetOrder.price > requestOrder.datasetMaxPrice) {
            revert MatchPriceTooHigh(OrderKind.Dataset, datasetOrder.price, requestOrder.datasetMaxPrice);
        }
        _checkRestriction(datasetOrder.appRestrict, appOrder.app, OrderKind.Dataset, OrderKind.App);
        _checkRestriction(
            datasetOrder.workerpoolRestrict,
            workerpoolOrder.workerpool,
            OrderKind.Dataset,
            OrderKind.Workerpool
        );
        _checkRequester(datasetOrder.requesterRestrict, requestOrder.requester, OrderKind.Dataset);
    }

    function _checkRestriction(
        bytes32 restriction,
        bytes32 actual,
        OrderKind restricting,
        OrderKind restricted
    ) private pure {
        if (restriction != bytes32(0) && restriction != actual) revert MatchRestricted(restricting, restricted);
    }

    function _checkRequester(address restriction, address requester, OrderKind restricting) private pure {
        if (restriction != address(0) && restriction != requester) {
            revert MatchRestricted(restricting, OrderKind.Request);
        }
    }

    /**
     * @dev Order authorization: the signer is the caller, presigned it, or signed its EIP-712
     * digest (ECDSA for accounts, EIP-1271 for contracts).
     */
    function _checkAuthorized(OrderKind kind, bytes32 orderHash, address signer, bytes memory signature) private view {
        // A zero signer (request without requester) would otherwise match the empty presigner slot.
        if (signer == address(0)) revert OrderInvalidSignature(kind, orderHash, signer);
        if (signer == msg.sender || _presigners[orderHash] == signer) return;
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(orderHash), signature)) {
            revert OrderInvalidSignature(kind, orderHash, signer);
        }
    }

    /// @dev Takes the deal volume from every order's remaining volume and returns it.
    function _consumeVolume(
        OrderHashes memory hashes,
        uint256 appVolume,
        uint256 datasetVolume,
        uint256 workerpoolVolume,
        uint256 requestVolume
    ) private returns (uint256 volume) {
        volume = _MAX_DEAL_VOLUME;
        volume = _min(volume, _remaining(OrderKind.App, hashes.app, appVolume));
        if (hashes.dataset != bytes32(0)) {
            volume = _min(volume, _remaining(OrderKind.Dataset, hashes.dataset, datasetVolume));
        }
        volume = _min(volume, _remaining(OrderKind.Workerpool, hashes.workerpool, workerpoolVolume));
        volume = _min(volume, _remaining(OrderKind.Request, hashes.request, requestVolume));

        _consumed[hashes.app] += volume;
        if (hashes.dataset != bytes32(0)) _consumed[hashes.dataset] += volume;
        _consumed[hashes.workerpool] += volume;
        _consumed[hashes.request] += volume;
    }

    /// @dev Volume left on an order; reverts when none.
    function _remaining(OrderKind kind, bytes32 orderHash, uint256 volume) private view returns (uint256) {
        uint256 used = _consumed[orderHash];
        if (used >= volume) revert OrderExhausted(kind, orderHash);
        return volume - used;
    }

    function _presign(OrderKind kind, bytes32 orderHash, address signer) private {
        if (msg.sender != signer) revert OrderNotSigner(kind, msg.sender, signer);
        _presigners[orderHash] = signer;
        emit OrderPresigned(kind, orderHash, signer);
    }

    function _cancel(OrderKind kind, bytes32 orderHash, address signer) private {
        if (msg.sender != signer) revert OrderNotSigner(kind, msg.sender, signer);
        _consumed[orderHash] = type(uint256).max;
        emit OrderCancelled(kind, orderHash, signer);
    }

    /// @dev Scheduler stake per task for a workerpool price.
    function _schedulerStake(uint256 workerpoolPrice) internal pure returns (uint256) {
        return (workerpoolPrice * _SCHEDULER_STAKE_RATIO) / 100;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
