// The SDK's whole run path against a real Hardhat node, real IPFS (Helia) nodes and a scheduler
// API server: quote, sign, publish, follow events, fetch, verify, decrypt; and each failure mode.
import { type AddressInfo, connect, createServer } from "node:net";

import { expect } from "chai";
import { type JsonRpcProvider, toUtf8Bytes, toUtf8String, ZeroHash } from "ethers";

import { deposit, getBalance, withdraw } from "../../sdk/src/actions/account.js";
import {
  getApp,
  getDataset,
  listApps,
  listDatasets,
  registerApp,
  registerDataset,
  registerWorkerpool,
} from "../../sdk/src/actions/assets.js";
import { cancelOrder, publishOrder } from "../../sdk/src/actions/market.js";
import { getResult } from "../../sdk/src/actions/results.js";
import { run, type RunProgress } from "../../sdk/src/actions/run.js";
import { computeCommitment, computeTaskId, getTask } from "../../sdk/src/actions/tasks.js";
import { send } from "../../sdk/src/chain.js";
import { createSunpoolClient } from "../../sdk/src/client.js";
import { InsufficientBalanceError, InsufficientTokensError } from "../../sdk/src/errors/account.js";
import { AppNotDeterministicError, AssetExistsError, AssetNotFoundError } from "../../sdk/src/errors/assets.js";
import { ContractRevertError, RpcUnreachableError } from "../../sdk/src/errors/chain.js";
import { ConfigError, InvalidInputError } from "../../sdk/src/errors/input.js";
import {
  ChainMismatchError,
  NoMatchingOrderError,
  SchedulerRejectedError,
  SchedulerUnreachableError,
} from "../../sdk/src/errors/market.js";
import { ResultMismatchError, ResultUnavailableError } from "../../sdk/src/errors/results.js";
import { RunTimeoutError, TaskFailedError } from "../../sdk/src/errors/run.js";
import { createIpfsNode } from "../../sdk/src/node/ipfs.js";
import {
  createAppOrder,
  createDatasetOrder,
  createRequestOrder,
  createWorkerpoolOrder,
  randomSalt,
} from "../../sdk/src/orders/build.js";
import { encodeMatchOrders } from "../../sdk/src/orders/codec.js";
import { signOrder, signTaskAuthorization } from "../../sdk/src/orders/sign.js";
import { resultDigest } from "../../sdk/src/results/digest.js";
import { deriveResultKey } from "../../sdk/src/results/encryption.js";
import { encodeTaskParams } from "../../sdk/src/results/params.js";
import { createSchedulerClient, listOrders } from "../../sdk/src/scheduler/client.js";
import { until } from "../helpers/wait.js";
import { expectRejection } from "./helpers/assertions.js";
import { freePort } from "./helpers/chain.js";
import { APP_PRICE, echoApp, POOL_PRICE, startMarket, SUN, type TestMarket } from "./helpers/market.js";

const text = (bytes: Uint8Array) => toUtf8String(bytes);
/** The contracts' TaskOutcome.AppFailed (contracts/types/Tasks.sol). */
const APP_FAILED = 5;

/**
 * Matches a deal for `app` on the market's pool directly on-chain, as its requester (account 1),
 * with orders signed by the app owner (2) and the scheduler (3): no scheduler process involved.
 * Returns the deal id.
 */
