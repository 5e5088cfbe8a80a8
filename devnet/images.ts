// Task images built FROM scratch without a Docker build, for the devnet's demo apps and the tests': a static busybox (Debian's busybox-static,
// one per CPU), a symlink per applet and the app's files, written as one reproducible layer and
// pushed straight through the registry API, with an image index when there are several platforms.
// The same sources give the same digests on every machine, no base image has to be pulled (none
// can be here), and an arm64 image needs no arm64 machine and no emulator to build.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { access, chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

import type { Platform } from "@sunpool/sdk";

const run = promisify(execFile);

export const REGISTRY = process.env.SUNPOOL_REGISTRY ?? "127.0.0.1:5000";

/** Where scripts/docker.sh puts each platform's static busybox. */
const BUSYBOX: Partial<Record<Platform, string>> = {
  "linux/amd64": process.arch === "x64" ? "/bin/busybox" : resolve(import.meta.dirname, "../.devnet/docker/busybox/amd64"),
  "linux/arm64": process.arch === "arm64" ? "/bin/busybox" : resolve(import.meta.dirname, "../.devnet/docker/busybox/arm64"),
};

const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

export interface ScratchImage {
  /** Repository inside the registry, e.g. `sunpool/wordcount`. */
  repository: string;
  /** Path inside the image → content. Files get mode 0755 (scripts). */
  files: Record<string, string>;
  entrypoint: string[];
  /** Default: this host's platform only. */
  platforms?: Platform[];
  /**
   * Default true: a static busybox and its applets under /bin. False: only `files` (an image for a
   * platform with no busybox here, e.g. to show a worker refusing another CPU's image).
   */
  busybox?: boolean;
}

export interface PushedImage {
  /** `<registry>/<repository>`, as an app registers it. */
  image: string;
  /** What an app registers: the index's digest with several platforms, else the manifest's. */
  imageDigest: string;
  /** The tag it was pushed under (derived from the content). */
  tag: string;
  /** Each platform's own manifest digest. */
  manifests: Partial<Record<Platform, string>>;
}

/** Builds the image for each platform and pushes it (and its index). Idempotent: same input, same digests. */
export async function pushScratchImage(spec: ScratchImage, registry = REGISTRY): Promise<PushedImage> {
  const platforms = spec.platforms ?? [process.arch === "arm64" ? "linux/arm64" : "linux/amd64"];
  const manifests: Partial<Record<Platform, string>> = {};
  const entries: { digest: string; size: number; body: Buffer; platform: Platform }[] = [];
  for (const platform of platforms) {
    const manifest = await pushPlatformManifest(spec, platform, registry);
    manifests[platform] = manifest.digest;
    entries.push({ ...manifest, platform });
  }
  let top: Buffer;
  let mediaType: string;
  if (entries.length === 1) {
    top = entries[0]!.body;
    mediaType = MEDIA.manifest;
  } else {
    mediaType = MEDIA.index;
    top = json({
      schemaVersion: 2,
      mediaType,
      manifests: entries.map(({ digest, size, platform }) => {
        const [os, architecture] = platform.split("/");
        return { mediaType: MEDIA.manifest, digest, size, platform: { os, architecture } };
      }),
    });
  }
  const imageDigest = sha256Digest(top);
  const tag = imageDigest.slice(7, 23);
  await putManifest(registry, spec.repository, tag, top, mediaType);
  return { image: `${registry}/${spec.repository}`, imageDigest, tag, manifests };
}

/** The static busybox for `platform`, or an error that says how to get it. */
export async function busyboxFor(platform: Platform): Promise<string> {
  const path = BUSYBOX[platform];
  if (path === undefined)
    throw new Error(`no busybox is known for ${platform}: the demo images are built for linux/amd64 and linux/arm64`);
  try {
    await access(path);
  } catch {
    throw new Error(`${path} is missing: run bash scripts/docker.sh ensure (it fetches Debian's busybox-static for ${platform})`);
  }
  return path;
}

