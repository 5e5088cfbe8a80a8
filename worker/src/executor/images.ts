// Task images: pull exactly the registered digest, then check what the engine holds before anything
// runs from it. The engine already verifies content against a digest it pulls by, so the checks
// here guard the other paths: an image that was present locally, a daemon or registry that
// misbehaves, and an image for another CPU (which would fail late and obscurely under qemu, or
// not at all on a Pi without it).
//
// A hostile image is also refused for what it would do to the worker's disk: a declared VOLUME
// (the engine would create an uncapped writable volume on the SD card), a size over the
// configured limit (checked while the layers download and again on what was stored), and any pull
// when the engine's data root has less free space than the configured floor. A pull has a time
// limit (runTask counts it against the task's wall-clock budget).
import { statfs } from "node:fs/promises";

import type Docker from "dockerode";
import type { ImageInspectInfo } from "dockerode";

import type { Platform } from "@sunpool/sdk";

import {
  DiskLowError,
  DockerUnreachableError,
  ImageDeclaresVolumeError,
  ImageDigestMismatchError,
  ImageTooLargeError,
  ImagePlatformMismatchError,
  ImagePullError,
  InvalidTaskError,
} from "./errors.js";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ImageRef {
  /** Repository without tag or digest, e.g. `127.0.0.1:5000/wordcount` (a tag, if given, is ignored). */
  image: string;
  /** The registered manifest digest, `sha256:<64 hex>`. */
  imageDigest: string;
}

export interface PullImageParameters extends ImageRef {
  /** The platform the image must be for; defaults to this host's (`hostPlatform()`). */
  platform?: Platform;
  /** Progress events from the engine while pulling (layer downloads). */
  onProgress?: (event: PullProgress) => void;
  signal?: AbortSignal;
  /** Disk and time bounds of the pull (all off when absent). */
  limits?: PullLimits;
}

