// Orders at a scheduler's order book: sign and publish, list, cancel (on-chain, then in the book).
import { read, send } from "../chain.js";
import { type SunpoolClient, requireSigner } from "../client.js";
import { InvalidInputError } from "../errors/input.js";
import { ChainMismatchError } from "../errors/market.js";
import type { OrderKind, OrderOfKind } from "../orders/eip712.js";
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

/**
 * Cancels an order for good: on-chain first (so that no scheduler can still match it), then at
 * the book. Only the order's signer can cancel it.
 */
export async function cancelOrder(client: SunpoolClient, scheduler: SchedulerClient, parameters: { hash: string }) {
  const { address } = await requireSigner(client, "Cancelling an order");
  const record = await getOrder(scheduler, parameters.hash);
  if (record.signer !== address) {
    throw new InvalidInputError("order", parameters.hash, `an order signed by ${address} (this one is ${record.signer}'s)`);
  }
  const computed = hashOrder(record.kind, record.order);
  if (computed !== record.hash)
    throw new InvalidInputError("order from the book", record.hash, `an order that hashes to it (got ${computed})`);
  const consumed = await read("consumed", () => client.hub.consumed(record.hash));
  const { transactionHash } = consumed >= record.order.volume ? { transactionHash: undefined } : await sendCancel(client, record);
  const updated = await unpublishOrder(scheduler, record.hash);
  return { transactionHash, record: updated };
}

async function sendCancel(client: SunpoolClient, record: OrderRecord) {
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
