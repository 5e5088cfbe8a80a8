// Typed client of the worker half of a scheduler's API: every request is signed with the
// worker's wallet (./workerAuth.ts) by a fetch wrapper, so the calls below look like any other.
import type { Signer } from "ethers";

import type {
  SchemaAssignment,
  SchemaHeartbeat,
  SchemaHeartbeatAck,
  SchemaPinReceipt,
  SchemaReportAck,
  SchemaTaskReport,
  SchemaWorkerRecord,
  SchemaWorkerRegistration,
} from "../generated/scheduler-api.js";
import { bytes32 } from "../orders/build.js";
import { call, createSchedulerClient, type SchedulerClient } from "./client.js";
import { signWorkerRequest, type WorkerRequestScope } from "./workerAuth.js";

export type WorkerRegistration = SchemaWorkerRegistration;
export type WorkerRecord = SchemaWorkerRecord;
export type Heartbeat = SchemaHeartbeat;
export type HeartbeatAck = SchemaHeartbeatAck;
export type Assignment = SchemaAssignment;
export type TaskReport = SchemaTaskReport;
export type PinReceipt = SchemaPinReceipt;

export interface CreateWorkerApiClientParameters {
  url: string;
  /** The worker's wallet: it signs every request. */
  signer: Signer;
  /** Chain and workerpool of the scheduler (from getSchedulerInfo). */
  scope: WorkerRequestScope;
  fetch?: typeof fetch;
  /** Per-request timeout (default 10 s; a long-polling pull adds its wait to it). */
  timeoutMs?: number;
}

/**
 * How many times a request refused as stale is signed again and resent. The scheduler accepts a
 * worker's timestamps only in increasing order, so of two requests in flight at once (a long-polling
 * pull and a report), the one signed first is refused if it arrives second: nothing was done, and a
 * fresh signature makes it acceptable.
 */
const STALE_RESENDS = 3;

/** A scheduler client whose requests carry the worker's signature. */
export function createWorkerApiClient(parameters: CreateWorkerApiClientParameters): SchedulerClient {
  const baseFetch = parameters.fetch ?? globalThis.fetch;
  let last = 0;
  const sign = async (request: Request): Promise<Request> => {
    const body = request.body === null ? "" : await request.clone().text();
    const url = new URL(request.url);
    // Distinct timestamps even for requests in the same millisecond: the scheduler refuses a
    // signature it has seen, and two identical requests would otherwise sign the same message.
    last = Math.max(Date.now(), last + 1);
    const headers = await signWorkerRequest(parameters.signer, parameters.scope, {
      method: request.method,
      path: url.pathname + url.search,
      timestamp: last,
      body,
    });
    const signed = new Headers(request.headers);
    for (const [name, value] of Object.entries(headers)) signed.set(name, value);
    return new Request(request, { headers: signed });
  };
  const signingFetch = async (request: Request, init?: RequestInit) => {
    for (let resent = 0; ; resent++) {
      const response = await baseFetch(await sign(request.clone()), init);
      if (resent === STALE_RESENDS || !(await refusedAsStale(response))) return response;
      await response.body?.cancel(); // refused before anything was done: only the fresh signature is sent
    }
  };
  return createSchedulerClient({
    url: parameters.url,
    fetch: signingFetch as typeof fetch,
    timeoutMs: (parameters.timeoutMs ?? 10_000) + 25_000,
  });
}

async function refusedAsStale(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  const problem = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { title?: unknown } | undefined;
  return problem?.title === "stale request";
}

/** Joins the pool, or updates this worker's capabilities. */
export async function registerWorker(client: SchedulerClient, registration: WorkerRegistration): Promise<WorkerRecord> {
  return call(client, () => client.api.POST("/v1/workers", { body: registration }));
}

/** Tells the pool the worker is alive, with its energy outlook. */
export async function sendHeartbeat(client: SchedulerClient, heartbeat: Heartbeat): Promise<HeartbeatAck> {
  return call(client, () => client.api.POST("/v1/workers/heartbeat", { body: heartbeat }));
}

/** The worker's next assignment, waiting up to `waitSeconds` (at most 25) for one; undefined if none. */
export async function pullAssignment(
  client: SchedulerClient,
  parameters: { waitSeconds?: number; signal?: AbortSignal } = {},
): Promise<Assignment | undefined> {
  const query = { waitSeconds: parameters.waitSeconds ?? 0 };
  const response = await call(client, async () => {
    const result = await client.api.POST("/v1/workers/assignments", {
      params: { query },
      ...(parameters.signal === undefined ? {} : { signal: parameters.signal }),
    });
    // 204 No Content: nothing to do; map it to a value `call` passes through.
    return result.response.status === 204 ? { data: null, response: result.response } : result;
  });
  return response ?? undefined;
}

/** Reports progress or failure on an assigned task. */
export async function reportTask(client: SchedulerClient, taskId: string, report: TaskReport): Promise<SchemaReportAck> {
  const path = { taskId: bytes32("task id", taskId) };
  return call(client, () => client.api.POST("/v1/workers/tasks/{taskId}/report", { params: { path }, body: report }));
}

/** Has the scheduler's always-on IPFS node fetch and pin a result (before it is revealed). */
export async function pinResult(client: SchedulerClient, parameters: { cid: string; providers?: string[] }): Promise<PinReceipt> {
  return call(client, () => client.api.POST("/v1/workers/pins", { body: parameters }));
}
