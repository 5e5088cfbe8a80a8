// A power cut right after the step `published`: the journal holds the result's CID, and nothing
// says whether the pool's node got the result. On restart the pipeline reads the same files
// from the task folder (same CID) before it asks the pool's node to pin them:
// - node mode: the worker's IPFS node lost the blocks it had not synced (here: a fresh in-memory
//   node, which holds nothing); the files are added again, then the pin request is sent;
// - pool mode: the files are uploaded again to the real scheduler, which checks the CID and pins.
// For an encrypted result (randomized, so not rebuildable) the envelope kept in the task folder is
// used again.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { SigningKey, Wallet, ZeroHash } from "ethers";
import { pino } from "pino";

import { deposit } from "../../sdk/src/actions/account.js";
import { downloadContent } from "../../sdk/src/node/content.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import { resultCid } from "../../sdk/src/node/cid.js";
import { createNodeWorkerApiClient } from "../../sdk/src/node/workerHttp.js";
import { resultDigest, type ResultFile } from "../../sdk/src/results/digest.js";
import { decryptResult } from "../../sdk/src/results/encryption.js";
import { createWorkerApiClient, registerWorker } from "../../sdk/src/scheduler/workers.js";
import type { Scheduler } from "../../scheduler/src/index.js";
import { createExecution } from "../../worker/src/agent/execution.js";
import { advance, RetryLater, type PipelineContext } from "../../worker/src/agent/pipeline.js";
import type { Contributions } from "../../worker/src/chain/contributions.js";
import { nodeResultStore } from "../../worker/src/content/node.js";
import { createPoolResultStore } from "../../worker/src/content/pool.js";
import type { ResultStore } from "../../worker/src/content/store.js";
import type { EnergyManager } from "../../worker/src/energy/manager.js";
import { Journal } from "../../worker/src/journal/journal.js";
import { dockerClient } from "../helpers/docker.js";
import { startMarket, startPoolScheduler, SUN, type TestMarket } from "../sdk/helpers/market.js";
import { testAssignment } from "./assignments.js";

const RESULT = "forty-two\n";
const text = (files: ResultFile[]) => files.map((file) => [file.path, Buffer.from(file.content).toString()]);

/** Task params asking for the result encrypted to a fresh requester key. */
function encryptedParams() {
  const requester = new SigningKey(Wallet.createRandom().privateKey);
  const params = JSON.stringify({
    resultEncryption: { scheme: "ecdh-secp256k1-aes256gcm", publicKey: requester.compressedPublicKey },
  });
  return { params, privateKey: requester.privateKey };
}

/** A journaled task at `executed`, its result in the task folder. */
async function executedTask(params: string, id: string) {
  const dir = await mkdtemp(join(tmpdir(), "sunpool-republish-"));
  const taskId = `0x${id.repeat(32)}`;
  const base = testAssignment(taskId, { deadline: 4_000_000_000, params });
  const assignment = { ...base, app: { ...base.app, image: "127.0.0.1:5000/sunpool-test/shell" } };
  const tasksDir = join(dir, "tasks");
  const out = join(tasksDir, taskId, "out");
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "result.txt"), RESULT);
  const journal = new Journal(join(dir, "journal.sqlite"));
  journal.accept(assignment, 1);
  const files = [{ path: "result.txt", content: new TextEncoder().encode(RESULT) }];
  journal.advance(taskId, { step: "executed", digest: resultDigest(files) }, 2);
  return { journal, tasksDir, taskId };
}

/** The pipeline as the agent wires it, stopping after `pinned` (the chain steps are not covered here). */
function pipeline(
  journal: Journal,
  tasksDir: string,
  worker: { address: string },
  api: PipelineContext["api"],
  results: ResultStore,
): PipelineContext {
  const execution = createExecution({
    docker: dockerClient(),
    results,
    energy: {} as EnergyManager, // only `execute` meters energy; not called here
    tasksDir,
    now: () => Date.now(),
    worker: worker.address,
  });
  const chain = { blockNumber: () => Promise.reject(new Error("stop after pinning")) } as unknown as Contributions;
  return {
    journal,
    api,
    chain,
    results,
    log: pino({ level: "silent" }),
    now: () => Date.now(),
    learnTask: () => undefined,
    ...execution,
  };
}

/** Advances once: the first life is cut short by the unreachable pool, the second stops after `pinned`. */
async function advanceOnce(ctx: PipelineContext, taskId: string): Promise<unknown> {
  try {
    await advance(ctx, taskId, new AbortController().signal);
    return undefined;
  } catch (caught) {
    return caught;
  }
}

