// Fetching a task's result and proving it is the one the workers agreed on.
import { type SunpoolClient } from "../client.js";
import { InvalidInputError } from "../errors/input.js";
import { ResultMismatchError, ResultUnavailableError } from "../errors/results.js";
import { TaskFailedError } from "../errors/run.js";
import { type ResultFile, resultDigest } from "../results/digest.js";
import { decryptResult, ENCRYPTED_RESULT_FILE } from "../results/encryption.js";
import type { ContentReader } from "../results/reader.js";
import { getTask, type TaskLocator } from "./tasks.js";

export interface GetResultParameters extends TaskLocator {
  reader: ContentReader;
  /** Private key for results encrypted to the requester (see `deriveResultKey`). */
  decryptionKey?: string;
  /** Refuse results larger than this (default 256 MiB). */
  maxBytes?: number;
  /** Give up fetching after this long (default 60 s). */
  timeoutMs?: number;
}

export interface VerifiedResult {
  taskId: string;
  /** The on-chain digest the files hash to. */
  resultDigest: string;
  resultLocation: string;
  encrypted: boolean;
  files: ResultFile[];
}

/**
 * Fetches a completed task's result, decrypts it if needed, and checks it against the digest the
 * hub recorded. Throws ResultMismatchError rather than return content that does not match.
 */
export async function getResult(client: SunpoolClient, parameters: GetResultParameters): Promise<VerifiedResult> {
  const task = await getTask(client, parameters);
  if (task.outcome !== "completed" || task.resultDigest === undefined || task.resultLocation === undefined) {
    if (task.outcome === "none") {
      throw new InvalidInputError(
        "task",
        `${task.taskId} (${task.status})`,
        "a task that has ended; wait with sunpool task watch",
      );
    }
    throw new TaskFailedError(task.taskId, task.outcome);
  }
  const maxBytes = parameters.maxBytes ?? 256 * 1024 * 1024;
  let files: ResultFile[];
  try {
    files = await parameters.reader.readFiles(task.resultLocation, {
      signal: AbortSignal.timeout(parameters.timeoutMs ?? 60_000),
      maxBytes,
    });
  } catch (error) {
    throw new ResultUnavailableError(task.resultLocation, error);
  }
  const encrypted = files.length === 1 && files[0]!.path === ENCRYPTED_RESULT_FILE;
  if (encrypted) {
    if (parameters.decryptionKey === undefined) {
      throw new InvalidInputError(
        "decryption key",
        undefined,
        "the private key the result was encrypted to (deriveResultKey(wallet.privateKey))",
      );
    }
    files = await decryptResult(files[0]!.content, parameters.decryptionKey);
  }
  const digest = resultDigest(files);
  if (digest !== task.resultDigest) throw new ResultMismatchError(task.resultLocation, task.resultDigest, digest);
  return { taskId: task.taskId, resultDigest: digest, resultLocation: task.resultLocation, encrypted, files };
}
