// After a restart (power cut, crash, upgrade) the engine is the only truth about task containers:
// the agent lists them by label, collects the ones that exited and removes the rest. Labels carry
// what collecting needs (output folder, cap), so no local state has to survive the restart.
import type Docker from "dockerode";

import { dockerError } from "./images.js";
import { containerName, LABEL_MANAGED, LABEL_MAX_OUTPUT, LABEL_OUTPUT, LABEL_TASK, LABEL_WORKER } from "./sandbox.js";
import { finishContainer, removeContainer, type TaskRunResult } from "./run.js";

export interface TaskContainer {
  taskId: string;
  containerId: string;
  /** The engine's state: "created", "running", "exited", "dead", ... */
  state: string;
  outputDir: string;
  maxOutputBytes: number;
  /** The worker it runs for (lower-case address), if labelled. */
  worker?: string;
  /** The container's name, without the leading slash. */
  name: string;
}

/** Every container the executor created on this engine (running or not). */
export async function findTaskContainers(docker: Docker): Promise<TaskContainer[]> {
  let list: Docker.ContainerInfo[];
  try {
    list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
  } catch (error) {
    throw dockerError(docker, error);
  }
  return list.map((info) => ({
    taskId: info.Labels[LABEL_TASK] ?? "",
    containerId: info.Id,
    state: info.State,
    outputDir: info.Labels[LABEL_OUTPUT] ?? "",
    maxOutputBytes: Number(info.Labels[LABEL_MAX_OUTPUT] ?? 0),
    ...(info.Labels[LABEL_WORKER] === undefined ? {} : { worker: info.Labels[LABEL_WORKER] }),
    name: (info.Names[0] ?? "").replace(/^\//, ""),
  }));
}

/**
 * At agent start: removes (SIGKILL) every task container of `worker` whose task is not in `keep`
 * (the journal's open tasks): left by a task the journal already closed, or by a run that crashed
 * between creating the container and journaling. Another worker's containers on a shared engine
 * are left alone. Returns the removed containers.
 */
export async function sweepOrphanContainers(docker: Docker, worker: string, keep: ReadonlySet<string>): Promise<TaskContainer[]> {
  const mine = (found: TaskContainer) =>
    found.worker === undefined
      ? /^0x[0-9a-f]{64}$/.test(found.taskId) && found.name === containerName(found.taskId, worker) // labelled before sunpool.worker
      : found.worker === worker.toLowerCase();
  const orphans = (await findTaskContainers(docker)).filter((found) => mine(found) && !keep.has(found.taskId));
  for (const orphan of orphans) await removeContainer(docker.getContainer(orphan.containerId));
  return orphans;
}

/**
 * Collects the result of a task container that exited while the agent was away, then removes it.
 * Returns undefined if the task has no container or it is still running (stop or remove it then).
 */
export async function collectTaskContainer(docker: Docker, taskId: string, worker?: string): Promise<TaskRunResult | undefined> {
  const container = docker.getContainer(containerName(taskId, worker));
  let info;
  try {
    info = await container.inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw dockerError(docker, error);
  }
  if (info.State.Running || info.State.Status === "created") return undefined;
  const labels = info.Config.Labels;
  const result = await finishContainer(container, info, {
    outputDir: labels[LABEL_OUTPUT] ?? "",
    maxOutputBytes: Number(labels[LABEL_MAX_OUTPUT] ?? 0),
  });
  await removeContainer(container);
  return result;
}

/** Stops (SIGKILL) and removes the container of a task, if any. Returns whether one existed. */
export async function removeTaskContainer(docker: Docker, taskId: string, worker?: string): Promise<boolean> {
  const container = docker.getContainer(containerName(taskId, worker));
  try {
    await container.remove({ force: true, v: true });
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw dockerError(docker, error);
  }
}
