// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {AppResources} from "../../contracts/interfaces/IAssetRegistry.sol";
import {AssetRegistry} from "../../contracts/registry/AssetRegistry.sol";
import {SunpoolHub} from "../../contracts/hub/SunpoolHub.sol";
import {SunpoolToken} from "../../contracts/token/SunpoolToken.sol";
import {EnergyReceipt} from "../../contracts/types/Deals.sol";
import {AppOrder, RequestOrder, WorkerpoolOrder} from "../../contracts/types/Orders.sol";
import {TaskOutcome} from "../../contracts/types/Tasks.sol";
import {OrderEncoding} from "./OrderEncoding.sol";

/**
 * @dev Drives a market through random sequences of deposits, withdrawals, matches, results,
 * replicated rounds and refunds, and records any double payment or refund after completion.
 */
contract MarketHandler is Test {
    SunpoolToken public token;
    AssetRegistry public registry;
    SunpoolHub public hub;

    address public requester = makeAddr("requester");
    address public appOwner = makeAddr("appOwner");
    address public scheduler = makeAddr("scheduler");
    address public treasury = makeAddr("treasury");
    address[] public actors;

    bytes32 public appId;
    bytes32 public workerpoolId;
    bytes32[] public dealIds;
    uint256 public nonce;

    /// @dev Times an ended task was paid or refunded again; must stay 0.
    uint256 public violations;
    /// @dev Tasks ended (completed or refunded), counted once each.
    uint256 public ended;
    /// @dev What the requester must have locked: the price of every task not yet ended.
    uint256 public openTaskValue;
    /// @dev Times a party that controls a failure (requester or scheduler) gained from it; must stay 0.
    uint256 public profitsFromFailure;

    EnergyReceipt private _energy = EnergyReceipt({milliwattHours: 1000, solarShareBps: 5000});

    constructor() {
        token = new SunpoolToken(address(this), 0);
        registry = new AssetRegistry();
        hub = new SunpoolHub(token, registry, treasury, 1);
        vm.prank(appOwner);
        appId = registry.registerApp(
            "app",
            "img",
            keccak256("digest"),
            1,
            true,
            AppResources({memoryMiB: 1, cpuMillicores: 1, expectedSeconds: 1, maxOutputMiB: 1, network: false})
        );
        vm.prank(scheduler);
        workerpoolId = registry.registerWorkerpool("pool", 30, 10);
        actors = [requester, appOwner, scheduler];
        for (uint256 i = 0; i < actors.length; ++i) _deposit(actors[i], 1_000_000 ether);
        actors.push(treasury);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function deposit(uint256 actorSeed, uint256 amount) external {
        _deposit(actors[actorSeed % actors.length], _bound(amount, 1, 1000 ether));
    }

    function withdraw(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        uint256 balance = hub.balanceOf(actor);
        if (balance == 0) return;
        vm.prank(actor);
        hub.withdraw(actor, _bound(amount, 1, balance));
    }

    function matchDeal(uint256 volumeSeed, uint256 trustSeed, uint256 priceSeed) external {
        uint256 price = _bound(priceSeed, 0, 100 ether);
        uint256 trust = trustSeed % 2 == 0 ? 1 : 2;
        AppOrder memory app = AppOrder(appId, price / 3, 1000, 0, 0, 0, address(0), bytes32(++nonce));
        WorkerpoolOrder memory pool = WorkerpoolOrder(
            workerpoolId,
            price,
            1000,
            0,
            0,
            100,
            0,
            0,
            address(0),
            bytes32(++nonce)
        );
        RequestOrder memory request = RequestOrder(
            appId,
            price / 3,
            0,
            0,
            workerpoolId,
            price,
            requester,
            address(0),
            _bound(volumeSeed, 1, 5),
            0,
            0,
            trust,
            0,
            bytes32(++nonce)
        );
        vm.prank(appOwner);
        hub.presignAppOrder(app);
        vm.prank(scheduler);
        hub.presignWorkerpoolOrder(pool);
        vm.prank(requester);
        try hub.matchOrders(OrderEncoding.encode(app, pool, request)) returns (bytes32 dealId) {
            dealIds.push(dealId);
            openTaskValue += (price / 3 + price) * hub.deal(dealId).volume;
        } catch {}
    }

    function submit(uint256 dealSeed, uint256 indexSeed) external {
        (bytes32 dealId, uint256 index, bool found) = _pick(dealSeed, indexSeed);
        if (!found) return;
        bool wasOpen = hub.taskOutcome(dealId, index) == TaskOutcome.None;
        vm.prank(scheduler);
        try hub.submitResult(dealId, index, keccak256("r"), "cid", _energy, "") {
            if (!wasOpen) ++violations;
            _ended(dealId);
        } catch {}
    }

    /// @dev A replicated round at trust 2 with the scheduler as its own worker (a new worker's
    /// weight reaches trust 2 alone, so its commitment closes the window); `reveals` false leaves
    /// it unrevealed.
    function replicate(uint256 dealSeed, uint256 indexSeed, bool reveals) external {
        (bytes32 dealId, uint256 index, bool found) = _pick(dealSeed, indexSeed);
        if (!found || hub.deal(dealId).trust < 2) return;
        bytes32 taskId = hub.taskId(dealId, index);
        bytes32 digest = keccak256(abi.encode("result", index));
        bytes32 salt = keccak256(abi.encode("salt", taskId));
        vm.prank(scheduler);
        try
            hub.contribute(dealId, index, keccak256(abi.encode(taskId, digest, scheduler, salt)), _energy, "")
        {} catch {
            return;
        }
        if (!reveals) return;
        vm.prank(scheduler);
        hub.reveal(dealId, index, digest, salt, "cid");
        address[] memory contributors = new address[](1);
        contributors[0] = scheduler;
        bool wasOpen = hub.taskOutcome(dealId, index) == TaskOutcome.None;
        vm.prank(scheduler);
        hub.finalize(dealId, index, "cid", contributors);
        if (!wasOpen) ++violations;
        _ended(dealId);
    }

    /// @dev The scheduler ends a task early with one of the three failure reasons.
    function fail(uint256 dealSeed, uint256 indexSeed, uint256 reasonSeed) external {
        (bytes32 dealId, uint256 index, bool found) = _pick(dealSeed, indexSeed);
        if (!found) return;
        TaskOutcome reason = TaskOutcome(uint256(TaskOutcome.AppFailed) + (reasonSeed % 3));
        bool wasOpen = hub.taskOutcome(dealId, index) == TaskOutcome.None;
        (uint256 requesterBefore, uint256 schedulerBefore) = (_total(requester), _total(scheduler));
        address[] memory contributors = _contributors(dealId, index);
        vm.prank(scheduler);
        try hub.fail(dealId, index, reason, contributors) {
            if (!wasOpen) ++violations;
            _checkNoProfit(requesterBefore, schedulerBefore);
            _ended(dealId);
        } catch {}
    }

    function claim(uint256 dealSeed, uint256 indexSeed, uint256 warp) external {
        (bytes32 dealId, uint256 index, bool found) = _pick(dealSeed, indexSeed);
        if (!found) return;
        vm.warp(block.timestamp + _bound(warp, 0, 4000));
        bool wasOpen = hub.taskOutcome(dealId, index) == TaskOutcome.None;
        (uint256 requesterBefore, uint256 schedulerBefore) = (_total(requester), _total(scheduler));
        try hub.claim(dealId, index, _contributors(dealId, index)) {
            if (!wasOpen) ++violations;
            _checkNoProfit(requesterBefore, schedulerBefore);
            _ended(dealId);
        } catch {}
    }

    /// @dev The task's contributors: only the scheduler contributes in this handler.
    function _contributors(bytes32 dealId, uint256 index) private view returns (address[] memory contributors) {
        contributors = new address[](hub.task(hub.taskId(dealId, index)).contributorCount);
        if (contributors.length == 1) contributors[0] = scheduler;
    }

    /// @dev A task that did not complete leaves the requester exactly whole and the scheduler no richer.
    function _checkNoProfit(uint256 requesterBefore, uint256 schedulerBefore) private {
        if (_total(requester) != requesterBefore || _total(scheduler) > schedulerBefore) ++profitsFromFailure;
    }

    function _total(address account) private view returns (uint256) {
        return hub.balanceOf(account) + hub.lockedOf(account);
    }

    function _ended(bytes32 dealId) private {
        ++ended;
        openTaskValue -= uint256(hub.deal(dealId).appPrice) + hub.deal(dealId).workerpoolPrice;
    }

    function _pick(uint256 dealSeed, uint256 indexSeed) private view returns (bytes32, uint256, bool) {
        if (dealIds.length == 0) return (bytes32(0), 0, false);
        bytes32 dealId = dealIds[dealSeed % dealIds.length];
        return (dealId, indexSeed % hub.deal(dealId).volume, true);
    }

    function _deposit(address actor, uint256 amount) private {
        token.mint(actor, amount);
        vm.startPrank(actor);
        token.approve(address(hub), amount);
        hub.deposit(amount);
        vm.stopPrank();
    }
}
