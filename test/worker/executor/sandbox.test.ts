// The container spec as data: the isolation policy (worker/src/executor/sandbox.ts) field by field.
// The run tests check that the engine enforces it.
import { expect } from "chai";

import { isExecutorError } from "../../../worker/src/executor/errors.js";
import { containerSpec, defaultTimeoutSeconds, PIDS_LIMIT, type ExecutorTask } from "../../../worker/src/executor/sandbox.js";

const DIGEST = `sha256:${"1".repeat(64)}`;
const TASK_ID = `0x${"ab".repeat(32)}`;

function task(overrides: Partial<ExecutorTask> = {}, network = false): ExecutorTask {
  return {
    taskId: TASK_ID,
    app: {
      image: "127.0.0.1:5000/wordcount",
      imageDigest: DIGEST,
      resources: { memoryMiB: 128, cpuMillicores: 500, expectedSeconds: 20, maxOutputMiB: 4, network },
    },
    params: { args: ["--top", "10"], env: { MODE: "fast" } },
    inputDir: "/var/lib/sunpool/tasks/1/in",
    outputDir: "/var/lib/sunpool/tasks/1/out",
    ...overrides,
  };
}

describe("executor: container spec", function () {
  it("pins the image by digest and appends the params' args to the entrypoint", function () {
    const spec = containerSpec(task());
    expect(spec.Image).to.equal(`127.0.0.1:5000/wordcount@${DIGEST}`);
    expect(spec.Cmd).to.deep.equal(["--top", "10"]);
    expect(spec.Entrypoint).to.equal(undefined);
    expect(spec.name).to.equal(`sunpool-task-${"ab".repeat(32)}`);
  });

  it("keeps the image's CMD when the params give no args", function () {
    expect(containerSpec(task({ params: {} }))).to.not.have.property("Cmd");
  });

  it("runs as nobody with no capabilities, no privilege escalation, no devices, a read-only root", function () {
    const spec = containerSpec(task());
    const host = spec.HostConfig!;
    expect(spec.User).to.equal("65534:65534");
    expect(host.CapDrop).to.deep.equal(["ALL"]);
    expect(host.CapAdd).to.deep.equal([]);
    expect(host.SecurityOpt).to.deep.equal(["no-new-privileges:true"]);
    expect(host.Privileged).to.equal(false);
    expect(host.Devices).to.deep.equal([]);
    expect(host.ReadonlyRootfs).to.equal(true);
    expect(host.IpcMode).to.equal("private");
    expect(host.Tmpfs).to.deep.equal({ "/tmp": "rw,nosuid,nodev,size=128m,mode=1777" });
  });

  it("has no network unless the app declares it, then the isolated task network (never the default bridge)", function () {
    const closed = containerSpec(task());
    expect(closed.HostConfig!.NetworkMode).to.equal("none");
    expect(closed.NetworkDisabled).to.equal(true);
    expect(() => containerSpec(task({}, true))).to.throw(/Network tasks are refused/);
    const open = containerSpec(task({ network: { name: "sunpool-tasks", bridge: "sunpool0", dns: ["1.1.1.1"] } }, true));
    expect(open.HostConfig!.NetworkMode).to.equal("sunpool-tasks");
    expect(open.HostConfig!.Dns).to.deep.equal(["1.1.1.1"]);
    expect(open.NetworkDisabled).to.equal(false);
  });

  it("limits the write rate on the given disk, and labels the worker", function () {
    expect(containerSpec(task()).HostConfig).to.not.have.property("BlkioDeviceWriteBps");
    const spec = containerSpec(
      task({
        worker: "0x00000000000000000000000000000000000000Aa",
        writeLimit: { device: "/dev/mmcblk0", bytesPerSecond: 8 << 20, iops: 200 },
      }),
    );
    expect(spec.HostConfig).to.deep.include({
      BlkioDeviceWriteBps: [{ Path: "/dev/mmcblk0", Rate: 8 << 20 }],
      BlkioDeviceWriteIOps: [{ Path: "/dev/mmcblk0", Rate: 200 }],
    });
    expect(spec.Labels).to.include({ "sunpool.worker": "0x00000000000000000000000000000000000000aa" });
    expect(() => containerSpec(task({ writeLimit: { device: "/dev/sda;rm", bytesPerSecond: 1 } }))).to.throw(
      /write limit device/,
    );
  });

  it("mounts only the inputs (read-only) and the output folder", function () {
    expect(containerSpec(task()).HostConfig!.Mounts).to.deep.equal([
      { Type: "bind", Source: "/var/lib/sunpool/tasks/1/in", Target: "/sunpool/in", ReadOnly: true },
      { Type: "bind", Source: "/var/lib/sunpool/tasks/1/out", Target: "/sunpool/out", ReadOnly: false },
    ]);
    expect(containerSpec(task({ inputDir: undefined })).HostConfig!.Mounts).to.have.length(1);
    expect(containerSpec(task()).HostConfig).to.not.have.property("Binds");
  });

  it("limits memory without swap, CPU, processes, file size, descriptors and logs", function () {
    const host = containerSpec(task()).HostConfig!;
    expect(host.Memory).to.equal(128 * 1024 * 1024);
    expect(host.MemorySwap).to.equal(host.Memory);
    expect(host.NanoCpus).to.equal(500_000_000);
    expect(host.PidsLimit).to.equal(PIDS_LIMIT);
    expect(host.OomScoreAdj).to.equal(500);
    expect(host.Ulimits).to.deep.equal([
      { Name: "nofile", Soft: 1024, Hard: 1024 },
      { Name: "fsize", Soft: 4 * 1024 * 1024 + 1, Hard: 4 * 1024 * 1024 + 1 },
      { Name: "core", Soft: 0, Hard: 0 },
    ]);
    expect(host.LogConfig).to.deep.equal({ Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } });
    expect(host.RestartPolicy).to.deep.equal({ Name: "no" });
  });

  it("passes the params' env plus SUNPOOL_TASK_ID, SUNPOOL_IN, SUNPOOL_OUT, and labels the container", function () {
    const spec = containerSpec(task());
    expect(spec.Env).to.deep.equal([
      "MODE=fast",
      `SUNPOOL_TASK_ID=${TASK_ID}`,
      "SUNPOOL_OUT=/sunpool/out",
      "SUNPOOL_IN=/sunpool/in",
    ]);
    expect(spec.Labels).to.deep.equal({
      "sunpool.managed": "true",
      "sunpool.task": TASK_ID,
      "sunpool.output": "/var/lib/sunpool/tasks/1/out",
      "sunpool.max-output-bytes": String(4 * 1024 * 1024),
    });
  });

  it("refuses reserved env names, bad task ids, digests, paths and resources", function () {
    const bad: Partial<ExecutorTask>[] = [
      { params: { env: { SUNPOOL_OUT: "/" } } },
      { params: { env: { lower: "x" } } },
      { taskId: "0x1234" },
      { outputDir: "relative/out" },
      { outputDir: "/a,b" },
      { app: { image: "127.0.0.1:5000/wordcount", imageDigest: "sha256:abc", resources: task().app.resources } },
      { app: { image: "127.0.0.1:5000/wordcount@sha256:x", imageDigest: DIGEST, resources: task().app.resources } },
      { app: { image: "x", imageDigest: DIGEST, resources: { ...task().app.resources, memoryMiB: 4 } } },
      { app: { image: "x", imageDigest: DIGEST, resources: { ...task().app.resources, cpuMillicores: 0 } } },
    ];
    for (const overrides of bad) {
      expect(() => containerSpec(task(overrides)), JSON.stringify(overrides))
        .to.throw()
        .that.satisfies((error: unknown) => isExecutorError(error, "INVALID_TASK"));
    }
  });

  it("allows 3x the expected seconds (measured on a Pi 4 core), at least 30 s", function () {
    expect(defaultTimeoutSeconds(task().app.resources)).to.equal(60);
    expect(defaultTimeoutSeconds({ ...task().app.resources, expectedSeconds: 2 })).to.equal(30);
  });
});
