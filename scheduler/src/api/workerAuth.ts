// Authenticates worker requests: the signature (SDK's recoverWorkerRequestSigner) over the exact
// body bytes, then replay protection: a signature is accepted once, and remembered for as long as
// its timestamp is inside the accepted window, in SQLite so a restart does not forget it.
import { recoverWorkerRequestSigner, WORKER_REQUEST_MAX_SKEW_MS } from "@sunpool/sdk";
import type { FastifyRequest } from "fastify";

import { Rejection } from "../errors.js";
import type { ApiContext } from "./context.js";

declare module "fastify" {
  interface FastifyRequest {
    rawBody?: string;
    worker?: string;
  }
}

export function authenticateWorker(context: ApiContext, request: FastifyRequest, options: { mustBeRegistered: boolean }): string {
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
  const now = Date.now();
  const seen = context.db
    .prepare("INSERT INTO seen_requests (signature, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING")
    .run(String(request.headers["x-sunpool-signature"]).toLowerCase(), timestamp + WORKER_REQUEST_MAX_SKEW_MS);
  if (seen.changes === 0) {
    throw new Rejection(
      401,
      "replayed request",
      "this signed request was already accepted once",
      "Sign every request anew (a fresh timestamp).",
    );
  }
  if (context.allowedWorkers !== undefined && !context.allowedWorkers.has(worker.toLowerCase())) {
    throw new Rejection(
      403,
      "worker not admitted",
      `${worker} is not on this pool's list of workers`,
      "Ask the pool's operator to add your worker address to workers.allow.",
    );
  }
  if (options.mustBeRegistered && !context.pool.isRegistered(worker)) {
    throw new Rejection(
      404,
      "unknown worker",
      `${worker} has not registered with this pool`,
      "POST /v1/workers first (the worker agent does it at start).",
    );
  }
  if (options.mustBeRegistered) context.pool.touch(worker, now);
  return worker;
}

/** Forgets signatures whose timestamps can no longer be accepted anyway. */
export function pruneSeenRequests(context: Pick<ApiContext, "db">, now = Date.now()): void {
  context.db.prepare("DELETE FROM seen_requests WHERE expires_at < ?").run(now - WORKER_REQUEST_MAX_SKEW_MS);
}
