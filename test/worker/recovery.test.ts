// Kill -9 at every step of a task, then restart: `sunpool-worker` runs as a real process and kills
// itself with SIGKILL at a failpoint (agent/failpoints.ts) — the instant a power cut could strike.
// After a restart the task must complete with exactly one contribution and one reveal from this
// worker, the journal must say done, and no container may be left behind.
import { join } from "node:path";

import { expect } from "chai";
import { parseUnits } from "ethers";

import { deposit } from "../../sdk/src/actions/account.js";
import { run } from "../../sdk/src/actions/run.js";
import type { SchedulerClient } from "../../sdk/src/scheduler/client.js";
import { FAILPOINTS } from "../../worker/src/agent/failpoints.js";
import { findTaskContainers } from "../../worker/src/executor/recovery.js";
import { Journal } from "../../worker/src/journal/journal.js";
import { dockerClient, ensureDocker } from "../helpers/docker.js";
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

  async function killedAt(trust: number, failpoint: string, book: SchedulerClient, schedulerUrl: string) {
    const { config, configPath } = await prepareWorkerFolder(market, schedulerUrl, WORKER);
    const first = spawnWorkerCli(["start", "--config", configPath], { SUNPOOL_WORKER_FAILPOINT: failpoint });
    const requester = await market.client(1);
    const outcome = run(requester, { scheduler: book, app: appId, trust, params: { args: [failpoint] }, timeoutMs: 120_000 });
    outcome.catch(() => undefined); // awaited below; a failure above must not leave it unhandled
    expect(await first.exited, `the worker killed itself at ${failpoint}`).to.equal("SIGKILL");

    const second = spawnWorkerCli(["start", "--config", configPath]);
    try {
      const { tasks } = await outcome;
      const [task] = tasks;
      expect(task!.outcome).to.equal("completed");
      const { hub } = requester;
      const address = market.chain.wallet(WORKER).address;
      expect(await hub.queryFilter(hub.filters.ContributionAccepted(task!.taskId, address), 0)).to.have.length(1);
      expect(await hub.queryFilter(hub.filters.ContributionRevealed(task!.taskId, address), 0)).to.have.length(trust > 1 ? 1 : 0);
      // The restarted worker finishes its own bookkeeping (e.g. revealed -> done) even when the
      // task ended on-chain first; then it stops cleanly on SIGTERM.
      const journal = new Journal(join(config.dataDir, "journal.sqlite"));
      try {
        for (let i = 0; i < 150 && journal.get(task!.taskId)?.step !== "done"; i++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(journal.get(task!.taskId)).to.include({ step: "done", digest: task!.resultDigest });
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

  describe("trust 2 (contribute, then reveal)", function () {
    let scheduler: Awaited<ReturnType<typeof startPoolScheduler>>;
    let book: SchedulerClient;
    before(async function () {
      scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
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
  });

  describe("trust 1 (submit)", function () {
    it(`killed after sending the submission: it is found on-chain, not sent again`, async function () {
      const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
      try {
        const book = await publishPoolOrders(market, scheduler.url, appId, 1);
        await killedAt(1, "sent", book, scheduler.url);
      } finally {
        await scheduler.stop();
      }
    });
  });
});