export interface PullProgress {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

export interface PullLimits {
  /** Largest image accepted, in bytes (the layers' download sizes while pulling, then the stored size). */
  maxImageBytes?: number;
  /** No pull starts while the engine's data root has less free space than this (bytes). */
  minFreeDiskBytes?: number;
  /** Where the engine stores images; default: the engine's DockerRootDir (docker info). */
  dataRoot?: string;
  /** The pull is abandoned after this long (ms). */
  timeoutMs?: number;
}

export interface PulledImage {
  /** `repository@sha256:…`: the one reference containers are created from. */
  reference: string;
  /** The local image id (config digest). */
  id: string;
  platform: Platform;
  /** False when the image was already present by digest (no network used). */
  pulled: boolean;
}

/** This host's platform as an OCI platform string, from Node's `process.arch`. */
export function hostPlatform(arch: string = process.arch): Platform {
  switch (arch) {
    case "x64":
      return "linux/amd64";
    case "arm64":
      return "linux/arm64";
    case "arm":
      return "linux/arm/v7";
    default:
      throw new InvalidTaskError("host architecture", arch, "x64, arm64 or arm (linux/amd64, linux/arm64, linux/arm/v7)");
  }
}

/** `repository@digest` for an app's image; refuses malformed digests and references. */
export function imageReference({ image, imageDigest }: ImageRef): string {
  return `${repositoryOf(image)}@${checkDigest(imageDigest)}`;
}

/**
 * Pulls `image@imageDigest` unless the engine already holds it, then verifies it (`verifyImage`).
 * Throws ImagePullError, ImageDigestMismatchError or ImagePlatformMismatchError; nothing is run.
 */
export async function pullImageByDigest(docker: Docker, parameters: PullImageParameters): Promise<PulledImage> {
  const reference = imageReference(parameters);
  const platform = parameters.platform ?? hostPlatform();
  let info = await inspectImage(docker, reference);
  // A local copy for another platform (an engine shared by workers of different platforms, as on
  // the devnet, or a worker whose platform setting changed) is replaced by this platform's entry.
  const other = info !== undefined && !platformMatches(imagePlatform(info), platform) ? imagePlatform(info) : undefined;
  const pulled = info === undefined || other !== undefined;
  if (info === undefined || other !== undefined) {
    if (parameters.limits?.minFreeDiskBytes !== undefined) await checkFreeDisk(docker, parameters.limits);
    // The engine will not re-point a digest reference ("Cannot overwrite digest"): drop it first
    // (the image itself stays while containers or other references use it).
    if (other !== undefined)
      await docker
        .getImage(reference)
        .remove({ noprune: true })
        .catch(() => undefined);
    try {
      await pull(docker, reference, platform, other === undefined ? parameters : { ...parameters, platform });
    } catch (error) {
      // The registry has no entry for this platform: the image is only for the other one.
      if (other !== undefined && error instanceof ImagePullError)
        throw new ImagePlatformMismatchError(reference, platform, other);
      throw error;
    }
    info = await inspectImage(docker, reference);
    if (info === undefined) throw new ImagePullError(reference, "the engine reported success but does not hold the image");
  }
  verifyImage(info, { image: parameters.image, imageDigest: parameters.imageDigest, platform });
  try {
    checkImageContent(info, reference, parameters.limits?.maxImageBytes);
  } catch (error) {
    // Nothing will ever run from it here: free the disk (an image a container uses stays).
    await docker
      .getImage(reference)
      .remove()
      .catch(() => undefined);
    throw error;
  }
  return { reference, id: info.Id, platform, pulled };
}

/**
 * What an image may contain, as a pure function of its inspection: no declared volumes, and (if
 * `maxImageBytes` is given) a stored size within it.
 */
export function checkImageContent(
  info: Pick<ImageInspectInfo, "Size"> & { Config?: { Volumes?: Record<string, unknown> | null } | null },
  reference: string,
  maxImageBytes?: number,
): void {
  const volumes = Object.keys(info.Config?.Volumes ?? {});
  if (volumes.length > 0) throw new ImageDeclaresVolumeError(reference, volumes.sort());
  if (maxImageBytes !== undefined && info.Size > maxImageBytes)
    throw new ImageTooLargeError(reference, info.Size, maxImageBytes, "pulled");
}

/** Free bytes on the file system holding the engine's images (undefined if this host cannot see it). */
export async function freeDiskBytes(docker: Docker, dataRoot?: string): Promise<{ path: string; free: number } | undefined> {
  let path = dataRoot;
  if (path === undefined) {
    try {
      path = ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir;
    } catch (error) {
      throw dockerError(docker, error);
    }
  }
  if (path === undefined) return undefined;
  try {
    const stats = await statfs(path);
    return { path, free: stats.bavail * stats.bsize };
  } catch {
    return undefined;
  }
}

async function checkFreeDisk(docker: Docker, limits: PullLimits): Promise<void> {
  const floor = limits.minFreeDiskBytes!;
  const disk = await freeDiskBytes(docker, limits.dataRoot);
  // A remote engine's data root is not visible from here: the engine's own errors are all there is.
  if (disk !== undefined && disk.free < floor) throw new DiskLowError(disk.path, disk.free, floor);
}

/**
 * The checks on an inspected image, as a pure function: its RepoDigests must contain exactly
 * `repository@imageDigest`, and its OS/architecture/variant must be `platform`.
 */
export function verifyImage(
  info: Pick<ImageInspectInfo, "RepoDigests" | "Os" | "Architecture" | "Variant">,
  expected: ImageRef & { platform: Platform },
): void {
  const repository = repositoryOf(expected.image);
  const digest = checkDigest(expected.imageDigest);
  const repoDigests = info.RepoDigests ?? [];
  if (!repoDigests.some((entry) => entry === `${repository}@${digest}`)) {
    // Report the digests the image has for this repository (all of them if none match it).
    const ofRepository = repoDigests
      .filter((entry) => entry.startsWith(`${repository}@`))
      .map((entry) => entry.slice(repository.length + 1));
    throw new ImageDigestMismatchError(repository, digest, ofRepository.length > 0 ? ofRepository : repoDigests);
  }
  const got = imagePlatform(info);
  if (!platformMatches(got, expected.platform))
    throw new ImagePlatformMismatchError(`${repository}@${digest}`, expected.platform, got);
}

/** `os/arch[/variant]` of an inspected image, as Docker prints platforms. */
export function imagePlatform(info: Pick<ImageInspectInfo, "Os" | "Architecture" | "Variant">): string {
  return [info.Os, info.Architecture, info.Variant].filter((part) => part !== undefined && part !== "").join("/");
}

function platformMatches(got: string, expected: Platform): boolean {
  if (got === expected) return true;
  // arm64 images may or may not state the (only) variant v8.
  return expected === "linux/arm64" && got === "linux/arm64/v8";
}

async function inspectImage(docker: Docker, reference: string): Promise<ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(reference).inspect();
  } catch (error) {
    if (statusCode(error) === 404) return undefined;
    throw dockerError(docker, error);
  }
}

