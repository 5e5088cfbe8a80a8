// Fetching a task's result and proving it is the one the workers agreed on.
import { type SunpoolClient } from "../client.js";
import { isSunpoolError } from "../errors/base.js";
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
 * hub recorded. Throws ResultMismatchError rather than return content that does not match, and
 * TaskFailedError (with the outcome and what it means) for a task that ended without a result.
 *
 * The result is read from the location recorded when the task ended; for a replicated task, when
 * that location does not serve content matching the digest, from the locations the workers who
 * revealed the consensus digest recorded on-chain. The first location's error is thrown if none serves it.
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
    if (task.outcome === "completed") throw new ResultUnavailableError("(no location recorded)", undefined);
    throw new TaskFailedError(task.taskId, task.outcome);
  }
  const locations = [task.resultLocation, ...(task.revealedLocations ?? []).filter((l) => l !== task.resultLocation)];
  let firstError: unknown;
  for (const location of locations) {
    try {
      const { files, encrypted } = await fetchVerified(location, task.resultDigest, parameters);
      return { taskId: task.taskId, resultDigest: task.resultDigest, resultLocation: location, encrypted, files };
    } catch (error) {
      // A missing key is the caller's to fix, whatever the location.
      if (parameters.decryptionKey === undefined && isSunpoolError(error, "INVALID_INPUT")) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

/** Fetches the content at `location`, decrypts it if it is encrypted, and checks its digest. */
async function fetchVerified(
  location: string,
  expected: string,
  parameters: GetResultParameters,
): Promise<{ files: ResultFile[]; encrypted: boolean }> {
  const maxBytes = parameters.maxBytes ?? 256 * 1024 * 1024;
  let files: ResultFile[];
  try {
    files = await parameters.reader.readFiles(location, {
      signal: AbortSignal.timeout(parameters.timeoutMs ?? 60_000),
      maxBytes,
    });
  } catch (error) {
    throw new ResultUnavailableError(location, error);
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
  if (digest !== expected) throw new ResultMismatchError(location, expected, digest);
  return { files, encrypted };
}
