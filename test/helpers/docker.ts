// Docker for tests: the real engine and the local registry (scripts/docker.sh), and tiny task
// images pushed by digest like registered apps, through the devnet's image builder
// (devnet/images.ts): one way to make a task image, whoever needs one.
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

import Docker from "dockerode";

import type { Platform } from "@sunpool/sdk";

import { pushScratchImage, REGISTRY } from "../../devnet/images.js";

export { REGISTRY };

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

let ensured: Promise<void> | undefined;

/** Starts dockerd and the registry if they are down (once per process); installs them as root if missing. */
export function ensureDocker(): Promise<void> {
  ensured ??= run("bash", [join(ROOT, "scripts/docker.sh"), "ensure"], { timeout: 300_000 }).then(
    () => undefined,
    (error: Error & { stderr?: string }) => {
      ensured = undefined;
      throw new Error(`scripts/docker.sh ensure failed:\n${error.stderr ?? error.message}`, { cause: error });
    },
  );
  return ensured;
}

/** A dockerode client for the engine scripts/docker.sh runs (DOCKER_HOST or /var/run/docker.sock). */
export function dockerClient(): Docker {
  return new Docker();
}

export interface TestImageOptions {
  /** Default: ["/bin/sh", "-c"], so a task's first arg is a shell script. */
  entrypoint?: string[];
}

export interface TestImage {
  /** `127.0.0.1:5000/sunpool-test/<name>`, as an app registers it. */
  image: string;
  /** The manifest digest in the registry, `sha256:…`. */
  imageDigest: string;
}

/**
 * An image FROM scratch for this host's CPU: a static busybox with its applets, `files` (path inside
 * the image → content, mode 0755), the entrypoint; pushed, returned by digest. Same input, same digest.
 */
export async function buildTestImage(
  name: string,
  files: Record<string, string> = {},
  options: TestImageOptions = {},
): Promise<TestImage> {
  await ensureDocker();
  const { image, imageDigest } = await pushScratchImage({
    repository: `sunpool-test/${name}`,
    files,
    entrypoint: options.entrypoint ?? ["/bin/sh", "-c"],
  });
  return { image, imageDigest };
}

/**
 * An image whose config says `platform` (one text file, nothing to run): what a worker sees when an
 * app ships only another CPU's image.
 */
export async function pushForeignImage(name: string, platform: Platform): Promise<TestImage> {
  await ensureDocker();
  const { image, imageDigest } = await pushScratchImage({
    repository: `sunpool-test/${name}`,
    files: { "/hello": `built for ${platform}\n` },
    entrypoint: ["/hello"],
    platforms: [platform],
    busybox: false,
  });
  return { image, imageDigest };
}

/** Removes every local copy of an image (by id), so the next pull goes to the registry. */
export async function removeLocalImage(reference: string): Promise<void> {
  const docker = dockerClient();
  try {
    const info = await docker.getImage(reference).inspect();
    await docker.getImage(info.Id).remove({ force: true });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
}
