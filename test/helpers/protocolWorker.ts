// A worker that speaks the scheduler's worker API and the hub's task protocol, running a
// JavaScript "app" instead of a container. It stands in for the worker agent (issue 4) in the
// scheduler and SDK tests: everything it does goes over real HTTP (signed requests), a real
// chain and real IPFS, and it can misbehave on purpose (a wrong result, published content that
// differs from its digest, a brown-out in the middle of a task).
//
// Replicated tasks follow the hidden-vote protocol: it contributes
// keccak256(abi.encode(taskId, digest, worker, salt)) with a random salt, watches the chain, and
// reveals (digest, salt, location) as soon as its round's window closes (RevealOpened), whether or
// not the scheduler asks it to; a `reveal` assignment waits for that same reveal. A commitment
// whose task is reopened before it revealed is void: it stops there.
import { Contract, hexlify, randomBytes, sha256, toUtf8Bytes, type Wallet } from "ethers";

import { sunpoolHubAbi } from "../../sdk/src/generated/abis.js";
import type { SunpoolHub } from "../../sdk/src/generated/contracts/hub/SunpoolHub.js";
import type { Deployment } from "../../sdk/src/deployment.js";
import type { IpfsNode } from "../../sdk/src/node/ipfs.js";
import type { Platform } from "../../sdk/src/actions/assets.js";
import { computeCommitment } from "../../sdk/src/actions/tasks.js";
import { withHeadroom } from "../../worker/src/chain/contributions.js";
import { resultDigest, type ResultFile } from "../../sdk/src/results/digest.js";
import { encryptResult, ENCRYPTED_RESULT_FILE } from "../../sdk/src/results/encryption.js";
import { decodeTaskParams, type TaskParams } from "../../sdk/src/results/params.js";
import {
  createWorkerApiClient,
  pinResult,
  pullAssignment,
  registerWorker,
  reportTask,
  sendHeartbeat,
  type Assignment,
  type Heartbeat,
} from "../../sdk/src/scheduler/workers.js";
import { until } from "./wait.js";

/** How long a step may keep failing (the scheduler down), or a reveal wait, before the worker gives up. */
const PERSIST_MS = 120_000;

/** The "app" a test worker runs for each task. */
export type TestApp = (params: TaskParams, index: number) => ResultFile[];

export interface ProtocolWorkerOptions {
  url: string;
  deployment: Deployment;
  workerpool: string;
  /** The worker's wallet, connected to the chain. */
  wallet: Wallet;
  ipfs: IpfsNode;
  app: TestApp;
  platforms?: Platform[];
  memoryMiB?: number;
  outlook?: Heartbeat["outlook"];
  heartbeatMs?: number;
  /** Computes a wrong result (a dishonest or broken worker). */
  dishonest?: boolean;
  /** Publishes content that differs from the digest it submits. */
  tamper?: boolean;
  /** Loses power after pulling its first task: no report, no heartbeat, nothing more. */
  brownOutOnFirstTask?: boolean;
  /** Heartbeats but never pulls an assignment (a hung image pull, a malicious worker). */
  neverPulls?: boolean;
}

export interface ProtocolWorker {
  address: string;
  /** Tasks it acted on, by action (`run`, `reveal` once revealed on-chain, `brown-out`). */
  done: { action: string; taskId: string }[];
  /** Failures that cost work: a task or a reveal given up. A test of an honest flow expects none. */
  errors: unknown[];
  /** Transient failures it retried (a heartbeat, a pull or a report refused or unanswered): not a
   * failure by themselves, as for a real agent; what they cost shows in `errors` and the outcome. */
  retried: unknown[];
  stop(): Promise<void>;
}

