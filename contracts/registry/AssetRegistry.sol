// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    App,
    AppResources,
    AssetKind,
    Dataset,
    DealParties,
    IAssetRegistry,
    Workerpool
} from "../interfaces/IAssetRegistry.sol";

/// @dev Platform bits of {App-platforms}. Workers advertise the same bits.
uint8 constant PLATFORM_LINUX_AMD64 = 1 << 0;
uint8 constant PLATFORM_LINUX_ARM64 = 1 << 1;
uint8 constant PLATFORM_LINUX_ARM_V7 = 1 << 2;
uint8 constant PLATFORM_ALL = PLATFORM_LINUX_AMD64 | PLATFORM_LINUX_ARM64 | PLATFORM_LINUX_ARM_V7;

/**
 * @title AssetRegistry
 * @notice Apps, datasets and workerpools as records in one contract, with transferable ownership.
 * @dev Immutable: no admin, no upgrade. Ids are `keccak256(abi.encode(kind, owner, name))` so they
 * are known before registration and cannot collide across kinds.
 */
contract AssetRegistry is IAssetRegistry {
    /// @dev Bound on stored strings, so that reading a record can never run out of gas.
    uint256 private constant _MAX_TEXT = 256;

    mapping(bytes32 id => App app) private _apps;
    mapping(bytes32 id => Dataset dataset) private _datasets;
    mapping(bytes32 id => Workerpool pool) private _workerpools;

    /// @inheritdoc IAssetRegistry
    function registerApp(
        string calldata name,
        string calldata image,
        bytes32 imageDigest,
        uint8 platforms,
        bool deterministic,
        AppResources calldata resources
    ) external returns (bytes32 id) {
        _checkText("name", name);
        _checkText("image", image);
        if (imageDigest == bytes32(0)) revert RegistryMissingDigest();
        if (platforms == 0 || platforms & ~PLATFORM_ALL != 0) revert RegistryInvalidPlatforms(platforms);
        if (resources.memoryMiB == 0 || resources.cpuMillicores == 0) revert RegistryInvalidResources();

        id = _assetId(AssetKind.App, msg.sender, name);
        if (_apps[id].owner != address(0)) revert RegistryAssetExists(AssetKind.App, id);
        _apps[id] = App({
            owner: msg.sender,
            platforms: platforms,
            deterministic: deterministic,
            resources: resources,
            imageDigest: imageDigest,
            name: name,
            image: image
        });
        emit AppRegistered(id, msg.sender, name, image, imageDigest);
    }

    /// @inheritdoc IAssetRegistry
    function registerDataset(
        string calldata name,
        string calldata cid,
        bytes32 checksum
    ) external returns (bytes32 id) {
        _checkText("name", name);
        _checkText("cid", cid);
        if (checksum == bytes32(0)) revert RegistryMissingDigest();

        id = _assetId(AssetKind.Dataset, msg.sender, name);
        if (_datasets[id].owner != address(0)) revert RegistryAssetExists(AssetKind.Dataset, id);
        _datasets[id] = Dataset({owner: msg.sender, checksum: checksum, name: name, cid: cid});
        emit DatasetRegistered(id, msg.sender, name, cid, checksum);
    }

    /// @inheritdoc IAssetRegistry
    function registerWorkerpool(
        string calldata name,
        uint8 workerStakeRatio,
        uint8 schedulerRewardRatio
    ) external returns (bytes32 id) {
        _checkText("name", name);
        _checkRatios(workerStakeRatio, schedulerRewardRatio);

        id = _assetId(AssetKind.Workerpool, msg.sender, name);
        if (_workerpools[id].owner != address(0)) revert RegistryAssetExists(AssetKind.Workerpool, id);
        _workerpools[id] = Workerpool({
            owner: msg.sender,
            workerStakeRatio: workerStakeRatio,
            schedulerRewardRatio: schedulerRewardRatio,
            name: name
        });
        emit WorkerpoolRegistered(id, msg.sender, name);
        emit WorkerpoolPolicyChanged(id, workerStakeRatio, schedulerRewardRatio);
    }

    /// @inheritdoc IAssetRegistry
    function setWorkerpoolPolicy(bytes32 id, uint8 workerStakeRatio, uint8 schedulerRewardRatio) external {
        Workerpool storage pool = _workerpools[id];
        _checkOwner(AssetKind.Workerpool, id, pool.owner);
        _checkRatios(workerStakeRatio, schedulerRewardRatio);
        pool.workerStakeRatio = workerStakeRatio;
        pool.schedulerRewardRatio = schedulerRewardRatio;
        emit WorkerpoolPolicyChanged(id, workerStakeRatio, schedulerRewardRatio);
    }

    /// @inheritdoc IAssetRegistry
    function transferOwnership(AssetKind kind, bytes32 id, address newOwner) external {
        if (newOwner == address(0)) revert RegistryInvalidOwner();
        address previousOwner = _ownerOf(kind, id);
        _checkOwner(kind, id, previousOwner);
        if (kind == AssetKind.App) _apps[id].owner = newOwner;
        else if (kind == AssetKind.Dataset) _datasets[id].owner = newOwner;
        else _workerpools[id].owner = newOwner;
        emit OwnershipTransferred(kind, id, previousOwner, newOwner);
    }

    /// @inheritdoc IAssetRegistry
    function appId(address owner, string calldata name) external pure returns (bytes32) {
        return _assetId(AssetKind.App, owner, name);
    }

    /// @inheritdoc IAssetRegistry
    function datasetId(address owner, string calldata name) external pure returns (bytes32) {
        return _assetId(AssetKind.Dataset, owner, name);
    }

    /// @inheritdoc IAssetRegistry
    function workerpoolId(address owner, string calldata name) external pure returns (bytes32) {
        return _assetId(AssetKind.Workerpool, owner, name);
    }

    /// @inheritdoc IAssetRegistry
    function app(bytes32 id) external view returns (App memory record) {
        record = _apps[id];
        if (record.owner == address(0)) revert RegistryUnknownAsset(AssetKind.App, id);
    }

    /// @inheritdoc IAssetRegistry
    function dataset(bytes32 id) external view returns (Dataset memory record) {
        record = _datasets[id];
        if (record.owner == address(0)) revert RegistryUnknownAsset(AssetKind.Dataset, id);
    }

    /// @inheritdoc IAssetRegistry
    function workerpool(bytes32 id) external view returns (Workerpool memory record) {
        record = _workerpools[id];
        if (record.owner == address(0)) revert RegistryUnknownAsset(AssetKind.Workerpool, id);
    }

    /// @inheritdoc IAssetRegistry
    function ownerOf(AssetKind kind, bytes32 id) external view returns (address) {
        return _ownerOf(kind, id);
    }

    /// @inheritdoc IAssetRegistry
    function dealParties(
        bytes32 appId_,
        bytes32 datasetId_,
        bytes32 workerpoolId_
    ) external view returns (DealParties memory parties) {
        App storage app_ = _apps[appId_];
        parties.appOwner = app_.owner;
        parties.appDeterministic = app_.deterministic;
        if (parties.appOwner == address(0)) revert RegistryUnknownAsset(AssetKind.App, appId_);
        if (datasetId_ != bytes32(0)) {
            parties.datasetOwner = _datasets[datasetId_].owner;
            if (parties.datasetOwner == address(0)) revert RegistryUnknownAsset(AssetKind.Dataset, datasetId_);
        }
        Workerpool storage pool = _workerpools[workerpoolId_];
        parties.scheduler = pool.owner;
        if (parties.scheduler == address(0)) revert RegistryUnknownAsset(AssetKind.Workerpool, workerpoolId_);
        parties.workerStakeRatio = pool.workerStakeRatio;
        parties.schedulerRewardRatio = pool.schedulerRewardRatio;
    }

    function _ownerOf(AssetKind kind, bytes32 id) private view returns (address) {
        if (kind == AssetKind.App) return _apps[id].owner;
        if (kind == AssetKind.Dataset) return _datasets[id].owner;
        return _workerpools[id].owner;
    }

    function _checkOwner(AssetKind kind, bytes32 id, address owner) private view {
        if (owner == address(0)) revert RegistryUnknownAsset(kind, id);
        if (owner != msg.sender) revert RegistryNotOwner(kind, id, msg.sender, owner);
    }

    function _checkText(string memory field, string calldata text) private pure {
        uint256 length = bytes(text).length;
        if (length == 0 || length > _MAX_TEXT) revert RegistryInvalidText(field, length, _MAX_TEXT);
    }

    function _checkRatios(uint8 workerStakeRatio, uint8 schedulerRewardRatio) private pure {
        if (workerStakeRatio > 100) revert RegistryInvalidRatio(workerStakeRatio);
        if (schedulerRewardRatio > 100) revert RegistryInvalidRatio(schedulerRewardRatio);
    }

    function _assetId(AssetKind kind, address owner, string calldata name) private pure returns (bytes32) {
        return keccak256(abi.encode(kind, owner, name));
    }
}
