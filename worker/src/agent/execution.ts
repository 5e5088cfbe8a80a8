// Runs a journaled task's container through the executor: fetches and checks the dataset,
// writes the inputs, meters the energy while the container runs, and keeps the output folder
// until the task is done (the pipeline publishes it from there, also after a restart).
import { chmod, mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { sha256, toUtf8Bytes } from "ethers";
import type Docker from "dockerode";

import { assertSafeResultPath, decodeTaskParams, resultDigest } from "@sunpool/sdk";
import type { Platform } from "@sunpool/sdk";
import { ContentMismatchError, type ResultStore } from "../content/store.js";
import type { EnergyManager } from "../energy/manager.js";
import { EnergyMeter } from "../energy/meter.js";
import { blockDeviceOf } from "../executor/disk.js";
import type { ImageCache } from "../executor/imageCache.js";
import type { PullLimits } from "../executor/images.js";
import type { TaskNetwork } from "../executor/network.js";
import { collectOutput } from "../executor/output.js";
import { removeTaskContainer, sweepOrphanContainers } from "../executor/recovery.js";
import { runTask } from "../executor/run.js";
import { maxOutputBytes, type WriteLimit } from "../executor/sandbox.js";
import type { JournaledTask } from "../journal/journal.js";
import { failpoint, tampering } from "./failpoints.js";
import type { ExecutionOutcome, PipelineContext } from "./pipeline.js";

/** Datasets larger than this are refused (a Pi's SD card and RAM are small). */
const MAX_DATASET_BYTES = 256 * 1024 * 1024;
const METER_EVERY_MS = 2000;
const DATASET_TIMEOUT_MS = 120_000;
/** An encrypted result's envelope, kept beside `out` until the task is done (keepEnvelope). */
const ENVELOPE_FILE = "result.enc";

export interface ExecutionOptions {
  docker: Docker;
  /** Where the dataset comes from. */
  results: ResultStore;
  energy: EnergyManager;
  /** Folder under which each task gets `<taskId>/in` and `<taskId>/out`. */
  tasksDir: string;
  /** Unix milliseconds (the board's clock). */
  now(): number;
  /** The worker's address: its containers are named after it and the task. */
  worker: string;
  /** The platform whose images it runs (default: this host's). */
  platform?: Platform;
  /** Bounds of image pulls (size, free-disk floor, time). */
  pullLimits?: PullLimits;
  /** Task images' last use, and how long an unused one is kept (then removed after a task). */
  images?: { cache: ImageCache; retentionMs: number };
  /** The isolated network for `network: true` apps; absent: they are refused. */
  network?: TaskNetwork;
  /** Write-rate limit on the disk under tasksDir (its block device is found at the first task). */
  writeRate?: Omit<WriteLimit, "device">;
  /** Told what could not be applied (e.g. no block device under tasksDir to throttle). */
  warn?: (message: string) => void;
}

/** What the agent calls at start, besides running tasks. */
export interface ExecutionMaintenance {
  /** Removes this worker's task containers whose task is not in `openTaskIds`; returns how many. */
  sweep(openTaskIds: ReadonlySet<string>): Promise<number>;
}

export function createExecution(
  options: ExecutionOptions,
): Pick<PipelineContext, "execute" | "readResult" | "cleanUp" | "keepEnvelope" | "readEnvelope"> & ExecutionMaintenance {
  let writeLimit: Promise<WriteLimit | undefined> | undefined;
  const resolveWriteLimit = () =>
    (writeLimit ??= (async () => {
      const rate = options.writeRate;
      if (rate === undefined) return undefined;
      await mkdir(options.tasksDir, { recursive: true });
      const device = await blockDeviceOf(options.tasksDir).catch(() => undefined);
      if (device === undefined) {
        options.warn?.(`no block device under ${options.tasksDir}: task writes are not rate-limited (output caps still apply)`);
        return undefined;
      }
      return { device, ...rate };
    })());
  const folders = (task: JournaledTask) => {
    const root = join(options.tasksDir, task.taskId);
    return { root, input: join(root, "in"), output: join(root, "out") };
  };

  return {
    async execute(task, signal) {
      const { input, output } = folders(task);
      const { assignment } = task;
      // A container left by a run this agent did not see finish (killed, crashed) is discarded:
      // its output may be partial, and the energy it used was not metered.
      await removeTaskContainer(options.docker, task.taskId, options.worker);
      await rm(folders(task).root, { recursive: true, force: true });
      await mkdir(input, { recursive: true });
      await chmod(input, 0o755);

      const params = decodeTaskParams(assignment.params, sha256(toUtf8Bytes(assignment.params)));
      await writeFile(join(input, "params.json"), assignment.params, { mode: 0o644 });
      if (assignment.dataset !== undefined) {
        const problem = await fetchDataset(options.results, assignment, input, signal);
        if (problem !== undefined) return { ok: false, reason: problem, logTail: "" };
      }

      const meter = new EnergyMeter(options.now());
      let metered = false;
      const read = async () => {
        const sample = await options.energy.sample().catch(() => undefined);
        if (sample === undefined) return;
        meter.add(sample.at, sample.loadWatts, sample.pvWatts, sample.mainsWatts ?? 0);
        metered = true;
      };
      options.energy.setBusy(true);
      await read();
      const metering = setInterval(() => void read(), METER_EVERY_MS);
      const startedAt = options.now();
      const limit = await resolveWriteLimit();
      try {
        const result = await runTask(
          options.docker,
          {
            taskId: task.taskId,
            index: task.index,
            worker: options.worker,
            ...(options.platform === undefined ? {} : { platform: options.platform }),
            app: { image: assignment.app.image, imageDigest: assignment.app.imageDigest, resources: assignment.app.needs },
            params,
            inputDir: input,
            outputDir: output,
            ...(options.network === undefined ? {} : { network: options.network }),
            ...(limit === undefined ? {} : { writeLimit: limit }),
          },
          {
            signal,
            onStarted: () => failpoint("container-started"),
            ...(options.pullLimits === undefined ? {} : { pullLimits: options.pullLimits }),
            onImage: (image) => void options.images?.cache.touch(image.reference, options.now()).catch(() => undefined),
          },
        );
        await read();
        meter.extendTo(options.now());
        const logTail = [result.logs.stderr, result.logs.stdout].filter((text) => text.length > 0).join("\n--- stdout ---\n");
        if (result.status !== "succeeded" || result.digest === undefined || result.files === undefined) {
          return { ok: false, reason: `${result.status}: ${result.reason ?? "the app failed"}`, logTail };
        }
        if (tampering) {
          await writeFile(join(output, "tampered.txt"), "made up by a dishonest worker\n");
          const { files } = await collectOutput(output, maxOutputBytes(assignment.app.needs));
          result.files = files;
          result.digest = resultDigest(files);
        }
        const seconds = meter.seconds > 0 ? meter.seconds : (options.now() - startedAt) / 1000;
        const { pvWh, batteryWh, mainsWh } = meter.split();
        return {
          ok: true,
          files: result.files,
          digest: result.digest,
          energy: meter.receipt(),
          // A host without a board meters nothing: a split of zeros would claim it ran on no mains.
          ...(metered ? { energySplit: { pvWh, batteryWh, mainsWh } } : {}),
          seconds,
          wattHours: meter.wattHours,
        } satisfies ExecutionOutcome;
      } finally {
        clearInterval(metering);
        options.energy.setBusy(false);
        if (options.images !== undefined) {
          const { cache, retentionMs } = options.images;
          await cache
            .collect(options.docker, { nowMs: options.now(), maxIdleMs: retentionMs })
            .catch((error: unknown) => options.warn?.(`image collection failed: ${(error as Error).message}`));
        }
      }
    },
    async keepEnvelope(task, envelope) {
      const file = join(folders(task).root, ENVELOPE_FILE);
      const handle = await open(`${file}.tmp`, "w", 0o600);
      try {
        await handle.writeFile(envelope);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(`${file}.tmp`, file);
    },
    async readEnvelope(task) {
      return readFile(join(folders(task).root, ENVELOPE_FILE)).then(
        (data) => new Uint8Array(data),
        () => undefined,
      );
    },
    async sweep(openTaskIds) {
      return (await sweepOrphanContainers(options.docker, options.worker, openTaskIds)).length;
    },
    async readResult(task) {
      const { files } = await collectOutput(folders(task).output, maxOutputBytes(task.assignment.app.needs));
      return files;
    },
    async cleanUp(task) {
      await removeTaskContainer(options.docker, task.taskId, options.worker).catch(() => undefined);
      await rm(folders(task).root, { recursive: true, force: true });
    },
  };
}

/**
 * Fetches the dataset into `input` and checks it against its registered checksum (and, in pool
 * mode, its CID: the store recomputes it).
 */
async function fetchDataset(
  results: ResultStore,
  assignment: JournaledTask["assignment"],
  input: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const dataset = assignment.dataset!;
  let files;
  try {
    files = await results.readDataset(dataset.cid, {
      poolPeers: assignment.ipfsPeers,
      signal: AbortSignal.any([signal, AbortSignal.timeout(DATASET_TIMEOUT_MS)]),
      maxBytes: MAX_DATASET_BYTES,
    });
  } catch (error) {
    if (error instanceof ContentMismatchError) return `the dataset ${dataset.cid} could not be verified: ${error.message}`;
    throw error;
  }
  if (files.length !== 1) return `the dataset ${dataset.cid} holds ${files.length.toString()} files, not one`;
  const file = files[0]!;
  assertSafeResultPath(file.path);
  if (sha256(file.content) !== dataset.checksum.toLowerCase()) {
    return `the dataset ${dataset.cid} does not match its registered checksum ${dataset.checksum}`;
  }
  await writeFile(join(input, file.path.split("/").pop()!), file.content, { mode: 0o644 });
  return undefined;
}
