import { expect } from "chai";
import { Signature, ZeroAddress } from "ethers";

import { PERMIT_TYPES } from "../sdk/src/actions/account.js";
import { TOKEN, deployHub, deployMarket, ethers, networkHelpers, type Market } from "./helpers/fixture.js";

describe("escrow", function () {
  let market: Market;

  beforeEach(async function () {
    market = await networkHelpers.loadFixture(deployMarket);
  });

  async function permit(owner = market.stranger, amount = 50n * TOKEN, deadline = 2n ** 48n) {
    const { token, hub, chainId } = market;
    const signature = await owner.signTypedData(
      { name: "Sunpool Token", version: "1", chainId, verifyingContract: await token.getAddress() },
      PERMIT_TYPES,
      {
        owner: owner.address,
        spender: await hub.getAddress(),
        value: amount,
        nonce: await token.nonces(owner.address),
        deadline,
      },
    );
    const { v, r, s } = Signature.from(signature);
    return { amount, deadline, v, r, s };
  }

  it("deposits, records and withdraws, with an event for each movement", async function () {
    const { hub, token, stranger } = market;
    const hubAddress = await hub.getAddress();
    await token.mint(stranger.address, 10n * TOKEN);
    await token.connect(stranger).approve(hubAddress, 10n * TOKEN);
    await expect(hub.connect(stranger).deposit(10n * TOKEN))
      .to.emit(hub, "Deposited")
      .withArgs(stranger.address, stranger.address, 10n * TOKEN);
    expect(await hub.balanceOf(stranger.address)).to.equal(10n * TOKEN);
    await expect(hub.connect(stranger).withdraw(market.deployer.address, 4n * TOKEN))
      .to.emit(hub, "Withdrawn")
      .withArgs(stranger.address, market.deployer.address, 4n * TOKEN)
      .and.to.emit(token, "Transfer")
      .withArgs(hubAddress, market.deployer.address, 4n * TOKEN);
    expect(await hub.balanceOf(stranger.address)).to.equal(6n * TOKEN);
    expect(await hub.token()).to.equal(await token.getAddress());
  });

  it("deposits for another account", async function () {
    const { hub, token, deployer, stranger } = market;
    await token.approve(await hub.getAddress(), TOKEN);
    await expect(hub.depositFor(stranger.address, TOKEN))
      .to.emit(hub, "Deposited")
      .withArgs(stranger.address, deployer.address, TOKEN);
    expect(await hub.balanceOf(stranger.address)).to.equal(TOKEN);
    await expect(hub.depositFor(ZeroAddress, TOKEN)).to.be.revertedWithCustomError(hub, "EscrowInvalidAccount");
  });

  it("deposits with a permit in one transaction", async function () {
    const { hub, token, stranger } = market;
    await token.mint(stranger.address, 50n * TOKEN);
    const p = await permit();
    await expect(hub.connect(stranger).depositWithPermit(p.amount, p.deadline, p.v, p.r, p.s)).to.emit(hub, "Deposited");
    expect(await hub.balanceOf(stranger.address)).to.equal(50n * TOKEN);
  });

  it("still deposits when a front-runner already used the permit", async function () {
    const { hub, token, stranger } = market;
    await token.mint(stranger.address, 50n * TOKEN);
    const p = await permit();
    await token.connect(market.deployer).permit(stranger.address, await hub.getAddress(), p.amount, p.deadline, p.v, p.r, p.s);
    await expect(hub.connect(stranger).depositWithPermit(p.amount, p.deadline, p.v, p.r, p.s)).to.emit(hub, "Deposited");
  });

  it("fails a deposit with an invalid permit and no allowance", async function () {
    const { hub, token, stranger } = market;
    await token.mint(stranger.address, 50n * TOKEN);
    const p = await permit(stranger, 50n * TOKEN, 1n);
    await expect(hub.connect(stranger).depositWithPermit(p.amount, p.deadline, p.v, p.r, p.s)).to.be.revertedWithCustomError(
      token,
      "ERC20InsufficientAllowance",
    );
  });

  it("refuses zero amounts, zero recipients and overdrafts", async function () {
    const { hub, stranger } = market;
    await expect(hub.connect(stranger).deposit(0)).to.be.revertedWithCustomError(hub, "EscrowZeroAmount");
    await expect(hub.connect(stranger).withdraw(stranger.address, 0)).to.be.revertedWithCustomError(hub, "EscrowZeroAmount");
    await expect(hub.connect(stranger).withdraw(ZeroAddress, 1)).to.be.revertedWithCustomError(hub, "EscrowInvalidAccount");
    await expect(hub.connect(stranger).withdraw(stranger.address, 1))
      .to.be.revertedWithCustomError(hub, "EscrowInsufficientBalance")
      .withArgs(stranger.address, 0, 1);
  });

  it("keeps each account within 112 bits", async function () {
    const { hub, token, stranger } = market;
    const max = 2n ** 112n;
    await token.mint(stranger.address, max);
    await token.connect(stranger).approve(await hub.getAddress(), max);
    await expect(hub.connect(stranger).deposit(max)).to.be.revertedWithCustomError(hub, "EscrowAmountTooLarge").withArgs(max);
    await hub.connect(stranger).deposit(max - 1n);
    expect(await hub.balanceOf(stranger.address)).to.equal(max - 1n);
  });

  it("credits what arrived from a fee-on-transfer token", async function () {
    const fee = await ethers.deployContract("FeeOnTransferToken");
    const hub = await deployHub(await fee.getAddress(), await market.registry.getAddress());
    await fee.mint(market.stranger.address, 100n);
    await fee.connect(market.stranger).approve(await hub.getAddress(), 100n);
    await hub.connect(market.stranger).deposit(100n);
    expect(await hub.balanceOf(market.stranger.address)).to.equal(99n);
    expect(await fee.balanceOf(await hub.getAddress())).to.equal(99n);
  });

  it("blocks reentrant deposits from a token callback", async function () {
    const token = await ethers.deployContract("ReentrantToken");
    const hub = await deployHub(await token.getAddress(), await market.registry.getAddress());
    const hubAddress = await hub.getAddress();
    await token.mint(market.stranger.address, 100n);
    await token.connect(market.stranger).approve(hubAddress, 100n);
    await token.setCallback(hubAddress, hub.interface.encodeFunctionData("deposit", [1n]));
    await expect(hub.connect(market.stranger).deposit(10n)).to.be.revertedWithCustomError(hub, "ReentrancyGuardReentrantCall");
  });
});
