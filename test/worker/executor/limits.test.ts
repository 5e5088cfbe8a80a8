// A hostile image against the worker's disk: declared volumes, an oversize image, a pull that
// never ends, a pull with the disk nearly full, images piling up, and a write flood. Each test
// plays the image and asserts the refusal (with its error) or the containment, measured.
import { mkdtemp, chmod } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import type { AppResources } from "../../../sdk/src/actions/assets.js";
import { blockDeviceOf } from "../../../worker/src/executor/disk.js";
import { isExecutorError, type ExecutorError } from "../../../worker/src/executor/errors.js";
import { ImageCache } from "../../../worker/src/executor/imageCache.js";
import { freeDiskBytes, pullImageByDigest } from "../../../worker/src/executor/images.js";
import { findTaskContainers } from "../../../worker/src/executor/recovery.js";
import { runTask } from "../../../worker/src/executor/run.js";
import type { ExecutorTask } from "../../../worker/src/executor/sandbox.js";
import { buildTestImage, dockerClient, removeLocalImage, type TestImage } from "../../helpers/docker.js";
import { buildHostileImage } from "./hostile.js";

const MiB = 1024 * 1024;
const RESOURCES: AppResources = { memoryMiB: 64, cpuMillicores: 1000, expectedSeconds: 5, maxOutputMiB: 8, network: false };
let counter = 0;

