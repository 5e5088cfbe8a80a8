// How a worker signs its requests to a scheduler, and how the scheduler checks them. There is no
// shared secret: the worker's wallet key signs (EIP-191) a message that binds the request to one
// chain, one workerpool, one method and path, one body and one moment, so a captured request is
// useless against another pool, route or body, and the scheduler's "timestamps only go up" rule
// stops it being replayed against the same one.
import { getAddress, sha256, toUtf8Bytes, verifyMessage, type Signer } from "ethers";

/** Header names of a signed worker request. */
export const WORKER_AUTH_HEADERS = {
  worker: "x-sunpool-worker",
  timestamp: "x-sunpool-timestamp",
  signature: "x-sunpool-signature",
} as const;

/** How far a request's timestamp may be from the scheduler's clock. */
export const WORKER_REQUEST_MAX_SKEW_MS = 5 * 60_000;

export interface WorkerRequestScope {
  chainId: bigint;
  /** The workerpool id the scheduler serves. */
  workerpool: string;
}

export interface WorkerRequest {
  method: string;
  /** Path with query string, e.g. `/v1/workers/assignments?waitSeconds=20`. */
  path: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** The exact body text ("" for none). */
  body: string;
}

/** The text a worker signs for one request (docs/scheduler.md, "Worker requests"). */
export function workerRequestMessage(scope: WorkerRequestScope, request: WorkerRequest): string {
  return [
    "Sunpool worker request",
    `chain: ${scope.chainId.toString()}`,
    `workerpool: ${scope.workerpool.toLowerCase()}`,
    `request: ${request.method.toUpperCase()} ${request.path}`,
    `timestamp: ${request.timestamp.toString()}`,
    `body-sha256: ${sha256(toUtf8Bytes(request.body))}`,
  ].join("\n");
}

/** Signs a worker request and returns the headers to send with it. */
export async function signWorkerRequest(
  signer: Signer,
  scope: WorkerRequestScope,
  request: WorkerRequest,
): Promise<Record<string, string>> {
  return {
    [WORKER_AUTH_HEADERS.worker]: await signer.getAddress(),
    [WORKER_AUTH_HEADERS.timestamp]: request.timestamp.toString(),
    [WORKER_AUTH_HEADERS.signature]: await signer.signMessage(workerRequestMessage(scope, request)),
  };
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
  const header = (name: string) => {
    const value = headers[name];
    if (typeof value !== "string" || value.length === 0) {
      throw new Error(`the ${name} header is missing; sign worker requests with the SDK's signWorkerRequest`);
    }
    return value;
  };
  let claimed: string;
  try {
    claimed = getAddress(header(WORKER_AUTH_HEADERS.worker));
  } catch (error) {
    if (error instanceof Error && error.message.includes("header is missing")) throw error;
    throw new Error(`${WORKER_AUTH_HEADERS.worker} is not an address`);
  }
  const timestamp = Number(header(WORKER_AUTH_HEADERS.timestamp));
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw new Error(`${WORKER_AUTH_HEADERS.timestamp} must be milliseconds since the epoch`);
  }
  if (Math.abs(now - timestamp) > WORKER_REQUEST_MAX_SKEW_MS) {
    throw new Error(
      "the request's timestamp is more than 5 minutes from the scheduler's clock; fix the worker's clock (NTP or the Witty Pi RTC)",
    );
  }
  let signer: string;
  try {
    signer = verifyMessage(workerRequestMessage(scope, { ...request, timestamp }), header(WORKER_AUTH_HEADERS.signature));
  } catch {
    throw new Error(`${WORKER_AUTH_HEADERS.signature} is not a valid signature`);
  }
  if (signer !== claimed) {
    throw new Error(`the request is signed by ${signer}, not by ${claimed} (wrong key, or the request was altered)`);
  }
  return { worker: claimed, timestamp };
}
