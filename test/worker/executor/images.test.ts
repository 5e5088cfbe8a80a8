// Pulling task images by digest from the local registry (scripts/docker.sh), with the real engine:
// the registered digest or nothing, and only images for this host's platform.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { isExecutorError, type ExecutorError } from "../../../worker/src/executor/errors.js";
import { hostPlatform, imagePlatform, pullImageByDigest, verifyImage } from "../../../worker/src/executor/images.js";
import { findTaskContainers } from "../../../worker/src/executor/recovery.js";
import { runTask } from "../../../worker/src/executor/run.js";
import { buildTestImage, dockerClient, pushForeignImage, removeLocalImage, type TestImage } from "../../helpers/docker.js";

async function rejection(promise: Promise<unknown>): Promise<ExecutorError> {
  try {
    await promise;
  } catch (error) {
    if (isExecutorError(error)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("executor: images", function () {
  this.timeout(60_000);
  const docker = dockerClient();
  let shell: TestImage;
  let other: TestImage;
  let arm64: TestImage;

  before(async function () {
    shell = await buildTestImage("shell");
    other = await buildTestImage("other", { "/app/marker": "another image\n" });
    arm64 = await pushForeignImage("arm64", "linux/arm64");
  });

  it("maps Node's architectures to OCI platforms", function () {
    expect(hostPlatform("x64")).to.equal("linux/amd64");
    expect(hostPlatform("arm64")).to.equal("linux/arm64");
    expect(hostPlatform("arm")).to.equal("linux/arm/v7");
    expect(() => hostPlatform("ia32")).to.throw(/x64, arm64 or arm/);
  });

  it("pulls image@digest from the registry, then reuses the local copy without pulling", async function () {
    await removeLocalImage(`${other.image}@${other.imageDigest}`);
    const events: unknown[] = [];
    const first = await pullImageByDigest(docker, { ...other, onProgress: (event) => events.push(event) });
    expect(first).to.include({ reference: `${other.image}@${other.imageDigest}`, pulled: true, platform: hostPlatform() });
    expect(events).to.not.be.empty;
    const info = await docker.getImage(first.id).inspect();
    expect(info.RepoDigests).to.include(`${other.image}@${other.imageDigest}`);

    const second = await pullImageByDigest(docker, other);
    expect(second).to.deep.equal({ ...first, pulled: false });
  });

  it("refuses a digest the repository does not hold (another image's digest), and runs nothing", async function () {
    // The app registers the shell image's repository with the digest of another image.
    const error = await rejection(
      pullImageByDigest(docker, { image: shell.image.replace(/shell$/, "nonexistent"), imageDigest: other.imageDigest }),
    );
    expect(error.code).to.equal("IMAGE_PULL_FAILED");
    expect(error.message).to.include(other.imageDigest);

    const unknown = `sha256:${"0".repeat(64)}`;
    expect((await rejection(pullImageByDigest(docker, { image: shell.image, imageDigest: unknown }))).code).to.equal(
      "IMAGE_PULL_FAILED",
    );

    const outputDir = join(await mkdtemp(join(tmpdir(), "sunpool-exec-")), "out");
    const task = {
      taskId: `0x${"e1".repeat(32)}`,
      app: {
        image: shell.image,
        imageDigest: unknown,
        resources: { memoryMiB: 32, cpuMillicores: 500, expectedSeconds: 5, maxOutputMiB: 1, network: false },
      },
      params: { args: ["echo should not run"] },
      outputDir,
    };
    expect((await rejection(runTask(docker, task))).code).to.equal("IMAGE_PULL_FAILED");
    expect(await findTaskContainers(docker)).to.deep.equal([]);
  });

  it("refuses a local image whose RepoDigests do not contain the registered digest, naming both", async function () {
    const info = await docker.getImage(`${other.image}@${other.imageDigest}`).inspect();
    let error: unknown;
    try {
      verifyImage(info, { image: other.image, imageDigest: shell.imageDigest, platform: hostPlatform() });
    } catch (caught) {
      error = caught;
    }
    expect(isExecutorError(error, "IMAGE_DIGEST_MISMATCH")).to.equal(true);
    expect(error).to.include({ registered: shell.imageDigest });
    expect((error as { got: string[] }).got).to.deep.equal([other.imageDigest]);
    expect((error as Error).message).to.include(`registered ${shell.imageDigest}, got ${other.imageDigest}`);
  });

  it("refuses an image built for another platform, before any container exists", async function () {
    await removeLocalImage(`${arm64.image}@${arm64.imageDigest}`);
    const error = await rejection(pullImageByDigest(docker, arm64));
    expect(error.code).to.equal("IMAGE_PLATFORM_MISMATCH");
    expect(error).to.include({ expected: "linux/amd64", got: "linux/arm64" });
    const info = await docker.getImage(`${arm64.image}@${arm64.imageDigest}`).inspect();
    expect(imagePlatform(info)).to.equal("linux/arm64");
    // The same image is accepted by a worker of that platform.
    expect(() => verifyImage(info, { ...arm64, platform: "linux/arm64" })).to.not.throw();

    const outputDir = join(await mkdtemp(join(tmpdir(), "sunpool-exec-")), "out");
    const task = {
      taskId: `0x${"e2".repeat(32)}`,
      app: { ...arm64, resources: { memoryMiB: 32, cpuMillicores: 500, expectedSeconds: 5, maxOutputMiB: 1, network: false } },
      params: {},
      outputDir,
    };
    expect((await rejection(runTask(docker, task))).code).to.equal("IMAGE_PLATFORM_MISMATCH");
    expect(await findTaskContainers(docker)).to.deep.equal([]);
  });
});
