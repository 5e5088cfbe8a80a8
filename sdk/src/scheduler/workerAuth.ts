// How a worker signs its requests to a scheduler, and how the scheduler checks them: the worker
// role of the signed-request scheme (./signedRequests.ts), whose message and headers are those
// workers have always sent.
import type { Signer } from "ethers";

import {
  recoverRequestSigner,
  signedRequestMessage,
  signRequest,
  type WorkerRequest,
  type WorkerRequestScope,
} from "./signedRequests.js";

export { WORKER_AUTH_HEADERS, WORKER_REQUEST_MAX_SKEW_MS } from "./signedRequests.js";
export type { WorkerRequest, WorkerRequestScope } from "./signedRequests.js";

/** The text a worker signs for one request (docs/scheduler.md, "Worker requests"). */
export function workerRequestMessage(scope: WorkerRequestScope, request: WorkerRequest): string {
  return signedRequestMessage("worker", scope, request);
}

/** Signs a worker request and returns the headers to send with it. */
export async function signWorkerRequest(
  signer: Signer,
  scope: WorkerRequestScope,
  request: WorkerRequest,
): Promise<Record<string, string>> {
  return signRequest("worker", signer, scope, request);
}

/**
 * Returns the worker address that signed a request, or throws a message saying what is wrong.
 * Replay protection (timestamps strictly increasing per worker) is the caller's: it needs state.
 */
export function recoverWorkerRequestSigner(
  scope: WorkerRequestScope,
  request: Omit<WorkerRequest, "timestamp">,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  now = Date.now(),
): { worker: string; timestamp: number } {
  const { signer, timestamp } = recoverRequestSigner("worker", scope, request, headers, now);
  return { worker: signer, timestamp };
}
