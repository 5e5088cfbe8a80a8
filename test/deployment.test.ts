import { expect } from "chai";

import LocalMarketplace from "../ignition/modules/LocalMarketplace.js";
import Marketplace, { DEFAULT_MIN_SCORED_STAKE, DEFAULT_TREASURY } from "../ignition/modules/Marketplace.js";
import { connection, ethers } from "./helpers/fixture.js";

describe("deployment (Hardhat Ignition)", function () {
  it("deploys token, registry and a hub wired to both, burning forfeits and scoring stakes from 0.01 token", async function () {
    const deployed = await connection.ignition.deploy(LocalMarketplace);
    const hub = await ethers.getContractAt("SunpoolHub", await deployed.hub.getAddress());
    const token = await ethers.getContractAt("SunpoolToken", await deployed.token.getAddress());
    expect(await hub.token()).to.equal(await token.getAddress());
    expect(await hub.registry()).to.equal(await deployed.registry.getAddress());
    expect(await hub.treasury()).to.equal("0x000000000000000000000000000000000000dEaD");
    expect(DEFAULT_TREASURY).to.equal("0x000000000000000000000000000000000000dEaD");
    expect(await hub.minScoredStake()).to.equal(10n ** 16n);
    expect(DEFAULT_MIN_SCORED_STAKE).to.equal(10n ** 16n);
    const [deployer] = await ethers.getSigners();
    expect(await token.balanceOf(deployer!.address)).to.equal(1_000_000_000n * 10n ** 18n);
  });

  it("deploys the marketplace over an existing ERC20, with the treasury and minimum scored stake given", async function () {
    const [deployer, treasury] = await ethers.getSigners();
    const existing = await ethers.deployContract("SunpoolToken", [deployer!.address, 1n]);
    const deployed = await connection.ignition.deploy(Marketplace, {
      parameters: {
        Marketplace: { token: await existing.getAddress(), treasury: treasury!.address, minScoredStake: 5n * 10n ** 17n },
      },
    });
    const hub = await ethers.getContractAt("SunpoolHub", await deployed.hub.getAddress());
    expect(await hub.token()).to.equal(await existing.getAddress());
    expect(await hub.treasury()).to.equal(treasury!.address);
    expect(await hub.minScoredStake()).to.equal(5n * 10n ** 17n);
  });
});
