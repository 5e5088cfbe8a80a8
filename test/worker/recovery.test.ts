// Kill -9 at every step of a task, then restart: `sunpool-worker` runs as a real process and kills
// itself with SIGKILL at a failpoint (agent/failpoints.ts) — the instant a power cut could strike.
// After a restart the task must complete with exactly one contribution and one reveal from this
// worker, the journal must say done, and no container may be left behind. For a replicated task
// the salt journaled before the cut is the one that opens the commitment on-chain, and the reveal
// carries the published location. A worker down until its lease ran out gets its task offered
// again and completes it the same way. A worker cut off while its round reveals, and whose task is
// reopened meanwhile, must not try to reveal its void commitment.
import { join } from "node:path";

import { expect } from "chai";
import { parseUnits, toUtf8String } from "ethers";

import { deposit } from "../../sdk/src/actions/account.js";
import { run } from "../../sdk/src/actions/run.js";
import type { SchedulerClient } from "../../sdk/src/scheduler/client.js";
import { FAILPOINTS } from "../../worker/src/agent/failpoints.js";
import { commitmentOf } from "../../worker/src/chain/contributions.js";
import { findTaskContainers } from "../../worker/src/executor/recovery.js";
import { Journal, type JournaledTask } from "../../worker/src/journal/journal.js";
import { dockerClient, ensureDocker } from "../helpers/docker.js";
import { until } from "../helpers/wait.js";
import { startMarket, startPoolScheduler, SUN, type TestMarket } from "../sdk/helpers/market.js";
import { prepareWorkerFolder, publishPoolOrders, registerWordcountApp, spawnWorkerCli } from "./helpers.js";

const WORKER = 8;

