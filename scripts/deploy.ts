// Deploys the marketplace with Hardhat Ignition and writes deployments/<chainId>.json, the file the
// SDK, the scheduler and the worker read addresses from.
//
//   npx hardhat run scripts/deploy.ts --network localhost               token + registry + hub
//   SUNPOOL_TOKEN=0x… npx hardhat run scripts/deploy.ts --network <net>  over an existing ERC20
//
// The hub's immutable settings: SUNPOOL_TREASURY, the address forfeited stakes that compensate
// nobody go to (default the burn address 0x…dEaD), and SUNPOOL_MIN_SCORED_STAKE, the smallest
// worker stake per task (in token base units) whose correct contribution raises a score (default
// 10^16, 0.01 token of 18 decimals).
import { mkdirSync, writeFileSync } from "node:fs";

import { getAddress, isAddress, ZeroAddress } from "ethers";
import { network } from "hardhat";

import LocalMarketplace from "../ignition/modules/LocalMarketplace.js";
import Marketplace, { DEFAULT_MIN_SCORED_STAKE, DEFAULT_TREASURY } from "../ignition/modules/Marketplace.js";

function treasuryFromEnv(): string {
  const value = process.env.SUNPOOL_TREASURY;
  if (value === undefined || value === "") return DEFAULT_TREASURY;
  if (!isAddress(value) || getAddress(value) === ZeroAddress) {
    throw new Error(`SUNPOOL_TREASURY must be a non-zero address (the burn address ${DEFAULT_TREASURY} burns); got "${value}"`);
  }
  return getAddress(value);
}

function minScoredStakeFromEnv(): bigint {
  const value = process.env.SUNPOOL_MIN_SCORED_STAKE;
  if (value === undefined || value === "") return DEFAULT_MIN_SCORED_STAKE;
  if (!/^[0-9]{1,78}$/.test(value) || BigInt(value) === 0n) {
    throw new Error(
      `SUNPOOL_MIN_SCORED_STAKE must be a positive integer in token base units (10^16 = 0.01 token); got "${value}"`,
    );
  }
  return BigInt(value);
}

const connection = await network.getOrCreate();
const { ethers, ignition } = connection;
const chainId = (await ethers.provider.getNetwork()).chainId;
const existingToken = process.env.SUNPOOL_TOKEN;
const hubSettings = { treasury: treasuryFromEnv(), minScoredStake: minScoredStakeFromEnv() };

const deployed = existingToken
  ? {
      ...(await ignition.deploy(Marketplace, { parameters: { Marketplace: { token: existingToken, ...hubSettings } } })),
      token: undefined,
    }
  : await ignition.deploy(LocalMarketplace, { parameters: { LocalMarketplace: hubSettings } });

const addresses = {
  chainId: chainId.toString(),
  token: existingToken ?? (await deployed.token!.getAddress()),
  registry: await deployed.registry.getAddress(),
  hub: await deployed.hub.getAddress(),
  deployedAtBlock: await ethers.provider.getBlockNumber(),
};

mkdirSync(new URL("../deployments/", import.meta.url), { recursive: true });
const file = new URL(`../deployments/${chainId}.json`, import.meta.url);
writeFileSync(file, JSON.stringify(addresses, null, 2) + "\n");
console.log(`Sunpool deployed on chain ${chainId}:`);
console.log(`  token    ${addresses.token}`);
console.log(`  registry ${addresses.registry}`);
console.log(`  hub      ${addresses.hub} (treasury ${hubSettings.treasury}, min scored stake ${hubSettings.minScoredStake})`);
console.log(`addresses written to ${file.pathname}`);
