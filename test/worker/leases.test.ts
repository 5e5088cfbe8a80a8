// The agent's side of leases, end to end (real chain, scheduler, Docker and IPFS): a stopped
// agent's task goes to another worker within one lease, an agent drops a task whose offer the pool
// withdrew, and a scheduler that lost its database gets its fleet back.
import { expect } from "chai";

import { run } from "../../sdk/src/actions/run.js";
import type { SunpoolClient } from "../../sdk/src/client.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import { findTaskContainers } from "../../worker/src/executor/recovery.js";
import type { RunningWorker } from "../../worker/src/runtime.js";
import type { Scheduler } from "../../scheduler/src/service.js";
import { dockerClient, ensureDocker } from "../helpers/docker.js";
import { freePort } from "../sdk/helpers/chain.js";
import { fundParticipants, startMarket, startPoolScheduler, type TestMarket } from "../sdk/helpers/market.js";
import { until } from "../helpers/wait.js";
import { publishPoolOrders, registerWordcountApp, startTestWorker } from "./helpers.js";

const WORKERS = [6, 7];
/** The test scheduler's heartbeat (1 s) times the default three heartbeats. */
const LEASE_MS = 3000;
describe("worker agent: leases", function () {
  this.timeout(180_000);
  let market: TestMarket;
  let appId: string;
  let requester: SunpoolClient;
  let ipfs: IpfsNode;
  let workers: RunningWorker[] = [];
  let schedulers: Scheduler[] = [];
  let requests = new AbortController();

  before(async function () {
    await ensureDocker();
    market = await startMarket();
    appId = await registerWordcountApp(market);
    ipfs = await createIpfsNode();
    requester = await fundParticipants(market, WORKERS);
  });

  afterEach(async function () {
    requests.abort(new Error("the test is over"));
    requests = new AbortController();
    for (const worker of workers) await worker.stop();
    for (const scheduler of schedulers) await scheduler.stop();
    workers = [];
    schedulers = [];
  });

  after(async function () {
    await ipfs.stop();
    await market.stop();
  });

  async function scheduler(port = 0) {
    const started = await startPoolScheduler(market.chain, market.workerpoolId, { port });
    schedulers.push(started);
    const book = await publishPoolOrders(market, started.url, appId, 1);
    return { scheduler: started, book };
  }

  async function worker(url: string, account: number) {
    const started = await startTestWorker(market, url, account, { ipfs });
    workers.push(started);
    return started;
  }

  it("a stopped agent's task goes to another worker within one lease of the stop", async function () {
    const { scheduler: pool, book } = await scheduler();
    const first = await worker(pool.url, WORKERS[0]!);
    const outcome = run(requester, { scheduler: book, app: appId, params: { args: ["sleep", "6"] }, signal: requests.signal });
    const taskId = await until("the first agent to start the task", () => first.journal.open()[0]?.taskId);
    await until("the container to run", async () =>
      (await pool.pool.replica(taskId, first.agent.address))?.state === "running" ? true : undefined,
    );

    await first.stop();
    const stoppedAt = Date.now();
    workers = workers.filter((running) => running !== first);
    const second = await worker(pool.url, WORKERS[1]!);

    const [task] = (await outcome).tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.energy.map((receipt) => receipt.worker)).to.deep.equal([second.agent.address]);
    // The farewell listed the task (the agent would carry on after a restart within the lease), so
    // it was held for one lease, then handed on.
    const lost = (await pool.pool.replica(taskId, first.agent.address))!;
    expect([lost.state, lost.reason]).to.deep.equal(["lost", "the lease was not renewed"]);
    const handedOn = (await pool.pool.replica(taskId, second.agent.address))!;
    // One lease, then a pass; the slack is for a loaded machine (the failure guarded against is a
    // task held until its deadline).
    expect(handedOn.offered_at - stoppedAt).to.be.below(LEASE_MS + 5000);
    expect(pool.pool.dispatcher.isOnline(first.agent.address, stoppedAt + 1)).to.equal(false);
  });

  it("an agent drops a task whose offer the pool withdrew, stopping its container, before contributing", async function () {
    const { scheduler: pool, book } = await scheduler();
    const agent = await worker(pool.url, WORKERS[0]!);
    void run(requester, { scheduler: book, app: appId, params: { args: ["sleep", "60"] }, signal: requests.signal }).catch(
      () => undefined,
    );
    const taskId = await until("the agent to start the task", () => agent.journal.open()[0]?.taskId);
    const containerOf = async () =>
      (await findTaskContainers(dockerClient())).find(
        (container) => container.taskId === taskId && container.worker === agent.agent.address.toLowerCase(),
      );
    await until("its container", containerOf);
    const other = await worker(pool.url, WORKERS[1]!);

    // A partition long enough for the lease to run out: the pool hands the task on, to the other
    // worker (this one may get it again only once it has heard of the loss, and its record counts it).
    // The agent still heartbeats every second and each renews the lease: one landing between the
    // expiry written here and the pass undoes it, so the partition is written again until a pass
    // sees it.
    await until("the pool to declare the replica lost", async () => {
      await pool.db.run("UPDATE replicas SET lease_until = 0 WHERE task_id = ?", taskId);
      await pool.tick();
      return (await pool.pool.replica(taskId, agent.agent.address))!.state === "lost" ? true : undefined;
    });
    expect((await pool.pool.replica(taskId, other.agent.address))!.state).to.be.oneOf(["offered", "running"]);

    // The next heartbeat hears the task was revoked: the container is stopped, nothing is sent to the chain.
    const dropped = await until("the agent to drop the task", () => {
      const task = agent.journal.get(taskId);
      return task?.step === "abandoned" ? task : undefined;
    });
    expect(dropped.reason).to.equal("the pool withdrew the offer (its lease expired)");
    await until("the container to go", async () => ((await containerOf()) === undefined ? true : undefined), 15_000);
    const { hub } = requester;
    expect(await hub.queryFilter(hub.filters.ContributionAccepted(taskId), 0)).to.deep.equal([]);
  });

  it("a scheduler restarted on an empty database gets its workers back, and they complete its tasks", async function () {
    const port = await freePort();
    const { scheduler: lost } = await scheduler(port);
    const agent = await worker(lost.url, WORKERS[0]!);
    await until("registration", () => (lost.pool.isRegistered(agent.agent.address) ? true : undefined));
    await lost.stop();
    schedulers = [];

    // Same URL, new data folder: it knows nobody.
    const { scheduler: fresh, book } = await scheduler(port);
    expect(fresh.url).to.equal(lost.url);
    await until("the agent to register again", () => (fresh.pool.isRegistered(agent.agent.address) ? true : undefined), 15_000);

    const [task] = (await run(requester, { scheduler: book, app: appId, params: { args: ["again"] }, signal: requests.signal }))
      .tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.energy.map((receipt) => receipt.worker)).to.deep.equal([agent.agent.address]);
  });
});
