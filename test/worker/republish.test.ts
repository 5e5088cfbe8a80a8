// A power cut right after the step `published`: the journal holds the result's CID, but the IPFS
// blocks the node had not synced are gone (here: a fresh in-memory node, which holds nothing).
// On restart the pipeline adds the same files again from the task folder (same CID) before it
// asks the scheduler to pin, so the scheduler can fetch them. For an encrypted result (randomized,
// so not rebuildable) the envelope kept in the task folder is added again.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { SigningKey, Wallet, ZeroHash } from "ethers";
import { pino } from "pino";

import { decryptResult } from "../../sdk/src/results/encryption.js";
import { resultDigest } from "../../sdk/src/results/digest.js";
import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";
import { createWorkerApiClient, type Assignment } from "../../sdk/src/scheduler/workers.js";
import { createExecution } from "../../worker/src/agent/execution.js";
import { advance, RetryLater, type PipelineContext } from "../../worker/src/agent/pipeline.js";
import type { Contributions } from "../../worker/src/chain/contributions.js";
import type { EnergyManager } from "../../worker/src/energy/manager.js";
import { Journal } from "../../worker/src/journal/journal.js";
import { dockerClient } from "../helpers/docker.js";

const WORKER = Wallet.createRandom();

describe("worker: a power cut at `published` does not cost the task", function () {
  this.timeout(60_000);
  const nodes: IpfsNode[] = [];
  after(async function () {
    for (const node of nodes) await node.stop();
  });

  async function setUp(params: string, id: string) {
    const dir = await mkdtemp(join(tmpdir(), "sunpool-republish-"));
    const taskId = `0x${id.repeat(32)}`;
    const assignment: Assignment = {
      action: "run",
      taskId,
      dealId: `0x${"33".repeat(32)}`,
      index: 0,
      trust: "1",
      category: "0",
      deadline: 4_000_000_000,
      app: {
        id: ZeroHash,
        image: "127.0.0.1:5000/sunpool-test/shell",
        imageDigest: `sha256:${"ab".repeat(32)}`,
        platforms: ["linux/amd64"],
        needs: { memoryMiB: 64, cpuMillicores: 500, expectedSeconds: 10, maxOutputMiB: 1, network: false },
      },
      params,
      authorization: "0x",
      ipfsPeers: [],
    };
    const tasksDir = join(dir, "tasks");
    const out = join(tasksDir, taskId, "out");
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "result.txt"), "forty-two\n");
    const journal = new Journal(join(dir, "journal.sqlite"));
    journal.accept(assignment, 1);
    const files = [{ path: "result.txt", content: new TextEncoder().encode("forty-two\n") }];
    journal.advance(taskId, { step: "executed", digest: resultDigest(files) }, 2);
    return { journal, tasksDir, taskId };
  }

  /** The pipeline as the agent wires it, with a scheduler whose pin endpoint `pins` answers. */
  function context(
    journal: Journal,
    tasksDir: string,
    ipfs: IpfsNode,
    pins: (cid: string) => Response,
  ): PipelineContext & { pinned: string[] } {
    const pinned: string[] = [];
    const execution = createExecution({
      docker: dockerClient(),
      ipfs,
      energy: {} as EnergyManager, // only `execute` meters energy; not called here
      tasksDir,
      now: () => Date.now(),
      worker: WORKER.address,
    });
    const api = createWorkerApiClient({
      url: "http://127.0.0.1:1",
      signer: WORKER,
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
    // The contribution step is past what this test covers: it stops there (retried later).
    const chain = { blockNumber: () => Promise.reject(new Error("stop after pinning")) } as unknown as Contributions;
    return {
      journal,
      api,
      chain,
      ipfs,
      log: pino({ level: "silent" }),
      now: () => Date.now(),
      learnTask: () => undefined,
      ...execution,
      pinned,
    };
  }

  async function held(ipfs: IpfsNode, cid: string) {
    return ipfs.readFiles(cid, { maxBytes: 1 << 20, signal: AbortSignal.timeout(3000) });
  }

  async function crashAtPublishedThenRestart(params: string, id: string) {
    const { journal, tasksDir, taskId } = await setUp(params, id);
    const before = await createIpfsNode();
    nodes.push(before);
    // First life: published, then the scheduler is unreachable and the power goes.
    const first = context(journal, tasksDir, before, () => new Response("down", { status: 503 }));
    let error: unknown;
    try {
      await advance(first, taskId, new AbortController().signal);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(RetryLater);
    const published = journal.get(taskId)!;
    expect(published.step).to.equal("published");
    const location = published.location!;
    // Second life: the node's unsynced blocks are lost (an empty node).
    const after = await createIpfsNode();
    nodes.push(after);
    const second = context(journal, tasksDir, after, (cid) => Response.json({ cid, bytes: 10 }));
    try {
      await advance(second, taskId, new AbortController().signal);
    } catch (caught) {
      expect((caught as Error).message).to.equal("stop after pinning");
    }
    expect(journal.get(taskId)!.step).to.equal("pinned");
    expect(second.pinned).to.deep.equal([location]);
    return { location, files: await held(after, location) };
  }

  it("re-adds the result files from the task folder (same CID) before pinning", async function () {
    const { files } = await crashAtPublishedThenRestart("{}", "a1");
    expect(files.map((file) => [file.path, Buffer.from(file.content).toString()])).to.deep.equal([["result.txt", "forty-two\n"]]);
  });

  it("re-adds an encrypted result's kept envelope (same CID) before pinning", async function () {
    const requester = new SigningKey(Wallet.createRandom().privateKey);
    const params = JSON.stringify({
      resultEncryption: { scheme: "ecdh-secp256k1-aes256gcm", publicKey: requester.compressedPublicKey },
    });
    const { files } = await crashAtPublishedThenRestart(params, "a2");
    expect(files).to.have.length(1);
    const decrypted = await decryptResult(files[0]!.content, requester.privateKey);
    expect(decrypted.map((file) => Buffer.from(file.content).toString())).to.deep.equal(["forty-two\n"]);
  });
});
