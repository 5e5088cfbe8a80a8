// The worker API: register, heartbeat, pull an assignment (long poll), report, pin a result.
// Every route authenticates the worker by its signature (../workerAuth.ts); registering also
// needs admission (the allow list, or the pool's minimum stake on-chain).
import { formatSun } from "@sunpool/sdk";
import type { FastifyInstance } from "fastify";

import type { EnergyOutlook } from "../../dispatch/dispatcher.js";
import type { WorkerEnergyMetrics } from "../../metrics.js";
import { Rejection } from "../../errors.js";
import type { HeldTask, WorkerRegistration } from "../../tasks/pool.js";
import type { ApiContext } from "../context.js";
import { fastifyPath, routeSchema } from "../openapi.js";
import { authenticateWorker, notListed } from "../workerAuth.js";

export function workerRoutes(app: FastifyInstance, context: ApiContext): void {
  app.post("/v1/workers", { schema: routeSchema("/v1/workers", "post") }, async (request) => {
    const address = await authenticateWorker(context, request, {
      mustBeRegistered: false,
      admit: (worker) => admit(context, worker),
    });
    const body = request.body as Omit<WorkerRegistration, "address" | "slots" | "ipfsPeers"> & {
      slots?: number;
      ipfsPeers?: string[];
    };
    const registration: WorkerRegistration = { ...body, address, slots: body.slots ?? 1, ipfsPeers: body.ipfsPeers ?? [] };
    const { registeredAt } = await context.pool.register(registration, Date.now());
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

  app.post("/v1/workers/heartbeat", { schema: routeSchema("/v1/workers/heartbeat", "post") }, async (request) => {
    const worker = await authenticateWorker(context, request, { mustBeRegistered: true });
    const body = request.body as {
      outlook: EnergyOutlook;
      tasks?: HeldTask[];
      running?: string[];
      farewell?: boolean;
      energy?: WorkerEnergyMetrics;
    };
    if (body.energy !== undefined) context.metrics.workerEnergy.record(worker, body.energy);
    // `running` is what agents sent before leases: the same list without lease ids.
    const held = body.tasks ?? body.running?.map((taskId) => ({ taskId }));
    const now = Date.now();
    const { revoked } = await context.pool.heartbeat(worker, body.outlook, now, held, body.farewell === true);
    await context.history.recordHeartbeat(worker, body.outlook, held?.length ?? 0, body.farewell === true, now);
    context.kick("worker");
    return {
      heartbeatSeconds: context.heartbeatSeconds,
      leaseSeconds: context.pool.leaseMs / 1000,
      pending: await context.pool.pendingFor(worker, now),
      revoked,
    };
  });

  app.post("/v1/workers/assignments", { schema: routeSchema("/v1/workers/assignments", "post") }, async (request, reply) => {
    const worker = await authenticateWorker(context, request, { mustBeRegistered: true });
    const { waitSeconds = 0 } = request.query as { waitSeconds?: number };
    let assignment = await context.assignmentFor(worker);
    if (assignment === undefined && waitSeconds > 0) {
      const closed = new AbortController();
      request.raw.once("close", () => closed.abort());
      await context.waitForAssignment(worker, waitSeconds * 1000, closed.signal);
      assignment = await context.assignmentFor(worker);
    }
    if (assignment === undefined) return reply.code(204).send();
    return assignment;
  });

  const report = "/v1/workers/tasks/{taskId}/report";
  // A report is a hint (progress, logs, why it failed): it never moves a replica past running and
  // never says where a result is. Contributions, reveals and locations come from the chain.
  app.post(fastifyPath(report), { schema: routeSchema(report, "post") }, async (request) => {
    const worker = await authenticateWorker(context, request, { mustBeRegistered: true });
    const { taskId } = request.params as { taskId: string };
    const body = request.body as Parameters<ApiContext["pool"]["report"]>[2] & { lease?: string };
    const replica = await context.pool.replica(taskId, worker);
    if (replica === undefined) {
      throw new Rejection(
        404,
        "not assigned",
        `task ${taskId} is not assigned to ${worker}`,
        "Report only on tasks this pool assigned to you.",
      );
    }
    if (body.state === "running" && body.lease !== undefined && replica.lease !== null && body.lease !== replica.lease) {
      throw new Rejection(
        409,
        "lease not held",
        `lease ${body.lease} of task ${taskId} is not the current offer to ${worker}`,
        "The offer was withdrawn (its lease expired) and the task went to another worker: drop it.",
      );
    }
    // One transaction: the replica read and rewritten by the report is not changed meanwhile (a lease
    // expiring in the scheduling pass would otherwise free the worker's slot twice).
    const state = await context.db.transaction(() => context.pool.report(taskId.toLowerCase(), worker, body, Date.now()));
    context.kick("report");
    return { taskId: taskId.toLowerCase(), state };
  });

  app.post("/v1/workers/pins", { schema: routeSchema("/v1/workers/pins", "post") }, async (request) => {
    // Pinning makes the scheduler's node dial and fetch: only for workers still admitted.
    const worker = await authenticateWorker(context, request, {
      mustBeRegistered: true,
      admit: (address) => admit(context, address),
    });
    const body = request.body as { cid: string; providers?: string[] };
    const providers = [...(body.providers ?? []), ...(await context.pool.workerPeers(worker))];
    const pinning = performance.now();
    const bytes = await context.pinner.ensurePinned(body.cid, providers, worker);
    request.log.debug({ worker, cid: body.cid, bytes, ms: Math.round(performance.now() - pinning) }, "worker's result pinned");
    return { cid: body.cid, bytes };
  });
}

/** Registration needs admission: on the allow list, or the pool's minimum stake in escrow. */
export async function admit(context: ApiContext, worker: string): Promise<void> {
  const { admitted, balance } = await context.admission.check(worker);
  if (admitted) return;
  const minStake = context.admission.minStake;
  if (minStake === undefined || balance === undefined) throw notListed(worker);
  throw new Rejection(
    403,
    "worker not admitted",
    `${worker} holds ${formatSun(balance)} in escrow; this pool admits the workers on its list and those holding at least ${formatSun(minStake)}`,
    `Deposit at least ${formatSun(minStake - balance)} more for this worker (sunpool account deposit <SUN> --for ${worker}), or ask the pool's operator to add it to workers.allow.`,
  );
}
