// A follower's side of the API: it forwards every request to the leader, as it came, and tells the
// leader who the client is. The leader's rate limit counts requests per client address; without
// the stamp every client behind a follower would share the follower's own address, and one busy
// client would exhaust the limit for all of them. The stamp is a MAC under a key only the pool's
// replicas can derive (they all hold the scheduler's key), so a client cannot claim another
// address by sending the header itself.
import { createHmac, timingSafeEqual } from "node:crypto";
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";

import { keccak256, type Signer } from "ethers";

/** The header a follower names itself in (for the leader's logs; the stamp below stops loops). */
export const FORWARDED_BY = "x-sunpool-forwarded-by";
/** The client's address as the follower saw it, and its MAC: `<address> <hex mac>`. */
export const FORWARDED_FOR = "x-sunpool-forwarded-for";

/** Who the replicas of one pool are to each other: the key that stamps a forwarded client's address. */
export interface ReplicaKey {
  /** The header value naming `address` as the client of a forwarded request. */
  stamp(this: void, address: string): string;
  /** The client address a stamped header names, or undefined when it was not stamped with this key. */
  verify(this: void, header: string | string[] | undefined): string | undefined;
}

/**
 * Derives the pool's replica key from the scheduler's signer: a signature over a fixed message
 * (deterministic, RFC 6979), hashed. Every replica runs with the same keystore, so every replica
 * derives the same key, and no one without the scheduler's private key can.
 */
export async function deriveReplicaKey(signer: Signer, workerpool: string): Promise<ReplicaKey> {
  const signature = await signer.signMessage(
    `sunpool: the key that replicas of workerpool ${workerpool} stamp forwarded clients with`,
  );
  const key = Buffer.from(keccak256(signature).slice(2), "hex");
  const mac = (address: string) => createHmac("sha256", key).update(address).digest();
  return {
    stamp: (address) => `${address} ${mac(address).toString("hex")}`,
    verify(header) {
      if (typeof header !== "string") return undefined;
      const [address, hex, ...rest] = header.split(" ");
      if (address === undefined || hex === undefined || rest.length > 0 || !/^[0-9a-f]{64}$/.test(hex)) return undefined;
      return timingSafeEqual(mac(address), Buffer.from(hex, "hex")) ? address : undefined;
    },
  };
}

/**
 * Where a request goes on the leader: its path and query on the leader's origin, and nowhere else.
 * Node's server passes an absolute-form target (`GET http://host/ HTTP/1.1`) through as
 * `request.url`, and a URL resolves `//host/` or `/\host/` to another host too: resolved as they
 * come, any client could make a follower send its request, with a valid stamp, to any address
 * the follower can reach (cloud metadata, internal services) and read the answer.
 */
function leaderTarget(requestUrl: string | undefined, leaderUrl: string): URL | undefined {
  if (requestUrl === undefined || !requestUrl.startsWith("/") || requestUrl.startsWith("//")) return undefined;
  const leader = new URL(leaderUrl);
  const target = new URL(requestUrl, leader.origin);
  return target.origin === leader.origin ? target : undefined;
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  response.writeHead(status, { "content-type": `${type}; charset=utf-8`, ...headers }).end(JSON.stringify(body));
}

/** 503 with Retry-After: no replica can serve the request right now. */
export function unavailable(response: ServerResponse, detail: string): void {
  sendJson(
    response,
    503,
    {
      title: "no leader",
      status: 503,
      detail,
      hint: "Retry in a second: when a leader stops, another replica takes over within 2 s.",
    },
    { "retry-after": "1" },
  );
}

/**
 * Forwards a request to the leader as it came (the body's bytes untouched: workers sign them),
 * stamped with the client's address. `inFlight` holds the forwards under way: when leadership
 * changes they are cut (a 503 if nothing was answered yet), so that a client waiting on a deposed
 * leader, which may never answer (cut off from the database mid-request), asks again and reaches
 * the new one.
 */
export function forward(
  request: IncomingMessage,
  response: ServerResponse,
  to: { leaderUrl: string; via: string; key: ReplicaKey },
  inFlight: Set<ClientRequest>,
): void {
  const target = leaderTarget(request.url, to.leaderUrl);
  if (target === undefined) {
    sendJson(response, 400, {
      title: "bad request target",
      status: 400,
      detail: "a replica forwards only a path on this pool's API (origin-form, such as /v1/status), not a URL",
      hint: "Send the request line as `METHOD /path HTTP/1.1`, as HTTP clients do.",
    });
    return;
  }
  const headers = {
    ...request.headers,
    host: target.host,
    [FORWARDED_BY]: to.via,
    [FORWARDED_FOR]: to.key.stamp(request.socket.remoteAddress ?? "unknown"),
  };
  const upstream = httpRequest(target, { method: request.method, headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  inFlight.add(upstream);
  upstream.on("close", () => inFlight.delete(upstream));
  upstream.on("error", (error) => {
    if (!response.headersSent) unavailable(response, `the leader at ${to.leaderUrl} did not answer (${error.message})`);
    else response.destroy();
  });
  response.on("close", () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.pipe(upstream);
}
