import { expect } from "chai";
import { ZeroAddress, ZeroHash, concat, getBytes, toBeHex } from "ethers";

import {
  APP_PRICE,
  DATASET_PRICE,
  TAG_AMD64,
  TOKEN,
  WORKERPOOL_PRICE,
  appOrder,
  datasetOrder,
  dealCreated,
  ethers,
  matchDeal,
  networkHelpers,
  requestOrder,
  signAll,
  signOrder,
  workerpoolOrder,
  deployMarket,
  type Market,
} from "./helpers/fixture.js";
import { InvalidInputError } from "../sdk/src/errors/input.js";
import { encodeMatchOrders } from "../sdk/src/orders/codec.js";

const App = 0;
const Dataset = 1;
const Workerpool = 2;
const Request = 3;

describe("matchOrders", function () {
  let market: Market;

  beforeEach(async function () {
    market = await networkHelpers.loadFixture(deployMarket);
  });

  async function matchAs(
    caller = market.scheduler,
    orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) },
  ) {
    const signatures = await signAll(market, orders);
    return market.hub.connect(caller).matchOrders(encodeMatchOrders(orders, signatures));
  }

  it("creates a deal, locks the requester's payment and the scheduler's stake", async function () {
    const { hub, requester, scheduler } = market;
    const volume = 4n;
    const { dealId, orders } = await matchDeal(market, { volume });
    const deal = await hub.deal(dealId);
    expect(deal.requester).to.equal(requester.address);
    expect(deal.volume).to.equal(volume);
    expect(deal.appOwner).to.equal(market.appOwner.address);
    expect(deal.scheduler).to.equal(scheduler.address);
    expect(deal.workerpoolPrice).to.equal(WORKERPOOL_PRICE);
    expect(deal.datasetOwner).to.equal(ZeroAddress);
    const taskPrice = APP_PRICE + WORKERPOOL_PRICE;
    expect(await hub.lockedOf(requester.address)).to.equal(taskPrice * volume);
    expect(await hub.balanceOf(requester.address)).to.equal(1000n * TOKEN - taskPrice * volume);
    expect(await hub.lockedOf(scheduler.address)).to.equal(((WORKERPOOL_PRICE * 30n) / 100n) * volume);
    expect(await hub.consumed(await hub.hashRequestOrder(orders.request))).to.equal(volume);
    expect(await hub.consumed(await hub.hashAppOrder(orders.app))).to.equal(volume);
  });

  it("matches with a dataset and pays its price into the deal", async function () {
    const { dealId } = await matchDeal(market, { volume: 2n }, true);
    const deal = await market.hub.deal(dealId);
    expect(deal.datasetOwner).to.equal(market.datasetOwner.address);
    expect(deal.datasetPrice).to.equal(DATASET_PRICE);
    expect(await market.hub.lockedOf(market.requester.address)).to.equal((APP_PRICE + DATASET_PRICE + WORKERPOOL_PRICE) * 2n);
  });

  it("lets the requester match a signed workerpool order itself", async function () {
    const orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) };
    const signatures = { ...(await signAll(market, orders)), request: "0x" };
    signatures.workerpool = await signOrder(market, market.scheduler, "WorkerpoolOrder", orders.workerpool);
    await expect(market.hub.connect(market.requester).matchOrders(encodeMatchOrders(orders, signatures))).to.emit(
      market.hub,
      "DealCreated",
    );
  });

  it("consumes volume partially across deals, then refuses the exhausted order", async function () {
    const app = appOrder(market, { volume: 3n });
    const first = { app, workerpool: workerpoolOrder(market), request: requestOrder(market, { volume: 2n }) };
    await matchAs(market.scheduler, first);
    const second = { app, workerpool: workerpoolOrder(market), request: requestOrder(market, { volume: 5n }) };
    const tx = await matchAs(market.scheduler, second);
    expect(dealCreated(market, await tx.wait()).volume).to.equal(1n);
    const third = { app, workerpool: workerpoolOrder(market), request: requestOrder(market) };
    await expect(matchAs(market.scheduler, third))
      .to.be.revertedWithCustomError(market.hub, "OrderExhausted")
      .withArgs(App, await market.hub.hashAppOrder(app));
  });

  it("refuses to replay a fully consumed request order", async function () {
    const orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) };
    await matchAs(market.scheduler, orders);
    await expect(matchAs(market.scheduler, orders))
      .to.be.revertedWithCustomError(market.hub, "OrderExhausted")
      .withArgs(Request, await market.hub.hashRequestOrder(orders.request));
  });

  it("rejects a signature by the wrong signer", async function () {
    const orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) };
    const signatures = await signAll(market, orders);
    signatures.app = await signOrder(market, market.stranger, "AppOrder", orders.app);
    await expect(market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, signatures)))
      .to.be.revertedWithCustomError(market.hub, "OrderInvalidSignature")
      .withArgs(App, await market.hub.hashAppOrder(orders.app), market.appOwner.address);
  });

  it("rejects signatures made for another chain id or another hub", async function () {
    const orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) };
    const signatures = await signAll(market, orders);
    const requestHash = await market.hub.hashRequestOrder(orders.request);
    signatures.request = await signOrder(market, market.requester, "RequestOrder", orders.request, { chainId: 1n });
    await expect(market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, signatures)))
      .to.be.revertedWithCustomError(market.hub, "OrderInvalidSignature")
      .withArgs(Request, requestHash, market.requester.address);
    signatures.request = await signOrder(market, market.requester, "RequestOrder", orders.request, {
      hub: await market.registry.getAddress(),
    });
    await expect(
      market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, signatures)),
    ).to.be.revertedWithCustomError(market.hub, "OrderInvalidSignature");
  });

  it("refuses callers other than the requester and the scheduler", async function () {
    await expect(matchAs(market.stranger))
      .to.be.revertedWithCustomError(market.hub, "MatchUnauthorizedCaller")
      .withArgs(market.stranger.address, market.requester.address, market.scheduler.address);
  });

  it("refuses a request without requester", async function () {
    const orders = {
      app: appOrder(market),
      workerpool: workerpoolOrder(market),
      request: requestOrder(market, { requester: ZeroAddress }),
    };
    const signatures = await signAll(market, orders);
    await expect(
      market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, signatures)),
    ).to.be.revertedWithCustomError(market.hub, "OrderInvalidSignature");
  });

  it("honours cancellation by the signer only", async function () {
    const orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) };
    await expect(market.hub.connect(market.stranger).cancelRequestOrder(orders.request))
      .to.be.revertedWithCustomError(market.hub, "OrderNotSigner")
      .withArgs(Request, market.stranger.address, market.requester.address);
    await expect(market.hub.connect(market.requester).cancelRequestOrder(orders.request)).to.emit(market.hub, "OrderCancelled");
    await expect(matchAs(market.scheduler, orders)).to.be.revertedWithCustomError(market.hub, "OrderExhausted");

    const app = appOrder(market);
    await market.hub.connect(market.appOwner).cancelAppOrder(app);
    await expect(matchAs(market.scheduler, { ...orders, app, request: requestOrder(market) }))
      .to.be.revertedWithCustomError(market.hub, "OrderExhausted")
      .withArgs(App, await market.hub.hashAppOrder(app));
    const wp = workerpoolOrder(market);
    await market.hub.connect(market.scheduler).cancelWorkerpoolOrder(wp);
    expect(await market.hub.consumed(await market.hub.hashWorkerpoolOrder(wp))).to.equal(2n ** 256n - 1n);
    const ds = datasetOrder(market);
    await expect(market.hub.connect(market.appOwner).cancelDatasetOrder(ds)).to.be.revertedWithCustomError(
      market.hub,
      "OrderNotSigner",
    );
    await market.hub.connect(market.datasetOwner).cancelDatasetOrder(ds);
  });

  it("accepts presigned orders without signatures", async function () {
    const orders = {
      app: appOrder(market),
      workerpool: workerpoolOrder(market),
      request: requestOrder(market),
      dataset: datasetOrder(market),
    };
    orders.request = requestOrder(market, { dataset: market.datasetId, datasetMaxPrice: DATASET_PRICE });
    await market.hub.connect(market.appOwner).presignAppOrder(orders.app);
    await market.hub.connect(market.datasetOwner).presignDatasetOrder(orders.dataset);
    await market.hub.connect(market.requester).presignRequestOrder(orders.request);
    await market.hub.connect(market.scheduler).presignWorkerpoolOrder(orders.workerpool);
    expect(await market.hub.presigner(await market.hub.hashAppOrder(orders.app))).to.equal(market.appOwner.address);
    await expect(market.hub.connect(market.stranger).presignAppOrder(orders.app)).to.be.revertedWithCustomError(
      market.hub,
      "OrderNotSigner",
    );
    const empty = { app: "0x", dataset: "0x", workerpool: "0x", request: "0x" };
    await expect(market.hub.connect(market.requester).matchOrders(encodeMatchOrders(orders, empty))).to.emit(
      market.hub,
      "DealCreated",
    );
  });

  it("accepts an EIP-1271 contract requester's signature", async function () {
    const wallet = await ethers.deployContract("ERC1271Wallet", [market.stranger.address]);
    const walletAddress = await wallet.getAddress();
    await market.token.mint(market.stranger.address, 100n * TOKEN);
    await market.token.connect(market.stranger).approve(await market.hub.getAddress(), 100n * TOKEN);
    await market.hub.connect(market.stranger).depositFor(walletAddress, 100n * TOKEN);
    const orders = {
      app: appOrder(market),
      workerpool: workerpoolOrder(market),
      request: requestOrder(market, { requester: walletAddress }),
    };
    const signatures = await signAll(market, orders);
    signatures.request = await signOrder(market, market.stranger, "RequestOrder", orders.request);
    await expect(market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, signatures))).to.emit(
      market.hub,
      "DealCreated",
    );
    expect(await market.hub.lockedOf(walletAddress)).to.equal(APP_PRICE + WORKERPOOL_PRICE);

    const bad = { ...orders, request: requestOrder(market, { requester: walletAddress }) };
    const badSignatures = await signAll(market, bad);
    await expect(
      market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(bad, badSignatures)),
    ).to.be.revertedWithCustomError(market.hub, "OrderInvalidSignature");
  });

  describe("incompatible orders", function () {
    async function expectMismatch(
      change: (o: {
        app: ReturnType<typeof appOrder>;
        workerpool: ReturnType<typeof workerpoolOrder>;
        request: ReturnType<typeof requestOrder>;
      }) => void,
      error: string,
      args?: unknown[],
      errorSource: { interface: Market["hub"]["interface"] | Market["registry"]["interface"] } = market.hub,
    ) {
      const orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) };
      change(orders);
      const assertion = expect(matchAs(market.scheduler, orders)).to.be.revertedWithCustomError(errorSource, error);
      if (args) await assertion.withArgs(...args);
      else await assertion;
    }

    it("app mismatch", async function () {
      await expectMismatch((o) => (o.request.app = toBeHex(7, 32)), "MatchAssetMismatch", [App, toBeHex(7, 32), market.appId]);
    });
    it("workerpool mismatch", async function () {
      await expectMismatch((o) => (o.request.workerpool = toBeHex(9, 32)), "MatchAssetMismatch", [
        Workerpool,
        toBeHex(9, 32),
        market.workerpoolId,
      ]);
    });
    it("any workerpool (zero) is accepted", async function () {
      const orders = {
        app: appOrder(market),
        workerpool: workerpoolOrder(market),
        request: requestOrder(market, { workerpool: ZeroHash }),
      };
      await expect(matchAs(market.scheduler, orders)).to.emit(market.hub, "DealCreated");
    });
    it("category mismatch", async function () {
      await expectMismatch((o) => (o.request.category = 1n), "MatchCategoryMismatch", [1n, 0n]);
    });
    it("unknown category", async function () {
      await expectMismatch((o) => ((o.request.category = 5n), (o.workerpool.category = 5n)), "MatchUnknownCategory", [5n]);
    });
    it("trust above the workerpool's", async function () {
      await expectMismatch((o) => ((o.request.trust = 11n), (o.workerpool.trust = 10n)), "MatchTrustTooHigh", [11n, 10n]);
    });
    it("trust above the protocol maximum", async function () {
      await expectMismatch((o) => ((o.request.trust = 21n), (o.workerpool.trust = 200n)), "MatchTrustTooHigh", [21n, 200n]);
    });
    it("app price above the requester's maximum", async function () {
      await expectMismatch((o) => (o.app.price = APP_PRICE + 1n), "MatchPriceTooHigh", [App, APP_PRICE + 1n, APP_PRICE]);
    });
    it("workerpool price above the requester's maximum", async function () {
      await expectMismatch((o) => (o.request.workerpoolMaxPrice = 1n), "MatchPriceTooHigh", [Workerpool, WORKERPOOL_PRICE, 1n]);
    });
    it("tag the workerpool cannot satisfy", async function () {
      await expectMismatch((o) => (o.workerpool.tag = TAG_AMD64), "MatchTagUnsatisfied", [toBeHex(2, 32), TAG_AMD64]);
    });
    it("app order restricted to another workerpool", async function () {
      await expectMismatch((o) => (o.app.workerpoolRestrict = toBeHex(1, 32)), "MatchRestricted", [App, Workerpool]);
    });
    it("app order restricted to a dataset", async function () {
      await expectMismatch((o) => (o.app.datasetRestrict = toBeHex(1, 32)), "MatchRestricted", [App, Dataset]);
    });
    it("app order restricted to another requester", async function () {
      await expectMismatch((o) => (o.app.requesterRestrict = market.stranger.address), "MatchRestricted", [App, Request]);
    });
    it("workerpool order restricted to another app, dataset or requester", async function () {
      await expectMismatch((o) => (o.workerpool.appRestrict = toBeHex(1, 32)), "MatchRestricted", [Workerpool, App]);
      await expectMismatch((o) => (o.workerpool.datasetRestrict = toBeHex(1, 32)), "MatchRestricted", [Workerpool, Dataset]);
      await expectMismatch((o) => (o.workerpool.requesterRestrict = market.stranger.address), "MatchRestricted", [
        Workerpool,
        Request,
      ]);
    });
    it("matching restrictions pass", async function () {
      const orders = {
        app: appOrder(market, { workerpoolRestrict: market.workerpoolId, requesterRestrict: market.requester.address }),
        workerpool: workerpoolOrder(market, { appRestrict: market.appId, requesterRestrict: market.requester.address }),
        request: requestOrder(market),
      };
      await expect(matchAs(market.scheduler, orders)).to.emit(market.hub, "DealCreated");
    });
    it("request names a dataset but none is given, or the reverse", async function () {
      await expectMismatch((o) => (o.request.dataset = market.datasetId), "MatchDatasetMissing", [market.datasetId]);
      const orders = {
        app: appOrder(market),
        dataset: datasetOrder(market),
        workerpool: workerpoolOrder(market),
        request: requestOrder(market),
      };
      const signatures = await signAll(market, orders);
      await expect(market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, signatures)))
        .to.be.revertedWithCustomError(market.hub, "MatchDatasetMissing")
        .withArgs(ZeroHash);
    });
    it("dataset order mismatches and restrictions", async function () {
      const base = () => ({
        app: appOrder(market),
        dataset: datasetOrder(market),
        workerpool: workerpoolOrder(market),
        request: requestOrder(market, { dataset: market.datasetId, datasetMaxPrice: DATASET_PRICE }),
      });
      const attempt = async (orders: ReturnType<typeof base>) =>
        market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, await signAll(market, orders)));
      let orders = base();
      orders.dataset.dataset = toBeHex(3, 32);
      await expect(attempt(orders))
        .to.be.revertedWithCustomError(market.hub, "MatchAssetMismatch")
        .withArgs(Dataset, market.datasetId, toBeHex(3, 32));
      orders = base();
      orders.dataset.price = DATASET_PRICE + 1n;
      await expect(attempt(orders))
        .to.be.revertedWithCustomError(market.hub, "MatchPriceTooHigh")
        .withArgs(Dataset, DATASET_PRICE + 1n, DATASET_PRICE);
      orders = base();
      orders.dataset.appRestrict = toBeHex(1, 32);
      await expect(attempt(orders)).to.be.revertedWithCustomError(market.hub, "MatchRestricted").withArgs(Dataset, App);
      orders = base();
      orders.dataset.workerpoolRestrict = toBeHex(1, 32);
      await expect(attempt(orders)).to.be.revertedWithCustomError(market.hub, "MatchRestricted").withArgs(Dataset, Workerpool);
      orders = base();
      orders.dataset.requesterRestrict = market.stranger.address;
      await expect(attempt(orders)).to.be.revertedWithCustomError(market.hub, "MatchRestricted").withArgs(Dataset, Request);
      orders = base();
      orders.dataset.volume = 0n;
      await expect(attempt(orders)).to.be.revertedWithCustomError(market.hub, "OrderExhausted");
      orders = base();
      const signatures = await signAll(market, orders);
      signatures.dataset = await signOrder(market, market.stranger, "DatasetOrder", orders.dataset);
      await expect(
        market.hub.connect(market.scheduler).matchOrders(encodeMatchOrders(orders, signatures)),
      ).to.be.revertedWithCustomError(market.hub, "OrderInvalidSignature");
    });
    it("unregistered assets", async function () {
      await expectMismatch(
        (o) => ((o.request.app = toBeHex(5, 32)), (o.app.app = toBeHex(5, 32))),
        "RegistryUnknownAsset",
        [0, toBeHex(5, 32)],
        market.registry,
      );
    });
  });

  it("gives each category its start window (10 timerefs from the match)", async function () {
    const timerefs = [300n, 1_200n, 3_600n, 10_800n, 36_000n];
    for (const [category, timeref] of timerefs.entries()) {
      const orders = {
        app: appOrder(market),
        workerpool: workerpoolOrder(market, { category: BigInt(category) }),
        request: requestOrder(market, { category: BigInt(category) }),
      };
      const receipt = await (await matchAs(market.scheduler, orders)).wait();
      const block = await ethers.provider.getBlock(receipt!.blockNumber);
      const deal = await market.hub.deal(dealCreated(market, receipt).dealId);
      expect(deal.category).to.equal(category);
      expect(deal.startDeadline).to.equal(BigInt(block!.timestamp) + 10n * timeref);
    }
  });

  it("fails with the missing amount when the requester cannot pay", async function () {
    const orders = {
      app: appOrder(market),
      workerpool: workerpoolOrder(market),
      request: requestOrder(market, { volume: 1000n }),
    };
    const balance = await market.hub.balanceOf(market.requester.address);
    await expect(matchAs(market.scheduler, orders))
      .to.be.revertedWithCustomError(market.hub, "EscrowInsufficientBalance")
      .withArgs(market.requester.address, balance, (APP_PRICE + WORKERPOOL_PRICE) * 1000n);
  });

  it("the encoder refuses values wider than their calldata field, with the field's name", function () {
    const orders = {
      app: appOrder(market, { price: 2n ** 96n }),
      workerpool: workerpoolOrder(market),
      request: requestOrder(market),
    };
    expect(() => encodeMatchOrders(orders)).to.throw(
      InvalidInputError,
      /Invalid AppOrder.price: 79228162514264337593543950336\.\n\nExpected a value below 2\^96 \(its field in matchOrders is 12 bytes\)/,
    );
  });

  describe("malformed encodings", function () {
    async function encoded() {
      const orders = { app: appOrder(market), workerpool: workerpoolOrder(market), request: requestOrder(market) };
      return getBytes(encodeMatchOrders(orders, await signAll(market, orders)));
    }

    it("truncated input", async function () {
      const bytes = await encoded();
      await expect(market.hub.connect(market.scheduler).matchOrders(bytes.slice(0, 40)))
        .to.be.revertedWithCustomError(market.hub, "MatchMalformedInput")
        .withArgs(34);
      await expect(
        market.hub.connect(market.scheduler).matchOrders(bytes.slice(0, bytes.length - 1)),
      ).to.be.revertedWithCustomError(market.hub, "MatchMalformedInput");
      await expect(market.hub.connect(market.scheduler).matchOrders("0x"))
        .to.be.revertedWithCustomError(market.hub, "MatchMalformedInput")
        .withArgs(0);
    });

    it("trailing bytes", async function () {
      const bytes = await encoded();
      await expect(market.hub.connect(market.scheduler).matchOrders(concat([bytes, "0x00"])))
        .to.be.revertedWithCustomError(market.hub, "MatchMalformedInput")
        .withArgs(bytes.length);
    });

    it("a mask bit beyond the order's fields", async function () {
      const bytes = await encoded();
      bytes[0] = 0x01; // app order mask: bit 8 does not exist
      await expect(market.hub.connect(market.scheduler).matchOrders(bytes))
        .to.be.revertedWithCustomError(market.hub, "MatchMalformedInput")
        .withArgs(0);
    });

    it("a signature length past the end", async function () {
      const bytes = await encoded();
      const withLongSignature = concat([bytes.slice(0, bytes.length - 67), "0xffff", bytes.slice(bytes.length - 65)]);
      await expect(market.hub.connect(market.scheduler).matchOrders(withLongSignature)).to.be.revertedWithCustomError(
        market.hub,
        "MatchMalformedInput",
      );
    });
  });
});
