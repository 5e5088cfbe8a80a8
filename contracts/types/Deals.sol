// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @dev The terms of a deal, fixed at match time and packed into four slots (the dataset slot stays
 * empty, and unwritten, when the deal has no dataset). Owners are snapshotted at match time, so a
 * later transfer of an asset does not redirect the payments of deals already made.
 *
 * Invariant: a deal exists iff `requester != address(0)`.
 */
struct Deal {
    // slot 0
    address requester;
    uint24 volume; // number of tasks, indexed 0..volume-1
    uint40 startDeadline; // last moment a task of this deal may start
    uint8 trust;
    uint8 category;
    uint8 schedulerRewardRatio; // % of the workerpool price kept by the scheduler
    uint8 workerStakeRatio; // % of the workerpool price a worker stakes per contribution
    // slot 1
    address appOwner;
    uint96 appPrice;
    // slot 2
    address datasetOwner;
    uint96 datasetPrice;
    // slot 3
    address scheduler;
    uint96 workerpoolPrice;
}

/**
 * @dev A worker's measured energy for one task, as reported by its agent: total energy in
 * milliwatt-hours and the share of it that came from solar, in basis points (0..10_000).
 */
struct EnergyReceipt {
    uint32 milliwattHours;
    uint16 solarShareBps;
}
