// The worker API: register, heartbeat, pull an assignment (long poll), report, pin a result.
// Every route authenticates the worker by its signature (../workerAuth.ts).
import type { FastifyInstance } from "fastify";

import type { EnergyOutlook } from "../../dispatch/dispatcher.js";
import { Rejection } from "../../errors.js";
import type { WorkerRegistration } from "../../tasks/pool.js";
import type { ApiContext } from "../context.js";
import { fastifyPath, routeSchema } from "../openapi.js";
import { authenticateWorker } from "../workerAuth.js";

export function workerRoutes(app: FastifyInstance, context: ApiContext): void {
  app.post("/v1/workers", { schema: routeSchema("/v1/workers", "post") }, (request) => {
    const address = authenticateWorker(context, request, { mustBeRegistered: false });
    const body = request.body as Omit<WorkerRegistration, "address" | "slots" | "ipfsPeers"> & {
      slots?: number;
      ipfsPeers?: string[];
    };
    const registration: WorkerRegistration = { ...body, address, slots: body.slots ?? 1, ipfsPeers: body.ipfsPeers ?? [] };
    const { registeredAt } = context.pool.register(registration, Date.now());
    context.kick("worker");
    return {
      address,
      platforms: registration.platforms,
      cores: registration.cores,
      memoryMiB: registration.memoryMiB,
      slots: registration.slots,
      ...(registration.board === undefined ? {} : { board: registration.board }),
      state: "online",
      registeredAt,
    };
  });

  app.post("/v1/workers/heartbeat", { schema: routeSchema("/v1/workers/heartbeat", "post") }, (request) => {
    const worker = authenticateWorker(context, request, { mustBeRegistered: true });
    const body = request.body as { outlook: EnergyOutlook; running?: string[] };
    context.pool.heartbeat(worker, body.outlook, Date.now(), body.running);
    context.kick("worker");
    return { heartbeatSeconds: context.heartbeatSeconds, pending: context.pool.pendingFor(worker) };
  });

  app.post("/v1/workers/assignments", { schema: routeSchema("/v1/workers/assignments", "post") }, async (request, reply) => {
    const worker = authenticateWorker(context, request, { mustBeRegistered: true });
    const { waitSeconds = 0 } = request.query as { waitSeconds?: number };
    let assignment = context.assignmentFor(worker);
    if (assignment === undefined && waitSeconds > 0) {
      const closed = new AbortController();
      request.raw.once("close", () => closed.abort());
      await context.waitForAssignment(worker, waitSeconds * 1000, closed.signal);
      assignment = context.assignmentFor(worker);
    }
    if (assignment === undefined) return reply.code(204).send();
    return assignment;
  });

  const report = "/v1/workers/tasks/{taskId}/report";
  app.post(fastifyPath(report), { schema: routeSchema(report, "post") }, (request) => {
    const worker = authenticateWorker(context, request, { mustBeRegistered: true });
    const { taskId } = request.params as { taskId: string };
    const body = request.body as Parameters<ApiContext["pool"]["report"]>[2];
    if (context.pool.replica(taskId, worker) === undefined) {
      throw new Rejection(
        404,
        "not assigned",
        `task ${taskId} is not assigned to ${worker}`,
        "Report only on tasks this pool assigned to you.",
      );
    }
    const state = context.pool.report(taskId.toLowerCase(), worker, body, Date.now());
    context.kick("report");
    return { taskId: taskId.toLowerCase(), state };
  });

  app.post("/v1/workers/pins", { schema: routeSchema("/v1/workers/pins", "post") }, async (request) => {
    const worker = authenticateWorker(context, request, { mustBeRegistered: true });
    const body = request.body as { cid: string; providers?: string[] };
    const providers = [...(body.providers ?? []), ...context.pool.workerPeers(worker)];
    const bytes = await context.pinner.ensurePinned(body.cid, providers, worker);
    return { cid: body.cid, bytes };
  });
}