describe("worker agent: kill -9 at each step, then restart", function () {
  this.timeout(600_000);
  let market: TestMarket;
  let appId: string;

  before(async function () {
    await ensureDocker();
    market = await startMarket();
    appId = await registerWordcountApp(market);
    const deployer = await market.client(0);
    await (await deployer.token.transfer(market.chain.wallet(WORKER).address, parseUnits("100", 18))).wait();
    await deposit(await market.client(WORKER), { amount: 10n * SUN });
    await deposit(await market.client(1), { amount: 100n * SUN });
  });

  after(async function () {
    await market.stop();
  });

  /** The one task in a worker's journal (read while the worker is down or beside it: WAL). */
  function journaledTask(dataDir: string): JournaledTask | undefined {
    const journal = new Journal(join(dataDir, "journal.sqlite"));
    try {
      return journal.recent(1)[0];
    } finally {
      journal.close();
    }
  }

  /** With `downUntilLost`, the worker stays down until that scheduler took the task back (its lease ran out). */
  async function killedAt(
    trust: number,
    failpoint: string,
    book: SchedulerClient,
    schedulerUrl: string,
    downUntilLost?: Awaited<ReturnType<typeof startPoolScheduler>>,
  ) {
    const { config, configPath } = await prepareWorkerFolder(market, schedulerUrl, WORKER);
    const first = spawnWorkerCli(["start", "--config", configPath], { SUNPOOL_WORKER_FAILPOINT: failpoint });
    const requester = await market.client(1);
    const { hub } = requester;
    const address = market.chain.wallet(WORKER).address;
    const outcome = run(requester, { scheduler: book, app: appId, trust, params: { args: [failpoint] }, timeoutMs: 120_000 });
    outcome.catch(() => undefined); // awaited below; a failure above must not leave it unhandled
    expect(await first.exited, `the worker killed itself at ${failpoint}`).to.equal("SIGKILL");

    // What the cut left: from "sending" on, the salt is on disk; at "sending" nothing is on-chain yet.
    const cut = journaledTask(config.dataDir);
    const journaledBeforeSend = FAILPOINTS.indexOf(failpoint as never) >= FAILPOINTS.indexOf("sending");
    if (trust > 1 && journaledBeforeSend) {
      expect(cut?.salt, "the salt is journaled before the contribution is sent").to.match(/^0x[0-9a-f]{64}$/);
      const landed = await hub.queryFilter(hub.filters.ContributionAccepted(cut!.taskId, address), 0);
      expect(landed, "contributions on-chain at the cut").to.have.length(failpoint === "sending" ? 0 : 1);
    } else if (cut !== undefined) {
      expect(cut.salt, "no salt for a trust-1 task or before contributing").to.equal(undefined);
    }

    if (downUntilLost !== undefined) {
      await until("the pool to take the task back", async () =>
        (await downUntilLost.pool.replica(cut!.taskId, address))?.state === "lost" ? true : undefined,
      );
    }

    const second = spawnWorkerCli(["start", "--config", configPath]);
    try {
      const { tasks } = await outcome;
      const [task] = tasks;
      expect(task!.outcome).to.equal("completed");
      const contributions = await hub.queryFilter(hub.filters.ContributionAccepted(task!.taskId, address), 0);
      expect(contributions).to.have.length(1);
      const reveals = await hub.queryFilter(hub.filters.ContributionRevealed(task!.taskId, address), 0);
      expect(reveals).to.have.length(trust > 1 ? 1 : 0);
      if (trust > 1) {
        const done = journaledTask(config.dataDir)!;
        // The same salt before and after the cut, and it opens the commitment that landed.
        if (journaledBeforeSend) expect(done.salt).to.equal(cut!.salt);
        expect(contributions[0]!.args.commitment).to.equal(commitmentOf(task!.taskId, task!.resultDigest!, address, done.salt!));
        expect(reveals[0]!.args.resultDigest).to.equal(task!.resultDigest);
        expect(toUtf8String(reveals[0]!.args.resultLocation)).to.equal(done.location);
      }
      // The restarted worker finishes its own bookkeeping (e.g. revealed -> done) even when the
      // task ended on-chain first; then it stops cleanly on SIGTERM.
      const journal = new Journal(join(config.dataDir, "journal.sqlite"));
      try {
        const done = await until("the restarted worker's journal to reach done", () => {
          const entry = journal.get(task!.taskId);
          return entry?.step === "done" ? entry : undefined;
        });
        expect(done).to.include({ step: "done", digest: task!.resultDigest });
        expect(journal.open()).to.deep.equal([]);
      } finally {
        journal.close();
      }
      second.child.kill("SIGTERM");
      expect(await second.exited).to.equal(0);
      expect((await findTaskContainers(dockerClient())).filter((c) => c.taskId === task!.taskId)).to.deep.equal([]);
    } finally {
      second.child.kill("SIGKILL");
    }
  }

  // The restarted worker must find its task still leased to it: a restart under load (a new process,
  // its journal, the engine) can outlast the default three 1 s heartbeats, and a lost lease is
  // another path (test/worker/leases.test.ts).
  const LEASE = { leaseHeartbeats: 20 };

  describe("trust 2 (contribute, then reveal)", function () {
    let scheduler: Awaited<ReturnType<typeof startPoolScheduler>>;
    let book: SchedulerClient;
    before(async function () {
      scheduler = await startPoolScheduler(market.chain, market.workerpoolId, LEASE);
      book = await publishPoolOrders(market, scheduler.url, appId, 2);
    });
    after(async function () {
      await scheduler.stop();
    });
    for (const failpoint of FAILPOINTS) {
      it(`killed at "${failpoint}": the task completes with one contribution and one reveal`, async function () {
        await killedAt(2, failpoint, book, scheduler.url);
      });
    }
    it(`killed at "executed" and down until its lease ran out: offered the task again, it completes it with one contribution and one reveal`, async function () {
      await killedAt(2, "executed", book, scheduler.url, scheduler);
    });
  });

  describe("trust 1 (submit)", function () {
    it(`killed after sending the submission: it is found on-chain, not sent again`, async function () {
      const scheduler = await startPoolScheduler(market.chain, market.workerpoolId, LEASE);
      try {
        const book = await publishPoolOrders(market, scheduler.url, appId, 1);
        await killedAt(1, "sent", book, scheduler.url);
      } finally {
        await scheduler.stop();
      }
    });
  });

  describe("trust 2: the task is reopened while the worker is down", function () {
    it("after the restart the void commitment is not revealed; the journal says why", async function () {
      const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
      try {
        const book = await publishPoolOrders(market, scheduler.url, appId, 2);
        const { config, configPath } = await prepareWorkerFolder(market, scheduler.url, WORKER);
        const first = spawnWorkerCli(["start", "--config", configPath], { SUNPOOL_WORKER_FAILPOINT: "committed" });
        const requester = await market.client(1);
        const { hub } = requester;
        const address = market.chain.wallet(WORKER).address;
        const controller = new AbortController();
        const running = run(requester, {
          scheduler: book,
          app: appId,
          trust: 2,
          params: { args: ["reopened"] },
          signal: controller.signal,
        }).catch((error: unknown) => error);
        expect(await first.exited, "the worker was cut after contributing").to.equal("SIGKILL");
        controller.abort(new Error("the worker is down"));
        await running;

        // One fresh worker closes a trust-2 round at once: the round reveals, without this worker.
        const cut = journaledTask(config.dataDir)!;
        expect(cut).to.include({ step: "committed", round: 0 });
        const task = await hub.task(cut.taskId);
        expect(task.status).to.equal(2n); // Revealing
        await market.chain.increaseTime(Number(task.revealDeadline) - (await latestTimestamp()) + 1);
        if ((await hub.task(cut.taskId)).round === 0n) {
          await (await (await market.client(5)).hub.reopen(cut.dealId, cut.index)).wait();
        }
        expect((await hub.task(cut.taskId)).round).to.equal(1n);
        const nonce = await market.chain.provider.getTransactionCount(address);

        const second = spawnWorkerCli(["start", "--config", configPath]);
        try {
          const after = await until("the restarted worker's journal to reach done", () => {
            const entry = journaledTask(config.dataDir);
            return entry?.step === "done" ? entry : undefined;
          });
          expect(after).to.include({ step: "done", salt: cut.salt, round: 0 });
          expect(after.reason).to.match(/^commitment void: the task was reopened \(now round 1\)/);
          expect(await hub.queryFilter(hub.filters.ContributionRevealed(cut.taskId, address), 0)).to.deep.equal([]);
          expect(await market.chain.provider.getTransactionCount(address), "no transaction sent").to.equal(nonce);
          second.child.kill("SIGTERM");
          expect(await second.exited).to.equal(0);
        } finally {
          second.child.kill("SIGKILL");
        }
      } finally {
        await scheduler.stop();
      }
    });
  });

  async function latestTimestamp(): Promise<number> {
    return (await market.chain.provider.getBlock("latest"))!.timestamp;
  }
});
