// Authenticates worker requests, cheapest refusal first and nothing written until every check
// passed: the allow list of a closed pool (before any signature recovery), the signature (SDK's
// recoverWorkerRequestSigner) over the exact body bytes, then replay protection. Replays are
// recognized by what was signed, not by the signature's bytes: the same signature has several
// valid encodings (v 27/28 or 0/1, 65 bytes or 64-byte compact EIP-2098), so the seen-set holds
// (worker, EIP-191 hash of the signed message), and each worker's timestamps must strictly
// increase. Both live in SQLite, so a restart does not reopen them; a timer prunes them.
import { recoverWorkerRequestSigner, WORKER_AUTH_HEADERS, WORKER_REQUEST_MAX_SKEW_MS, workerRequestMessage } from "@sunpool/sdk";
import { getAddress, hashMessage } from "ethers";
import type { FastifyRequest } from "fastify";

import { Rejection } from "../errors.js";
import type { Store } from "../store/store.js";
import type { ApiContext } from "./context.js";

declare module "fastify" {
  interface FastifyRequest {
    rawBody?: string;
    worker?: string;
  }
}

export interface WorkerAuthOptions {
  mustBeRegistered: boolean;
  /** A last check before anything is recorded (registration: is the worker admitted?). */
  admit?: (worker: string) => Promise<void>;
}

export async function authenticateWorker(
  context: ApiContext,
  request: FastifyRequest,
  options: WorkerAuthOptions,
): Promise<string> {
  // A closed pool refuses a stranger on its claim alone: no ECDSA work, no write. (A forged claim
  // of a listed address gets no further: the signature must still match it.)
  const claimed = claimedWorker(request.headers[WORKER_AUTH_HEADERS.worker]);
  if (context.admission.closed && claimed !== undefined && !context.admission.listed(claimed)) throw notListed(claimed);

  let worker: string;
  let timestamp: number;
  try {
    ({ worker, timestamp } = recoverWorkerRequestSigner(
      context.scope,
      { method: request.method, path: request.url, body: request.rawBody ?? "" },
      request.headers,
    ));
  } catch (error) {
    throw new Rejection(
      401,
      "unauthenticated",
      (error as Error).message,
      "Sign worker requests with the worker's wallet (the SDK's createWorkerApiClient does).",
    );
  }
  const digest = hashMessage(
    workerRequestMessage(context.scope, { method: request.method, path: request.url, body: request.rawBody ?? "", timestamp }),
  );
  if (options.mustBeRegistered && !context.pool.isRegistered(worker)) {
    throw new Rejection(
      404,
      "unknown worker",
      `${worker} has not registered with this pool`,
      "POST /v1/workers first (the worker agent does it at start).",
    );
  }
  if (options.admit !== undefined) {
    // Refused before admission's chain reads; checked again with the write below, as a twin of
    // this request may be accepted while this one waits for the chain.
    await assertFresh(context.db, worker, digest, timestamp);
    await options.admit(worker);
  }
  // One transaction per request, the sign of life included: workers heartbeat all day, and on
  // PostgreSQL every statement is a round trip and every transaction a fence (leader/fencedStore.ts).
  await context.db.transaction(async () => {
    await assertFresh(context.db, worker, digest, timestamp);
    await rememberSigned(context.db, worker, digest, timestamp);
    await context.db.run(
      "INSERT INTO worker_clocks (worker, last_timestamp) VALUES (?, ?) ON CONFLICT (worker) DO UPDATE SET last_timestamp = excluded.last_timestamp",
      worker,
      timestamp,
    );
    if (options.mustBeRegistered) await context.pool.touch(worker, Date.now());
  });
  return worker;
}

/**
 * Refuses a signed message `signer` already had accepted (recognised by what was signed, the
 * EIP-191 hash, so another encoding of the same signature is a replay too). Worker and requester
 * requests share it: their messages differ by role, so one can never stand for the other.
 */
export async function refuseReplay(db: Store, signer: string, digest: string): Promise<void> {
  if ((await db.get("SELECT 1 FROM seen_messages WHERE worker = ? AND digest = ?", signer, digest)) !== undefined) {
    throw replayed();
  }
}

const replayed = () =>
  new Rejection(
    401,
    "replayed request",
    "this signed request was already accepted once",
    "Sign every request anew (a fresh timestamp).",
  );

/** Remembers an accepted signed message until its timestamp leaves the window (pruneSeenRequests). */
export async function rememberSigned(db: Store, signer: string, digest: string, timestamp: number): Promise<void> {
  await db.run(
    "INSERT INTO seen_messages (worker, digest, expires_at) VALUES (?, ?, ?)",
    signer,
    digest,
    timestamp + WORKER_REQUEST_MAX_SKEW_MS,
  );
}

/** Refuses a request already accepted once (in any encoding), or not later than the worker's last one. */
async function assertFresh(db: Store, worker: string, digest: string, timestamp: number): Promise<void> {
  // Both checks in one statement (one round trip).
  const { seen, last } = (await db.get<{ seen: number | null; last: number | null }>(
    `SELECT (SELECT 1 FROM seen_messages WHERE worker = ? AND digest = ?) AS seen,
            (SELECT last_timestamp FROM worker_clocks WHERE worker = ?) AS last`,
    worker,
    digest,
    worker,
  ))!;
  if (seen !== null) throw replayed();
  if (last !== null && timestamp <= Number(last)) {
    throw new Rejection(
      401,
      "stale request",
      `the request's timestamp ${timestamp.toString()} is not after the last one accepted from ${worker} (${Number(last).toString()})`,
      "Sign every request with a timestamp later than the previous one (the SDK's createWorkerApiClient does), and send it again with a fresh signature.",
    );
  }
}

function claimedWorker(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  try {
    return getAddress(header);
  } catch {
    return undefined; // the signature check says what is wrong with it
  }
}

export const notListed = (worker: string) =>
  new Rejection(
    403,
    "worker not admitted",
    `${worker} is not on this pool's list of workers`,
    "Ask the pool's operator to add your worker address to workers.allow.",
  );

/**
 * Forgets what can no longer be accepted anyway: seen messages whose timestamp left the window,
 * and clocks older than two windows (a request that old is refused by its timestamp alone).
 */
export async function pruneSeenRequests(db: Store, now = Date.now()): Promise<void> {
  await db.transaction(async () => {
    await db.run("DELETE FROM seen_messages WHERE expires_at < ?", now);
    await db.run("DELETE FROM worker_clocks WHERE last_timestamp < ?", now - 2 * WORKER_REQUEST_MAX_SKEW_MS);
  });
}
