// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @dev Resource needs an app declares; workers size the container from them and the scheduler
/// matches them against worker capacity.
struct AppResources {
    uint32 memoryMiB;
    uint32 cpuMillicores;
    uint32 expectedSeconds;
    uint32 maxOutputMiB;
    bool network; // the app needs network access (denied by default)
}

/// @dev A registered app: a container image pinned by digest.
struct App {
    address owner;
    uint8 platforms; // bitmask of PLATFORM_* (AssetRegistry.sol)
    bool deterministic; // same inputs give the same result digest: replication (trust >= 2) can verify it
    AppResources resources;
    bytes32 imageDigest; // sha256 of the image manifest
    string name;
    string image; // image reference without digest, e.g. registry.example:5000/wordcount
}

/// @dev A registered dataset: content on IPFS plus a checksum of its bytes.
struct Dataset {
    address owner;
    bytes32 checksum; // sha256 of the dataset content
    string name;
    string cid;
}

/// @dev A registered workerpool. `owner` is its scheduler: it signs workerpool orders and worker
/// authorizations, and stakes for the deals it accepts.
struct Workerpool {
    address owner;
    uint8 workerStakeRatio; // % of the workerpool price each contributing worker stakes
    uint8 schedulerRewardRatio; // % of the workerpool price the scheduler keeps
    string name;
}

/// @dev What {SunpoolHub} needs from the registry to match orders, read in one call.
struct DealParties {
    address appOwner;
    address datasetOwner;
    address scheduler;
    uint8 workerStakeRatio;
    uint8 schedulerRewardRatio;
    bool appDeterministic;
}

/// @dev The three kinds of registered asset.
enum AssetKind {
    App,
    Dataset,
    Workerpool
}

/**
 * @title IAssetRegistry
 * @notice Registry of apps, datasets and workerpools. Assets are records in one contract (no
 * contract per asset); each has a deterministic id, {appId}/{datasetId}/{workerpoolId}, so a
 * client knows the id before its registration is mined and registering twice fails clearly.
 */
interface IAssetRegistry {
    /// @notice Thrown when an asset with this id already exists.
    error RegistryAssetExists(AssetKind kind, bytes32 id);
    /// @notice Thrown when no asset with this id is registered.
    error RegistryUnknownAsset(AssetKind kind, bytes32 id);
    /// @notice Thrown when the caller does not own the asset it tries to change.
    error RegistryNotOwner(AssetKind kind, bytes32 id, address caller, address owner);
    /// @notice Thrown when a required text field (name, image, CID) is empty or too long.
    error RegistryInvalidText(string field, uint256 length, uint256 maxLength);
    /// @notice Thrown when an app declares no known platform.
    error RegistryInvalidPlatforms(uint8 platforms);
    /// @notice Thrown when a digest or checksum is zero.
    error RegistryMissingDigest();
    /// @notice Thrown when an app declares no memory or no CPU.
    error RegistryInvalidResources();
    /// @notice Thrown when a workerpool policy ratio exceeds 100 %.
    error RegistryInvalidRatio(uint8 ratio);
    /// @notice Thrown when ownership would go to the zero address.
    error RegistryInvalidOwner();

    /// @notice Emitted when an app is registered.
    event AppRegistered(bytes32 indexed id, address indexed owner, string name, string image, bytes32 imageDigest);
    /// @notice Emitted when a dataset is registered.
    event DatasetRegistered(bytes32 indexed id, address indexed owner, string name, string cid, bytes32 checksum);
    /// @notice Emitted when a workerpool is registered.
    event WorkerpoolRegistered(bytes32 indexed id, address indexed owner, string name);
    /// @notice Emitted when a workerpool's policy changes (applies to deals matched afterwards).
    event WorkerpoolPolicyChanged(bytes32 indexed id, uint8 workerStakeRatio, uint8 schedulerRewardRatio);
    /// @notice Emitted when an asset changes hands.
    event OwnershipTransferred(
        AssetKind indexed kind,
        bytes32 indexed id,
        address indexed previousOwner,
        address newOwner
    );

