// The SDK's whole run path against a real Hardhat node, real IPFS (Helia) nodes and a scheduler
// API server: quote, sign, publish, follow events, fetch, verify, decrypt; and each failure mode.
import { expect } from "chai";
import { toUtf8String } from "ethers";

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
import { getTask } from "../../sdk/src/actions/tasks.js";
import { createSunpoolClient } from "../../sdk/src/client.js";
import { InsufficientBalanceError, InsufficientTokensError } from "../../sdk/src/errors/account.js";
import { AssetExistsError, AssetNotFoundError } from "../../sdk/src/errors/assets.js";
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
import { createAppOrder, createDatasetOrder } from "../../sdk/src/orders/build.js";
import { deriveResultKey } from "../../sdk/src/results/encryption.js";
import { createSchedulerClient, listOrders } from "../../sdk/src/scheduler/client.js";
import { expectRejection } from "./helpers/assertions.js";
import { freePort } from "./helpers/chain.js";
import { APP_PRICE, POOL_PRICE, startMarket, SUN, type TestMarket } from "./helpers/market.js";

const text = (bytes: Uint8Array) => toUtf8String(bytes);

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
    while (deals.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    await market.chain.increaseTime(10 * 300 + 1);
    const outcome = await running;
    expect(outcome.tasks.map((t) => t.outcome)).to.deep.equal(["expired-unstarted", "expired-unstarted"]);
    // Refunded in full, plus the scheduler's stake for each task it failed to start (30 %).
    expect((await getBalance(requester)).balance).to.equal(before + (2n * POOL_PRICE * 30n) / 100n);
    await expectRejection(
      getResult(requester, { dealId: deals[0]!, index: 1, reader: market.requesterIpfs }),
      TaskFailedError,
      /ended without a result: expired-unstarted\.\n\nThe task's price went back to your escrow balance/,
    );
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
