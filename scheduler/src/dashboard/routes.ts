// The dashboard: its read-only JSON (/v1/dashboard/...) and its static page at `/`, on the
// scheduler's own origin. No route here changes anything: pausing or draining a worker would need
// the operator's signature and is not offered. The history it shows is recorded by ./history.ts.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import type { FastifyInstance, FastifyReply } from "fastify";

import { Rejection } from "../errors.js";
import type { ApiContext } from "../api/context.js";
import { fastifyPath, routeSchema } from "../api/openapi.js";
import { syncReceipts } from "./history.js";
import {
  dealView,
  findWorker,
  lookup,
  poolView,
  windowOf,
  workerChainFacts,
  workerView,
  type WorkerChainFacts,
} from "./views.js";

/** Prebuilt assets, shipped in the package (scheduler/dashboard/): no build step for the user. */
const ASSETS = new URL("../../dashboard/", import.meta.url);
const FILES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "charts.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "icon.svg": "image/svg+xml",
};
// The page loads its own scripts and styles and reads this origin's JSON, nothing else.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface DashboardOptions {
  /** How often receipts are copied from the chain and history is pruned (ms). */
  syncMs?: number;
  pruneMs?: number;
}

export function dashboardRoutes(app: FastifyInstance, context: ApiContext, options: DashboardOptions = {}): void {
  const history = context.history;
  const offlineAfterMs = context.heartbeatSeconds * 3000;
  const hoursOf = (query: unknown) => (query as { hours?: number }).hours ?? 24;

  app.get("/v1/dashboard/pool", { schema: routeSchema("/v1/dashboard/pool", "get") }, async (request) => {
    const now = Date.now();
    return { ...(await poolView(context.db, now, offlineAfterMs, windowOf(hoursOf(request.query), now))), pool: context.info() };
  });

  const facts = new Map<string, { at: number; value: Promise<WorkerChainFacts> }>();
  const worker = "/v1/dashboard/workers/{address}";
  app.get(fastifyPath(worker), { schema: routeSchema(worker, "get") }, async (request) => {
    const { address } = request.params as { address: string };
    const stored = await findWorker(context.db, address);
    if (stored === undefined) {
      throw new Rejection(
        404,
        "unknown worker",
        `this pool has never heard from ${address}`,
        "Check the address (the pool view lists every worker that registered here); a worker appears once it has registered with this scheduler.",
      );
    }
    const now = Date.now();
    const view = await workerView(context.db, stored, now, offlineAfterMs, windowOf(hoursOf(request.query), now));
    const chain = context.chain;
    if (chain === undefined) return view;
    // The page polls: read the chain at most every 15 s per worker (a log scan finds the credits).
    let cached = facts.get(stored);
    if (cached === undefined || now - cached.at > 15_000) {
      cached = {
        at: now,
        value: workerChainFacts(chain, context.info().scheduler, stored, chain.deployment.deployedAtBlock ?? 0),
      };
      facts.set(stored, cached);
    }
    try {
      return { ...view, chain: await cached.value };
    } catch (error) {
      facts.delete(stored);
      return { ...view, chainError: error instanceof Error ? error.message : String(error) };
    }
  });

  const find = "/v1/dashboard/lookup/{id}";
  app.get(fastifyPath(find), { schema: routeSchema(find, "get") }, async (request) => {
    const { id } = request.params as { id: string };
    const found = await lookup(context.db, id);
    if (found === undefined) {
      throw new Rejection(
        404,
        "unknown id",
        `this pool has no task, deal or request ${id.toLowerCase()}`,
        "Use an id the CLI printed (sunpool run prints the request hash; --json gives deal and task ids). A pool knows the requests sent to it and the deals of its workerpool.",
      );
    }
    return {
      id: id.toLowerCase(),
      kind: found.kind,
      ...(found.requestStatus === undefined ? {} : { requestStatus: found.requestStatus }),
      deals: await Promise.all(found.deals.map((deal) => dealView(context.db, deal, context.chain))),
    };
  });

  const assets = new Map<string, { body: Buffer; type: string; etag: string }>();
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(new URL(name, ASSETS));
    assets.set(name, { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` });
  }
  const serve = (name: string) => (request: { headers: Record<string, unknown> }, reply: FastifyReply) => {
    const asset = assets.get(name)!;
    void reply
      .header("content-security-policy", CSP)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("cache-control", "no-cache")
      .header("etag", asset.etag);
    if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  };
  app.get("/", serve("index.html"));
  for (const name of assets.keys()) app.get(`/dashboard/${name}`, serve(name));

  // Receipts follow the reconciler; history is thinned on a timer of its own, never on a request.
  const chain = context.chain;
  let syncing = false;
  const sync = chain
    ? setInterval(() => {
        if (syncing) return;
        syncing = true;
        void syncReceipts(context.db, chain, chain.deployment.deployedAtBlock ?? 0)
          .catch((error: unknown) => app.log.warn({ err: error }, "could not copy energy receipts for the dashboard; retrying"))
          .finally(() => (syncing = false));
      }, options.syncMs ?? 3000)
    : undefined;
  const prune = setInterval(() => {
    history.prune(Date.now()).catch((error: unknown) => {
      app.log.warn({ err: error }, "could not prune the dashboard's history; retrying later");
    });
  }, options.pruneMs ?? 3600_000);
  sync?.unref();
  prune.unref();
  app.addHook("onClose", () => {
    clearInterval(sync);
    clearInterval(prune);
  });
}