async function rejection(promise: Promise<unknown>): Promise<ExecutorError> {
  try {
    await promise;
  } catch (error) {
    if (isExecutorError(error)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("executor: limits against a hostile image", function () {
  this.timeout(120_000);
  const docker = dockerClient();
  let work: string;

  before(async function () {
    work = await mkdtemp(join(tmpdir(), "sunpool-limits-"));
    await chmod(work, 0o700);
  });

  afterEach(async function () {
    expect(await findTaskContainers(docker), "containers left behind").to.deep.equal([]);
  });

  function task(image: TestImage, script: string, overrides: Partial<ExecutorTask> = {}): ExecutorTask {
    counter += 1;
    return {
      taskId: `0x${(0xd000 + counter).toString(16).padStart(64, "0")}`,
      app: { image: image.image, imageDigest: image.imageDigest, resources: RESOURCES },
      params: { args: [script] },
      outputDir: join(work, `out-${counter}`),
      ...overrides,
    };
  }

  async function isLocal(image: TestImage): Promise<boolean> {
    return docker
      .getImage(`${image.image}@${image.imageDigest}`)
      .inspect()
      .then(
        () => true,
        () => false,
      );
  }

  it("refuses an image that declares a VOLUME before anything runs, and removes it", async function () {
    const hostile = await buildHostileImage("volume", ["VOLUME /data /var/cache"]);
    const t = task(hostile, "echo ran > /data/x; echo ran");
    const error = await rejection(runTask(docker, t));
    expect(error.code).to.equal("IMAGE_DECLARES_VOLUME");
    expect(error.shortMessage).to.equal(
      `Image ${hostile.image}@${hostile.imageDigest} declares volumes (/data, /var/cache): refused.`,
    );
    expect(await isLocal(hostile), "image kept").to.equal(false);
    const volumes = (await docker.listVolumes()).Volumes ?? [];
    expect(volumes.filter((volume) => volume.Labels?.["sunpool.task"] !== undefined)).to.deep.equal([]);
  });

  it("stops the pull of an image over the configured size, refuses it and keeps nothing", async function () {
    const hostile = await buildHostileImage("oversize", [], 24);
    const limit = 8 * MiB;
    const error = await rejection(pullImageByDigest(docker, { ...hostile, limits: { maxImageBytes: limit } }));
    expect(error.code).to.equal("IMAGE_TOO_LARGE");
    console.log(`      ${error.shortMessage}`);
    expect((error as ExecutorError & { limit: number }).limit).to.equal(limit);
    expect((error as ExecutorError & { bytes: number }).bytes).to.be.greaterThan(limit);
    expect(error.shortMessage).to.match(/larger than this worker's limit of 8388608 bytes|over this worker's limit of 8388608/);
    expect(await isLocal(hostile), "image kept").to.equal(false);

    // The same image within a larger limit is pulled: the limit, not the image, refused it.
    const pulled = await pullImageByDigest(docker, { ...hostile, limits: { maxImageBytes: 64 * MiB } });
    expect(pulled.pulled).to.equal(true);
    await removeLocalImage(pulled.reference);
  });

  describe("a registry that never answers", function () {
    let server: Server;
    let port: number;
    const sockets = new Set<Socket>();
    before(async function () {
      // Loopback only: accepts connections and says nothing, as a stalled registry does.
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => undefined);
      }).listen(0, "127.0.0.1");
      await new Promise((resolve) => server.once("listening", resolve));
      port = (server.address() as { port: number }).port;
    });
    after(function () {
      for (const socket of sockets) socket.destroy();
      server.close();
    });

    it("abandons the pull at its timeout", async function () {
      const stalled = { image: `127.0.0.1:${port}/stalled`, imageDigest: `sha256:${"5".repeat(64)}` };
      const started = Date.now();
      const error = await rejection(pullImageByDigest(docker, { ...stalled, limits: { timeoutMs: 1500 } }));
      const elapsed = Date.now() - started;
      expect(error.code).to.equal("IMAGE_PULL_FAILED");
      expect(error.shortMessage).to.equal(
        `Could not pull ${stalled.image}@${stalled.imageDigest}: timed out after 1.5 s (the pull was abandoned)`,
      );
      expect(elapsed).to.be.within(1400, 30_000);
    });

    it("counts the pull against the task's wall-clock limit", async function () {
      const stalled = { image: `127.0.0.1:${port}/stalled`, imageDigest: `sha256:${"6".repeat(64)}` };
      const started = Date.now();
      const error = await rejection(
        runTask(docker, task(stalled, "echo never", { timeoutSeconds: 2 }), {
          pullLimits: { timeoutMs: 600_000 },
        }),
      );
      expect(error.code).to.equal("IMAGE_PULL_FAILED");
      expect(error.shortMessage).to.include("timed out after 2 s");
      expect(Date.now() - started).to.be.within(1900, 30_000);
    });
  });

  it("refuses to pull when free disk is below the configured floor", async function () {
    const shell = await buildTestImage("shell");
    const other = await buildTestImage("floor", { "/app/marker": "floor test\n" });
    await removeLocalImage(`${other.image}@${other.imageDigest}`);
    const disk = await freeDiskBytes(docker);
    expect(disk, "the engine's data root is visible").to.not.equal(undefined);
    const floor = disk!.free + 1024 * MiB;
    const error = await rejection(pullImageByDigest(docker, { ...other, limits: { minFreeDiskBytes: floor } }));
    expect(error.code).to.equal("DISK_LOW");
    expect(error.shortMessage).to.match(
      new RegExp(`^Only \\d+ bytes are free under ${disk!.path}, below the floor of ${floor} bytes: the image is not pulled\\.$`),
    );
    expect(await isLocal(other)).to.equal(false);
    // An image already present needs no disk: it still runs.
    await pullImageByDigest(docker, shell);
    const result = await runTask(docker, task(shell, "echo ok"), { pullLimits: { minFreeDiskBytes: floor } });
    expect(result.status).to.equal("succeeded");
  });

  it("collects images no task needed for a while; recent and in-use images stay", async function () {
    const stale = await buildTestImage("gc-stale", { "/app/marker": "stale\n" });
    const recent = await buildTestImage("gc-recent", { "/app/marker": "recent\n" });
    const busy = await buildTestImage("gc-busy", { "/app/marker": "busy\n" });
    const cache = new ImageCache(join(work, "images.json"));
    const ref = (image: TestImage) => `${image.image}@${image.imageDigest}`;
    for (const image of [stale, recent, busy]) await pullImageByDigest(docker, image);
    const day = 86_400_000;
    const now = 10 * day;
    await cache.touch(ref(stale), now - 8 * day);
    await cache.touch(ref(busy), now - 8 * day);
    await cache.touch(ref(recent), now - day);
    const holder = await docker.createContainer({ Image: ref(busy), Cmd: ["true"], Labels: { "sunpool.test": "gc" } });
    try {
      const collected = await new ImageCache(cache.file).collect(docker, { nowMs: now, maxIdleMs: 7 * day });
      expect(collected).to.deep.equal({ removed: [ref(stale)], inUse: [ref(busy)] });
      expect(await isLocal(stale)).to.equal(false);
      expect(await isLocal(recent)).to.equal(true);
      expect(await isLocal(busy)).to.equal(true);
      expect([...(await new ImageCache(cache.file).entries()).keys()].sort()).to.deep.equal([ref(busy), ref(recent)].sort());
    } finally {
      await holder.remove({ force: true });
    }
    // Once the container is gone, the idle image goes at the next collection.
    const again = await new ImageCache(cache.file).collect(docker, { nowMs: now, maxIdleMs: 7 * day });
    expect(again.removed).to.deep.equal([ref(busy)]);
  });

  describe("write flood", function () {
    const flood = (flag: string) =>
      // Centiseconds from /proc/uptime (busybox date has no %N).
      `cs() { read up _ < /proc/uptime; echo \${up%.*}\${up#*.}; }; s=$(cs); dd if=/dev/zero of=/sunpool/out/flood bs=64k count=64 ${flag} 2>/dev/null; e=$(cs); echo ms=$(( (e - s) * 10 ))`;
    const ms = (stdout: string) => Number(/ms=(\d+)/.exec(stdout)?.[1]);

    it("throttles synced and direct writes to the configured rate on the output folder's disk", async function () {
      const shell = await buildTestImage("shell");
      const device = await blockDeviceOf(work);
      expect(device, `a block device under ${work}`).to.match(/^\/dev\//);
      const writeLimit = { device: device!, bytesPerSecond: 1 * MiB };
      const figures: Record<string, number> = {};
      for (const [name, flag] of [
        ["direct", "oflag=direct"],
        ["fsync", "conv=fsync"],
        ["buffered", ""],
      ] as const) {
        const free = await runTask(docker, task(shell, flood(flag)));
        const limited = await runTask(docker, task(shell, flood(flag), { writeLimit }));
        expect(limited.status, limited.logs.stderr).to.equal("succeeded");
        figures[`${name} unlimited ms`] = ms(free.logs.stdout);
        figures[`${name} at 1 MiB/s ms`] = ms(limited.logs.stdout);
      }
      console.log(`      4 MiB written by the task: ${JSON.stringify(figures)}`);
      // 4 MiB at 1 MiB/s: about 4 s where the cgroup is charged for the writes (direct and synced
      // I/O under cgroup v1; all writeback under cgroup v2).
      expect(figures["direct at 1 MiB/s ms"]).to.be.within(3000, 30_000);
      expect(figures["fsync at 1 MiB/s ms"]).to.be.within(3000, 30_000);
      expect(figures["direct unlimited ms"]).to.be.lessThan(figures["direct at 1 MiB/s ms"]! / 2);
    });
  });
});
