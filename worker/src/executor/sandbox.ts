// The container a task runs in, as one pure function of the task, so the whole isolation policy
// can be read (and asserted by tests) in one place.
//
// Threat model: the app image and its parameters come from strangers. The image owner controls
// every byte that runs, so the sandbox does not try to limit *what* code runs; it limits what that
// code can reach and consume on a worker that is somebody's Raspberry Pi on a battery.
//
// Isolation policy (each line: setting, why):
// - Image `repo@sha256:…` only      run the verified, registered bytes; a tag could move under us.
// - NetworkMode "none"              no network unless the app registered `network: true`; then
//                                   the task network (network.ts: its own bridge, no inter-container
//                                   traffic, a firewall rejecting the host itself and every private,
//                                   link-local and CGNAT range), its DNS servers, IPv6 switched off
//                                   (sysctl), no published ports. Without that network in place a
//                                   network task is refused (NetworkIsolationError), never bridged.
// - User 65534:65534 (nobody)       never root in the container, whatever the image says; nothing
//                                   the task writes on the host is owned by a real user.
// - CapDrop ALL, no CapAdd          no raw sockets, chown, mknod, setuid... even for nobody.
// - no-new-privileges               setuid binaries in the image cannot raise privileges.
// - Privileged false, no Devices    no host devices (I2C, GPIO, disks) inside tasks.
// - default seccomp/AppArmor kept   never `unconfined`: the engine's default syscall filter applies.
// - ReadonlyRootfs                  the image cannot be modified and nothing persists between runs;
//                                   writable places are exactly /tmp and /sunpool/out.
// - tmpfs /tmp nosuid,nodev,size    scratch space in RAM, charged to the task's memory cgroup, so
//                                   it can never exceed the memory limit. Not `noexec`: the image
//                                   owner already chooses every binary that runs, so noexec would
//                                   protect nothing and breaks JITs, Python wheels, compilers.
// - Mounts: /sunpool/in read-only   the dataset and params; nothing else of the host is mounted
//           /sunpool/out read-write (no docker.sock, no /proc or /sys of the host, no home).
// - Memory == MemorySwap            a hard RAM cap with no swap: exceeding it OOM-kills the task
//                                   (reported as "oom") instead of thrashing the SD card.
// - OomScoreAdj 500                 when the whole host runs short, the kernel kills tasks before
//                                   the agent, the scheduler client or the system.
// - NanoCpus                        the registered cpuMillicores, so a task cannot starve the agent.
// - PidsLimit                       a fork bomb stops at PIDS_LIMIT processes.
// - Ulimits fsize = output cap + 1  no single file (in /tmp or /sunpool/out) can grow past one
//                                   byte over the cap: the write fails (EFBIG, or SIGXFSZ where
//                                   not ignored) and the file left behind is over the cap, which
//                                   the executor reports as "output-too-large". The total size of
//                                   /sunpool/out is measured while the task runs (run.ts), and the
//                                   task is stopped when it exceeds the cap.
//           nofile, core 0          bounded descriptors; no core dumps.
// - IpcMode private, own PID/UTS    no shared memory or process view with the host or other tasks.
// - Hostname "sunpool"              does not reveal the container id.
// - LogConfig json-file, max-size   the engine keeps at most LOG_MAX_SIZE of output on disk; the
//                                   executor reports a bounded tail (logs.ts).
// - BlkioDeviceWriteBps/IOps       (when the agent passes a writeLimit) the disk under /sunpool/out
//                                   is written at most at that rate, so a write flood cannot wear out
//                                   the SD card or starve the journal's fsyncs. cgroup v2 (the Pi
//                                   image) charges buffered writeback to the task; cgroup v1 only
//                                   direct and synced writes (measured: test/worker/executor/limits),
//                                   where the output cap (fsize ulimit, watcher) still bounds volume.
// - Labels sunpool.*                an agent restarted after a power cut finds its task containers
//                                   (and their output folder, cap and worker) from the engine alone;
//                                   containers of its own that no journal row owns are swept.
// - No RestartPolicy, no AutoRemove the executor removes the container itself after collecting.
import type { ContainerCreateOptions } from "dockerode";

import type { AppResources, Platform, TaskParams } from "@sunpool/sdk";

import { InvalidTaskError, NetworkIsolationError } from "./errors.js";
import { imageReference } from "./images.js";
import type { TaskNetwork } from "./network.js";

