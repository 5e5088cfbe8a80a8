// Errors the executor throws. Each says what went wrong, carries the values needed to act, and
// `hints` say what to do; callers branch on `code` (or the class), never on the message. The base is
// the SDK's coded error, shared by every part.
import { SunpoolError } from "@sunpool/sdk";

export type ExecutorErrorCode =
  | "DOCKER_UNREACHABLE"
  | "INVALID_TASK"
  | "IMAGE_PULL_FAILED"
  | "IMAGE_DIGEST_MISMATCH"
  | "IMAGE_PLATFORM_MISMATCH"
  | "TASK_CONTAINER_EXISTS"
  | "IMAGE_DECLARES_VOLUME"
  | "IMAGE_TOO_LARGE"
  | "DISK_LOW"
  | "NETWORK_ISOLATION_UNAVAILABLE";

export class ExecutorError extends SunpoolError<ExecutorErrorCode> {
  override name = "ExecutorError";

  constructor(code: ExecutorErrorCode, shortMessage: string, hints: readonly string[] = [], cause?: unknown) {
    super(code, shortMessage, { hints, cause });
  }
}

/** True for an ExecutorError, optionally of one code. */
export function isExecutorError(error: unknown, code?: ExecutorErrorCode): error is ExecutorError {
  return error instanceof ExecutorError && (code === undefined || error.code === code);
}

/** The Docker engine did not answer (socket missing, daemon down, permission denied). */
export class DockerUnreachableError extends ExecutorError {
  override name = "DockerUnreachableError";
  constructor(socket: string, cause?: unknown) {
    super(
      "DOCKER_UNREACHABLE",
      `Docker is not reachable at ${socket}.`,
      [
        "Start it with `bash scripts/docker.sh ensure` (as root), or `sudo systemctl start docker`.",
        "If it runs, check that this user may use the socket (member of the docker group).",
      ],
      cause,
    );
  }
}

/** A task description the executor cannot run as given (bad id, digest, directory, env name). */
export class InvalidTaskError extends ExecutorError {
  override name = "InvalidTaskError";
  constructor(field: string, given: string, expected: string) {
    super("INVALID_TASK", `Invalid ${field}: ${given}.`, [`Expected ${expected}.`]);
  }
}

/** The registry refused or failed the pull (unknown digest, unreachable registry, bad manifest). */
export class ImagePullError extends ExecutorError {
  override name = "ImagePullError";
  readonly reference: string;
  constructor(reference: string, reason: string, cause?: unknown) {
    super(
      "IMAGE_PULL_FAILED",
      `Could not pull ${reference}: ${reason}`,
      [
        "Check that the app's registry is reachable from this worker and still holds that digest (docker pull <reference>).",
        "The worker only runs the registered digest: it never falls back to a tag.",
      ],
      cause,
    );
    this.reference = reference;
  }
}

/** The local image is not the one the app registered: nothing may run from it. */
export class ImageDigestMismatchError extends ExecutorError {
  override name = "ImageDigestMismatchError";
  readonly registered: string;
  readonly got: readonly string[];
  constructor(image: string, registered: string, got: readonly string[]) {
    super(
      "IMAGE_DIGEST_MISMATCH",
      `Image ${image} is not the registered one: registered ${registered}, got ${got.length === 0 ? "no digest" : got.join(", ")}.`,
      ["The task is refused. If the app owner re-pushed the image, they must register the new digest."],
    );
    this.registered = registered;
    this.got = got;
  }
}

/** The image is built for another OS/architecture than this host runs. */
export class ImagePlatformMismatchError extends ExecutorError {
  override name = "ImagePlatformMismatchError";
  readonly expected: string;
  readonly got: string;
  constructor(reference: string, expected: string, got: string) {
    super("IMAGE_PLATFORM_MISMATCH", `Image ${reference} is for ${got}, but this worker runs ${expected}.`, [
      `The app must publish a ${expected} image (a multi-platform manifest list registers one digest for all).`,
      "Workers only take tasks whose app lists their platform; report the app if it claims one it does not ship.",
    ]);
    this.expected = expected;
    this.got = got;
  }
}

/** A container for this task already exists (a previous run, e.g. before a power cut). */
export class TaskContainerExistsError extends ExecutorError {
  override name = "TaskContainerExistsError";
  readonly taskId: string;
  constructor(taskId: string, containerId: string) {
    super("TASK_CONTAINER_EXISTS", `Task ${taskId} already has a container (${containerId.slice(0, 12)}).`, [
      "Collect its result with collectTaskContainer() if it exited, or remove it with removeTaskContainer(), then run again.",
    ]);
    this.taskId = taskId;
  }
}

/** The image declares VOLUMEs: the engine would give the task an uncapped writable volume on the SD card. */
export class ImageDeclaresVolumeError extends ExecutorError {
  override name = "ImageDeclaresVolumeError";
  readonly volumes: readonly string[];
  constructor(reference: string, volumes: readonly string[]) {
    super("IMAGE_DECLARES_VOLUME", `Image ${reference} declares volumes (${volumes.join(", ")}): refused.`, [
      "A VOLUME would be an uncapped writable folder on the worker's disk. The app must drop VOLUME from its Dockerfile",
      "and write scratch data to /tmp and its result to $SUNPOOL_OUT.",
    ]);
    this.volumes = volumes;
  }
}

/** The image is larger than this worker accepts (executor.maxImageMiB). */
export class ImageTooLargeError extends ExecutorError {
  override name = "ImageTooLargeError";
  readonly bytes: number;
  readonly limit: number;
  constructor(reference: string, bytes: number, limit: number, phase: "pulling" | "pulled") {
    super(
      "IMAGE_TOO_LARGE",
      phase === "pulling"
        ? `Image ${reference} is larger than this worker's limit of ${limit} bytes (its layers add up to at least ${bytes} bytes): the pull was stopped.`
        : `Image ${reference} is ${bytes} bytes, over this worker's limit of ${limit} bytes: refused and removed.`,
      ["The app must ship a smaller image, or the worker owner may raise executor.maxImageMiB."],
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** Free disk under the engine's data root is below the configured floor: no pull is started. */
export class DiskLowError extends ExecutorError {
  override name = "DiskLowError";
  readonly freeBytes: number;
  readonly floorBytes: number;
  constructor(path: string, freeBytes: number, floorBytes: number) {
    super(
      "DISK_LOW",
      `Only ${freeBytes} bytes are free under ${path}, below the floor of ${floorBytes} bytes: the image is not pulled.`,
      [
        "Free space on the worker's disk (docker image prune, docker system df), or lower executor.minFreeDiskMiB.",
        "The executor removes images no task used for executor.imageRetentionHours by itself.",
      ],
    );
    this.freeBytes = freeBytes;
    this.floorBytes = floorBytes;
  }
}

/** The firewall that keeps network tasks off the owner's LAN is not in place: network tasks are refused. */
export class NetworkIsolationError extends ExecutorError {
  override name = "NetworkIsolationError";
  constructor(reason: string, cause?: unknown) {
    super(
      "NETWORK_ISOLATION_UNAVAILABLE",
      `Network tasks are refused: their isolation from private addresses could not be set up (${reason}).`,
      [
        "The agent must run as root with iptables (Debian's iptables package) to install its DOCKER-USER and INPUT rules.",
        "Tasks that declare no network still run.",
      ],
      cause,
    );
  }
}
