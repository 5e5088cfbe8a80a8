// Hostile task images for the sandbox tests: built FROM the busybox test image (from the local
// registry, nothing public) with extra Dockerfile lines and files, pushed, addressed by digest.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { buildTestImage, dockerClient, REGISTRY, type TestImage } from "../../helpers/docker.js";

/**
 * `FROM <shell image>` plus `lines`; `randomMiB` adds an incompressible file of that size
 * (/blob), so the image's layers really are that large on the wire and on disk.
 */
export async function buildHostileImage(name: string, lines: string[], randomMiB = 0): Promise<TestImage> {
  const shell = await buildTestImage("shell");
  const docker = dockerClient();
  const context = await mkdtemp(join(tmpdir(), "sunpool-hostile-"));
  try {
    const files = ["Dockerfile"];
    const dockerfile = [`FROM ${shell.image}@${shell.imageDigest}`, ...lines];
    if (randomMiB > 0) {
      await writeFile(join(context, "blob"), randomBytes(randomMiB * 1024 * 1024));
      dockerfile.push("COPY blob /blob");
      files.push("blob");
    }
    await writeFile(join(context, "Dockerfile"), `${dockerfile.join("\n")}\n`);
    const tag = createHash("sha256").update(dockerfile.join("\n")).update(String(Date.now())).digest("hex").slice(0, 16);
    const image = `${REGISTRY}/sunpool-test/${name}`;
    const build = await docker.buildImage({ context, src: files }, { t: `${image}:${tag}`, rm: true, forcerm: true });
    await follow(docker, build);
    const push = await docker.getImage(`${image}:${tag}`).push({ authconfig: { serveraddress: REGISTRY } });
    const events = await follow(docker, push);
    const digest = events.map((event) => event.aux?.Digest).find((value) => value !== undefined);
    if (digest === undefined) throw new Error(`push ${image}:${tag}: no digest`);
    // Only the registry keeps it: the worker must pull it like a stranger's image.
    await docker
      .getImage(`${image}:${tag}`)
      .remove({ force: true })
      .catch(() => undefined);
    return { image, imageDigest: digest };
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function follow(
  docker: ReturnType<typeof dockerClient>,
  stream: NodeJS.ReadableStream,
): Promise<{ error?: string; aux?: { Digest?: string } }[]> {
  const events = await new Promise<{ error?: string; aux?: { Digest?: string } }[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string; aux?: { Digest?: string } }[]) =>
      error === null ? resolve(output) : reject(error),
    );
  });
  const failure = events.find((event) => event.error !== undefined);
  if (failure !== undefined) throw new Error(failure.error);
  return events;
}
