// Orders at a scheduler's order book: sign and publish, list, cancel (on-chain, then in the book).
import { read, send } from "../chain.js";
import { type SunpoolClient, requireSigner } from "../client.js";
import { isSunpoolError } from "../errors/base.js";
import { InvalidInputError } from "../errors/input.js";
import { ChainMismatchError } from "../errors/market.js";
import type { AnyOrder, OrderKind, OrderOfKind } from "../orders/eip712.js";
import { hashOrder, signOrder } from "../orders/sign.js";
import {
  getOrder,
  getSchedulerInfo,
  type OrderRecord,
  postOrder,
  type SchedulerClient,
  type SchedulerInfo,
  unpublishOrder,
} from "../scheduler/client.js";

export interface PublishOrderParameters<Kind extends OrderKind> {
  kind: Kind;
  order: OrderOfKind[Kind];
  /** Request orders: the task parameters text (see `encodeTaskParams`). */
  params?: string;
}

/** Signs an order with the client's signer and publishes it at the scheduler. */
export async function publishOrder<Kind extends OrderKind>(
  client: SunpoolClient,
  scheduler: SchedulerClient,
  parameters: PublishOrderParameters<Kind>,
): Promise<OrderRecord<Kind>> {
  const { signer } = await requireSigner(client, "Publishing an order");
  await assertSameMarket(client, scheduler);
  const signature = await signOrder(signer, client.domain, parameters.kind, parameters.order);
  return postOrder(scheduler, { ...parameters, signature });
}

export type CancelOrderParameters =
  /** An order the book lists. */
  | { hash: string; kind?: undefined; order?: undefined }
  /** An order you kept yourself (e.g. from `run`'s `beforePublish`): works without the book. */
  | { hash?: undefined; kind: OrderKind; order: AnyOrder };

/**
 * Cancels an order for good: on-chain first (so that no scheduler can still match it), then at
 * the book. Only the order's signer can cancel it. Given the order itself, the on-chain cancel
 * does not depend on the book; `record` is then undefined when the book does not answer or does
 * not know the order.
 */
export async function cancelOrder(client: SunpoolClient, scheduler: SchedulerClient, parameters: CancelOrderParameters) {
  const { address } = await requireSigner(client, "Cancelling an order");
  const own = parameters.order === undefined ? undefined : { kind: parameters.kind, order: parameters.order };
  const found = own ?? (await getOrder(scheduler, parameters.hash!));
  const hash = hashOrder(found.kind, found.order);
  if (own === undefined) {
    const record = found as OrderRecord;
    if (record.signer !== address) {
      throw new InvalidInputError("order", record.hash, `an order signed by ${address} (this one is ${record.signer}'s)`);
    }
    if (hash !== record.hash)
      throw new InvalidInputError("order from the book", record.hash, `an order that hashes to it (got ${hash})`);
  }
  const consumed = await read("consumed", () => client.hub.consumed(hash));
  const { transactionHash } = consumed >= found.order.volume ? { transactionHash: undefined } : await sendCancel(client, found);
  const record = await unpublishOrder(scheduler, hash).catch((error: unknown) => {
    if (own !== undefined && (isSunpoolError(error, "SCHEDULER_UNREACHABLE") || isSunpoolError(error, "SCHEDULER_REJECTED"))) {
      return undefined;
    }
    throw error;
  });
  return { hash, transactionHash, record };
}

async function sendCancel(client: SunpoolClient, record: { kind: OrderKind; order: AnyOrder }) {
  const receipt = await send("cancel order", () => {
    switch (record.kind) {
      case "app":
        return client.hub.cancelAppOrder(record.order as OrderOfKind["app"]);
      case "dataset":
        return client.hub.cancelDatasetOrder(record.order as OrderOfKind["dataset"]);
      case "workerpool":
        return client.hub.cancelWorkerpoolOrder(record.order as OrderOfKind["workerpool"]);
      case "request":
        return client.hub.cancelRequestOrder(record.order as OrderOfKind["request"]);
    }
  });
  return { transactionHash: receipt.hash };
}

/** The scheduler's identity, checked to be on the client's chain and hub. */
export async function assertSameMarket(client: SunpoolClient, scheduler: SchedulerClient): Promise<SchedulerInfo> {
  const info = await getSchedulerInfo(scheduler);
  const { chainId, hub } = client.deployment;
  if (info.chainId !== chainId || info.hub !== hub) {
    throw new ChainMismatchError("The scheduler", `chain ${chainId}, hub ${hub}`, `chain ${info.chainId}, hub ${info.hub}`);
  }
  return info;
}
