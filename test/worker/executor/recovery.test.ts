// After a power cut the agent finds its task containers by label, collects the ones that exited
// and removes the others; a task whose container still exists is not started twice.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { isExecutorError } from "../../../worker/src/executor/errors.js";
import { prepareOutputDir } from "../../../worker/src/executor/output.js";
import {
  collectTaskContainer,
  findTaskContainers,
  removeTaskContainer,
  sweepOrphanContainers,
} from "../../../worker/src/executor/recovery.js";
import { runTask } from "../../../worker/src/executor/run.js";
import { containerSpec, type ExecutorTask } from "../../../worker/src/executor/sandbox.js";
import { buildTestImage, dockerClient } from "../../helpers/docker.js";

describe("executor: recovery after a restart", function () {
  this.timeout(60_000);
  const docker = dockerClient();

  async function startedElsewhere(id: string, script: string, worker?: string): Promise<ExecutorTask> {
    const shell = await buildTestImage("shell");
    const t: ExecutorTask = {
      taskId: `0x${id.repeat(32)}`,
      ...(worker === undefined ? {} : { worker }),
      app: { ...shell, resources: { memoryMiB: 32, cpuMillicores: 500, expectedSeconds: 5, maxOutputMiB: 1, network: false } },
      params: { args: [script] },
      outputDir: join(await mkdtemp(join(tmpdir(), "sunpool-exec-")), "out"),
    };
    // What runTask had done when the power went: output folder prepared, container started.
    await prepareOutputDir(t.outputDir);
    await (await docker.createContainer(containerSpec(t))).start();
    return t;
  }

  afterEach(async function () {
    for (const found of await findTaskContainers(docker)) await docker.getContainer(found.containerId).remove({ force: true });
  });

  it("finds an exited task container by label and collects its result, then removes it", async function () {
    const t = await startedElsewhere("c1", "echo recovered > /sunpool/out/r.txt");
    await docker.getContainer(containerSpec(t).name!).wait();
    const found = await findTaskContainers(docker);
    expect(found).to.have.length(1);
    expect(found[0]).to.include({ taskId: t.taskId, state: "exited", outputDir: t.outputDir, maxOutputBytes: 1024 * 1024 });

    const result = await collectTaskContainer(docker, t.taskId);
    expect(result?.status).to.equal("succeeded");
    expect(result?.files?.map((file) => Buffer.from(file.content).toString())).to.deep.equal(["recovered\n"]);
    expect(await findTaskContainers(docker)).to.deep.equal([]);
    expect(await collectTaskContainer(docker, t.taskId)).to.equal(undefined);
  });

  it("refuses to start a task twice, and removes a still-running container on request", async function () {
    const t = await startedElsewhere("c2", "sleep 60");
    expect(await collectTaskContainer(docker, t.taskId)).to.equal(undefined);
    let error: unknown;
    try {
      await runTask(docker, { ...t, outputDir: `${t.outputDir}-again` });
    } catch (caught) {
      error = caught;
    }
    expect(isExecutorError(error, "TASK_CONTAINER_EXISTS")).to.equal(true);
    expect(await findTaskContainers(docker)).to.have.length(1);
    expect(await removeTaskContainer(docker, t.taskId)).to.equal(true);
    expect(await removeTaskContainer(docker, t.taskId)).to.equal(false);
    expect(await findTaskContainers(docker)).to.deep.equal([]);
  });

  it("sweeps at start the containers this worker labelled that no open journal row owns, and only those", async function () {
    const me = "0x00000000000000000000000000000000000000Aa";
    const other = "0x00000000000000000000000000000000000000bb";
    const open = await startedElsewhere("c3", "sleep 60", me);
    const orphan = await startedElsewhere("c4", "sleep 60", me);
    const exited = await startedElsewhere("c5", "true", me);
    const anotherWorkers = await startedElsewhere("c6", "sleep 60", other);
    await docker.getContainer(containerSpec(exited).name!).wait();

    const swept = await sweepOrphanContainers(docker, me, new Set([open.taskId]));
    expect(swept.map((found) => found.taskId).sort()).to.deep.equal([orphan.taskId, exited.taskId].sort());
    expect(swept[0]).to.include({ worker: me.toLowerCase() });
    const left = (await findTaskContainers(docker)).map((found) => found.taskId).sort();
    expect(left).to.deep.equal([open.taskId, anotherWorkers.taskId].sort());
  });
});
