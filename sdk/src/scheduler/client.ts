// Typed client of a scheduler's HTTP API (api/scheduler.openapi.yaml), built on openapi-fetch so
// that request and response shapes come from the OpenAPI document, not from hand-written types.
import createClient, { type Client } from "openapi-fetch";

import { SchedulerRejectedError, SchedulerUnreachableError } from "../errors/market.js";
import type { paths, SchemaOrderRecord, SchemaProblem } from "../generated/scheduler-api.js";
import { address, bytes32, uint } from "../orders/build.js";
import type { OrderKind, OrderOfKind } from "../orders/eip712.js";
import { orderFromJson, orderToJson } from "../orders/json.js";

export interface SchedulerClient {
  readonly url: string;
  readonly api: Client<paths>;
}

export interface CreateSchedulerClientParameters {
  url: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

export function createSchedulerClient(parameters: CreateSchedulerClientParameters): SchedulerClient {
  const timeoutMs = parameters.timeoutMs ?? 10_000;
  const baseFetch = parameters.fetch ?? globalThis.fetch;
  const api = createClient<paths>({
    baseUrl: parameters.url.replace(/\/$/, ""),
    fetch: (request: Request) =>
      baseFetch(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) }),
  });
  return { url: parameters.url, api };
}

export interface SchedulerInfo {
  chainId: bigint;
  hub: string;
  workerpool: string;
  scheduler: string;
  /** Multiaddrs of the scheduler's always-on IPFS node. */
  ipfsPeers: string[];
}

export interface OrderRecord<Kind extends OrderKind = OrderKind> {
  kind: Kind;
  hash: string;
  order: OrderOfKind[Kind];
  signature: string;
  signer: string;
  params?: string;
  status: "open" | "filled" | "cancelled";
  remaining: bigint;
  deals: string[];
  publishedAt: string;
}

export async function getSchedulerInfo(scheduler: SchedulerClient): Promise<SchedulerInfo> {
  const info = await call(scheduler, () => scheduler.api.GET("/v1/info"));
  return {
    chainId: uint("scheduler chainId", info.chainId),
    hub: address("scheduler hub", info.hub),
    workerpool: bytes32("scheduler workerpool", info.workerpool),
    scheduler: address("scheduler address", info.scheduler),
    ipfsPeers: info.ipfsPeers,
  };
}

export interface PostOrderParameters<Kind extends OrderKind> {
  kind: Kind;
  order: OrderOfKind[Kind];
  signature: string;
  /** Request orders: the exact task parameters text whose sha256 is `order.params`. */
  params?: string;
}

/** Posts an already signed order to the book. */
export async function postOrder<Kind extends OrderKind>(
  scheduler: SchedulerClient,
  parameters: PostOrderParameters<Kind>,
): Promise<OrderRecord<Kind>> {
  const body = {
    kind: parameters.kind,
    order: orderToJson(parameters.order) as never,
    signature: parameters.signature,
    ...(parameters.params === undefined ? {} : { params: parameters.params }),
  };
  return parseRecord(await call(scheduler, () => scheduler.api.POST("/v1/orders", { body })));
}

export interface ListOrdersParameters {
  kind: OrderKind;
  app?: string;
  dataset?: string;
  workerpool?: string;
  signer?: string;
  status?: "open" | "filled" | "cancelled" | "any";
  limit?: number;
  cursor?: string;
}

export async function listOrders(scheduler: SchedulerClient, parameters: ListOrdersParameters) {
  const page = await call(scheduler, () => scheduler.api.GET("/v1/orders", { params: { query: parameters } }));
  return { orders: page.orders.map(parseRecord), next: page.next };
}

export async function getOrder(scheduler: SchedulerClient, hash: string): Promise<OrderRecord> {
  const orderHash = bytes32("order hash", hash);
  return parseRecord(
    await call(scheduler, () => scheduler.api.GET("/v1/orders/{hash}", { params: { path: { hash: orderHash } } })),
  );
}

/** Asks the book to drop an order that is cancelled (or filled) on-chain. */
export async function unpublishOrder(scheduler: SchedulerClient, hash: string): Promise<OrderRecord> {
  const orderHash = bytes32("order hash", hash);
  return parseRecord(
    await call(scheduler, () => scheduler.api.DELETE("/v1/orders/{hash}", { params: { path: { hash: orderHash } } })),
  );
}

function parseRecord<Kind extends OrderKind>(record: SchemaOrderRecord): OrderRecord<Kind> {
  return {
    kind: record.kind as Kind,
    hash: bytes32("order hash", record.hash),
    order: orderFromJson(record.kind as Kind, record.order),
    signature: record.signature,
    signer: address("order signer", record.signer),
    ...(record.params === undefined ? {} : { params: record.params }),
    status: record.status,
    remaining: uint("remaining", record.remaining),
    deals: record.deals,
    publishedAt: record.publishedAt,
  };
}

/** Runs one API call: transport failures and problem documents become SunpoolErrors. */
export async function call<T>(
  scheduler: SchedulerClient,
  request: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request();
  } catch (error) {
    throw new SchedulerUnreachableError(scheduler.url, error);
  }
  if (result.data !== undefined) return result.data;
  const problem = (result.error ?? {}) as Partial<SchemaProblem>;
  throw new SchedulerRejectedError(
    result.response.status,
    problem.detail ?? (result.response.statusText || "no details given"),
    problem.hint,
    problem.title,
  );
}
