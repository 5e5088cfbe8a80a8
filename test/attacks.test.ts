// Each test plays one attacker against the hub and asserts the honest outcome (issue 14, items 1-6;
// docs/protocol.md's threat table points here).
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { ZeroHash } from "ethers";

import { encodeMatchOrders } from "../sdk/src/orders/codec.js";
import {
  IMAGE_DIGEST,
  MIN_SCORED_STAKE,
  TOKEN,
  TREASURY,
  WORKERPOOL_PRICE,
  appOrder,
  authorize,
  buildScore,
  commitmentOf,
  contribute,
  dealCreated,
  deployMarket,
  digestOf,
  ENERGY,
  fund,
  matchDeal,
  networkHelpers,
  requestOrder,
  reveal,
  saltOf,
  signOrder,
  workerpoolOrder,
  type Market,
  type MatchSet,
} from "./helpers/fixture.js";

const Outcome = { Completed: 1n, ExpiredNoConsensus: 3n, AppFailed: 5n, NoConsensus: 6n, SchedulerGaveUp: 7n };
const TIMEREF = 300;
const STAKE = (WORKERPOOL_PRICE * 30n) / 100n;
const SCHEDULER_STAKE = (WORKERPOOL_PRICE * 30n) / 100n;
const RESOURCES = { memoryMiB: 64, cpuMillicores: 500, expectedSeconds: 30, maxOutputMiB: 16, network: false };