describe("worker: a power cut at `published` does not cost the task", function () {
  this.timeout(120_000);

  describe("node mode: the result is added to the worker's node again", function () {
    const worker = Wallet.createRandom();
    const nodes: IpfsNode[] = [];
    after(async function () {
      for (const node of nodes) await node.stop();
    });

    /** A scheduler whose pin endpoint `pins` answers (the pool's node fetching is not what is tested). */
    function pinApi(pins: (cid: string) => Response, pinned: string[]) {
      return createWorkerApiClient({
        url: "http://127.0.0.1:1",
        signer: worker,
        scope: { chainId: 31337n, workerpool: ZeroHash },
        fetch: async (input: RequestInfo | URL) => {
          const request = input as Request;
          if (request.url.endsWith("/v1/workers/pins")) {
            const { cid } = (await request.json()) as { cid: string };
            pinned.push(cid);
            return pins(cid);
          }
          return Response.json({});
        },
      });
    }

    async function crashAtPublishedThenRestart(params: string, id: string) {
      const { journal, tasksDir, taskId } = await executedTask(params, id);
      const before = await createIpfsNode();
      nodes.push(before);
      // First life: published, then the scheduler is unreachable and the power goes.
      const down = pinApi(() => new Response("down", { status: 503 }), []);
      expect(
        await advanceOnce(pipeline(journal, tasksDir, worker, down, nodeResultStore(before, down, { owned: false })), taskId),
      ).to.be.instanceOf(RetryLater);
      const published = journal.get(taskId)!;
      expect(published.step).to.equal("published");
      // Second life: the node's unsynced blocks are lost (an empty node).
      const after = await createIpfsNode();
      nodes.push(after);
      const pinned: string[] = [];
      const up = pinApi((cid) => Response.json({ cid, bytes: 10 }), pinned);
      const error = await advanceOnce(
        pipeline(journal, tasksDir, worker, up, nodeResultStore(after, up, { owned: false })),
        taskId,
      );
      expect((error as Error).message).to.equal("stop after pinning");
      expect(journal.get(taskId)!.step).to.equal("pinned");
      expect(pinned).to.deep.equal([published.location]);
      return after.readFiles(published.location!, { maxBytes: 1 << 20, signal: AbortSignal.timeout(3000) });
    }

    it("re-adds the result files from the task folder (same CID) before pinning", async function () {
      expect(text(await crashAtPublishedThenRestart("{}", "a1"))).to.deep.equal([["result.txt", RESULT]]);
    });

    it("re-adds an encrypted result's kept envelope (same CID) before pinning", async function () {
      const { params, privateKey } = encryptedParams();
      const files = await crashAtPublishedThenRestart(params, "a2");
      expect(files).to.have.length(1);
      expect(text(await decryptResult(files[0]!.content, privateKey))).to.deep.equal([["result.txt", RESULT]]);
    });
  });

  describe("pool mode: the result is uploaded to the pool's node again", function () {
    let market: TestMarket;
    let scheduler: Scheduler;
    let worker: Wallet;

    before(async function () {
      market = await startMarket();
      worker = market.chain.wallet(4);
      await (await (await market.client(0)).token.transfer(worker.address, 1n * SUN)).wait();
      await deposit(await market.client(4), { amount: 1n * SUN });
      scheduler = await startPoolScheduler(market.chain, market.workerpoolId, { minWorkerStake: 1n * SUN });
      await registerWorker(poolApi(scheduler.url), { platforms: ["linux/amd64"], cores: 4, memoryMiB: 1024, slots: 1 });
    });

    after(async function () {
      await scheduler?.stop();
      await market?.stop();
    });

    function poolApi(url: string) {
      return createNodeWorkerApiClient({
        url,
        signer: worker,
        scope: { chainId: market.chain.deployment.chainId, workerpool: market.workerpoolId },
      });
    }

    async function crashAtPublishedThenRestart(params: string, id: string) {
      const { journal, tasksDir, taskId } = await executedTask(params, id);
      // First life: the CID computed and journaled, then the upload fails and the power goes.
      const down = poolApi("http://127.0.0.1:1");
      expect(await advanceOnce(pipeline(journal, tasksDir, worker, down, createPoolResultStore(down)), taskId)).to.be.instanceOf(
        RetryLater,
      );
      const published = journal.get(taskId)!;
      expect(published.step).to.equal("published");
      expect(await scheduler.db.get("SELECT 1 FROM pins WHERE cid = ?", published.location!)).to.equal(undefined);
      // Second life: the same files, read again from the task folder, uploaded under the journaled CID.
      const up = poolApi(scheduler.url);
      const error = await advanceOnce(pipeline(journal, tasksDir, worker, up, createPoolResultStore(up)), taskId);
      expect((error as Error).message).to.equal("stop after pinning");
      expect(journal.get(taskId)!.step).to.equal("pinned");
      expect(await scheduler.db.get("SELECT worker FROM pins WHERE cid = ?", published.location!)).to.deep.equal({
        worker: worker.address,
      });
      const files = await downloadContent(up, published.location!, { maxBytes: 1 << 20 });
      expect(await resultCid(files)).to.equal(published.location);
      return files;
    }

    it("uploads the result files from the task folder under the journaled CID; the scheduler checks it and pins", async function () {
      expect(text(await crashAtPublishedThenRestart("{}", "b1"))).to.deep.equal([["result.txt", RESULT]]);
    });

    it("uploads an encrypted result's kept envelope (same CID)", async function () {
      const { params, privateKey } = encryptedParams();
      const files = await crashAtPublishedThenRestart(params, "b2");
      expect(files).to.have.length(1);
      expect(text(await decryptResult(files[0]!.content, privateKey))).to.deep.equal([["result.txt", RESULT]]);
    });
  });
});
