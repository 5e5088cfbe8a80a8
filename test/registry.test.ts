import { expect } from "chai";
import { ZeroAddress, ZeroHash, toBeHex } from "ethers";

import { IMAGE_DIGEST, deployMarket, networkHelpers, type Market } from "./helpers/fixture.js";

const App = 0;
const Dataset = 1;
const Workerpool = 2;
const resources = { memoryMiB: 128, cpuMillicores: 1000, expectedSeconds: 60, maxOutputMiB: 8, network: false };

describe("asset registry", function () {
  let market: Market;

  beforeEach(async function () {
    market = await networkHelpers.loadFixture(deployMarket);
  });

  it("registers an app under a predictable id and reads it back", async function () {
    const { registry, stranger } = market;
    const id = await registry.appId(stranger.address, "primes");
    await expect(registry.connect(stranger).registerApp("primes", "127.0.0.1:5000/primes", IMAGE_DIGEST, 2, true, resources))
      .to.emit(registry, "AppRegistered")
      .withArgs(id, stranger.address, "primes", "127.0.0.1:5000/primes", IMAGE_DIGEST);
    const app = await registry.app(id);
    expect(app.owner).to.equal(stranger.address);
    expect(app.platforms).to.equal(2);
    expect(app.deterministic).to.equal(true);
    expect(app.resources.memoryMiB).to.equal(128);
    expect(app.image).to.equal("127.0.0.1:5000/primes");
    await expect(registry.connect(stranger).registerApp("primes", "x", IMAGE_DIGEST, 2, true, resources))
      .to.be.revertedWithCustomError(registry, "RegistryAssetExists")
      .withArgs(App, id);
    // Another owner may use the same name: ids differ.
    expect(await registry.appId(market.appOwner.address, "primes")).to.not.equal(id);
  });

  it("records whether an app is deterministic and hands it to the hub with the deal's parties", async function () {
    const { registry, stranger, workerpoolId } = market;
    const id = await registry.appId(stranger.address, "dice");
    await registry.connect(stranger).registerApp("dice", "127.0.0.1:5000/dice", IMAGE_DIGEST, 1, false, resources);
    expect((await registry.app(id)).deterministic).to.equal(false);
    expect((await registry.dealParties(id, ZeroHash, workerpoolId)).appDeterministic).to.equal(false);
    expect((await registry.dealParties(market.appId, ZeroHash, workerpoolId)).appDeterministic).to.equal(true);
  });

  it("validates app fields", async function () {
    const r = market.registry.connect(market.stranger);
    await expect(r.registerApp("", "img", IMAGE_DIGEST, 1, true, resources))
      .to.be.revertedWithCustomError(r, "RegistryInvalidText")
      .withArgs("name", 0, 256);
    await expect(r.registerApp("a".repeat(257), "img", IMAGE_DIGEST, 1, true, resources))
      .to.be.revertedWithCustomError(r, "RegistryInvalidText")
      .withArgs("name", 257, 256);
    await expect(r.registerApp("n", "", IMAGE_DIGEST, 1, true, resources))
      .to.be.revertedWithCustomError(r, "RegistryInvalidText")
      .withArgs("image", 0, 256);
    await expect(r.registerApp("n", "img", ZeroHash, 1, true, resources)).to.be.revertedWithCustomError(
      r,
      "RegistryMissingDigest",
    );
    await expect(r.registerApp("n", "img", IMAGE_DIGEST, 0, true, resources))
      .to.be.revertedWithCustomError(r, "RegistryInvalidPlatforms")
      .withArgs(0);
    await expect(r.registerApp("n", "img", IMAGE_DIGEST, 8, true, resources))
      .to.be.revertedWithCustomError(r, "RegistryInvalidPlatforms")
      .withArgs(8);
    await expect(r.registerApp("n", "img", IMAGE_DIGEST, 1, true, { ...resources, memoryMiB: 0 })).to.be.revertedWithCustomError(
      r,
      "RegistryInvalidResources",
    );
  });

  it("registers datasets and workerpools and validates them", async function () {
    const r = market.registry.connect(market.stranger);
    const datasetId = await r.datasetId(market.stranger.address, "d");
    await expect(r.registerDataset("d", "bafy", IMAGE_DIGEST))
      .to.emit(r, "DatasetRegistered")
      .withArgs(datasetId, market.stranger.address, "d", "bafy", IMAGE_DIGEST);
    expect((await r.dataset(datasetId)).cid).to.equal("bafy");
    await expect(r.registerDataset("d", "bafy", IMAGE_DIGEST))
      .to.be.revertedWithCustomError(r, "RegistryAssetExists")
      .withArgs(Dataset, datasetId);
    await expect(r.registerDataset("e", "", IMAGE_DIGEST))
      .to.be.revertedWithCustomError(r, "RegistryInvalidText")
      .withArgs("cid", 0, 256);
    await expect(r.registerDataset("e", "bafy", ZeroHash)).to.be.revertedWithCustomError(r, "RegistryMissingDigest");

    const poolId = await r.workerpoolId(market.stranger.address, "p");
    await expect(r.registerWorkerpool("p", 20, 5))
      .to.emit(r, "WorkerpoolPolicyChanged")
      .withArgs(poolId, 20, 5);
    expect((await r.workerpool(poolId)).workerStakeRatio).to.equal(20);
    await expect(r.registerWorkerpool("p", 20, 5))
      .to.be.revertedWithCustomError(r, "RegistryAssetExists")
      .withArgs(Workerpool, poolId);
    await expect(r.registerWorkerpool("q", 101, 5))
      .to.be.revertedWithCustomError(r, "RegistryInvalidRatio")
      .withArgs(101);
    await expect(r.registerWorkerpool("q", 1, 101))
      .to.be.revertedWithCustomError(r, "RegistryInvalidRatio")
      .withArgs(101);
  });

  it("changes a workerpool's policy for its owner only", async function () {
    const { registry, scheduler, stranger, workerpoolId } = market;
    await expect(registry.connect(stranger).setWorkerpoolPolicy(workerpoolId, 1, 1))
      .to.be.revertedWithCustomError(registry, "RegistryNotOwner")
      .withArgs(Workerpool, workerpoolId, stranger.address, scheduler.address);
    await expect(registry.connect(scheduler).setWorkerpoolPolicy(workerpoolId, 50, 20))
      .to.emit(registry, "WorkerpoolPolicyChanged")
      .withArgs(workerpoolId, 50, 20);
    const parties = await registry.dealParties(market.appId, ZeroHash, workerpoolId);
    expect(parties.workerStakeRatio).to.equal(50);
    expect(parties.schedulerRewardRatio).to.equal(20);
    expect(parties.datasetOwner).to.equal(ZeroAddress);
  });

  it("transfers ownership of every asset kind", async function () {
    const { registry, appOwner, datasetOwner, scheduler, stranger } = market;
    await expect(registry.connect(stranger).transferOwnership(App, market.appId, stranger.address)).to.be.revertedWithCustomError(
      registry,
      "RegistryNotOwner",
    );
    await expect(registry.connect(appOwner).transferOwnership(App, market.appId, ZeroAddress)).to.be.revertedWithCustomError(
      registry,
      "RegistryInvalidOwner",
    );
    await expect(registry.connect(appOwner).transferOwnership(App, market.appId, stranger.address))
      .to.emit(registry, "OwnershipTransferred")
      .withArgs(App, market.appId, appOwner.address, stranger.address);
    await registry.connect(datasetOwner).transferOwnership(Dataset, market.datasetId, stranger.address);
    await registry.connect(scheduler).transferOwnership(Workerpool, market.workerpoolId, stranger.address);
    expect(await registry.ownerOf(App, market.appId)).to.equal(stranger.address);
    expect(await registry.ownerOf(Dataset, market.datasetId)).to.equal(stranger.address);
    expect(await registry.ownerOf(Workerpool, market.workerpoolId)).to.equal(stranger.address);
    await expect(registry.connect(stranger).transferOwnership(App, toBeHex(1, 32), stranger.address))
      .to.be.revertedWithCustomError(registry, "RegistryUnknownAsset")
      .withArgs(App, toBeHex(1, 32));
  });

  it("reports unknown assets clearly", async function () {
    const { registry } = market;
    const unknown = toBeHex(1, 32);
    await expect(registry.app(unknown)).to.be.revertedWithCustomError(registry, "RegistryUnknownAsset").withArgs(App, unknown);
    await expect(registry.dataset(unknown))
      .to.be.revertedWithCustomError(registry, "RegistryUnknownAsset")
      .withArgs(Dataset, unknown);
    await expect(registry.workerpool(unknown))
      .to.be.revertedWithCustomError(registry, "RegistryUnknownAsset")
      .withArgs(Workerpool, unknown);
    await expect(registry.dealParties(market.appId, unknown, market.workerpoolId))
      .to.be.revertedWithCustomError(registry, "RegistryUnknownAsset")
      .withArgs(Dataset, unknown);
    await expect(registry.dealParties(market.appId, ZeroHash, unknown))
      .to.be.revertedWithCustomError(registry, "RegistryUnknownAsset")
      .withArgs(Workerpool, unknown);
  });
});