async function matchDirectly(market: TestMarket, app: string, trust: bigint): Promise<string> {
  const [appOwner, scheduler, requester] = await Promise.all([market.client(2), market.client(3), market.client(1)]);
  const appOrder = createAppOrder({ app, price: APP_PRICE });
  const workerpoolOrder = createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, trust, tag: ZeroHash });
  const requestOrder = createRequestOrder({
    app,
    appMaxPrice: APP_PRICE,
    workerpool: market.workerpoolId,
    workerpoolMaxPrice: POOL_PRICE,
    requester: market.chain.wallet(1).address,
    trust,
    params: encodeTaskParams({}).digest,
  });
  const encoded = encodeMatchOrders(
    { app: appOrder, workerpool: workerpoolOrder, request: requestOrder },
    {
      app: await signOrder(appOwner.signer!, appOwner.domain, "app", appOrder),
      workerpool: await signOrder(scheduler.signer!, scheduler.domain, "workerpool", workerpoolOrder),
      request: await signOrder(requester.signer!, requester.domain, "request", requestOrder),
    },
  );
  const receipt = await send("matchOrders", () => requester.hub.matchOrders(encoded));
  const created = receipt.logs
    .map((log) => requester.hub.interface.parseLog(log))
    .find((parsed) => parsed?.name === "DealCreated");
  return created!.args.dealId as string;
}

