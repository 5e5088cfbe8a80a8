import { expect } from "chai";

import LocalMarketplace from "../ignition/modules/LocalMarketplace.js";
import Marketplace from "../ignition/modules/Marketplace.js";
import { connection, ethers } from "./helpers/fixture.js";

describe("deployment (Hardhat Ignition)", function () {
  it("deploys token, registry and a hub wired to both", async function () {
    const deployed = await connection.ignition.deploy(LocalMarketplace);
    const hub = await ethers.getContractAt("SunpoolHub", await deployed.hub.getAddress());
    const token = await ethers.getContractAt("SunpoolToken", await deployed.token.getAddress());
    expect(await hub.token()).to.equal(await token.getAddress());
    expect(await hub.registry()).to.equal(await deployed.registry.getAddress());
    const [deployer] = await ethers.getSigners();
    expect(await token.balanceOf(deployer!.address)).to.equal(1_000_000_000n * 10n ** 18n);
  });

  it("deploys the marketplace over an existing ERC20", async function () {
    const [deployer] = await ethers.getSigners();
    const existing = await ethers.deployContract("SunpoolToken", [deployer!.address, 1n]);
    const deployed = await connection.ignition.deploy(Marketplace, {
      parameters: { Marketplace: { token: await existing.getAddress() } },
    });
    const hub = await ethers.getContractAt("SunpoolHub", await deployed.hub.getAddress());
    expect(await hub.token()).to.equal(await existing.getAddress());
  });
});
