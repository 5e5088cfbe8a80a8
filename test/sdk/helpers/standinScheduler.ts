// A minimal server conforming to api/scheduler.openapi.yaml, standing in for the scheduler until
// it exists (issue 5): an in-memory order book that checks signatures, ownership, params digests
// and on-chain volume on entry; it matches each request against its own workerpool order and, in
// the role of one trust-1 worker, runs a JavaScript "app", publishes the files to its IPFS node
// and submits the result on-chain. The SDK under test talks to it over real HTTP, a real chain
// and real IPFS; nothing in the SDK knows it is not the real scheduler.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

import { Contract, toUtf8Bytes, type Wallet, ZeroHash } from "ethers";

import { assetRegistryAbi, sunpoolHubAbi } from "../../../sdk/src/generated/abis.js";
import type { AssetRegistry } from "../../../sdk/src/generated/contracts/registry/AssetRegistry.js";
import type { SunpoolHub } from "../../../sdk/src/generated/contracts/hub/SunpoolHub.js";
import type { Deployment } from "../../../sdk/src/deployment.js";
import { SunpoolError } from "../../../sdk/src/errors/base.js";
import type { IpfsNode } from "../../../sdk/src/node/ipfs.js";
import { encodeMatchOrders } from "../../../sdk/src/orders/codec.js";
import {
  ORDER_KINDS,
  sunpoolDomain,
  type OrderKind,
  type OrderOfKind,
  type RequestOrder,
} from "../../../sdk/src/orders/eip712.js";
import { orderFromJson, orderToJson } from "../../../sdk/src/orders/json.js";
import { selectAppOrder, selectDatasetOrder, selectWorkerpoolOrder } from "../../../sdk/src/orders/match.js";
import { hashOrder, recoverOrderSigner, signTaskAuthorization } from "../../../sdk/src/orders/sign.js";
import { resultDigest, type ResultFile } from "../../../sdk/src/results/digest.js";
import { encryptResult, ENCRYPTED_RESULT_FILE } from "../../../sdk/src/results/encryption.js";
import { decodeTaskParams, type TaskParams } from "../../../sdk/src/results/params.js";

/** The "app" the stand-in worker runs for each task. */
export type TestApp = (params: TaskParams, index: number) => ResultFile[];

export interface StandinOptions {
  deployment: Deployment;
  scheduler: Wallet;
  worker: Wallet;
  workerpool: string;
  ipfs: IpfsNode;
  app: TestApp;
  /** Publish content that differs from the digest submitted (a dishonest worker). */
  tamper?: boolean;
  /** Accept requests but never match them (a scheduler that is down behind its API). */
  matching?: boolean;
  /** Match requests but never work on the tasks (every worker is asleep). */
  working?: boolean;
}

interface Entry {
  kind: OrderKind;
  hash: string;
  order: OrderOfKind[OrderKind];
  signature: string;
  signer: string;
  params?: string;
  cancelled: boolean;
  deals: string[];
  publishedAt: string;
}

export interface StandinScheduler {
  url: string;
  /** Errors the background matcher/worker ran into (a test fails on them). */
  errors: unknown[];
  stop(): Promise<void>;
}

class Problem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly hint?: string,
  ) {
    super(detail);
  }
}

