// Content through the pool's IPFS node, for workers that run no node (POST and GET
// /v1/workers/content/{cid}): the real scheduler with its Helia node on a Hardhat node, workers
// admitted by stake, and the SDK's node:http client as the worker agent uses it. An upload is
// pinned only when its files make the CID the worker sent; everything else is refused before it
// costs the scheduler more than the check (body unread, nothing stored).
import { request, type IncomingMessage } from "node:http";
import { createServer, type AddressInfo } from "node:net";

import { expect } from "chai";
import type { Wallet } from "ethers";

import { deposit, withdraw } from "../../sdk/src/actions/account.js";
import { SchedulerRejectedError } from "../../sdk/src/errors/market.js";
import { downloadContent, PACKED_FILES_TYPE, uploadResult } from "../../sdk/src/node/content.js";
import { resultCid } from "../../sdk/src/node/cid.js";
import { createNodeWorkerApiClient, readText, type WorkerHttpClient } from "../../sdk/src/node/workerHttp.js";
import type { ResultFile } from "../../sdk/src/results/digest.js";
import { packFileChunks } from "../../sdk/src/results/packing.js";
import { signWorkerRequest } from "../../sdk/src/scheduler/workerAuth.js";
import { createWorkerApiClient, pinResult, registerWorker } from "../../sdk/src/scheduler/workers.js";
import type { Scheduler } from "../../scheduler/src/index.js";
import { startMarket, startPoolScheduler, SUN, type TestMarket } from "../sdk/helpers/market.js";

const MAX_PIN_BYTES = 64 * 1024;
const file = (path: string, text: string): ResultFile => ({ path, content: new TextEncoder().encode(text) });
const RESULT = [file("counts.txt", "42\n"), file("meta/index.json", '{"index":0}')];

