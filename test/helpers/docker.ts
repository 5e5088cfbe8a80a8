// Docker for tests: the real engine and the local registry (scripts/docker.sh), and tiny task
// images built FROM scratch with Debian's static busybox, pushed, and addressed by digest like
// registered apps. Images are named after a hash of their content, and a build is skipped when the
// registry already holds that tag, so repeated runs cost one HTTP request per image.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, copyFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

import Docker from "dockerode";

import type { Platform } from "@sunpool/sdk";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
export const REGISTRY = process.env.SUNPOOL_REGISTRY ?? "127.0.0.1:5000";
const BUSYBOX = "/bin/busybox";

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
  /** The tag it was pushed under (the content hash). */
  tag: string;
}

/**
 * Builds an image FROM scratch: /bin/busybox with a symlink per applet, `files` (path inside the
 * image → content; scripts get mode 0755), the entrypoint; pushes it and returns its digest.
 */
export async function buildTestImage(
  name: string,
  files: Record<string, string> = {},
  options: TestImageOptions = {},
): Promise<TestImage> {
  await ensureDocker();
  const entrypoint = options.entrypoint ?? ["/bin/sh", "-c"];
  const busybox = await readFile(BUSYBOX);
  const hash = createHash("sha256")
    .update(JSON.stringify({ files, entrypoint, format: 1 }))
    .update(busybox)
    .digest("hex")
    .slice(0, 16);
  const image = `${REGISTRY}/sunpool-test/${name}`;
  const cached = await registryDigest(`sunpool-test/${name}`, hash);
  if (cached !== undefined) return { image, imageDigest: cached, tag: hash };

  const context = await mkdtemp(join(tmpdir(), "sunpool-image-"));
  try {
    const rootfs = join(context, "rootfs");
    await mkdir(join(rootfs, "bin"), { recursive: true });
    await copyFile(BUSYBOX, join(rootfs, "bin/busybox"));
    await chmod(join(rootfs, "bin/busybox"), 0o755);
    const { stdout } = await run(BUSYBOX, ["--list"]);
    for (const applet of stdout.split("\n").filter((line) => /^[a-z0-9_.[-]+$/.test(line) && line !== "busybox")) {
      await symlink("busybox", join(rootfs, "bin", applet));
    }
    for (const [path, content] of Object.entries(files)) {
      const target = join(rootfs, path.replace(/^\/+/, ""));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content, { mode: 0o755 });
    }
    const dockerfile = ["FROM scratch", "COPY rootfs/ /", `ENTRYPOINT ${JSON.stringify(entrypoint)}`, ""].join("\n");
    await writeFile(join(context, "Dockerfile"), dockerfile);

    const docker = dockerClient();
    const tag = `${image}:${hash}`;
    const build = await docker.buildImage({ context, src: ["Dockerfile", "rootfs"] }, { t: tag, rm: true, forcerm: true });
    await followStream(docker, build, `build ${tag}`);
    const push = await docker.getImage(tag).push({ authconfig: { serveraddress: REGISTRY } });
    const events = await followStream(docker, push, `push ${tag}`);
    const digest = events.map((event) => event.aux?.Digest).find((value) => value !== undefined);
    if (digest === undefined) throw new Error(`push ${tag}: the engine reported no digest`);
    return { image, imageDigest: digest, tag: hash };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/**
 * Pushes an image whose config says `platform` (one text file, nothing to run), straight through
 * the registry API: Docker's classic builder ignores `--platform` for FROM scratch, and no
 * foreign base image can be pulled here. This is what a worker sees when an app ships only
 * another CPU's image.
 */
export async function pushForeignImage(name: string, platform: Platform): Promise<TestImage> {
  await ensureDocker();
  const [os, architecture, variant] = platform.split("/");
  const repository = `sunpool-test/${name}`;
  const folder = await mkdtemp(join(tmpdir(), "sunpool-layer-"));
  try {
    await writeFile(join(folder, "hello"), `built for ${platform}\n`);
    const { stdout: tar } = await run(
      "tar",
      ["--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-cf", "-", "-C", folder, "hello"],
      {
        encoding: "buffer",
      },
    );
    const layer = gzipSync(tar);
    const config = Buffer.from(
      JSON.stringify({
        architecture,
        os,
        ...(variant === undefined ? {} : { variant }),
        config: { Entrypoint: ["/hello"] },
        rootfs: { type: "layers", diff_ids: [sha256Digest(tar)] },
      }),
    );
    await uploadBlob(repository, layer);
    await uploadBlob(repository, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_V2,
        config: {
          mediaType: "application/vnd.docker.container.image.v1+json",
          size: config.length,
          digest: sha256Digest(config),
        },
        layers: [
          { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: sha256Digest(layer) },
        ],
      }),
    );
    const tag = sha256Digest(manifest).slice(7, 23);
    const response = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${tag}`, {
      method: "PUT",
      headers: { "content-type": MANIFEST_V2 },
      body: Uint8Array.from(manifest),
    });
    if (response.status !== 201)
      throw new Error(`registry: PUT manifest ${repository}:${tag} answered ${response.status} ${await response.text()}`);
    return { image: `${REGISTRY}/${repository}`, imageDigest: sha256Digest(manifest), tag };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";

function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

async function uploadBlob(repository: string, blob: Buffer): Promise<void> {
  const start = await fetch(`http://${REGISTRY}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  const location = start.headers.get("location");
  if (start.status !== 202 || location === null)
    throw new Error(`registry: blob upload to ${repository} answered ${start.status}`);
  const url = new URL(location, `http://${REGISTRY}`);
  url.searchParams.set("digest", sha256Digest(blob));
  const done = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: Uint8Array.from(blob),
  });
  if (done.status !== 201) throw new Error(`registry: blob upload to ${repository} answered ${done.status} ${await done.text()}`);
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

/** The digest the registry serves for repository:tag, or undefined if it has no such tag. */
async function registryDigest(repository: string, tag: string): Promise<string | undefined> {
  const response = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: { accept: MANIFEST_V2 },
  });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`registry ${REGISTRY}: HEAD ${repository}:${tag} answered ${response.status}`);
  return response.headers.get("docker-content-digest") ?? undefined;
}

interface StreamEvent {
  error?: string;
  aux?: { Digest?: string };
}

async function followStream(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<StreamEvent[]> {
  const events = await new Promise<StreamEvent[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: StreamEvent[]) =>
      error === null ? resolve(output) : reject(error),
    );
  });
  const failure = events.find((event) => event.error !== undefined);
  if (failure !== undefined) throw new Error(`${what}: ${failure.error}`);
  return events;
}