describe("SDK: run an app end to end", function () {
  this.timeout(120_000);
  let market: TestMarket;

  before(async function () {
    market = await startMarket();
    const requester = await market.client(1);
    await deposit(requester, { amount: 100n * SUN });
  });

  after(async function () {
    await market?.stop();
  });

  it("deposit, withdraw and balance move tokens between wallet and escrow", async function () {
    const client = await market.client(5);
    await deposit(client, { amount: 7n * SUN });
    await withdraw(client, { amount: 2n * SUN });
    const balance = await getBalance(client);
    expect(balance.balance).to.equal(5n * SUN);
    expect(balance.locked).to.equal(0n);
    expect(balance.wallet).to.equal(995n * SUN);
  });

  it("deposit --for credits another account (a worker's stake) from the payer's wallet", async function () {
    const payer = await market.client(5);
    const worker = (await market.client(7)).signer!;
    const before = await getBalance(payer);
    const result = await deposit(payer, { amount: 3n * SUN, for: (await worker.getAddress()).toLowerCase() });
    expect(result.account).to.equal(await worker.getAddress());
    const credited = await getBalance(payer, { account: await worker.getAddress() });
    expect(credited.balance).to.equal(3n * SUN);
    const after = await getBalance(payer);
    expect(after.wallet).to.equal(before.wallet - 3n * SUN);
    expect(after.balance).to.equal(before.balance);
  });

  it("run signs a request, follows the deal through events, and the result verifies against the chain", async function () {
    const standin = await market.scheduler();
    const requester = await market.client(1);
    const before = await getBalance(requester);
    const events: RunProgress["type"][] = [];
    const outcome = await run(requester, {
      scheduler: createSchedulerClient({ url: standin.url }),
      app: market.appId,
      params: { args: ["hello", "sun"] },
      onProgress: (event) => events.push(event.type),
    });
    expect(standin.errors).to.deep.equal([]);
    expect(events).to.deep.equal(["quoted", "published", "deal", "task"]);
    expect(outcome.tasks).to.have.length(1);
    const [task] = outcome.tasks;
    expect(task!.outcome).to.equal("completed");
    expect(task!.taskId).to.equal(await requester.hub.taskId(task!.dealId, 0));
    expect(task!.energy).to.deep.equal([{ worker: market.chain.wallet(4).address, milliwattHours: 1200, solarShareBps: 8000 }]);
    expect((await getBalance(requester)).balance).to.equal(before.balance - APP_PRICE - POOL_PRICE);

    await market.requesterIpfs.connect(market.workerIpfs.multiaddrs());
    const result = await getResult(requester, { dealId: task!.dealId, index: 0, reader: market.requesterIpfs });
    expect(result.resultDigest).to.equal(task!.resultDigest);
    expect(result.encrypted).to.equal(false);
    expect(Object.fromEntries(result.files.map((f) => [f.path, text(f.content)]))).to.deep.equal({
      "echo.txt": "hello sun #0\n",
      "meta/index.json": '{"index":0}',
    });
  });

  it("a batch of tasks ends with one verified result per task", async function () {
    const standin = await market.scheduler();
    const requester = await market.client(1);
    const outcome = await run(requester, {
      scheduler: createSchedulerClient({ url: standin.url }),
      app: market.appId,
      volume: 3,
      params: { args: ["batch"] },
    });
    expect(outcome.tasks.map((t) => [t.index, t.outcome])).to.deep.equal([
      [0, "completed"],
      [1, "completed"],
      [2, "completed"],
    ]);
    await market.requesterIpfs.connect(market.workerIpfs.multiaddrs());
    const third = await getResult(requester, { dealId: outcome.deals[0]!, index: 2, reader: market.requesterIpfs });
    expect(text(third.files.find((f) => f.path === "echo.txt")!.content)).to.equal("batch #2\n");
  });

  it("an encrypted result opens only with the requester's result key", async function () {
    const standin = await market.scheduler();
    const requester = await market.client(1);
    const key = deriveResultKey(market.chain.wallet(1).privateKey);
    const outcome = await run(requester, {
      scheduler: createSchedulerClient({ url: standin.url }),
      app: market.appId,
      params: { args: ["secret"], resultEncryption: { scheme: "ecdh-secp256k1-aes256gcm", publicKey: key.publicKey } },
    });
    const locator = { dealId: outcome.deals[0]!, index: 0, reader: market.requesterIpfs };
    await market.requesterIpfs.connect(market.workerIpfs.multiaddrs());
    await expectRejection(getResult(requester, locator), InvalidInputError, /Invalid decryption key: nothing was given/);
    const wrongKey = deriveResultKey(market.chain.wallet(5).privateKey).privateKey;
    await expectRejection(
      getResult(requester, { ...locator, decryptionKey: wrongKey }),
      InvalidInputError,
      /authentication failed/,
    );
    const opened = await getResult(requester, { ...locator, decryptionKey: key.privateKey });
    expect(opened.encrypted).to.equal(true);
    expect(text(opened.files.find((f) => f.path === "echo.txt")!.content)).to.equal("secret #0\n");
  });

  it("content that does not hash to the on-chain digest is refused", async function () {
    const standin = await market.scheduler({ tamper: true });
    const requester = await market.client(1);
    const outcome = await run(requester, { scheduler: createSchedulerClient({ url: standin.url }), app: market.appId });
    await market.requesterIpfs.connect(market.workerIpfs.multiaddrs());
    await expectRejection(
      getResult(requester, { dealId: outcome.deals[0]!, index: 0, reader: market.requesterIpfs }),
      ResultMismatchError,
      /does not match the on-chain result digest\.\n\nDo not use this content/,
    );
  });

  it("tasks nobody starts are refunded after the start deadline, with the reason recorded", async function () {
    const standin = await market.scheduler({ working: false });
    const requester = await market.client(1);
    const before = (await getBalance(requester)).balance;
    const deals: string[] = [];
    const running = run(requester, {
      scheduler: createSchedulerClient({ url: standin.url }),
      app: market.appId,
      volume: 2,
      onProgress: (event) => {
        if (event.type === "deal") deals.push(event.dealId);
      },
    });
    await until("the run's deal", () => deals[0]);
    await market.chain.increaseTime(10 * 300 + 1);
    const outcome = await running;
    expect(outcome.tasks.map((t) => t.outcome)).to.deep.equal(["expired-unstarted", "expired-unstarted"]);
    expect(outcome.tasks[0]!.failure).to.deep.equal({
      outcome: "expired-unstarted",
      reason: "no worker started it before the deal's start deadline",
      hints: [
        "Retry later.",
        "Check that the app's needs (memory, platforms) fit the pool's workers (sunpool app show <app>), or try another workerpool (--scheduler).",
      ],
    });
    // Refunded in full; the scheduler's stake for the tasks it failed to start went to the treasury.
    expect((await getBalance(requester)).balance).to.equal(before);
    const taskId = computeTaskId(deals[0]!, 1);
    const failed = await getResult(requester, { dealId: deals[0]!, index: 1, reader: market.requesterIpfs }).catch(
      (error: unknown) => error,
    );
    expect(failed).to.be.instanceOf(TaskFailedError);
    expect((failed as TaskFailedError).message).to.equal(
      `Task ${taskId} ended without a result (expired-unstarted): no worker started it before the deal's start deadline. ` +
        "Your payment was refunded to your escrow balance.\n\n" +
        "Retry later.\n" +
        "Check that the app's needs (memory, platforms) fit the pool's workers (sunpool app show <app>), or try another workerpool (--scheduler).\n\n" +
        "Docs: docs/sdk.md#when-a-task-fails",
    );
  });

  it("a task its scheduler fails (app-failed) ends the run with the reason, refunded; getResult says why", async function () {
    const standin = await market.scheduler({ working: false });
    const requester = await market.client(1);
    const before = (await getBalance(requester)).balance;
    const deals: string[] = [];
    const running = run(requester, {
      scheduler: createSchedulerClient({ url: standin.url }),
      app: market.appId,
      onProgress: (event) => {
        if (event.type === "deal") deals.push(event.dealId);
      },
    });
    await until("the run's deal", () => deals[0]);
    // The scheduler's decision, sent with its key (its process is stopped so that nothing else
    // uses the key meanwhile): the app failed the same way on several workers.
    await standin.stop();
    const scheduler = await market.client(3);
    await send("fail", () => scheduler.hub.fail(deals[0]!, 0, APP_FAILED, []));
    const outcome = await running;
    const [task] = outcome.tasks;
    expect(task).to.deep.include({ outcome: "app-failed", status: "ended" });
    expect(task!.failure).to.deep.equal({
      outcome: "app-failed",
      reason: "the app failed on several workers, or its inputs are invalid",
      hints: [
        "Check the app and its parameters: run the image locally with the same arguments and dataset; what it prints on stderr says why it stopped.",
      ],
    });
    expect(task!.resultDigest).to.equal(undefined);
    expect((await getBalance(requester)).balance).to.equal(before);
    const failed = await getResult(requester, { dealId: deals[0]!, index: 0, reader: market.requesterIpfs }).catch(
      (error: unknown) => error,
    );
    expect(failed).to.be.instanceOf(TaskFailedError);
    expect(failed).to.deep.include({ code: "TASK_FAILED", outcome: "app-failed", taskId: task!.taskId });
    expect((failed as TaskFailedError).message).to.equal(
      `Task ${task!.taskId} ended without a result (app-failed): the app failed on several workers, or its inputs are invalid. ` +
        "Your payment was refunded to your escrow balance.\n\n" +
        "Check the app and its parameters: run the image locally with the same arguments and dataset; what it prints on stderr says why it stopped.\n" +
        `Each worker's reason and the app's last log lines: sunpool task show ${task!.taskId} (the SDK's getPoolTask, signed by the requester).\n\n` +
        "Docs: docs/sdk.md#when-a-task-fails",
    );
  });

  it("computeCommitment opens on-chain: a replicated task is committed, revealed, decided and finalized, and getTask follows it", async function () {
    // No scheduler process: the test plays scheduler (account 3) and worker (account 5).
    await (await market.scheduler({ working: false })).stop();
    const dealId = await matchDirectly(market, market.appId, 2n);
    const taskId = computeTaskId(dealId, 0);
    const workerClient = await market.client(5);
    await deposit(workerClient, { amount: SUN });
    const worker = market.chain.wallet(5).address;
    const scheduler = await market.client(3);
    const files = echoApp({ args: ["replicated"] }, 0);
    const digest = resultDigest(files);
    const location = await market.workerIpfs.addFiles(files);
    const salt = randomSalt();
    const authorization = await signTaskAuthorization(scheduler.signer!, scheduler.domain, taskId, worker);

    await send("contribute", () =>
      workerClient.hub.contribute(
        dealId,
        0,
        computeCommitment(taskId, digest, worker, salt),
        { milliwattHours: 900, solarShareBps: 10_000 },
        authorization,
      ),
    );
    // A new worker weighs 2: at trust 2 its one commitment closes the round's window.
    const revealing = await getTask(workerClient, { dealId, index: 0 });
    expect(revealing.status).to.equal("revealing");
    expect(revealing.consensus).to.deep.include({ round: 0, contributors: 1, pending: 1, reveals: 0, decided: false });
    expect(revealing.consensus!.revealDeadline).to.be.a("number");
    expect(revealing.consensus!.leadingDigest).to.equal(undefined);

    // The commitment opens only with the digest and salt it was made from.
    await expectRejection(
      send("reveal", () => workerClient.hub.reveal(dealId, 0, digest, randomSalt(), toUtf8Bytes(location))),
      ContractRevertError,
      new RegExp(`^reveal reverted: TaskInvalidReveal\\(${taskId}, ${worker}\\)\\.`),
    );
    await send("reveal", () => workerClient.hub.reveal(dealId, 0, digest, salt, toUtf8Bytes(location)));
    const decided = await getTask(workerClient, { dealId, index: 0 });
    expect(decided.status).to.equal("decided");
    expect(decided.consensus).to.deep.include({ pending: 0, reveals: 1, leadingDigest: digest, decided: true });

    // Finalized with a location that serves nothing: getResult falls back on the revealer's.
    await send("finalize", () => scheduler.hub.finalize(dealId, 0, toUtf8Bytes("bafy-gone"), [worker]));
    const ended = await getTask(workerClient, { dealId, index: 0 });
    expect(ended).to.deep.include({
      status: "ended",
      outcome: "completed",
      resultDigest: digest,
      resultLocation: "bafy-gone",
      revealedLocations: [location],
    });
    expect(ended.energy).to.deep.equal([{ worker, milliwattHours: 900, solarShareBps: 10_000 }]);
    await market.requesterIpfs.connect(market.workerIpfs.multiaddrs());
    const result = await getResult(await market.client(1), { dealId, index: 0, reader: market.requesterIpfs });
    expect(result).to.deep.include({ resultDigest: digest, resultLocation: location });
    expect(text(result.files.find((f) => f.path === "echo.txt")!.content)).to.equal("replicated #0\n");
  });

  it("orders are published, listed and cancelled on-chain and in the book", async function () {
    const standin = await market.scheduler();
    const book = createSchedulerClient({ url: standin.url });
    const appOwner = await market.client(2);
    const record = await publishOrder(appOwner, book, {
      kind: "app",
      order: createAppOrder({ app: market.appId, price: 5n * SUN, volume: 3 }),
    });
    expect(record.status).to.equal("open");
    const { transactionHash } = await cancelOrder(appOwner, book, { hash: record.hash });
    expect(transactionHash).to.match(/^0x/);
    expect((await appOwner.hub.consumed(record.hash)) >= 3n).to.equal(true);
    const open = await listOrders(book, { kind: "app", app: market.appId });
    expect(open.orders.map((o) => o.hash)).to.not.include(record.hash);
  });

  it("a run with a dataset pays its owner too, and the dataset can be looked up", async function () {
    const owner = await market.client(2);
    const checksum = `0x${"5a".repeat(32)}`;
    const { id } = await registerDataset(owner, { name: "corpus", cid: "bafkreigh2akiscaildc", checksum });
    expect(await getDataset(owner, id)).to.deep.include({ name: "corpus", checksum, owner: market.chain.wallet(2).address });
    expect((await listDatasets(owner)).map((d) => d.id)).to.deep.equal([id]);
    const standin = await market.scheduler();
    const book = createSchedulerClient({ url: standin.url });
    await publishOrder(owner, book, { kind: "dataset", order: createDatasetOrder({ dataset: id, price: SUN / 2n, volume: 10 }) });
    const requester = await market.client(1);
    const before = await getBalance(requester);
    const ownerBefore = await getBalance(owner);
    const outcome = await run(requester, { scheduler: book, app: market.appId, dataset: id });
    expect(outcome.tasks.map((t) => t.outcome)).to.deep.equal(["completed"]);
    expect((await getBalance(requester)).balance).to.equal(before.balance - APP_PRICE - SUN / 2n - POOL_PRICE);
    expect((await getBalance(owner)).balance).to.equal(ownerBefore.balance + APP_PRICE + SUN / 2n);
  });

  it("apps can be looked up and listed", async function () {
    const client = await market.client(5);
    const app = await getApp(client, market.appId);
    expect(app).to.deep.include({ name: "echo", image: "127.0.0.1:5000/echo", imageDigest: `sha256:${"ab".repeat(32)}` });
    expect(app.platforms).to.deep.equal(["linux/amd64", "linux/arm64"]);
    expect(app.deterministic, "registerApp defaults to deterministic").to.equal(true);
    expect((await listApps(client)).map((a) => a.id)).to.deep.equal([market.appId]);
  });

  describe("every error says what went wrong and what to do", function () {
    it("InsufficientBalanceError: how much is missing and the deposit command", async function () {
      const standin = await market.scheduler();
      const poor = await market.client(6);
      await expectRejection(
        run(poor, { scheduler: createSchedulerClient({ url: standin.url }), app: market.appId, volume: 2 }),
        InsufficientBalanceError,
        /this needs 6\.0 SUN \(6\.0 SUN missing\)\.\n\nDeposit the difference: sunpool account deposit 6\.0/,
      );
    });

    it("InsufficientTokensError: the wallet holds less than the deposit", async function () {
      await expectRejection(
        deposit(await market.client(6), { amount: SUN }),
        InsufficientTokensError,
        /holds 0\.0 SUN but the deposit needs 1\.0 SUN/,
      );
    });

    it("NoMatchingOrderError: what mismatched in each workerpool order", async function () {
      const standin = await market.scheduler();
      await expectRejection(
        run(await market.client(1), {
          scheduler: createSchedulerClient({ url: standin.url }),
          app: market.appId,
          trust: 3,
          category: 2,
        }),
        NoMatchingOrderError,
        /No workerpool order matches the request\.[\s\S]*serves category 0, you asked for 2; serves trust up to 1, you asked for 3/,
      );
    });

    it("AppNotDeterministicError: trust >= 2 on a non-deterministic app is refused before signing; the hub refuses it too", async function () {
      const owner = await market.client(2);
      const { id } = await registerApp(owner, {
        name: "dice",
        image: "127.0.0.1:5000/dice",
        imageDigest: `sha256:${"d1".repeat(32)}`,
        platforms: ["linux/amd64", "linux/arm64"],
        deterministic: false,
      });
      expect((await getApp(owner, id)).deterministic).to.equal(false);
      const standin = await market.scheduler();
      const book = createSchedulerClient({ url: standin.url });
      await publishOrder(owner, book, { kind: "app", order: createAppOrder({ app: id, price: APP_PRICE, volume: 10 }) });
      const events: string[] = [];
      const refused = await run(await market.client(1), {
        scheduler: book,
        app: id,
        trust: 2,
        onProgress: (event) => events.push(event.type),
        beforePublish: () => void events.push("beforePublish"),
      }).catch((error: unknown) => error);
      expect(refused).to.be.instanceOf(AppNotDeterministicError);
      expect(refused).to.deep.include({ code: "APP_NOT_DETERMINISTIC", appId: id, trust: 2n });
      expect((refused as AppNotDeterministicError).message).to.equal(
        `App ${id} is registered as non-deterministic, so it cannot run with trust 2: replication needs workers whose results agree byte for byte.\n\n` +
          "Run it with trust 1 (sunpool run --trust 1): one worker, no replication.\n" +
          "If its output is in fact deterministic (no timestamps, random numbers or unordered output), its owner can register it again as deterministic (without --non-deterministic).\n\n" +
          "Docs: docs/sdk.md#apps-and-trust",
      );
      expect(events, "nothing quoted, signed or published").to.deep.equal([]);
      expect((await listOrders(book, { kind: "request", status: "any" })).orders).to.deep.equal([]);

      // Signed and sent anyway, the match reverts with the hub's error, decoded with what to do.
      const reverted = await matchDirectly(market, id, 2n).catch((error: unknown) => error);
      expect(reverted).to.be.instanceOf(ContractRevertError);
      expect(reverted).to.deep.include({ errorName: "MatchAppNotDeterministic" });
      expect((reverted as ContractRevertError).args).to.deep.equal([id, 2n]);
      expect((reverted as ContractRevertError).message).to.equal(
        `matchOrders reverted: MatchAppNotDeterministic(${id}, 2).\n\n` +
          "The app is registered as non-deterministic: its replicas cannot agree. Request trust 1 (sunpool run --trust 1).\n\n" +
          "Docs: docs/protocol.md",
      );
      // With trust 1 the same app runs.
      const outcome = await run(await market.client(1), { scheduler: book, app: id, params: { args: ["once"] } });
      expect(outcome.tasks.map((t) => t.outcome)).to.deep.equal(["completed"]);
    });

    it("AssetNotFoundError and AssetExistsError", async function () {
      const client = await market.client(2);
      await expectRejection(
        getApp(client, `0x${"00".repeat(31)}01`),
        AssetNotFoundError,
        /No app 0x0{62}01 is registered on this chain/,
      );
      await expectRejection(
        registerApp(client, { name: "echo", image: "x", imageDigest: `sha256:${"cd".repeat(32)}`, platforms: ["linux/amd64"] }),
        AssetExistsError,
        /You already registered a app named "echo"[\s\S]*"echo-v2"/,
      );
    });

    it("ContractRevertError names the contract's custom error and its values", async function () {
      await expectRejection(
        registerWorkerpool(await market.client(6), { name: "greedy", workerStakeRatio: 101 }),
        ContractRevertError,
        /registerWorkerpool reverted: RegistryInvalidRatio\(101\)/,
      );
    });

    it("ChainMismatchError: a scheduler of another hub", async function () {
      const standin = await market.scheduler();
      const other = await createSunpoolClient({
        deployment: { ...market.chain.deployment, hub: market.chain.deployment.registry },
        provider: market.chain.provider,
        signer: market.chain.wallet(1),
      });
      await expectRejection(
        run(other, { scheduler: createSchedulerClient({ url: standin.url }), app: market.appId }),
        ChainMismatchError,
        /The scheduler is on chain 31337, hub 0x[0-9a-fA-F]{40}, but this client uses chain 31337, hub/,
      );
    });

    it("SchedulerUnreachableError and SchedulerRejectedError", async function () {
      const port = await freePort();
      await expectRejection(
        run(await market.client(1), {
          scheduler: createSchedulerClient({ url: `http://user:pw@127.0.0.1:${port}` }),
          app: market.appId,
        }),
        SchedulerUnreachableError,
        new RegExp(`Cannot reach the scheduler at http://127.0.0.1:${port}\\.`),
      );
      const standin = await market.scheduler();
      const stranger = await market.client(5);
      await expectRejection(
        publishOrder(stranger, createSchedulerClient({ url: standin.url }), {
          kind: "app",
          order: createAppOrder({ app: market.appId, price: 1n }),
        }),
        SchedulerRejectedError,
        /rejected the request \(HTTP 422\): the order is signed by 0x[0-9a-fA-F]{40}, not by/,
      );
    });

    it("RpcUnreachableError and ConfigError", async function () {
      const port = await freePort();
      await expectRejection(
        createSunpoolClient({ deployment: market.chain.deployment, rpcUrl: `http://127.0.0.1:${port}` }),
        RpcUnreachableError,
        /Cannot reach the chain at http:\/\/127\.0\.0\.1:\d+\.\n\nCheck --rpc/,
      );
      await expectRejection(
        createSunpoolClient({ deployment: market.chain.deployment }),
        ConfigError,
        /neither a provider nor an RPC URL/,
      );
    });

    it("a connection reset while probing the chain is tried again; one that keeps happening is RpcUnreachableError", async function () {
      // A TCP proxy to the test chain that resets the first `resets` connections mid-request.
      const chainPort = Number(new URL(market.chain.rpcUrl).port);
      const proxy = async (resets: number) => {
        let seen = 0;
        const server = createServer((socket) => {
          if (seen++ < resets) {
            socket.once("data", () => socket.resetAndDestroy());
            return;
          }
          const upstream = connect(chainPort, "127.0.0.1");
          socket.pipe(upstream).pipe(socket);
          upstream.on("error", () => socket.destroy());
          socket.on("error", () => upstream.destroy());
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}`, seen: () => seen };
      };
      const flaky = await proxy(1);
      const client = await createSunpoolClient({ deployment: market.chain.deployment, rpcUrl: flaky.url });
      expect(await client.provider.getBlockNumber()).to.be.above(0);
      (client.provider as JsonRpcProvider).destroy();
      flaky.server.close();

      const broken = await proxy(Number.MAX_SAFE_INTEGER);
      await expectRejection(
        createSunpoolClient({ deployment: market.chain.deployment, rpcUrl: broken.url }),
        RpcUnreachableError,
        /Cannot reach the chain at http:\/\/127\.0\.0\.1:\d+\./,
      );
      expect(broken.seen()).to.equal(3);
      broken.server.close();
    });

    it("RunTimeoutError: nothing is lost and how to follow up", async function () {
      const standin = await market.scheduler({ matching: false });
      await expectRejection(
        run(await market.client(1), {
          scheduler: createSchedulerClient({ url: standin.url }),
          app: market.appId,
          matchTimeoutMs: 1000,
        }),
        RunTimeoutError,
        /Gave up waiting for the scheduler to match the request after 1 s[\s\S]*Nothing is lost[\s\S]*sunpool task watch --request 0x/,
      );
    });

    it("ResultUnavailableError when no IPFS peer has the content", async function () {
      const standin = await market.scheduler();
      const requester = await market.client(1);
      const outcome = await run(requester, { scheduler: createSchedulerClient({ url: standin.url }), app: market.appId });
      const isolated = await createIpfsNode();
      try {
        await expectRejection(
          getResult(requester, { dealId: outcome.deals[0]!, index: 0, reader: isolated, timeoutMs: 1500 }),
          ResultUnavailableError,
          /Cannot fetch the result \S+ from IPFS\.\n\nThe scheduler's IPFS node pins every result/,
        );
      } finally {
        await isolated.stop();
      }
    });

    it("InvalidInputError names the field, what was given and what is expected", async function () {
      const standin = await market.scheduler();
      await expectRejection(
        run(await market.client(1), { scheduler: createSchedulerClient({ url: standin.url }), app: market.appId, category: 9 }),
        InvalidInputError,
        /Invalid category: 9\.\n\nExpected 0 to 4/,
      );
      expect(() => createAppOrder({ app: "0x1234", price: 1n })).to.throw(
        InvalidInputError,
        /Invalid app: "0x1234"\.\n\nExpected 32 bytes as 0x-prefixed hex/,
      );
      const task = await getTask(await market.client(1), { dealId: `0x${"11".repeat(32)}`, index: 0 }).catch(
        (error: unknown) => error,
      );
      expect(task).to.have.property("outcome", "none");
    });
  });
});