describe("scheduler: content through the pool's IPFS node", function () {
  this.timeout(120_000);
  let market: TestMarket;
  let scheduler: Scheduler;
  let worker: Wallet;
  let api: WorkerHttpClient;

  before(async function () {
    market = await startMarket();
    worker = market.chain.wallet(4);
    const deployer = await market.client(0);
    for (const account of [4, 6]) {
      await (await deployer.token.transfer(market.chain.wallet(account).address, 2n * SUN)).wait();
      await deposit(await market.client(account), { amount: 2n * SUN });
    }
    scheduler = await startPoolScheduler(market.chain, market.workerpoolId, {
      minWorkerStake: 1n * SUN,
      maxPinBytes: MAX_PIN_BYTES,
      pinTimeoutSeconds: 2,
      rateLimitPerMinute: 100_000,
    });
    api = await joined(worker);
  });

  after(async function () {
    await scheduler?.stop();
    await market?.stop();
  });

  const scope = () => ({ chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId });
  const pins = async () => await scheduler.db.all<{ cid: string }>("SELECT cid, bytes, worker FROM pins ORDER BY cid");

  async function joined(wallet: Wallet): Promise<WorkerHttpClient> {
    const client = createNodeWorkerApiClient({ url: scheduler.url, signer: wallet, scope: scope() });
    await registerWorker(client, { platforms: ["linux/amd64"], cores: 4, memoryMiB: 1024, slots: 1 });
    return client;
  }

  async function rejection(promise: Promise<unknown>): Promise<SchedulerRejectedError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(SchedulerRejectedError);
    return error as SchedulerRejectedError;
  }

  /**
   * A signed upload of which only `sent` is written, with `length` declared: the answer must come
   * while the rest of the body is still owed, or the scheduler waited for a body it should not read.
   */
  async function partialUpload(cid: string, length: number, sent: Uint8Array) {
    const path = `/v1/workers/content/${cid}`;
    const headers = await signWorkerRequest(worker, scope(), { method: "POST", path, timestamp: Date.now(), body: "" });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = request(
        `${scheduler.url}${path}`,
        { method: "POST", headers: { ...headers, "content-type": PACKED_FILES_TYPE, "content-length": length.toString() } },
        resolve,
      );
      outgoing.once("error", reject);
      outgoing.write(sent);
      setTimeout(() => reject(new Error("no answer while the body was incomplete")), 10_000).unref();
    });
    const problem = JSON.parse(await readText(response)) as { title: string; detail: string };
    response.destroy();
    return { status: response.statusCode, ...problem };
  }

  it("pins an upload whose files make the CID the worker computed; uploading it again is harmless; the files read back", async function () {
    const cid = await resultCid(RESULT);

    const receipt = await uploadResult(api, { cid, files: RESULT });

    expect(receipt.cid).to.equal(cid);
    expect(receipt.bytes).to.be.above(0);
    expect(await pins()).to.deep.include({ cid, bytes: receipt.bytes, worker: worker.address });
    expect(await uploadResult(api, { cid, files: RESULT })).to.deep.equal(receipt);
    const read = await downloadContent(api, cid, { maxBytes: 1 << 20 });
    expect(read.map((entry) => [entry.path, Buffer.from(entry.content).toString()])).to.deep.equal([
      ["counts.txt", "42\n"],
      ["meta/index.json", '{"index":0}'],
    ]);
    expect(await resultCid(read)).to.equal(cid);
  });

  it("refuses files that make another CID than the one claimed, and stores nothing of them", async function () {
    const honest = await resultCid([file("counts.txt", "41\n")]);
    const forged = [file("counts.txt", "made up\n")];
    const actual = await resultCid(forged);
    const before = await pins();

    const error = await rejection(uploadResult(api, { cid: honest, files: forged }));

    expect(error.status).to.equal(422);
    expect(error.title).to.equal("CID mismatch");
    expect(error.shortMessage).to.include(`the uploaded files make ${actual}, not ${honest}`);
    expect(error.hints[0]).to.match(/resultCid/);
    expect(await pins()).to.deep.equal(before);
    // Not even unpinned blocks: the node cannot serve what the forged files would have made.
    const absent = await rejection(downloadContent(api, actual, { maxBytes: 1 << 20 }));
    expect(absent.title).to.equal("content not found");
  });

  it("refuses an upload over the pool's pin limit from its declared sizes, before the body has arrived", async function () {
    const cid = await resultCid(RESULT);
    // The whole body declared larger than the limit allows: refused from the header.
    const declared = await partialUpload(cid, 100 * MAX_PIN_BYTES, new Uint8Array(16));
    expect(declared).to.include({ status: 413, title: "result too large" });
    // A length within bounds, but the first file declares more than the limit: refused from its
    // 6-byte header, its content never read.
    const header = packFileChunks([{ path: "big.bin", content: new Uint8Array(MAX_PIN_BYTES + 1) }]).slice(0, 3);
    const firstFile = Buffer.concat(header);
    const oversized = await partialUpload(cid, MAX_PIN_BYTES + 512, firstFile);
    expect(oversized).to.include({ status: 413, title: "result too large" });
    expect(oversized.detail).to.equal(`${cid} is larger than ${MAX_PIN_BYTES.toString()} bytes`);
  });

  it("refuses a worker that is no longer admitted (its stake withdrawn), before reading its upload", async function () {
    const leaver = market.chain.wallet(6);
    const client = await joined(leaver);
    await withdraw(await market.client(6), { amount: 2n * SUN });
    const files = [file("late.txt", "after withdrawing\n")];
    const before = await pins();

    const error = await rejection(uploadResult(client, { cid: await resultCid(files), files }));

    expect(error.status).to.equal(403);
    expect(error.title).to.equal("worker not admitted");
    expect(error.shortMessage).to.include(`${leaver.address} holds 0.0 SUN in escrow`);
    expect(await pins()).to.deep.equal(before);
  });

  it("refuses an upload that is not packed files, and a malformed one", async function () {
    const path = `/v1/workers/content/${await resultCid(RESULT)}`;
    const json = await api.send({ method: "POST", path, body: JSON.stringify({ files: [] }) });
    expect(json.statusCode).to.equal(415);
    expect(JSON.parse(await readText(json))).to.include({
      title: "unsupported content type",
      detail: `the body is application/json, not ${PACKED_FILES_TYPE}`,
    });
    // A file header announcing a 200-byte path, then the body ends.
    const truncated = await api.send({
      method: "POST",
      path,
      body: [new Uint8Array([0, 200, 1, 2])],
      contentType: PACKED_FILES_TYPE,
    });
    expect(truncated.statusCode).to.equal(400);
    expect(JSON.parse(await readText(truncated))).to.include({ title: "invalid upload" });
    expect((await pins()).map((pin) => pin.cid)).to.not.include(await resultCid(RESULT.slice(1)));
  });

  it("dials the addresses a worker gives only where they are global, unless the pool allows private ones", async function () {
    // A service on the operator's own network (here: loopback) that counts who connects to it.
    let connections = 0;
    const service = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve));
    const { port } = service.address() as AddressInfo;
    const closed = await startPoolScheduler(market.chain, market.workerpoolId, {
      minWorkerStake: 1n * SUN,
      pinTimeoutSeconds: 1,
      ipfsDialPrivate: false,
    });
    const cid = await resultCid([file("nobody-has-this.txt", "absent\n")]);
    const providers = [
      `/ip4/127.0.0.1/tcp/${port.toString()}`,
      `/ip6/::ffff:127.0.0.1/tcp/${port.toString()}`,
      `/dns4/localhost/tcp/${port.toString()}`,
    ];
    const pin = async (url: string) => {
      const client = createWorkerApiClient({ url, signer: worker, scope: scope() });
      await registerWorker(client, { platforms: ["linux/amd64"], cores: 4, memoryMiB: 1024, slots: 1 });
      return await rejection(pinResult(client, { cid, providers }));
    };
    try {
      const refused = await pin(closed.url);
      expect(refused.status).to.equal(504); // nothing to fetch from: it dialed none of them
      expect(refused.hints.join(" ")).to.match(/dials only global IP addresses \(its ipfs.dialPrivate is off\)/);
      expect(connections, "the closed pool's node connected to a loopback service").to.equal(0);

      // The same request to a pool that allows private addresses (the devnet's setting) reaches it.
      expect((await pin(scheduler.url)).status).to.equal(504);
      expect(connections).to.be.at.least(1);
    } finally {
      await closed.stop();
      await new Promise<void>((resolve) => service.close(() => resolve()));
    }
  });

  it("a fetch and an upload of the same result at once both end with it pinned: the upload ends the fetch", async function () {
    // Two replicas of one task hand over the same result: one asks the pool to fetch it from its
    // node, the other uploads the files. Here nobody serves it, so the fetch is surely in flight
    // when the upload lands; left alone it would wait out the pin timeout (2 s here) although the
    // blocks are in the node by then.
    const files = [file("shared.txt", "the same result from two replicas\n")];
    const cid = await resultCid(files);
    const client = createWorkerApiClient({ url: scheduler.url, signer: worker, scope: scope() });
    const fetching = pinResult(client, { cid, providers: [] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const uploaded = await uploadResult(api, { cid, files });
    expect(uploaded.cid).to.equal(cid);
    expect(await fetching).to.deep.equal(uploaded);
    expect((await pins()).map((pin) => pin.cid)).to.include(cid);
  });
});