async function pull(docker: Docker, reference: string, platform: Platform, parameters: PullImageParameters): Promise<void> {
  const limits = parameters.limits ?? {};
  const own = new AbortController();
  const signals = [own.signal];
  if (parameters.signal !== undefined) signals.push(parameters.signal);
  const timeout = limits.timeoutMs === undefined ? undefined : AbortSignal.timeout(limits.timeoutMs);
  if (timeout !== undefined) signals.push(timeout);
  const signal = AbortSignal.any(signals);
  // Why the pull was cut short, as the error to throw (the engine cancels a pull whose client leaves).
  const failure = (): Error => {
    if (own.signal.aborted) return own.signal.reason as Error;
    if (timeout?.aborted === true)
      return new ImagePullError(reference, `timed out after ${limits.timeoutMs! / 1000} s (the pull was abandoned)`);
    return (parameters.signal?.reason as Error | undefined) ?? new Error("aborted");
  };
  let stream: NodeJS.ReadableStream;
  try {
    // Only an explicit platform is passed on: by default the engine picks the host's entry of a
    // manifest list, and pulls a single-platform image whatever it is for, so that the check
    // below can name the mismatch instead of the engine's generic "no matching manifest".
    const options = parameters.platform === undefined ? {} : { platform };
    stream = await docker.createImage({ fromImage: reference, ...options, abortSignal: signal });
  } catch (error) {
    if (signal.aborted) throw failure();
    if (statusCode(error) === undefined) throw dockerError(docker, error);
    throw new ImagePullError(reference, messageOf(error), error);
  }
  // Each layer announces its download size: their sum bounds the image before it is on disk.
  const layerBytes = new Map<string, number>();
  const events = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) => {
    const onAbort = () => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(failure());
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: { error?: string }[]) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) return reject(failure());
        if (error === null) resolve(output);
        else reject(new ImagePullError(reference, error.message, error));
      },
      (event: PullProgress) => {
        const total = event.progressDetail?.total;
        if (limits.maxImageBytes !== undefined && event.id !== undefined && total !== undefined && total > 0) {
          layerBytes.set(event.id, total);
          const sum = [...layerBytes.values()].reduce((a, b) => a + b, 0);
          if (sum > limits.maxImageBytes && !own.signal.aborted)
            own.abort(new ImageTooLargeError(reference, sum, limits.maxImageBytes, "pulling"));
        }
        parameters.onProgress?.(event);
      },
    );
  });
  // The engine reports pull failures as a final `error` event in a 200 response.
  const failed = events.find((event) => event.error !== undefined);
  if (failed !== undefined) throw new ImagePullError(reference, failed.errorDetail?.message ?? failed.error ?? "unknown error");
}

function repositoryOf(image: string): string {
  if (image.includes("@"))
    throw new InvalidTaskError("image", image, "a repository without digest (the digest is registered separately)");
  // A tag is the part after the last ':' of the last path segment (a registry port has a '/' after it).
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  const repository = colon > slash ? image.slice(0, colon) : image;
  if (!/^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?$/.test(repository)) {
    throw new InvalidTaskError("image", image, "a repository such as 127.0.0.1:5000/wordcount");
  }
  return repository;
}

function checkDigest(digest: string): string {
  if (!DIGEST.test(digest)) throw new InvalidTaskError("image digest", digest, "sha256:<64 lower-case hex digits>");
  return digest;
}

/** HTTP status of a dockerode error, or undefined for transport errors (no answer). */
export function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** Turns a transport error (no HTTP answer) into DockerUnreachableError; keeps engine errors. */
export function dockerError(docker: Docker, error: unknown): unknown {
  if (statusCode(error) !== undefined) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES" || code === "ECONNRESET") {
    const options = docker.modem as { socketPath?: unknown; host?: unknown };
    const socket =
      typeof options.socketPath === "string"
        ? options.socketPath
        : typeof options.host === "string"
          ? options.host
          : "the configured host";
    return new DockerUnreachableError(socket, error);
  }
  return error;
}

function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === "string") return json.message;
  return error instanceof Error ? error.message : String(error);
}