export async function startStandinScheduler(options: StandinOptions): Promise<StandinScheduler> {
  const domain = sunpoolDomain(options.deployment.chainId, options.deployment.hub);
  const hub = new Contract(options.deployment.hub, sunpoolHubAbi, options.scheduler) as unknown as SunpoolHub;
  const registry = new Contract(options.deployment.registry, assetRegistryAbi, options.scheduler) as unknown as AssetRegistry;
  const book = new Map<string, Entry>();
  const errors: unknown[] = [];
  let queue = Promise.resolve();

  const remaining = async (entry: Entry) => {
    const consumed = await hub.consumed(entry.hash);
    return entry.order.volume > consumed ? entry.order.volume - consumed : 0n;
  };
  const toRecord = async (entry: Entry) => {
    const left = await remaining(entry);
    return {
      kind: entry.kind,
      hash: entry.hash,
      order: orderToJson(entry.order),
      signature: entry.signature,
      signer: entry.signer,
      ...(entry.params === undefined ? {} : { params: entry.params }),
      status: entry.cancelled ? "cancelled" : left === 0n ? "filled" : "open",
      remaining: left.toString(),
      deals: entry.deals,
      publishedAt: entry.publishedAt,
    };
  };

  async function expectedSigner(kind: OrderKind, order: OrderOfKind[OrderKind]): Promise<string> {
    if (kind === "request") return (order as RequestOrder).requester;
    const [assetKind, id] =
      kind === "app"
        ? [0, (order as OrderOfKind["app"]).app]
        : kind === "dataset"
          ? [1, (order as OrderOfKind["dataset"]).dataset]
          : [2, (order as OrderOfKind["workerpool"]).workerpool];
    return registry.ownerOf(assetKind, id);
  }

  async function publish(body: unknown): Promise<[number, unknown]> {
    const input = body as { kind?: unknown; order?: unknown; signature?: unknown; params?: unknown };
    if (typeof input.kind !== "string" || !ORDER_KINDS.includes(input.kind as OrderKind)) {
      throw new Problem(400, `kind must be one of ${ORDER_KINDS.join(", ")}`);
    }
    const kind = input.kind as OrderKind;
    const order = orderFromJson(kind, input.order);
    if (typeof input.signature !== "string") throw new Problem(400, "signature is missing");
    const hash = hashOrder(kind, order);
    const existing = book.get(hash);
    if (existing) return [200, await toRecord(existing)];
    let signer: string;
    try {
      signer = recoverOrderSigner(domain, kind, order, input.signature);
    } catch {
      throw new Problem(422, "the signature is not a valid ECDSA signature", "Sign the order with the SDK's signOrder.");
    }
    const expected = await expectedSigner(kind, order);
    if (signer !== expected) {
      throw new Problem(
        422,
        `the order is signed by ${signer}, not by ${expected}`,
        "Sign with the asset owner's (or requester's) key.",
      );
    }
    let params: string | undefined;
    if (kind === "request") {
      if (typeof input.params !== "string") throw new Problem(400, "request orders need their params document");
      decodeTaskParams(input.params, (order as RequestOrder).params);
      params = input.params;
    }
    const entry: Entry = {
      kind,
      hash,
      order,
      signature: input.signature,
      signer,
      cancelled: false,
      deals: [],
      publishedAt: new Date().toISOString(),
    };
    if (params !== undefined) entry.params = params;
    if ((await remaining(entry)) === 0n) throw new Problem(422, "the order has no volume left on-chain", "Sign a new order.");
    book.set(hash, entry);
    if (kind === "request" && options.matching !== false) {
      queue = queue
        .then(() => fill(entry))
        .catch((error: unknown) => {
          console.error("stand-in scheduler:", error);
          errors.push(error);
        });
    }
    return [201, await toRecord(entry)];
  }

  /** Matches a request with the book's orders, then works its tasks as the pool's one worker. */
  async function fill(request: Entry): Promise<void> {
    const order = request.order as RequestOrder;
    const open = async <Kind extends OrderKind>(kind: Kind) =>
      Promise.all(
        [...book.values()]
          .filter((entry) => entry.kind === kind && !entry.cancelled)
          .map(async (entry) => ({ order: entry.order as OrderOfKind[Kind], remaining: await remaining(entry), entry })),
      );
    // A request order is a complete RequestIntent: its max prices are the ceilings.
    const intent = order;
    const app = selectAppOrder(await open("app"), intent).best as { order: OrderOfKind["app"]; entry: Entry } | undefined;
    const dataset =
      order.dataset === ZeroHash
        ? undefined
        : (selectDatasetOrder(await open("dataset"), intent).best as { order: OrderOfKind["dataset"]; entry: Entry } | undefined);
    const tag = BigInt(order.tag) | BigInt(app?.order.tag ?? 0) | BigInt(dataset?.order.tag ?? 0);
    const pool = selectWorkerpoolOrder(await open("workerpool"), intent, tag).best as
      { order: OrderOfKind["workerpool"]; entry: Entry } | undefined;
    if (app === undefined || pool === undefined || (order.dataset !== ZeroHash && dataset === undefined)) return;
    const signatures = {
      app: app.entry.signature,
      workerpool: pool.entry.signature,
      request: request.signature,
      ...(dataset ? { dataset: dataset.entry.signature } : {}),
    };
    const encoded = encodeMatchOrders(
      { app: app.order, workerpool: pool.order, request: order, ...(dataset ? { dataset: dataset.order } : {}) },
      signatures,
    );
    const receipt = await (await hub.matchOrders(encoded)).wait();
    const created = receipt!.logs.map((log) => hub.interface.parseLog(log)).find((parsed) => parsed?.name === "DealCreated");
    const dealId = created!.args.dealId as string;
    const volume = Number(created!.args.volume as bigint);
    for (const entry of [request, app.entry, pool.entry, ...(dataset ? [dataset.entry] : [])]) entry.deals.push(dealId);
    if (options.working === false) return;
    const params = decodeTaskParams(request.params!, order.params);
    const worker = hub.connect(options.worker);
    for (let index = 0; index < volume; index++) {
      const files = options.app(params, index);
      const digest = resultDigest(files);
      const published = options.tamper ? files.map((file) => ({ ...file, content: toUtf8Bytes("tampered") })) : files;
      const stored =
        params.resultEncryption === undefined
          ? published
          : [{ path: ENCRYPTED_RESULT_FILE, content: await encryptResult(published, params.resultEncryption.publicKey) }];
      const location = await options.ipfs.addFiles(stored);
      const taskId = await hub.taskId(dealId, index);
      const authorization = await signTaskAuthorization(options.scheduler, domain, taskId, options.worker.address);
      const energy = { milliwattHours: 1200 + index, solarShareBps: 8000 };
      await (await worker.submitResult(dealId, index, digest, toUtf8Bytes(location), energy, authorization)).wait();
    }
  }

  async function route(request: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(request.url ?? "/", "http://localhost");
    const orderPath = /^\/v1\/orders\/(0x[0-9a-fA-F]{64})$/.exec(url.pathname);
    if (request.method === "GET" && url.pathname === "/v1/info") {
      return [
        200,
        {
          chainId: options.deployment.chainId.toString(),
          hub: options.deployment.hub,
          workerpool: options.workerpool,
          scheduler: options.scheduler.address,
          ipfsPeers: options.ipfs.multiaddrs(),
        },
      ];
    }
    if (request.method === "GET" && url.pathname === "/v1/orders") {
      const query = Object.fromEntries(url.searchParams);
      if (!ORDER_KINDS.includes(query.kind as OrderKind))
        throw new Problem(400, "kind is required", `Use one of ${ORDER_KINDS.join(", ")}.`);
      const records = await Promise.all([...book.values()].filter((entry) => entry.kind === query.kind).map(toRecord));
      const matches = records.filter((record) => {
        const fields = record.order as Record<string, string>;
        return (
          (query.status === "any" || record.status === (query.status ?? "open")) &&
          ["app", "dataset", "workerpool"].every(
            (field) => query[field] === undefined || fields[field]?.toLowerCase() === query[field].toLowerCase(),
          ) &&
          (query.signer === undefined || record.signer.toLowerCase() === query.signer.toLowerCase())
        );
      });
      return [200, { orders: matches.reverse() }];
    }
    if (request.method === "POST" && url.pathname === "/v1/orders") return publish(await readJson(request));
    if (orderPath !== null) {
      const entry = book.get(orderPath[1]!.toLowerCase());
      if (entry === undefined) throw new Problem(404, `no order ${orderPath[1]} in this book`);
      if (request.method === "GET") return [200, await toRecord(entry)];
      if (request.method === "DELETE") {
        if ((await remaining(entry)) > 0n) {
          throw new Problem(
            409,
            "the order still has volume on-chain",
            "Cancel it on-chain first (the SDK's cancelOrder does both).",
          );
        }
        entry.cancelled = true;
        return [200, await toRecord(entry)];
      }
    }
    throw new Problem(404, `no route ${request.method} ${url.pathname}`);
  }

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    route(request)
      .then(([status, body]) => send(response, status, body, "application/json"))
      .catch((error: unknown) => {
        if (error instanceof Problem)
          send(response, error.status, { title: "rejected", status: error.status, detail: error.detail, hint: error.hint });
        else if (error instanceof SunpoolError)
          send(response, 400, { title: "invalid input", status: 400, detail: error.shortMessage, hint: error.hints[0] });
        else send(response, 500, { title: "internal error", status: 500, detail: String(error) });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    errors,
    async stop() {
      await queue;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(response: ServerResponse, status: number, body: unknown, type = "application/problem+json"): void {
  response.writeHead(status, { "content-type": status < 400 ? "application/json" : type }).end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 256 * 1024) throw new Problem(413, "the body is larger than 256 KiB");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new Problem(400, "the body is not JSON");
  }
}