/** What the executor needs to run one task. */
export interface ExecutorTask {
  /** The task id (bytes32, 0x + 64 hex). */
  taskId: string;
  /** The task's index in its deal (the app sees it as SUNPOOL_TASK_INDEX). */
  index?: number;
  /** The worker's address, part of the container's name (see containerName). */
  worker?: string;
  /** The platform to pull and run (default: this host's). */
  platform?: Platform;
  /** The app as registered: image, digest and resources. */
  app: { image: string; imageDigest: string; resources: AppResources };
  /** The params document (already checked against the order's params digest). */
  params: TaskParams;
  /**
   * Host folder mounted read-only at /sunpool/in (the dataset and the params file), or none.
   * Its files must be readable by uid 65534 (mode o+r).
   */
  inputDir?: string;
  /** Host folder mounted read-write at /sunpool/out: the result. Created if absent; must be empty. */
  outputDir: string;
  /** Wall-clock limit, image pull included; default `defaultTimeoutSeconds(app.resources)`. */
  timeoutSeconds?: number;
  /** The isolated network for `network: true` apps (network.ts); without it such apps are refused. */
  network?: TaskNetwork;
  /** Write-rate limit on the disk under outputDir (disk.ts finds it); none when absent. */
  writeLimit?: WriteLimit;
}

export interface WriteLimit {
  /** A whole-disk block device, e.g. /dev/mmcblk0. */
  device: string;
  bytesPerSecond: number;
  /** Write operations per second (small synced writes wear flash as much as large ones). */
  iops?: number;
}

export const UID = 65534;
export const GID = 65534;
export const IN_DIR = "/sunpool/in";
export const OUT_DIR = "/sunpool/out";
export const PIDS_LIMIT = 256;
export const NOFILE_LIMIT = 1024;
export const LOG_MAX_SIZE = "1m";
export const HOSTNAME = "sunpool";
/** Docker sends SIGTERM, then SIGKILL this many seconds later (stop on timeout, abort or cap). */
export const STOP_GRACE_SECONDS = 5;

export const LABEL_MANAGED = "sunpool.managed";
export const LABEL_TASK = "sunpool.task";
export const LABEL_OUTPUT = "sunpool.output";
export const LABEL_MAX_OUTPUT = "sunpool.max-output-bytes";
/** The worker address the container runs for (several workers may share an engine, as on the devnet). */
export const LABEL_WORKER = "sunpool.worker";

const MiB = 1024 * 1024;
const TASK_ID = /^0x[0-9a-f]{64}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

/** The output cap in bytes. */
export function maxOutputBytes(resources: AppResources): number {
  return resources.maxOutputMiB * MiB;
}

/** expectedSeconds is measured on a Pi 4 core: allow 3x, and never less than 30 s. */
export function defaultTimeoutSeconds(resources: AppResources): number {
  return Math.max(30, resources.expectedSeconds * 3);
}

/**
 * The container name of a task: one container per task and worker. `worker` (the worker's
 * address) keeps replicas of one task apart when several workers share an engine (the devnet).
 */
export function containerName(taskId: string, worker?: string): string {
  const base = `sunpool-task-${checkTaskId(taskId).slice(2)}`;
  return worker === undefined ? base : `${base}-${worker.slice(2, 10).toLowerCase()}`;
}

