// After a restart (power cut, crash, upgrade) the engine is the only truth about task containers:
// the agent lists them by label, collects the ones that exited and removes the rest. Labels carry
// what collecting needs (output folder, cap), so no local state has to survive the restart.
import type Docker from "dockerode";

import { dockerError } from "./images.js";
import { containerName, LABEL_MANAGED, LABEL_MAX_OUTPUT, LABEL_OUTPUT, LABEL_TASK } from "./sandbox.js";
import { finishContainer, removeContainer, type TaskRunResult } from "./run.js";

export interface TaskContainer {
  taskId: string;
  containerId: string;
  /** The engine's state: "created", "running", "exited", "dead", ... */
  state: string;
  outputDir: string;
  maxOutputBytes: number;
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
  }));
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
