// Content through the pool's IPFS node, for a worker that runs no node of its own
// (docs/scheduler.md, "Content"): it uploads a result's files with the CID it computed (the
// scheduler adds them, checks the CID and pins it), and downloads a dataset's files, which it
// checks itself. Bodies are packed files (../results/packing.ts).
import type { IncomingMessage } from "node:http";

import { InvalidInputError } from "../errors/input.js";
import { SchedulerRejectedError, SchedulerUnreachableError } from "../errors/market.js";
import type { ResultFile } from "../results/digest.js";
import { packFileChunks, unpackFileStream } from "../results/packing.js";
import type { PinReceipt } from "../scheduler/workers.js";
import { readText, type WorkerHttpClient } from "./workerHttp.js";

/** The media type of a packed-files body. */
export const PACKED_FILES_TYPE = "application/vnd.sunpool.packed-files";

/** Uploads and downloads may be large and a Pi's uplink slow. */
const TRANSFER_TIMEOUT_MS = 600_000;

/**
 * Hands result files to the pool's node, which adds them, checks that they make `cid` and pins
 * them. Uploading the same files again is harmless (same CID, already pinned).
 */
export async function uploadResult(
  client: WorkerHttpClient,
  parameters: { cid: string; files: readonly ResultFile[]; signal?: AbortSignal },
): Promise<PinReceipt> {
  const response = await transfer(client, () =>
    client.send({
      method: "POST",
      path: contentPath(parameters.cid),
      body: packFileChunks(parameters.files),
      contentType: PACKED_FILES_TYPE,
      timeoutMs: TRANSFER_TIMEOUT_MS,
      ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
    }),
  );
  const text = await transfer(client, () => readText(response));
  if (!ok(response)) throw rejected(response, text);
  return JSON.parse(text) as PinReceipt;
}

/**
 * The files of `cid` as the pool's node serves them, refused (before reading further) once they
 * add up to more than `maxBytes`. Not verified here: the caller checks them against what it
 * trusts (the CID recomputed, a registered checksum).
 */
export async function downloadContent(
  client: WorkerHttpClient,
  cid: string,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<ResultFile[]> {
  const response = await transfer(client, () =>
    client.send({
      method: "GET",
      path: contentPath(cid),
      timeoutMs: TRANSFER_TIMEOUT_MS,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }),
  );
  if (!ok(response)) throw rejected(response, await transfer(client, () => readText(response)));
  let total = 0;
  try {
    return await unpackFileStream(response, (_path, bytes) => {
      total += bytes;
      if (total > options.maxBytes) {
        throw new InvalidInputError("content size", `over ${options.maxBytes.toString()} bytes`, "content within the limit");
      }
    });
  } finally {
    response.destroy();
  }
}

function contentPath(cid: string): string {
  return `/v1/workers/content/${encodeURIComponent(cid)}`;
}

function ok(response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  return status >= 200 && status < 300;
}

function rejected(response: IncomingMessage, text: string): SchedulerRejectedError {
  let problem: { detail?: string; hint?: string; title?: string } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    problem = { detail: text.slice(0, 200) };
  }
  return new SchedulerRejectedError(
    response.statusCode ?? 0,
    problem.detail ?? (response.statusMessage || "no details given"),
    problem.hint,
    problem.title,
  );
}

async function transfer<T>(client: WorkerHttpClient, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new SchedulerUnreachableError(client.url, error);
  }
}