async function pushPlatformManifest(spec: ScratchImage, platform: Platform, registry: string) {
  const layerTar = await rootfsTar(spec.files, spec.busybox === false ? undefined : await busyboxFor(platform));
  const layer = gzipSync(layerTar, { level: 9 });
  const [os, architecture, variant] = platform.split("/");
  const config = json({
    architecture,
    os,
    ...(variant === undefined ? {} : { variant }),
    config: { Entrypoint: spec.entrypoint, WorkingDir: "/" },
    rootfs: { type: "layers", diff_ids: [sha256Digest(layerTar)] },
  });
  await uploadBlob(registry, spec.repository, layer);
  await uploadBlob(registry, spec.repository, config);
  const body = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, size: config.length, digest: sha256Digest(config) },
    layers: [{ mediaType: MEDIA.layer, size: layer.length, digest: sha256Digest(layer) }],
  });
  const digest = sha256Digest(body);
  await putManifest(registry, spec.repository, digest, body, MEDIA.manifest);
  return { digest, size: body.length, body };
}

/** A tar of the image's root filesystem, byte-for-byte reproducible (sorted, owner 0, mtime 0). */
async function rootfsTar(files: Record<string, string>, busybox: string | undefined): Promise<Buffer> {
  const folder = await mkdtemp(join(tmpdir(), "sunpool-rootfs-"));
  try {
    // World-writable and sticky as on any root file system: Docker copies this mode onto the tmpfs
    // the sandbox mounts at /tmp, and tasks run as nobody.
    await mkdir(join(folder, "tmp"), { recursive: true });
    await chmod(join(folder, "tmp"), 0o1777);
    if (busybox !== undefined) await installBusybox(folder, busybox);
    for (const [path, content] of Object.entries(files)) {
      const target = join(folder, path.replace(/^\/+/, ""));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content, { mode: 0o755 });
      await chmod(target, 0o755);
    }
    const { stdout: tar } = await run(
      "tar",
      [
        "--sort=name",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "--mtime=@0",
        "--format=posix",
        "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
        "-cf",
        "-",
        "-C",
        folder,
        ".",
      ],
      { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
    );
    return tar;
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function installBusybox(folder: string, busybox: string): Promise<void> {
  await mkdir(join(folder, "bin"), { recursive: true });
  await copyFile(busybox, join(folder, "bin/busybox"));
  await chmod(join(folder, "bin/busybox"), 0o755);
  // The applet list comes from the host's busybox (same Debian version for every CPU).
  const { stdout } = await run("/bin/busybox", ["--list"]);
  for (const applet of stdout.split("\n").filter((line) => /^[a-z0-9_.[-]+$/.test(line) && line !== "busybox")) {
    await symlink("busybox", join(folder, "bin", applet));
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

async function uploadBlob(registry: string, repository: string, blob: Buffer): Promise<void> {
  const digest = sha256Digest(blob);
  const head = await fetch(`http://${registry}/v2/${repository}/blobs/${digest}`, { method: "HEAD" });
  if (head.ok) return;
  const start = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  const location = start.headers.get("location");
  if (start.status !== 202 || location === null)
    throw new Error(`registry ${registry}: blob upload to ${repository} answered ${start.status.toString()}`);
  const url = new URL(location, `http://${registry}`);
  url.searchParams.set("digest", digest);
  const done = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: Uint8Array.from(blob),
  });
  if (done.status !== 201)
    throw new Error(`registry ${registry}: blob upload to ${repository} answered ${done.status.toString()} ${await done.text()}`);
}

async function putManifest(registry: string, repository: string, reference: string, body: Buffer, mediaType: string) {
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
    method: "PUT",
    headers: { "content-type": mediaType },
    body: Uint8Array.from(body),
  });
  if (response.status !== 201)
    throw new Error(
      `registry ${registry}: PUT manifest ${repository}:${reference} answered ${response.status.toString()} ${await response.text()}`,
    );
}
