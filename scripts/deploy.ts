// Deploys the marketplace with Hardhat Ignition and writes deployments/<chainId>.json, the file the
// SDK, the scheduler and the worker read addresses from.
//
//   npx hardhat run scripts/deploy.ts --network localhost               token + registry + hub
//   SUNPOOL_TOKEN=0x… npx hardhat run scripts/deploy.ts --network <net>  over an existing ERC20
import { mkdirSync, writeFileSync } from "node:fs";

import { network } from "hardhat";

import LocalMarketplace from "../ignition/modules/LocalMarketplace.js";
import Marketplace from "../ignition/modules/Marketplace.js";

const connection = await network.getOrCreate();
const { ethers, ignition } = connection;
const chainId = (await ethers.provider.getNetwork()).chainId;
const existingToken = process.env.SUNPOOL_TOKEN;

const deployed = existingToken
  ? { ...(await ignition.deploy(Marketplace, { parameters: { Marketplace: { token: existingToken } } })), token: undefined }
  : await ignition.deploy(LocalMarketplace);

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
console.log(`  hub      ${addresses.hub}`);
console.log(`addresses written to ${file.pathname}`);
