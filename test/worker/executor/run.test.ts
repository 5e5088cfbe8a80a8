// Running tasks in the real engine: the sandbox is enforced (not just configured), every outcome is
// classified, the result digest is the documented one, and no container outlives its run.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile, chmod } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";

import { resultDigest } from "../../../sdk/src/results/digest.js";
import { readResultFolder } from "../../../sdk/src/node/files.js";
import type { AppResources } from "../../../sdk/src/actions/assets.js";
import { isExecutorError, type ExecutorError } from "../../../worker/src/executor/errors.js";
import { findTaskContainers } from "../../../worker/src/executor/recovery.js";
import { runTask, type TaskRunResult } from "../../../worker/src/executor/run.js";
import { LOG_TAIL_BYTES } from "../../../worker/src/executor/logs.js";
import type { ExecutorTask } from "../../../worker/src/executor/sandbox.js";
import { buildTestImage, dockerClient, type TestImage } from "../../helpers/docker.js";

const sh = promisify(execFile);
const RESOURCES: AppResources = { memoryMiB: 64, cpuMillicores: 1000, expectedSeconds: 5, maxOutputMiB: 1, network: false };
let counter = 0;

describe("executor: runTask", function () {
  this.timeout(60_000);
  const docker = dockerClient();
  let shell: TestImage;
  let work: string;

  before(async function () {
    shell = await buildTestImage("shell");
    work = await mkdtemp(join(tmpdir(), "sunpool-exec-"));
    await chmod(work, 0o700);
  });

  afterEach(async function () {
    expect(await findTaskContainers(docker), "containers left behind").to.deep.equal([]);
  });

  /** A task running `script` in busybox sh, with a fresh output folder. */
  function task(
    script: string,
    overrides: {
      resources?: Partial<AppResources>;
      env?: Record<string, string>;
      timeoutSeconds?: number;
      inputDir?: string;
    } = {},
  ): ExecutorTask {
    counter += 1;
    return {
      taskId: `0x${counter.toString(16).padStart(64, "0")}`,
      app: { image: shell.image, imageDigest: shell.imageDigest, resources: { ...RESOURCES, ...overrides.resources } },
      params: { args: [script], ...(overrides.env === undefined ? {} : { env: overrides.env }) },
      outputDir: join(work, `out-${counter}`),
      ...(overrides.inputDir === undefined ? {} : { inputDir: overrides.inputDir }),
      ...(overrides.timeoutSeconds === undefined ? {} : { timeoutSeconds: overrides.timeoutSeconds }),
    };
  }

  /** Lines `key=value` the script printed. */
  function printed(result: TaskRunResult): Record<string, string> {
    return Object.fromEntries(
      result.logs.stdout
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  }

  it("succeeds with the documented result digest (SDK and the coreutils pipeline of docs/results.md agree)", async function () {
    const input = join(work, "in-digest");
    await mkdir(input);
    await writeFile(join(input, "dataset.txt"), "the quick brown fox\nthe lazy dog\n", { mode: 0o644 });
    const t = task(
      [
        'tr " " "\\n" < $SUNPOOL_IN/dataset.txt | sort | uniq -c | sort -rn > $SUNPOOL_OUT/counts.txt',
        "mkdir -p $SUNPOOL_OUT/nested/deeper && echo $MODE > $SUNPOOL_OUT/nested/deeper/mode.txt",
        "printf 'no newline' > '/sunpool/out/name with spaces'",
        ": > $SUNPOOL_OUT/empty && mkdir $SUNPOOL_OUT/empty-dir",
        "echo task=$SUNPOOL_TASK_ID",
      ].join("\n"),
      { env: { MODE: "fast" }, inputDir: input },
    );
    const result = await runTask(docker, t);
    expect(result.status, result.logs.stderr).to.equal("succeeded");
    expect(result.exitCode).to.equal(0);
    expect(printed(result).task).to.equal(t.taskId);
    expect(result.files!.map((file) => file.path).sort()).to.deep.equal([
      "counts.txt",
      "empty",
      "name with spaces",
      "nested/deeper/mode.txt",
    ]);

    const independent = resultDigest(await readResultFolder(t.outputDir));
    expect(result.digest).to.equal(independent);
    const { stdout } = await sh("bash", [
      "-c",
      "cd \"$1\" && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum",
      "_",
      t.outputDir,
    ]);
    expect(result.digest).to.equal(`0x${stdout.slice(0, 64)}`);
    expect(result.finishedAt.getTime()).to.be.at.least(result.startedAt.getTime());
  });

  it("runs as uid 65534 with no capabilities, a read-only root and input, and writable /tmp and /sunpool/out", async function () {
    const input = join(work, "in-iso");
    await mkdir(input);
    await writeFile(join(input, "data"), "x", { mode: 0o644 });
    const result = await runTask(
      docker,
      task(
        [
          "echo uid=$(id -u) gid=$(id -g)",
          "echo capeff=$(grep CapEff /proc/self/status | cut -f2)",
          "echo capbnd=$(grep CapBnd /proc/self/status | cut -f2)",
          "echo nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)",
          "touch /root-file 2>/dev/null; echo root=$?",
          "touch /bin/evil 2>/dev/null; echo bin=$?",
          "touch /sunpool/in/evil 2>/dev/null; echo in=$?",
          "echo ok > /tmp/scratch && echo tmp=$(cat /tmp/scratch)",
          "echo ok > /sunpool/out/result && echo out=$?",
        ].join("\n"),
        { inputDir: input },
      ),
    );
    expect(result.status, result.logs.stderr).to.equal("succeeded");
    expect(printed(result)).to.include({
      uid: "65534 gid=65534",
      capeff: "0000000000000000",
      capbnd: "0000000000000000",
      nnp: "1",
      root: "1",
      bin: "1",
      in: "1",
      tmp: "ok",
      out: "0",
    });
  });

  describe("network", function () {
    let server: Server;
    let port: number;
    before(async function () {
      // A service on all of the host's interfaces, so only the sandbox can stop the task reaching it.
      server = createServer((socket) => socket.end("pong\n")).listen(0, "0.0.0.0");
      await new Promise((resolve) => server.once("listening", resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(function () {
      server.close();
    });

    const probe = () =>
      `cat /proc/net/dev | grep -o '^ *[a-z0-9]*:' | tr -d ' :' | tr '\\n' ,; echo; echo pong | nc -w 2 172.17.0.1 ${port}; echo rc=$?; nc -w 2 1.1.1.1 80 </dev/null; echo internet=$?`;

    it("has no network by default: only loopback, the host and the internet are unreachable", async function () {
      const result = await runTask(docker, task(probe()));
      expect(result.logs.stdout.split("\n")[0]).to.equal("lo,");
      expect(result.logs.stdout).to.not.include("pong");
      expect(printed(result)).to.include({ rc: "1", internet: "1" });
      expect(result.logs.stderr).to.include("Network is unreachable");
    });

    it("refuses a network app when no isolated task network is set up (never the default bridge)", async function () {
      let error: unknown;
      try {
        await runTask(docker, task(probe(), { resources: { network: true } }));
      } catch (caught) {
        error = caught;
      }
      expect(isExecutorError(error, "NETWORK_ISOLATION_UNAVAILABLE")).to.equal(true);
      expect((error as ExecutorError).shortMessage).to.equal(
        "Network tasks are refused: their isolation from private addresses could not be set up (this worker has no isolated task network set up).",
      );
    });
  });

  it("reports oom when the task allocates beyond its memory limit", async function () {
    const result = await runTask(docker, task("head -c 200m /dev/zero | tail", { resources: { memoryMiB: 32 } }));
    expect(result.status).to.equal("oom");
    expect(result.exitCode).to.equal(137);
    expect(result.digest).to.equal(undefined);
  });

  it("a task that kills itself with SIGKILL (exit 137) under its memory limit is failed, not oom", async function () {
    // A child shell: the container's PID 1 cannot be sent SIGKILL from inside its namespace.
    const result = await runTask(docker, task("sh -c 'kill -9 $$'; exit $?", { resources: { memoryMiB: 32 } }));
    expect(result.status).to.equal("failed");
    expect(result.exitCode).to.equal(137);
    expect(result.reason).to.equal("exited with code 137");
  });

  it("bounds a fork bomb at the pids limit", async function () {
    const result = await runTask(
      docker,
      // The bomb runs in a subshell that dies at the first failed fork; the count is read with
      // builtins only (no fork is possible while the sleeps hold every pid).
      task(
        "(i=0; while [ $i -lt 1000 ]; do sleep 30 & i=$((i+1)); echo $i > /tmp/n; done) 2>/dev/null; read n < /tmp/n; echo started=$n",
        {
          resources: { memoryMiB: 256 },
        },
      ),
    );
    expect(result.status, result.logs.stderr).to.equal("succeeded");
    const started = Number(printed(result).started);
    expect(started).to.be.greaterThan(200).and.lessThan(256);
  });

  it("reports timeout: SIGTERM at the limit, a graceful task exits at once", async function () {
    const started = Date.now();
    const result = await runTask(docker, task("trap 'echo got TERM; exit 143' TERM; sleep 60 & wait", { timeoutSeconds: 1 }));
    expect(result.status).to.equal("timeout");
    expect(result.exitCode).to.equal(143);
    expect(result.logs.stdout).to.include("got TERM");
    // Far below the task's 60 s sleep; the exit code (143, not 137) shows it was not killed.
    expect(Date.now() - started).to.be.lessThan(30_000);
  });

  it("reports timeout: SIGKILL after the grace period for a task that ignores SIGTERM", async function () {
    const started = Date.now();
    const result = await runTask(docker, task("trap '' TERM; sleep 60", { timeoutSeconds: 1 }));
    expect(result.status).to.equal("timeout");
    expect(result.exitCode).to.equal(137);
    expect(Date.now() - started).to.be.within(5_500, 30_000);
  });

  it("reports output-too-large for one file over the cap (stopped by the file size limit)", async function () {
    const result = await runTask(docker, task("head -c 2m /dev/zero > /sunpool/out/big; echo rc=$?"));
    expect(result.status).to.equal("output-too-large");
    expect(printed(result).rc).to.not.equal("0");
    expect(result.files).to.equal(undefined);
  });

  it("reports output-too-large for many files over the cap, stopping the task while it runs", async function () {
    const started = Date.now();
    const result = await runTask(
      docker,
      task("for i in 1 2 3 4; do head -c 400k /dev/zero > /sunpool/out/part-$i; done; sleep 60", { timeoutSeconds: 30 }),
      { outputPollMs: 200 },
    );
    expect(result.status).to.equal("output-too-large");
    expect(result.reason).to.include("more than 1048576 bytes");
    // Stopped while it sleeps: well before its 30 s timeout.
    expect(Date.now() - started).to.be.lessThan(20_000);
  });

  it("refuses an output with a symlink (e.g. to a host file) as failed", async function () {
    const result = await runTask(docker, task("echo ok > /sunpool/out/a && ln -s /etc/shadow /sunpool/out/leak"));
    expect(result.status).to.equal("failed");
    expect(result.reason).to.include('"leak" is not a regular file');
    expect(result.digest).to.equal(undefined);
  });

  it("reports failed with the exit code", async function () {
    const result = await runTask(docker, task("echo oops >&2; exit 3"));
    expect(result).to.include({ status: "failed", exitCode: 3, reason: "exited with code 3" });
    expect(result.logs.stderr).to.equal("oops\n");
  });

  it("keeps a bounded tail of stdout and stderr, demultiplexed", async function () {
    const result = await runTask(
      docker,
      task(
        "i=0; while [ $i -lt 3000 ]; do echo \"line $i $(printf '%0100d' 0)\"; i=$((i+1)); done; echo last-line; echo to-stderr >&2",
      ),
    );
    expect(result.status).to.equal("succeeded");
    expect(Buffer.byteLength(result.logs.stdout)).to.equal(LOG_TAIL_BYTES);
    expect(result.logs.stdout.endsWith("last-line\n")).to.equal(true);
    expect(result.logs.truncated.stdout).to.be.greaterThan(200_000);
    expect(result.logs).to.deep.include({ stderr: "to-stderr\n" });
  });

  it("stops and removes the container when aborted, and rejects with the abort reason", async function () {
    const controller = new AbortController();
    const started = Date.now();
    const running = runTask(docker, task("trap 'exit 143' TERM; sleep 60 & wait"), {
      signal: controller.signal,
      onImage: () => setTimeout(() => controller.abort(new Error("worker shutting down")), 300),
    });
    let error: unknown;
    try {
      await running;
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).to.equal("worker shutting down");
    expect(Date.now() - started).to.be.lessThan(30_000);
  });
});