export async function startProtocolWorker(options: ProtocolWorkerOptions): Promise<ProtocolWorker> {
  const client = createWorkerApiClient({
    url: options.url,
    signer: options.wallet,
    scope: { chainId: options.deployment.chainId, workerpool: options.workerpool },
  });
  const hub = new Contract(options.deployment.hub, sunpoolHubAbi, options.wallet) as unknown as SunpoolHub;
  const address = options.wallet.address;
  const outlook = options.outlook ?? { stateOfChargePct: 80, pvWatts: 6, loadWatts: 4, awakeSeconds: 36_000 };
  const done: ProtocolWorker["done"] = [];
  const errors: unknown[] = [];
  const retried: unknown[] = [];
  // What a real agent journals before contributing: the digest, the salt and the location (to
  // reveal), then the round its commitment joined.
  const committed = new Map<string, Commitment>();
  // One reveal per task, whether the chain or the scheduler prompts it.
  const reveals = new Map<string, Promise<string | undefined>>();
  let stopped = false;
  let poweredOff = false;
  const running = new Set<string>();
  // One transaction at a time from the worker's key, as the agent's sender does: a reveal (sent
  // in the background) and the next task's contribution would otherwise take the same nonce, and
  // one of them would fail with "nonce has already been used".
  let sending: Promise<unknown> = Promise.resolve();
  const serially = <T>(send: () => Promise<T>): Promise<T> => {
    const sent = sending.then(send, send);
    sending = sent.catch(() => undefined);
    return sent;
  };
  // Like an agent with a journal: a step that fails for want of the scheduler is retried, not dropped.
  const persist = async <T>(step: () => Promise<T>): Promise<T> => {
    const done = await until(
      "a step the scheduler kept refusing",
      async () => {
        try {
          return { value: await step() };
        } catch (error) {
          if (stopped || poweredOff) throw error;
          retried.push(error);
          return undefined;
        }
      },
      PERSIST_MS,
      250,
    );
    return done.value;
  };

  await registerWorker(client, {
    platforms: options.platforms ?? ["linux/amd64"],
    cores: 4,
    slots: 1,
    memoryMiB: options.memoryMiB ?? 4096,
    board: "test",
    ipfsPeers: options.ipfs.multiaddrs(),
  });
  await sendHeartbeat(client, { outlook, running: [] });
  const heartbeats = setInterval(() => {
    if (!poweredOff) sendHeartbeat(client, { outlook, running: [...running] }).catch((error: unknown) => retried.push(error));
  }, options.heartbeatMs ?? 500);

  async function runTask(assignment: Assignment): Promise<void> {
    running.add(assignment.taskId);
    try {
      await work(assignment);
    } finally {
      // Given up or done: no longer listed in heartbeats, so a lease left behind lapses and the
      // pool hands the task on instead of waiting on this worker for ever.
      running.delete(assignment.taskId);
    }
  }

  async function work(assignment: Assignment): Promise<void> {
    const { taskId, dealId, index } = assignment;
    await persist(() => reportTask(client, taskId, { state: "running" }));
    const params = decodeTaskParams(assignment.params, sha256(toUtf8Bytes(assignment.params)));
    let files = options.app(params, index);
    if (options.dishonest) files = [...files, { path: "wrong.txt", content: toUtf8Bytes(address) }];
    const digest = resultDigest(files);
    const published = options.tamper ? files.map((file) => ({ ...file, content: toUtf8Bytes("tampered") })) : files;
    const stored =
      params.resultEncryption === undefined
        ? published
        : [{ path: ENCRYPTED_RESULT_FILE, content: await encryptResult(published, params.resultEncryption.publicKey) }];
    const location = await options.ipfs.addFiles(stored);
    await persist(() => pinResult(client, { cid: location, providers: options.ipfs.multiaddrs() }));
    const energy = { milliwattHours: 1200 + index, solarShareBps: 8000 };
    if (BigInt(assignment.trust) <= 1n) {
      const receipt = await serially(async () =>
        (await hub.submitResult(dealId, index, digest, toUtf8Bytes(location), energy, assignment.authorization)).wait(),
      );
      await persist(() =>
        reportTask(client, taskId, { state: "submitted", resultLocation: location, transaction: receipt!.hash }),
      );
    } else {
      const salt = hexlify(randomBytes(32));
      const commitment = computeCommitment(taskId, digest, address, salt);
      const contributeArgs = [dealId, index, commitment, energy, assignment.authorization] as const;
      const gasLimit = withHeadroom(await hub.contribute.estimateGas(...contributeArgs));
      const receipt = await serially(async () => (await hub.contribute(...contributeArgs, { gasLimit })).wait());
      // The round its commitment joined: the chain mines one transaction per block, so the task's
      // round at the receipt's block is the round right after this contribution.
      const { round } = await hub.task(taskId, { blockTag: receipt!.blockNumber });
      committed.set(taskId, { dealId, index, digest, salt, location, round: Number(round) });
      await persist(() =>
        reportTask(client, taskId, { state: "contributed", resultLocation: location, transaction: receipt!.hash }),
      );
      void revealOnce(taskId).catch((error: unknown) => {
        if (!stopped) errors.push(error);
      });
    }
  }

  /**
   * Waits for the commitment's round to reveal, then reveals once and reports it. Resolves with
   * the reveal's transaction hash, or undefined when the commitment can no longer be revealed
   * (the task was reopened first, or it ended) or the worker stopped.
   */
  function revealOnce(taskId: string): Promise<string | undefined> {
    let pending = reveals.get(taskId);
    if (pending === undefined) {
      // A failed attempt is forgotten, so the next reveal assignment tries again.
      pending = watchAndReveal(taskId).catch((error: unknown) => {
        reveals.delete(taskId);
        throw error;
      });
      reveals.set(taskId, pending);
    }
    return pending;
  }

  async function watchAndReveal(taskId: string): Promise<string | undefined> {
    const commitment = committed.get(taskId);
    if (commitment === undefined) throw new Error(`asked to reveal ${taskId}, which this worker never contributed to`);
    const { dealId, index, digest, salt, location } = commitment;
    const revealing = await until(
      `task ${taskId} to open its reveal window`,
      async () => {
        if (stopped || poweredOff) return false;
        const [task, outcome] = await Promise.all([hub.task(taskId), hub.taskOutcome(dealId, index)]);
        if (outcome !== 0n || task.round > BigInt(commitment.round)) return false;
        return task.status === STATUS_REVEALING ? true : undefined;
      },
      PERSIST_MS,
    );
    if (!revealing) return undefined;
    const revealArgs = [dealId, index, digest, salt, toUtf8Bytes(location)] as const;
    const gasLimit = withHeadroom(await hub.reveal.estimateGas(...revealArgs));
    const receipt = await serially(async () => (await hub.reveal(...revealArgs, { gasLimit })).wait());
    done.push({ action: "reveal", taskId });
    await persist(() => reportTask(client, taskId, { state: "revealed", resultLocation: location, transaction: receipt!.hash }));
    return receipt!.hash;
  }

  async function reveal(assignment: Assignment): Promise<void> {
    const hash = await revealOnce(assignment.taskId);
    if (hash === undefined && !stopped) {
      throw new Error(`asked to reveal ${assignment.taskId}, whose commitment can no longer be revealed`);
    }
  }

  const loop = (async () => {
    // A worker's life, not a wait: it ends when the test stops it (stop() awaits it).
    // eslint-disable-next-line no-restricted-syntax
    while (!stopped && !poweredOff && options.neverPulls !== true) {
      try {
        const assignment = await pullAssignment(client, { waitSeconds: 1 }).catch((error: unknown) => {
          retried.push(error);
          return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200));
        });
        if (assignment === undefined || stopped) continue;
        if (options.brownOutOnFirstTask) {
          poweredOff = true;
          done.push({ action: "brown-out", taskId: assignment.taskId });
          break;
        }
        if (assignment.action === "reveal") {
          await reveal(assignment);
        } else {
          await runTask(assignment);
          done.push({ action: assignment.action, taskId: assignment.taskId });
        }
      } catch (error) {
        if (!stopped) errors.push(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();

  return {
    address,
    done,
    errors,
    retried,
    async stop() {
      stopped = true;
      clearInterval(heartbeats);
      await loop;
      await Promise.allSettled(reveals.values());
    },
  };
}

/** TaskStatus.Revealing (contracts/types/Tasks.sol). */
const STATUS_REVEALING = 2n;

interface Commitment {
  dealId: string;
  index: number;
  digest: string;
  salt: string;
  location: string;
  round: number;
}