describe("attacks on the protocol", function () {
  let market: Market;

  beforeEach(async function () {
    market = await networkHelpers.loadFixture(deployMarket);
  });

  /** Matches app, workerpool and request orders as `scheduler` (its own workerpool order unsigned). */
  async function matchAs(scheduler: HardhatEthersSigner, orders: MatchSet) {
    const signatures = {
      app: await signOrder(market, market.appOwner, "AppOrder", orders.app),
      dataset: "0x",
      workerpool: "0x",
      request: await signOrder(market, market.requester, "RequestOrder", orders.request),
    };
    return market.hub.connect(scheduler).matchOrders(encodeMatchOrders(orders, signatures));
  }

  /** balance + locked: what an account owns in the escrow. */
  async function holdings(account: { address: string } | string): Promise<bigint> {
    const address = typeof account === "string" ? account : account.address;
    return (await market.hub.balanceOf(address)) + (await market.hub.lockedOf(address));
  }

  describe("1. no one profits from a failure they cause", function () {
    it("a requester whose app always fails gets exactly its payment back, on every failure path", async function () {
      const { hub, requester, scheduler } = market;
      const [w0, w1] = market.workers;
      const requesterBefore = await holdings(requester);
      const schedulerBefore = await holdings(scheduler);

      // The scheduler ends a failing task early; an unstarted task and a started one expire.
      const { dealId } = await matchDeal(market, { trust: 3n, volume: 3n });
      await hub.connect(scheduler).fail(dealId, 0, Outcome.AppFailed, []);
      await contribute(market, dealId, 1n, w0!, digestOf("a"));
      await contribute(market, dealId, 1n, w1!, digestOf("b"));
      await reveal(market, dealId, 1n, w0!, digestOf("a"));
      await reveal(market, dealId, 1n, w1!, digestOf("b"));
      await networkHelpers.time.increase(10 * TIMEREF + 1);
      await hub.claim(dealId, 1, [w0!.address, w1!.address]);
      await hub.claimUnstarted(dealId, 2, 1);

      expect(await holdings(requester)).to.equal(requesterBefore);
      expect(await hub.lockedOf(requester.address)).to.equal(0n);
      // The failure it declared costs the scheduler nothing; the two expiries cost it its stake.
      expect(await holdings(scheduler)).to.equal(schedulerBefore - 2n * SCHEDULER_STAKE);
      expect(await hub.balanceOf(TREASURY)).to.equal(2n * SCHEDULER_STAKE);
      // Workers who revealed a tie did their work honestly: stakes back.
      expect(await holdings(w0!)).to.equal(1000n * TOKEN);
    });
  });

  describe("2. a failed task ends fast and says why", function () {
    it("the scheduler ends a task early with a machine-readable reason, nobody slashed", async function () {
      const { hub, scheduler, requester } = market;
      const [w0] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n, volume: 3n });
      const taskId = await hub.taskId(dealId, 0);
      await contribute(market, dealId, 0n, w0!, digestOf("exit 1"));
      await expect(hub.connect(w0).fail(dealId, 0, Outcome.AppFailed, [w0!.address]))
        .to.be.revertedWithCustomError(hub, "TaskNotScheduler")
        .withArgs(w0!.address, scheduler.address);
      await expect(hub.connect(scheduler).fail(dealId, 0, Outcome.Completed, [w0!.address]))
        .to.be.revertedWithCustomError(hub, "TaskInvalidFailure")
        .withArgs(Outcome.Completed);
      await expect(hub.connect(scheduler).fail(dealId, 0, Outcome.AppFailed, [])).to.be.revertedWithCustomError(
        hub,
        "TaskInvalidContributors",
      );
      // Minutes after the start, not 10 x timeref later.
      await expect(hub.connect(scheduler).fail(dealId, 0, Outcome.AppFailed, [w0!.address]))
        .to.emit(hub, "TaskEnded")
        .withArgs(dealId, taskId, 0, Outcome.AppFailed, ZeroHash, "0x");
      expect(await hub.taskOutcome(dealId, 0)).to.equal(Outcome.AppFailed);
      expect(await holdings(w0!)).to.equal(1000n * TOKEN);
      expect(await hub.lockedOf(w0!.address)).to.equal(0n);
      await expect(hub.connect(scheduler).fail(dealId, 0, Outcome.AppFailed, [w0!.address]))
        .to.be.revertedWithCustomError(hub, "TaskAlreadyEnded")
        .withArgs(taskId, Outcome.AppFailed);

      // Giving up costs the scheduler its stake (to the treasury), never to the requester.
      const requesterBefore = await holdings(requester);
      await expect(hub.connect(scheduler).fail(dealId, 1, Outcome.SchedulerGaveUp, []))
        .to.emit(hub, "TaskEnded")
        .withArgs(dealId, await hub.taskId(dealId, 1), 1, Outcome.SchedulerGaveUp, ZeroHash, "0x");
      expect(await holdings(requester)).to.equal(requesterBefore);
      expect(await hub.balanceOf(TREASURY)).to.equal(SCHEDULER_STAKE);

      // While a round's reveals run, the round decides: the scheduler cannot cut it short.
      const [, a, b] = market.workers;
      await contribute(market, dealId, 2n, a!, digestOf("x"));
      await contribute(market, dealId, 2n, b!, digestOf("x"));
      await expect(hub.connect(scheduler).fail(dealId, 2, Outcome.NoConsensus, [a!.address, b!.address]))
        .to.be.revertedWithCustomError(hub, "TaskWrongStatus")
        .withArgs(await hub.taskId(dealId, 2), 2);
    });
  });

  describe("3. votes cannot be copied", function () {
    it("a contribution says nothing about the result, and a copied commitment cannot be revealed", async function () {
      const { hub, scheduler } = market;
      const [honest, lazy, third] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n, volume: 2n });
      const taskId = await hub.taskId(dealId, 0);
      const yes = digestOf("yes");
      const tx = await contribute(market, dealId, 0n, honest!, yes);
      const receipt = await tx.wait();
      const accepted = receipt!.logs.map((log) => hub.interface.parseLog(log)).find((e) => e?.name === "ContributionAccepted")!;
      const published = accepted.args.commitment as string;
      // A low-entropy result cannot be recovered: the published value matches no guess without the salt.
      for (const guess of ["yes", "no", "0", "1"]) {
        expect(published).to.not.equal(commitmentOf(taskId, digestOf(guess), honest!.address, ZeroHash));
      }
      expect(published).to.equal(commitmentOf(taskId, yes, honest!.address, saltOf(honest!.address, taskId)));

      // The lazy worker copies the commitment bytes from the mempool or the log.
      await hub.connect(lazy).contribute(dealId, 0, published, ENERGY, await authorize(market, taskId, lazy!.address));
      await reveal(market, dealId, 0n, honest!, yes);
      // Even knowing the digest and the honest worker's salt, the commitment binds another worker.
      await expect(hub.connect(lazy).reveal(dealId, 0, yes, saltOf(honest!.address, taskId), "0x"))
        .to.be.revertedWithCustomError(hub, "TaskInvalidReveal")
        .withArgs(taskId, lazy!.address);
      // It stays silent: after the reveal deadline the honest reveal does not hold trust 3 alone,
      // so the round is reopened, a third worker agrees, and the copier loses its stake.
      await networkHelpers.time.increase(2 * TIMEREF + 1);
      await hub.reopen(dealId, 0);
      await contribute(market, dealId, 0n, third!, yes);
      await reveal(market, dealId, 0n, third!, yes);
      await hub.connect(scheduler).finalize(dealId, 0, "0x", [honest!.address, lazy!.address, third!.address]);
      expect(await holdings(lazy!)).to.equal(1000n * TOKEN - STAKE);

      // A digest revealed on task 0 is no vote on task 1: the commitment is bound to its task.
      const task1 = await hub.taskId(dealId, 1);
      await hub.connect(lazy).contribute(dealId, 1, published, ENERGY, await authorize(market, task1, lazy!.address));
      await contribute(market, dealId, 1n, honest!, yes);
      await expect(hub.connect(lazy).reveal(dealId, 1, yes, saltOf(honest!.address, taskId), "0x")).to.be.revertedWithCustomError(
        hub,
        "TaskInvalidReveal",
      );
    });
  });

  describe("4. reputation cannot be bought by self-dealing", function () {
    it("zero-price deals raise no score", async function () {
      const { hub, scheduler } = market;
      const [w0, w1] = market.workers;
      const free = { price: 0n };
      const orders = {
        app: appOrder(market, free),
        workerpool: workerpoolOrder(market, free),
        request: requestOrder(market, { trust: 3n, appMaxPrice: 0n, workerpoolMaxPrice: 0n }),
      };
      const { dealId } = dealCreated(market, await (await matchAs(scheduler, orders)).wait());
      const digest = digestOf("free");
      await contribute(market, dealId, 0n, w0!, digest);
      await contribute(market, dealId, 0n, w1!, digest);
      await reveal(market, dealId, 0n, w0!, digest);
      await reveal(market, dealId, 0n, w1!, digest);
      await hub.connect(scheduler).finalize(dealId, 0, "0x", [w0!.address, w1!.address]);
      expect(await hub.taskOutcome(dealId, 0)).to.equal(Outcome.Completed);
      expect(await hub.scoreOf(scheduler.address, w0!.address)).to.equal(0n);
      expect(await hub.minScoredStake()).to.equal(MIN_SCORED_STAKE);
    });

    it("a score bought in one's own pool buys no trust in another pool", async function () {
      const { hub, registry, scheduler } = market;
      const [w0] = market.workers;
      // The attacker farms w0's score to 12 in the pool it controls (weight 3: trust 3 alone there).
      await buildScore(market, w0!, 12);
      expect(await hub.scoreOf(scheduler.address, w0!.address)).to.equal(12n);

      // An honest pool run by someone else still sees a new worker.
      const other: HardhatEthersSigner = market.stranger;
      await registry.connect(other).registerWorkerpool("honest-pool", 30, 10);
      await fund(market, other, 100n * TOKEN);
      const pool = await registry.workerpoolId(other.address, "honest-pool");
      expect(await hub.scoreOf(other.address, w0!.address)).to.equal(0n);
      const orders = {
        app: appOrder(market),
        workerpool: workerpoolOrder(market, { workerpool: pool }),
        request: requestOrder(market, { workerpool: pool, trust: 3n }),
      };
      const { dealId } = dealCreated(market, await (await matchAs(other, orders)).wait());
      const taskId = await hub.taskId(dealId, 0);
      const authorization = await authorize(market, taskId, w0!.address, other);
      const lie = digestOf("forged");
      await hub
        .connect(w0)
        .contribute(dealId, 0, commitmentOf(taskId, lie, w0!.address, saltOf(w0!.address, taskId)), ENERGY, authorization);
      // Weight 2 there: one contribution cannot close the window, let alone decide.
      const t = await hub.task(taskId);
      expect(t.status).to.equal(1n);
      expect(t.pendingWeight).to.equal(2n);
    });
  });

  describe("5. dissent and withholding have a price", function () {
    it("a minority that blocks trust 20 loses its stake to the majority when the task is ended", async function () {
      const { hub, scheduler, requester } = market;
      const w = market.workers;
      const { dealId } = await matchDeal(market, { trust: 20n });
      const taskId = await hub.taskId(dealId, 0);
      const good = digestOf("good");
      const bad = digestOf("bad");
      const votes = [good, good, good, bad, bad];
      for (let i = 0; i < 5; i++) await contribute(market, dealId, 0n, w[i]!, votes[i]!);
      for (let i = 0; i < 5; i++) await reveal(market, dealId, 0n, w[i]!, votes[i]!);
      // good 8, bad 4, total 13: 8 * 20 < 13 * 19, a new round. With three slots left, not even
      // three more agreeing workers can outweigh two dissenters (64 * 20 < 69 * 19).
      expect((await hub.task(taskId)).round).to.equal(1);
      for (let i = 5; i < 8; i++) await contribute(market, dealId, 0n, w[i]!, good);
      expect((await hub.task(taskId)).status).to.equal(1n);
      const requesterBefore = await holdings(requester);
      await hub.connect(scheduler).fail(
        dealId,
        0,
        Outcome.NoConsensus,
        w.slice(0, 8).map((s) => s.address),
      );
      const share = (2n * STAKE) / 3n;
      for (const i of [0, 1, 2]) expect(await holdings(w[i]!)).to.equal(1000n * TOKEN + share);
      for (const i of [3, 4]) expect(await holdings(w[i]!)).to.equal(1000n * TOKEN - STAKE);
      // Commitments of the open round could not be revealed yet: returned.
      for (const i of [5, 6, 7]) expect(await holdings(w[i]!)).to.equal(1000n * TOKEN);
      expect(await holdings(requester)).to.equal(requesterBefore);
      expect(await hub.balanceOf(TREASURY)).to.equal(2n * STAKE - share * 3n);
    });

    it("a scheduler that never finalizes cannot keep revealers from their pay", async function () {
      const { hub } = market;
      const [w0, w1] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n });
      const good = digestOf("ok");
      await contribute(market, dealId, 0n, w0!, good);
      await contribute(market, dealId, 0n, w1!, good);
      await reveal(market, dealId, 0n, w0!, good);
      await reveal(market, dealId, 0n, w1!, good);
      // The scheduler disappears; past the final deadline a refund is refused: the result is paid for.
      await networkHelpers.time.increase(10 * TIMEREF + 1);
      await expect(hub.claim(dealId, 0, [w0!.address, w1!.address]))
        .to.be.revertedWithCustomError(hub, "TaskConsensusReached")
        .withArgs(await hub.taskId(dealId, 0));
      await expect(hub.connect(w1).finalize(dealId, 0, "0x", [w0!.address, w1!.address]))
        .to.emit(hub, "TaskEnded")
        .withArgs(dealId, await hub.taskId(dealId, 0), 0, Outcome.Completed, good, "0x");
      expect(await holdings(w0!)).to.equal(1000n * TOKEN + (WORKERPOOL_PRICE * 90n) / 100n / 2n);
    });

    it("every consensus margin docs/protocol.md states holds on the hub", async function () {
      const w = market.workers;
      /** Runs one round of `votes` at `trust` (new workers) and says whether the reveals decided it. */
      async function decides(trust: bigint, votes: string[], extraRound: string[] = []): Promise<boolean> {
        const { dealId } = await matchDeal(market, { trust });
        const taskId = await market.hub.taskId(dealId, 0);
        const all = [...votes, ...extraRound];
        for (let i = 0; i < votes.length; i++) await contribute(market, dealId, 0n, w[i]!, digestOf(votes[i]!));
        for (let i = 0; i < votes.length; i++) await reveal(market, dealId, 0n, w[i]!, digestOf(votes[i]!));
        for (let i = votes.length; i < all.length; i++) await contribute(market, dealId, 0n, w[i]!, digestOf(all[i]!));
        const t = await market.hub.task(taskId);
        if (extraRound.length === 0 || t.status !== 2n) return t.decided;
        for (let i = votes.length; i < all.length; i++) await reveal(market, dealId, 0n, w[i]!, digestOf(all[i]!));
        return (await market.hub.task(taskId)).decided;
      }
      expect(await decides(2n, ["a"])).to.equal(true); // trust 2: one new worker (2*2 > 3*1)
      expect(await decides(3n, ["a", "a"])).to.equal(true); // trust 3: two agreeing (4*3 > 5*2)
      expect(await decides(3n, ["a", "b"], ["a", "a"])).to.equal(true); // three against one (8*3 > 11*2)
      expect(await decides(3n, ["a", "b"], ["a"])).to.equal(false); // two against one (4*3 < 7*2)
      // Trust 20: five agreeing against one do NOT reach it (32*20 = 640 < 35*19 = 665); six do (1280 > 1273).
      expect(await decides(20n, ["a", "a", "a", "a", "b"], ["a"])).to.equal(false);
      expect(await decides(20n, ["a", "a", "a", "a", "b"], ["a", "a"])).to.equal(true);
    });
  });

  describe("6. nondeterministic apps are declared, not discovered", function () {
    it("refuses replication of an app registered as non-deterministic, with a clear error", async function () {
      const { hub, registry, appOwner, scheduler } = market;
      await registry.connect(appOwner).registerApp("dice", "127.0.0.1:5000/dice", IMAGE_DIGEST, 3, false, RESOURCES);
      const dice = await registry.appId(appOwner.address, "dice");
      expect((await registry.app(dice)).deterministic).to.equal(false);
      for (const trust of [1n, 2n]) {
        const orders = {
          app: appOrder(market, { app: dice }),
          workerpool: workerpoolOrder(market),
          request: requestOrder(market, { app: dice, trust }),
        };
        const matching = matchAs(scheduler, orders);
        if (trust === 1n) await expect(matching).to.emit(hub, "DealCreated");
        else await expect(matching).to.be.revertedWithCustomError(hub, "MatchAppNotDeterministic").withArgs(dice, 2n);
      }
    });
  });
});