/** The engine's create options for `task` (image must already be verified by pullImageByDigest). */
export function containerSpec(task: ExecutorTask): ContainerCreateOptions {
  const taskId = checkTaskId(task.taskId);
  const resources = checkResources(task.app.resources);
  const memory = resources.memoryMiB * MiB;
  const outputCap = maxOutputBytes(resources);
  const env = Object.entries(task.params.env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name) || name.startsWith("SUNPOOL_") || value.includes("\0")) {
      throw new InvalidTaskError(
        `env ${name}`,
        JSON.stringify(value),
        "an upper-case name (not SUNPOOL_*) with a value without NUL",
      );
    }
    return `${name}=${value}`;
  });
  env.push(`SUNPOOL_TASK_ID=${taskId}`, `SUNPOOL_OUT=${OUT_DIR}`);
  if (task.index !== undefined) env.push(`SUNPOOL_TASK_INDEX=${checkIndex(task.index).toString()}`);
  if (task.inputDir !== undefined) env.push(`SUNPOOL_IN=${IN_DIR}`);

  if (resources.network && task.network === undefined)
    throw new NetworkIsolationError("this worker has no isolated task network set up");
  const limit = task.writeLimit === undefined ? undefined : checkWriteLimit(task.writeLimit);

  const mounts: NonNullable<NonNullable<ContainerCreateOptions["HostConfig"]>["Mounts"]> = [
    { Type: "bind", Source: checkAbsolute("outputDir", task.outputDir), Target: OUT_DIR, ReadOnly: false },
  ];
  if (task.inputDir !== undefined) {
    mounts.unshift({ Type: "bind", Source: checkAbsolute("inputDir", task.inputDir), Target: IN_DIR, ReadOnly: true });
  }

  return {
    name: containerName(taskId, task.worker),
    Image: imageReference(task.app),
    ...(task.params.args === undefined ? {} : { Cmd: [...task.params.args] }),
    Env: env,
    User: `${UID}:${GID}`,
    Hostname: HOSTNAME,
    Labels: {
      [LABEL_MANAGED]: "true",
      [LABEL_TASK]: taskId,
      [LABEL_OUTPUT]: task.outputDir,
      [LABEL_MAX_OUTPUT]: String(outputCap),
      ...(task.worker === undefined ? {} : { [LABEL_WORKER]: task.worker.toLowerCase() }),
    },
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    OpenStdin: false,
    Tty: false,
    StopSignal: "SIGTERM",
    StopTimeout: STOP_GRACE_SECONDS,
    NetworkDisabled: !resources.network,
    HostConfig: {
      NetworkMode: resources.network ? task.network!.name : "none",
      ...(resources.network
        ? {
            Dns: [...task.network!.dns],
            Sysctls: { "net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1" },
          }
        : {}),
      ...(limit === undefined
        ? {}
        : {
            BlkioDeviceWriteBps: [{ Path: limit.device, Rate: limit.bytesPerSecond }],
            ...(limit.iops === undefined ? {} : { BlkioDeviceWriteIOps: [{ Path: limit.device, Rate: limit.iops }] }),
          }),
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${resources.memoryMiB}m,mode=1777` },
      Mounts: mounts,
      Memory: memory,
      MemorySwap: memory,
      OomKillDisable: false,
      OomScoreAdj: 500,
      NanoCpus: resources.cpuMillicores * 1_000_000,
      PidsLimit: PIDS_LIMIT,
      CapDrop: ["ALL"],
      CapAdd: [],
      SecurityOpt: ["no-new-privileges:true"],
      Privileged: false,
      Devices: [],
      IpcMode: "private",
      Ulimits: [
        { Name: "nofile", Soft: NOFILE_LIMIT, Hard: NOFILE_LIMIT },
        { Name: "fsize", Soft: outputCap + 1, Hard: outputCap + 1 },
        { Name: "core", Soft: 0, Hard: 0 },
      ],
      LogConfig: { Type: "json-file", Config: { "max-size": LOG_MAX_SIZE, "max-file": "1" } },
      RestartPolicy: { Name: "no" },
      AutoRemove: false,
    },
  };
}

function checkTaskId(taskId: string): string {
  if (!TASK_ID.test(taskId)) throw new InvalidTaskError("task id", taskId, "0x followed by 64 lower-case hex digits");
  return taskId;
}

function checkAbsolute(field: string, path: string): string {
  if (!path.startsWith("/") || path.includes(",") || path.includes("\0")) {
    throw new InvalidTaskError(field, path, "an absolute host path without commas");
  }
  return path;
}

function checkResources(resources: AppResources): AppResources {
  const positiveInt = (value: number) => Number.isSafeInteger(value) && value > 0;
  // The engine refuses memory limits under 6 MiB; a container needs a little for itself.
  if (!positiveInt(resources.memoryMiB) || resources.memoryMiB < 8) {
    throw new InvalidTaskError("memoryMiB", String(resources.memoryMiB), "an integer of at least 8");
  }
  if (!positiveInt(resources.cpuMillicores))
    throw new InvalidTaskError("cpuMillicores", String(resources.cpuMillicores), "a positive integer");
  if (!positiveInt(resources.maxOutputMiB))
    throw new InvalidTaskError("maxOutputMiB", String(resources.maxOutputMiB), "a positive integer");
  if (!(resources.expectedSeconds > 0))
    throw new InvalidTaskError("expectedSeconds", String(resources.expectedSeconds), "a positive number");
  return resources;
}

function checkWriteLimit(limit: WriteLimit): WriteLimit {
  if (!/^\/dev\/[a-zA-Z0-9/_-]+$/.test(limit.device))
    throw new InvalidTaskError("write limit device", limit.device, "a block device such as /dev/mmcblk0");
  if (!Number.isSafeInteger(limit.bytesPerSecond) || limit.bytesPerSecond <= 0)
    throw new InvalidTaskError("write limit", String(limit.bytesPerSecond), "a positive integer of bytes per second");
  if (limit.iops !== undefined && (!Number.isSafeInteger(limit.iops) || limit.iops <= 0))
    throw new InvalidTaskError("write limit iops", String(limit.iops), "a positive integer");
  return limit;
}

function checkIndex(index: number): number {
  if (!Number.isSafeInteger(index) || index < 0) throw new InvalidTaskError("index", String(index), "a task index >= 0");
  return index;
}
