// How a worker or a requester signs a request to a scheduler, and how the scheduler checks it.
// There is no shared secret: the party's wallet key signs (EIP-191) a message that binds the
// request to one role, one chain, one workerpool, one method and path, one body and one moment, so
// a captured request is useless against another pool, route or body, and the scheduler's replay
// rules stop it being used twice. The role is the message's first line ("Sunpool worker request",
// "Sunpool requester request") and the signer's address travels in a header named after the role:
// a worker's signature never verifies as a requester's, nor the other way round.
import { getAddress, sha256, toUtf8Bytes, verifyMessage, type Signer } from "ethers";

/** Who signs a request: a worker of the pool, or the requester of a deal. */
export type RequestRole = "worker" | "requester";

/** Header names of a signed worker request. */
export const WORKER_AUTH_HEADERS = {
  worker: "x-sunpool-worker",
  timestamp: "x-sunpool-timestamp",
  signature: "x-sunpool-signature",
} as const;

/** Header names of a signed requester request. */
export const REQUESTER_AUTH_HEADERS = {
  requester: "x-sunpool-requester",
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

/** The header that carries the signer's address for `role`. */
function signerHeader(role: RequestRole): string {
  return role === "worker" ? WORKER_AUTH_HEADERS.worker : REQUESTER_AUTH_HEADERS.requester;
}

/** The text a `role` signs for one request (docs/scheduler.md, "Worker requests"; for the requester, "A task's workers, for its requester"). */
export function signedRequestMessage(role: RequestRole, scope: WorkerRequestScope, request: WorkerRequest): string {
  return [
    `Sunpool ${role} request`,
    `chain: ${scope.chainId.toString()}`,
    `workerpool: ${scope.workerpool.toLowerCase()}`,
    `request: ${request.method.toUpperCase()} ${request.path}`,
    `timestamp: ${request.timestamp.toString()}`,
    `body-sha256: ${sha256(toUtf8Bytes(request.body))}`,
  ].join("\n");
}

/** Signs a request as `role` and returns the headers to send with it. */
export async function signRequest(
  role: RequestRole,
  signer: Signer,
  scope: WorkerRequestScope,
  request: WorkerRequest,
): Promise<Record<string, string>> {
  return {
    [signerHeader(role)]: await signer.getAddress(),
    [WORKER_AUTH_HEADERS.timestamp]: request.timestamp.toString(),
    [WORKER_AUTH_HEADERS.signature]: await signer.signMessage(signedRequestMessage(role, scope, request)),
  };
}

const SIGN_WITH: Record<RequestRole, string> = {
  worker: "sign worker requests with the SDK's signWorkerRequest",
  requester: "sign requester requests with the SDK's signRequest('requester', …) (getPoolTask does)",
};

const FIX_CLOCK: Record<RequestRole, string> = {
  worker: "fix the worker's clock (NTP or the Witty Pi RTC)",
  requester: "fix this computer's clock (NTP)",
};

/**
 * Returns the address that signed a request as `role`, or throws a message saying what is wrong.
 * Replay protection is the caller's: it needs state.
 */
export function recoverRequestSigner(
  role: RequestRole,
  scope: WorkerRequestScope,
  request: Omit<WorkerRequest, "timestamp">,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  now = Date.now(),
): { signer: string; timestamp: number } {
  const addressHeader = signerHeader(role);
  const header = (name: string) => {
    const value = headers[name];
    if (typeof value !== "string" || value.length === 0) {
      throw new Error(`the ${name} header is missing; ${SIGN_WITH[role]}`);
    }
    return value;
  };
  let claimed: string;
  try {
    claimed = getAddress(header(addressHeader));
  } catch (error) {
    if (error instanceof Error && error.message.includes("header is missing")) throw error;
    throw new Error(`${addressHeader} is not an address`);
  }
  const timestamp = Number(header(WORKER_AUTH_HEADERS.timestamp));
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw new Error(`${WORKER_AUTH_HEADERS.timestamp} must be milliseconds since the epoch`);
  }
  if (Math.abs(now - timestamp) > WORKER_REQUEST_MAX_SKEW_MS) {
    throw new Error(`the request's timestamp is more than 5 minutes from the scheduler's clock; ${FIX_CLOCK[role]}`);
  }
  const signature = header(WORKER_AUTH_HEADERS.signature);
  let signer: string;
  try {
    signer = verifyMessage(signedRequestMessage(role, scope, { ...request, timestamp }), signature);
  } catch {
    throw new Error(`${WORKER_AUTH_HEADERS.signature} is not a valid signature`);
  }
  if (signer !== claimed) {
    throw new Error(`the request is signed by ${signer}, not by ${claimed} (wrong key, or the request was altered)`);
  }
  return { signer: claimed, timestamp };
}
