// A follower's forwarding (scheduler/src/leader/forwarding.ts) as a client would attack it: real
// HTTP servers on loopback, the request lines written byte for byte on a socket (an HTTP client
// library would normalise the targets this test is about).
import { createServer, type ClientRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";

import { expect } from "chai";
import { Wallet } from "ethers";

import { deriveReplicaKey, forward, FORWARDED_FOR, type ReplicaKey } from "../../../scheduler/src/leader/forwarding.js";

interface Seen {
  url: string;
  forwardedFor: string | string[] | undefined;
}

async function listen(
  handler: (request: IncomingMessage, seen: Seen[]) => void,
): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    seen.push({ url: request.url ?? "", forwardedFor: request.headers[FORWARDED_FOR] });
    handler(request, seen);
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ served: request.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

/** Sends one request line as written and returns the status code the server answered. */
function rawRequest(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port.toString()}\r\nConnection: close\r\n\r\n`);
    });
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
    socket.on("end", () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (status === null) reject(new Error(`no HTTP status in ${JSON.stringify(answer.slice(0, 200))}`));
      else resolve(Number(status[1]));
    });
    socket.on("error", reject);
  });
}

describe("scheduler: a follower forwards to its leader and nowhere else", function () {
  let key: ReplicaKey;
  let leader: Awaited<ReturnType<typeof listen>>;
  let elsewhere: Awaited<ReturnType<typeof listen>>;
  let follower: Server;
  let followerPort: number;

  before(async function () {
    key = await deriveReplicaKey(Wallet.createRandom(), `0x${"ab".repeat(32)}`);
    leader = await listen(() => undefined);
    elsewhere = await listen(() => undefined);
    const inFlight = new Set<ClientRequest>();
    follower = createServer((request, response) =>
      forward(request, response, { leaderUrl: `http://127.0.0.1:${leader.port.toString()}`, via: "follower", key }, inFlight),
    );
    await new Promise<void>((resolve) => follower.listen(0, "127.0.0.1", resolve));
    followerPort = (follower.address() as AddressInfo).port;
  });

  after(async function () {
    for (const server of [follower, leader.server, elsewhere.server]) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("forwards a path and its query to the leader, stamped with the client's address", async function () {
    expect(await rawRequest(followerPort, "/v1/status?verbose=1")).to.equal(200);
    const [request] = leader.seen.splice(0);
    expect(request!.url).to.equal("/v1/status?verbose=1");
    expect(key.verify(request!.forwardedFor)).to.match(/127\.0\.0\.1$/);
  });

  it("refuses a target that names another host (absolute form, //host, /\\host) with 400, and sends nothing there", async function () {
    const other = `127.0.0.1:${elsewhere.port.toString()}`;
    for (const target of [`http://${other}/latest/meta-data/`, `//${other}/latest/meta-data/`, `/\\${other}/latest/meta-data/`]) {
      expect(await rawRequest(followerPort, target), target).to.equal(400);
    }
    expect(elsewhere.seen).to.deep.equal([]);
    expect(leader.seen).to.deep.equal([]);
  });
});
