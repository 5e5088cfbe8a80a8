// Errors the executor throws. Each says what went wrong, carries the values needed to act, and
// `hints` say what to do; callers branch on `code` (or the class), never on the message.

export type ExecutorErrorCode =
  | "DOCKER_UNREACHABLE"
  | "INVALID_TASK"
  | "IMAGE_PULL_FAILED"
  | "IMAGE_DIGEST_MISMATCH"
  | "IMAGE_PLATFORM_MISMATCH"
  | "TASK_CONTAINER_EXISTS";

export class ExecutorError extends Error {
  override name = "ExecutorError";
  readonly code: ExecutorErrorCode;
  readonly shortMessage: string;
  readonly hints: readonly string[];

  constructor(code: ExecutorErrorCode, shortMessage: string, hints: readonly string[] = [], cause?: unknown) {
    super(
      hints.length === 0 ? shortMessage : [shortMessage, "", ...hints].join("\n"),
      cause === undefined ? undefined : { cause },
    );
    this.code = code;
    this.shortMessage = shortMessage;
    this.hints = hints;
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
