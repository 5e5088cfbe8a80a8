// Who is asking, on the routes a deal's requester may see more of: the signature of the
// requester role (the SDK's signRequest), checked over the exact method, path, body and time.
// Unlike a worker's, a requester's requests only read, and one wallet may run several clients at
// once (two terminals, a script), so its timestamps need not increase: a signed message is
// accepted once (the worker's seen-set, keyed on what was signed, which differs by role) while
// its timestamp is inside the window.
import { recoverRequestSigner, REQUESTER_AUTH_HEADERS, signedRequestMessage } from "@sunpool/sdk";
import { hashMessage } from "ethers";
import type { FastifyRequest } from "fastify";

import { Rejection } from "../errors.js";
import type { ApiContext } from "./context.js";
import { refuseReplay, rememberSigned } from "./workerAuth.js";

/**
 * The address that signed the request as a requester, or undefined for an unsigned one. A request
 * that carries a requester signature must verify: a caller who tried to sign learns what is wrong
 * rather than silently getting less.
 */
export async function identifyRequester(context: ApiContext, request: FastifyRequest): Promise<string | undefined> {
  if (request.headers[REQUESTER_AUTH_HEADERS.requester] === undefined) return undefined;
  const body = request.rawBody ?? "";
  let signer: string;
  let timestamp: number;
  try {
    ({ signer, timestamp } = recoverRequestSigner(
      "requester",
      context.scope,
      { method: request.method, path: request.url, body },
      request.headers,
    ));
  } catch (error) {
    throw new Rejection(
      401,
      "unauthenticated",
      (error as Error).message,
      "Sign with the deal requester's wallet (the SDK's getPoolTask with a signer, or sunpool task show), or send no x-sunpool-requester header to read the task without its log tails.",
    );
  }
  const digest = hashMessage(
    signedRequestMessage("requester", context.scope, { method: request.method, path: request.url, body, timestamp }),
  );
  await context.db.transaction(async () => {
    await refuseReplay(context.db, signer, digest);
    await rememberSigned(context.db, signer, digest, timestamp);
  });
  return signer;
}