    /**
     * @notice Registers an app owned by the caller.
     * @param name       Unique per owner; with the owner it determines the id.
     * @param image      Image reference without digest.
     * @param imageDigest sha256 digest of the image manifest workers must pull.
     * @param platforms  Bitmask of supported platforms.
     * @param deterministic Whether the same inputs always give the same result digest; only such
     *                   apps can be replicated (trust >= 2), since replicas must agree.
     * @param resources  Declared resource needs.
     * @return id        The app id, equal to {appId}(msg.sender, name).
     */
    function registerApp(
        string calldata name,
        string calldata image,
        bytes32 imageDigest,
        uint8 platforms,
        bool deterministic,
        AppResources calldata resources
    ) external returns (bytes32 id);

    /**
     * @notice Registers a dataset owned by the caller.
     * @param name     Unique per owner.
     * @param cid      IPFS CID of the content.
     * @param checksum sha256 of the content.
     * @return id      The dataset id, equal to {datasetId}(msg.sender, name).
     */
    function registerDataset(string calldata name, string calldata cid, bytes32 checksum) external returns (bytes32 id);

    /**
     * @notice Registers a workerpool whose scheduler is the caller.
     * @param name                 Unique per owner.
     * @param workerStakeRatio     % of the workerpool price a worker stakes per contribution.
     * @param schedulerRewardRatio % of the workerpool price the scheduler keeps.
     * @return id                  The workerpool id, equal to {workerpoolId}(msg.sender, name).
     */
    function registerWorkerpool(
        string calldata name,
        uint8 workerStakeRatio,
        uint8 schedulerRewardRatio
    ) external returns (bytes32 id);

    /**
     * @notice Changes a workerpool's policy. Deals already matched keep the policy they were
     * matched with.
     * @param id                   The workerpool.
     * @param workerStakeRatio     New worker stake ratio (%).
     * @param schedulerRewardRatio New scheduler reward ratio (%).
     */
    function setWorkerpoolPolicy(bytes32 id, uint8 workerStakeRatio, uint8 schedulerRewardRatio) external;

    /**
     * @notice Transfers an asset to a new owner. Payments of deals already matched are unaffected.
     * @param kind     The asset kind.
     * @param id       The asset id.
     * @param newOwner The new owner (not zero).
     */
    function transferOwnership(AssetKind kind, bytes32 id, address newOwner) external;

    /// @notice The id an app named `name` registered by `owner` gets.
    function appId(address owner, string calldata name) external pure returns (bytes32);

    /// @notice The id a dataset named `name` registered by `owner` gets.
    function datasetId(address owner, string calldata name) external pure returns (bytes32);

    /// @notice The id a workerpool named `name` registered by `owner` gets.
    function workerpoolId(address owner, string calldata name) external pure returns (bytes32);

    /// @notice The app record; reverts with {RegistryUnknownAsset} if absent.
    function app(bytes32 id) external view returns (App memory);

    /// @notice The dataset record; reverts with {RegistryUnknownAsset} if absent.
    function dataset(bytes32 id) external view returns (Dataset memory);

    /// @notice The workerpool record; reverts with {RegistryUnknownAsset} if absent.
    function workerpool(bytes32 id) external view returns (Workerpool memory);

    /// @notice The current owner of an asset, or zero if absent.
    function ownerOf(AssetKind kind, bytes32 id) external view returns (address);

    /**
     * @notice Owners and workerpool policy needed to match a deal, in one call.
     * @dev Reverts with {RegistryUnknownAsset} for an unregistered app or workerpool, or for a
     * non-zero unregistered dataset. `datasetOwner` is zero when `datasetId_` is zero.
     */
    function dealParties(
        bytes32 appId_,
        bytes32 datasetId_,
        bytes32 workerpoolId_
    ) external view returns (DealParties memory);
}
