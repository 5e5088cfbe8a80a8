import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import { ZeroAddress, ZeroHash, toUtf8Bytes } from "ethers";

import {
  APP_PRICE,
  DATASET_PRICE,
  NO_ENERGY,
  TOKEN,
  TREASURY,
  WORKERPOOL_PRICE,
  authorize,
  buildScore,
  contribute,
  deployHub,
  deployMarket,
  ethers,
  digestOf,
  fund,
  matchDeal,
  networkHelpers,
  reveal,
  type Market,
} from "./helpers/fixture.js";

const Outcome = { None: 0n, Completed: 1n, ExpiredUnstarted: 2n, ExpiredNoConsensus: 3n, ExpiredUnrevealed: 4n };
const Status = { Unset: 0, Active: 1, Revealing: 2 };
const TIMEREF = 300; // category 0
const STAKE = (WORKERPOOL_PRICE * 30n) / 100n; // worker stake ratio 30 %
const SCHEDULER_STAKE = (WORKERPOOL_PRICE * 30n) / 100n;
const WORKERS_SHARE = (WORKERPOOL_PRICE * 90n) / 100n; // scheduler keeps 10 %
const CID = "0x" + Buffer.from("bafkreigh2akiscaildc").toString("hex");

describe("task lifecycle", function () {
  let market: Market;

  beforeEach(async function () {
    market = await networkHelpers.loadFixture(deployMarket);
  });

  async function balances() {
    const { hub } = market;
    const accounts = [market.requester, market.appOwner, market.datasetOwner, market.scheduler, ...market.workers.slice(0, 5)];
    return Promise.all(
      accounts.map(async (a) => ({ balance: await hub.balanceOf(a.address), locked: await hub.lockedOf(a.address) })),
    );
  }

  describe("trust 1: submitResult", function () {
    it("completes the task in one transaction and pays everyone", async function () {
      const { hub, requester, appOwner, scheduler } = market;
      const worker = market.workers[0]!;
      const { dealId } = await matchDeal(market);
      const taskId = await hub.taskId(dealId, 0);
      const digest = digestOf("result");
      const before = await balances();
      await expect(
        hub
          .connect(worker)
          .submitResult(
            dealId,
            0,
            digest,
            CID,
            { milliwattHours: 2400, solarShareBps: 9000 },
            await authorize(market, taskId, worker.address),
          ),
      )
        .to.emit(hub, "ContributionAccepted")
        .withArgs(taskId, worker.address, digest, 2400, 9000)
        .and.to.emit(hub, "TaskEnded")
        .withArgs(dealId, taskId, 0, Outcome.Completed, digest, CID);
      expect(await hub.taskOutcome(dealId, 0)).to.equal(Outcome.Completed);
      expect(await hub.lockedOf(requester.address)).to.equal(before[0]!.locked - APP_PRICE - WORKERPOOL_PRICE);
      expect(await hub.balanceOf(appOwner.address)).to.equal(APP_PRICE);
      expect(await hub.balanceOf(worker.address)).to.equal(before[4]!.balance + WORKERS_SHARE);
      expect(await hub.balanceOf(scheduler.address)).to.equal(
        before[3]!.balance + WORKERPOOL_PRICE - WORKERS_SHARE + SCHEDULER_STAKE,
      );
      expect(await hub.lockedOf(scheduler.address)).to.equal(0n);
    });

    it("pays the dataset owner when the deal has a dataset", async function () {
      const worker = market.workers[0]!;
      const { dealId } = await matchDeal(market, {}, true);
      const taskId = await market.hub.taskId(dealId, 0);
      await market.hub
        .connect(worker)
        .submitResult(dealId, 0, digestOf("r"), CID, NO_ENERGY, await authorize(market, taskId, worker.address));
      expect(await market.hub.balanceOf(market.datasetOwner.address)).to.equal(DATASET_PRICE);
      expect(await market.hub.lockedOf(market.requester.address)).to.equal(0n);
    });

    it("completes each task of a batch once, and never twice", async function () {
      const worker = market.workers[1]!;
      const { dealId } = await matchDeal(market, { volume: 10n });
      for (let index = 0n; index < 10n; index++) {
        const taskId = await market.hub.taskId(dealId, index);
        await market.hub
          .connect(worker)
          .submitResult(dealId, index, digestOf(`r${index}`), CID, NO_ENERGY, await authorize(market, taskId, worker.address));
      }
      expect(await market.hub.lockedOf(market.requester.address)).to.equal(0n);
      const taskId = await market.hub.taskId(dealId, 3);
      await expect(
        market.hub
          .connect(worker)
          .submitResult(dealId, 3, digestOf("again"), CID, NO_ENERGY, await authorize(market, taskId, worker.address)),
      )
        .to.be.revertedWithCustomError(market.hub, "TaskAlreadyEnded")
        .withArgs(taskId, Outcome.Completed);
      await expect(market.hub.claim(dealId, 3, [])).to.be.revertedWithCustomError(market.hub, "TaskAlreadyEnded");
      await expect(market.hub.connect(worker).submitResult(dealId, 10, digestOf("x"), CID, NO_ENERGY, "0x"))
        .to.be.revertedWithCustomError(market.hub, "TaskIndexOutOfRange")
        .withArgs(dealId, 10, 10);
    });

    it("lets the scheduler submit without an authorization", async function () {
      const { dealId } = await matchDeal(market);
      await expect(market.hub.connect(market.scheduler).submitResult(dealId, 0, digestOf("r"), CID, NO_ENERGY, "0x")).to.emit(
        market.hub,
        "TaskEnded",
      );
    });

    it("refuses unauthorized workers, replayed authorizations and bad receipts", async function () {
      const [worker, other] = market.workers;
      const { dealId } = await matchDeal(market, { volume: 2n });
      const taskId = await market.hub.taskId(dealId, 0);
      const forWorker = await authorize(market, taskId, worker!.address);
      await expect(market.hub.connect(other).submitResult(dealId, 0, digestOf("r"), CID, NO_ENERGY, forWorker))
        .to.be.revertedWithCustomError(market.hub, "TaskUnauthorizedWorker")
        .withArgs(taskId, other!.address, market.scheduler.address);
      // An authorization for task 0 does not work for task 1.
      await expect(
        market.hub.connect(worker).submitResult(dealId, 1, digestOf("r"), CID, NO_ENERGY, forWorker),
      ).to.be.revertedWithCustomError(market.hub, "TaskUnauthorizedWorker");
      await expect(
        market.hub
          .connect(worker)
          .submitResult(dealId, 0, digestOf("r"), CID, { milliwattHours: 1, solarShareBps: 10_001 }, forWorker),
      )
        .to.be.revertedWithCustomError(market.hub, "TaskInvalidEnergyReceipt")
        .withArgs(10_001);
      await expect(market.hub.connect(worker).submitResult(ZeroHash, 0, digestOf("r"), CID, NO_ENERGY, forWorker))
        .to.be.revertedWithCustomError(market.hub, "TaskUnknownDeal")
        .withArgs(ZeroHash);
    });

    it("refuses the replicated path and late results", async function () {
      const worker = market.workers[0]!;
      const { dealId } = await matchDeal(market);
      const taskId = await market.hub.taskId(dealId, 0);
      await expect(contribute(market, dealId, 0n, worker, digestOf("r")))
        .to.be.revertedWithCustomError(market.hub, "TaskWrongTrustPath")
        .withArgs(taskId, 1);
      const deal = await market.hub.deal(dealId);
      await networkHelpers.time.increaseTo(deal.startDeadline + 1n);
      await expect(
        market.hub
          .connect(worker)
          .submitResult(dealId, 0, digestOf("r"), CID, NO_ENERGY, await authorize(market, taskId, worker.address)),
      )
        .to.be.revertedWithCustomError(market.hub, "TaskDeadlinePassed")
        .withArgs(taskId, deal.startDeadline);
    });
  });

  describe("refunds", function () {
    it("refunds an unstarted task after the start deadline; the scheduler's stake goes to the treasury", async function () {
      const { hub, requester, scheduler } = market;
      const { dealId } = await matchDeal(market, { volume: 3n });
      const before = await balances();
      const deal = await hub.deal(dealId);
      await expect(hub.claim(dealId, 0, []))
        .to.be.revertedWithCustomError(hub, "TaskDeadlineNotReached")
        .withArgs(await hub.taskId(dealId, 0), deal.startDeadline);
      await networkHelpers.time.increaseTo(deal.startDeadline + 1n);
      await expect(hub.connect(market.stranger).claim(dealId, 0, []))
        .to.emit(hub, "TaskEnded")
        .withArgs(dealId, await hub.taskId(dealId, 0), 0, Outcome.ExpiredUnstarted, ZeroHash, "0x");
      const taskPrice = APP_PRICE + WORKERPOOL_PRICE;
      // Exactly its payment back: a requester who never publishes its params earns nothing.
      expect(await hub.balanceOf(requester.address)).to.equal(before[0]!.balance + taskPrice);
      expect(await hub.lockedOf(scheduler.address)).to.equal(before[3]!.locked - SCHEDULER_STAKE);
      expect(await hub.balanceOf(TREASURY)).to.equal(SCHEDULER_STAKE);
      // The rest in one call; the claimed one is skipped.
      await expect(hub.claimUnstarted(dealId, 0, 3)).to.emit(hub, "TaskEnded");
      expect(await hub.lockedOf(requester.address)).to.equal(0n);
      expect(await hub.lockedOf(scheduler.address)).to.equal(0n);
      expect(await hub.balanceOf(TREASURY)).to.equal(3n * SCHEDULER_STAKE);
      expect(await hub.taskOutcome(dealId, 2)).to.equal(Outcome.ExpiredUnstarted);
      await expect(hub.claimUnstarted(dealId, 0, 4))
        .to.be.revertedWithCustomError(hub, "TaskInvalidRange")
        .withArgs(dealId, 0, 4);
      await expect(hub.claimUnstarted(ZeroHash, 0, 1)).to.be.revertedWithCustomError(hub, "TaskUnknownDeal");
    });

    it("claimUnstarted waits for the start deadline and skips started tasks", async function () {
      const { hub } = market;
      const { dealId } = await matchDeal(market, { volume: 2n, trust: 3n });
      await expect(hub.claimUnstarted(dealId, 0, 2)).to.be.revertedWithCustomError(hub, "TaskDeadlineNotReached");
      await contribute(market, dealId, 0n, market.workers[0]!, digestOf("r"));
      const deal = await hub.deal(dealId);
      await networkHelpers.time.increaseTo(deal.startDeadline + 1n);
      const refunded = await hub.claimUnstarted.staticCall(dealId, 0, 2);
      expect(refunded).to.equal(1n);
      await hub.claimUnstarted(dealId, 0, 2);
      expect(await hub.taskOutcome(dealId, 0)).to.equal(Outcome.None);
    });
  });

  describe("trust 3: hidden commitments, reveal, finalize", function () {
    it("a split round starts another; the dishonest minority is slashed and the honest majority paid", async function () {
      const { hub, scheduler } = market;
      const [w0, w1, w2, w3] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n });
      const taskId = await hub.taskId(dealId, 0);
      const good = digestOf("42");
      const bad = digestOf("41");
      const before = await balances();

      await expect(contribute(market, dealId, 0n, w0!, good)).to.emit(hub, "TaskStarted");
      // Two new workers (2 * 2 = 4 against 1 + 4): could reach trust 3 if they agree, so the window closes.
      await expect(contribute(market, dealId, 0n, w1!, bad))
        .to.emit(hub, "RevealOpened")
        .withArgs(taskId, 0, anyValue);
      expect(await hub.lockedOf(w1!.address)).to.equal(STAKE);
      await expect(contribute(market, dealId, 0n, w2!, good))
        .to.be.revertedWithCustomError(hub, "TaskWrongStatus")
        .withArgs(taskId, Status.Revealing);
      // A reveal must open the caller's own commitment.
      await expect(reveal(market, dealId, 0n, w1!, good))
        .to.be.revertedWithCustomError(hub, "TaskInvalidReveal")
        .withArgs(taskId, w1!.address);
      await expect(hub.connect(w1).reveal(dealId, 0, bad, ZeroHash, CID)).to.be.revertedWithCustomError(hub, "TaskInvalidReveal");
      await expect(reveal(market, dealId, 0n, w0!, good, "bafy-good"))
        .to.emit(hub, "ContributionRevealed")
        .withArgs(taskId, w0!.address, good, toUtf8Bytes("bafy-good"));
      await expect(reveal(market, dealId, 0n, w0!, good)).to.be.revertedWithCustomError(hub, "TaskInvalidReveal");
      // 2 against 2: a tie holds no consensus, a new round starts.
      await expect(reveal(market, dealId, 0n, w1!, bad))
        .to.emit(hub, "TaskReopened")
        .withArgs(taskId, 1);
      let t = await hub.task(taskId);
      expect(t.status).to.equal(Status.Active);
      expect(t.totalWeight).to.equal(5n);
      expect(t.bestTied).to.equal(true);

      await contribute(market, dealId, 0n, w2!, good);
      expect((await hub.task(taskId)).status).to.equal(Status.Active);
      // If both agree with the best group: 2 * 2 * 2 = 8 against 1 + 8 + 2 = 11; 24 > 22.
      await expect(contribute(market, dealId, 0n, w3!, good))
        .to.emit(hub, "RevealOpened")
        .withArgs(taskId, 1, anyValue);
      await reveal(market, dealId, 0n, w2!, good);
      await expect(reveal(market, dealId, 0n, w3!, good))
        .to.emit(hub, "ConsensusReached")
        .withArgs(taskId, good);
      t = await hub.task(taskId);
      expect(t.decided).to.equal(true);
      expect(t.bestWeight).to.equal(8n);
      expect(t.totalWeight).to.equal(11n);

      const contributors = [w0!.address, w1!.address, w2!.address, w3!.address];
      await expect(hub.connect(w0).finalize(dealId, 0, CID, contributors))
        .to.be.revertedWithCustomError(hub, "TaskDeadlineNotReached")
        .withArgs(taskId, t.revealDeadline);
      await expect(hub.connect(scheduler).finalize(dealId, 0, CID, [w1!.address, w0!.address, w2!.address, w3!.address]))
        .to.be.revertedWithCustomError(hub, "TaskInvalidContributors")
        .withArgs(taskId);
      await expect(hub.connect(scheduler).finalize(dealId, 0, CID, contributors.slice(1))).to.be.revertedWithCustomError(
        hub,
        "TaskInvalidContributors",
      );
      await expect(hub.connect(scheduler).finalize(dealId, 0, CID, contributors))
        .to.emit(hub, "TaskEnded")
        .withArgs(dealId, taskId, 0, Outcome.Completed, good, CID);

      const share = (WORKERS_SHARE + STAKE) / 3n;
      const dust = WORKERS_SHARE + STAKE - share * 3n;
      const after = await balances();
      for (const i of [4, 6, 7]) {
        expect(after[i]!.balance).to.equal(before[i]!.balance + share);
        expect(after[i]!.locked).to.equal(0n);
      }
      expect(after[5]!.balance).to.equal(before[5]!.balance - STAKE);
      expect(after[5]!.locked).to.equal(0n);
      expect(after[3]!.balance).to.equal(before[3]!.balance + WORKERPOOL_PRICE - WORKERS_SHARE + dust + SCHEDULER_STAKE);
      expect(after[1]!.balance).to.equal(APP_PRICE);
      expect(after[0]!.locked).to.equal(0n);
      expect(await hub.scoreOf(scheduler.address, w0!.address)).to.equal(1n);
      expect(await hub.scoreOf(scheduler.address, w1!.address)).to.equal(0n);
      await expect(hub.connect(scheduler).finalize(dealId, 0, CID, contributors)).to.be.revertedWithCustomError(
        hub,
        "TaskAlreadyEnded",
      );
      await networkHelpers.time.increase(100 * TIMEREF);
      await expect(hub.claim(dealId, 0, contributors))
        .to.be.revertedWithCustomError(hub, "TaskAlreadyEnded")
        .withArgs(taskId, Outcome.Completed);
    });

    it("two agreeing new workers: decided at the second reveal, finalized at once", async function () {
      const { hub, scheduler } = market;
      const [w0, w1] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n });
      const taskId = await hub.taskId(dealId, 0);
      const good = digestOf("ok");
      await contribute(market, dealId, 0n, w0!, good);
      await contribute(market, dealId, 0n, w1!, good);
      await reveal(market, dealId, 0n, w0!, good);
      const { revealDeadline } = await hub.task(taskId);
      await expect(hub.connect(scheduler).finalize(dealId, 0, CID, [w0!.address, w1!.address]))
        .to.be.revertedWithCustomError(hub, "TaskDeadlineNotReached")
        .withArgs(taskId, revealDeadline);
      await reveal(market, dealId, 0n, w1!, good);
      await hub.connect(scheduler).finalize(dealId, 0, CID, [w0!.address, w1!.address]);
      expect(await hub.balanceOf(w0!.address)).to.equal(1000n * TOKEN + WORKERS_SHARE / 2n);
    });

    it("a silent contributor: its round is reopened by anyone, it cannot reveal later and loses its stake", async function () {
      const { hub, scheduler } = market;
      const [w0, w1, w2] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n });
      const taskId = await hub.taskId(dealId, 0);
      const good = digestOf("ok");
      await contribute(market, dealId, 0n, w0!, good);
      await contribute(market, dealId, 0n, w1!, good);
      await reveal(market, dealId, 0n, w0!, good);
      await expect(hub.connect(market.stranger).reopen(dealId, 0)).to.be.revertedWithCustomError(hub, "TaskDeadlineNotReached");
      await networkHelpers.time.increase(2 * TIMEREF + 1);
      await expect(reveal(market, dealId, 0n, w1!, good)).to.be.revertedWithCustomError(hub, "TaskDeadlinePassed");
      // One new worker's reveal (2 against 3) does not hold trust 3.
      await expect(hub.connect(market.stranger).finalize(dealId, 0, CID, [w0!.address, w1!.address]))
        .to.be.revertedWithCustomError(hub, "TaskNoConsensus")
        .withArgs(taskId);
      await expect(hub.connect(market.stranger).reopen(dealId, 0)).to.emit(hub, "TaskReopened").withArgs(taskId, 1);
      await expect(hub.connect(market.stranger).reopen(dealId, 0)).to.be.revertedWithCustomError(hub, "TaskWrongStatus");
      await expect(contribute(market, dealId, 0n, w1!, good))
        .to.be.revertedWithCustomError(hub, "TaskAlreadyContributed")
        .withArgs(taskId, w1!.address);
      await contribute(market, dealId, 0n, w2!, good);
      await expect(reveal(market, dealId, 0n, w1!, good)).to.be.revertedWithCustomError(hub, "TaskInvalidReveal");
      await expect(reveal(market, dealId, 0n, w2!, good)).to.emit(hub, "ConsensusReached");
      await hub.connect(scheduler).finalize(dealId, 0, CID, [w0!.address, w1!.address, w2!.address]);
      const pool = WORKERS_SHARE + STAKE;
      expect(await hub.balanceOf(w0!.address)).to.equal(1000n * TOKEN + pool / 2n);
      expect(await hub.balanceOf(w1!.address)).to.equal(1000n * TOKEN - STAKE);
      expect(await hub.lockedOf(w1!.address)).to.equal(0n);
    });

    it("without consensus, refunds after the final deadline counted from the task's start", async function () {
      const { hub, scheduler } = market;
      const [w0, w1, w2] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n, volume: 2n });
      const taskId = await hub.taskId(dealId, 1);
      // The task starts late in the deal's start window: its deadlines are its own.
      await networkHelpers.time.increase(9 * TIMEREF);
      await contribute(market, dealId, 1n, w0!, digestOf("a"));
      const startTime = (await hub.task(taskId)).startTime;
      await expect(reveal(market, dealId, 1n, w0!, digestOf("a"))).to.be.revertedWithCustomError(hub, "TaskWrongStatus");
      await contribute(market, dealId, 1n, w1!, digestOf("b"));
      await reveal(market, dealId, 1n, w0!, digestOf("a"));
      await reveal(market, dealId, 1n, w1!, digestOf("b"));
      await networkHelpers.time.increaseTo(startTime + BigInt(7 * TIMEREF) + 1n);
      await expect(contribute(market, dealId, 1n, w2!, digestOf("a")))
        .to.be.revertedWithCustomError(hub, "TaskDeadlinePassed")
        .withArgs(taskId, startTime + BigInt(7 * TIMEREF));
      await expect(hub.claim(dealId, 1, [w0!.address, w1!.address]))
        .to.be.revertedWithCustomError(hub, "TaskDeadlineNotReached")
        .withArgs(taskId, startTime + BigInt(10 * TIMEREF));
      await networkHelpers.time.increaseTo(startTime + BigInt(10 * TIMEREF) + 1n);
      await expect(hub.claim(dealId, 1, [w0!.address])).to.be.revertedWithCustomError(hub, "TaskInvalidContributors");
      await expect(hub.claim(dealId, 1, [w0!.address, w1!.address]))
        .to.emit(hub, "TaskEnded")
        .withArgs(dealId, taskId, 1, Outcome.ExpiredNoConsensus, ZeroHash, "0x");
      // A tie: nobody can tell who was right, both get their stake back.
      expect(await hub.lockedOf(w0!.address)).to.equal(0n);
      expect(await hub.balanceOf(w0!.address)).to.equal(1000n * TOKEN);
      expect(await hub.balanceOf(w1!.address)).to.equal(1000n * TOKEN);
      await expect(hub.connect(scheduler).finalize(dealId, 1, CID, [])).to.be.revertedWithCustomError(hub, "TaskAlreadyEnded");
    });

    it("at the final deadline, a withheld reveal is refunded and its stake goes to the revealer", async function () {
      const { hub } = market;
      const [w0, w1] = market.workers;
      const { dealId } = await matchDeal(market, { trust: 3n });
      const good = digestOf("ok");
      await contribute(market, dealId, 0n, w0!, good);
      await contribute(market, dealId, 0n, w1!, good);
      await reveal(market, dealId, 0n, w0!, good);
      await networkHelpers.time.increase(10 * TIMEREF + 1);
      await expect(hub.claim(dealId, 0, [w0!.address, w1!.address]))
        .to.emit(hub, "TaskEnded")
        .withArgs(dealId, await hub.taskId(dealId, 0), 0, Outcome.ExpiredUnrevealed, ZeroHash, "0x");
      expect(await hub.balanceOf(w0!.address)).to.equal(1000n * TOKEN + STAKE);
      expect(await hub.balanceOf(w1!.address)).to.equal(1000n * TOKEN - STAKE);
      expect(await hub.lockedOf(market.requester.address)).to.equal(0n);
    });

    it("refuses zero commitments, duplicates and a ninth contributor", async function () {
      const { hub } = market;
      const { dealId } = await matchDeal(market, { trust: 20n });
      const taskId = await hub.taskId(dealId, 0);
      const w = market.workers;
      await expect(hub.connect(w[0]).contribute(dealId, 0, ZeroHash, NO_ENERGY, await authorize(market, taskId, w[0]!.address)))
        .to.be.revertedWithCustomError(hub, "TaskInvalidCommitment")
        .withArgs(taskId);
      // Five new workers could reach trust 20 (32 * 20 > 33 * 19): the window closes; all disagree.
      for (let i = 0; i < 5; i++) await contribute(market, dealId, 0n, w[i]!, digestOf(`r${i}`));
      for (let i = 0; i < 5; i++) await reveal(market, dealId, 0n, w[i]!, digestOf(`r${i}`));
      expect((await hub.task(taskId)).round).to.equal(1);
      await expect(contribute(market, dealId, 0n, w[0]!, digestOf("again"))).to.be.revertedWithCustomError(
        hub,
        "TaskAlreadyContributed",
      );
      for (let i = 5; i < 8; i++) await contribute(market, dealId, 0n, w[i]!, digestOf("r0"));
      await fund(market, w[8]!, STAKE);
      await expect(contribute(market, dealId, 0n, w[8]!, digestOf("r0")))
        .to.be.revertedWithCustomError(hub, "TaskTooManyContributors")
        .withArgs(taskId, 8);
    });

    it("refuses starts after the deal's start deadline", async function () {
      const { hub } = market;
      const { dealId } = await matchDeal(market, { trust: 3n });
      const deal = await hub.deal(dealId);
      await networkHelpers.time.increaseTo(deal.startDeadline + 1n);
      await expect(contribute(market, dealId, 0n, market.workers[0]!, digestOf("late")))
        .to.be.revertedWithCustomError(hub, "TaskDeadlinePassed")
        .withArgs(await hub.taskId(dealId, 0), deal.startDeadline);
    });

    it("needs the worker's stake in escrow", async function () {
      const { hub } = market;
      const broke = market.stranger;
      const { dealId } = await matchDeal(market, { trust: 3n });
      await expect(contribute(market, dealId, 0n, broke, digestOf("r")))
        .to.be.revertedWithCustomError(hub, "EscrowInsufficientBalance")
        .withArgs(broke.address, 0, STAKE);
    });

    it("weighs reputation earned in the pool: a trusted worker reaches trust 3 alone", async function () {
      const { hub } = market;
      const [w0] = market.workers;
      await buildScore(market, w0!, 12);
      expect(await hub.scoreOf(market.scheduler.address, w0!.address)).to.equal(12n);
      // Weight max(12/3, 3) - 1 = 3: 3 * 3 > 4 * 2, so one contribution closes the window and decides.
      const { dealId } = await matchDeal(market, { trust: 3n });
      await expect(contribute(market, dealId, 0n, w0!, digestOf("solo"))).to.emit(hub, "RevealOpened");
      await expect(reveal(market, dealId, 0n, w0!, digestOf("solo"))).to.emit(hub, "ConsensusReached");
    });
  });

  it("refuses a deployment without a treasury or with free scores", async function () {
    const token = await market.token.getAddress();
    const registry = await market.registry.getAddress();
    const factory = await ethers.getContractFactory("SunpoolHub");
    await expect(deployHub(token, registry, ZeroAddress)).to.be.revertedWithCustomError(factory, "TaskInvalidTreasury");
    await expect(deployHub(token, registry, TREASURY, 0n)).to.be.revertedWithCustomError(factory, "TaskInvalidMinScoredStake");
    expect(await market.hub.treasury()).to.equal(TREASURY);
  });

  it("returns an authorization digest that the scheduler's signature recovers to", async function () {
    const { hub } = market;
    const { dealId } = await matchDeal(market);
    const taskId = await hub.taskId(dealId, 0);
    const worker = market.workers[0]!.address;
    const { ethers } = await import("./helpers/fixture.js");
    const recovered = ethers.recoverAddress(
      await hub.authorizationDigest(taskId, worker),
      await authorize(market, taskId, worker),
    );
    expect(recovered).to.equal(market.scheduler.address);
  });
});
