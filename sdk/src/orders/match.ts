// Which published orders can fill a request, with the same rules as OrderManagement._checkMatch,
// and a reason for every order that cannot (NoMatchingOrderError shows them to the user).
import { ZeroAddress, ZeroHash } from "ethers";

import type { AppOrder, DatasetOrder, WorkerpoolOrder } from "./eip712.js";

/** What the requester asks for, before prices are fixed. */
export interface RequestIntent {
  app: string;
  dataset: string;
  workerpool: string;
  requester: string;
  tag: string;
  category: bigint;
  trust: bigint;
  /** Price ceilings; undefined accepts any price (the cheapest order is taken). */
  appMaxPrice?: bigint;
  datasetMaxPrice?: bigint;
  workerpoolMaxPrice?: bigint;
}

export interface Candidate<Order> {
  order: Order;
  remaining: bigint;
}

/** The cheapest candidate that fits (the caller's own candidate object), and why the others do not. */
export interface Selection<Chosen> {
  best?: Chosen;
  reasons: string[];
}

const short = (hex: string) => `${hex.slice(0, 10)}…`;

function restricted(restriction: string, actual: string): boolean {
  return restriction !== ZeroHash && restriction !== ZeroAddress && restriction.toLowerCase() !== actual.toLowerCase();
}

function select<Order extends { price: bigint; salt: string }, Chosen extends Candidate<Order>>(
  candidates: readonly Chosen[],
  problemsOf: (order: Order) => (string | false)[],
): Selection<Chosen> {
  const reasons: string[] = [];
  let best: Chosen | undefined;
  for (const candidate of candidates) {
    const problems = problemsOf(candidate.order).filter((problem): problem is string => problem !== false);
    if (candidate.remaining === 0n) problems.push("has no volume left");
    if (problems.length > 0) {
      reasons.push(`order with salt ${short(candidate.order.salt)}: ${problems.join("; ")}`);
    } else if (best === undefined || candidate.order.price < best.order.price) {
      best = candidate;
    }
  }
  return best === undefined ? { reasons } : { best, reasons };
}

export function selectAppOrder<Chosen extends Candidate<AppOrder>>(
  candidates: readonly Chosen[],
  intent: RequestIntent,
): Selection<Chosen> {
  return select<AppOrder, Chosen>(candidates, (order) => [
    order.app.toLowerCase() !== intent.app.toLowerCase() && "is for another app",
    intent.appMaxPrice !== undefined &&
      order.price > intent.appMaxPrice &&
      `price ${order.price} is above your max ${intent.appMaxPrice}`,
    restricted(order.datasetRestrict, intent.dataset) && "is restricted to another dataset",
    restricted(order.workerpoolRestrict, intent.workerpool) && "is restricted to another workerpool",
    restricted(order.requesterRestrict, intent.requester) && "is restricted to another requester",
  ]);
}

export function selectDatasetOrder<Chosen extends Candidate<DatasetOrder>>(
  candidates: readonly Chosen[],
  intent: RequestIntent,
): Selection<Chosen> {
  return select<DatasetOrder, Chosen>(candidates, (order) => [
    order.dataset.toLowerCase() !== intent.dataset.toLowerCase() && "is for another dataset",
    intent.datasetMaxPrice !== undefined &&
      order.price > intent.datasetMaxPrice &&
      `price ${order.price} is above your max ${intent.datasetMaxPrice}`,
    restricted(order.appRestrict, intent.app) && "is restricted to another app",
    restricted(order.workerpoolRestrict, intent.workerpool) && "is restricted to another workerpool",
    restricted(order.requesterRestrict, intent.requester) && "is restricted to another requester",
  ]);
}

/** `requiredTag` is the union of the request's, the app order's and the dataset order's tags. */
export function selectWorkerpoolOrder<Chosen extends Candidate<WorkerpoolOrder>>(
  candidates: readonly Chosen[],
  intent: RequestIntent,
  requiredTag: bigint,
): Selection<Chosen> {
  return select<WorkerpoolOrder, Chosen>(candidates, (order) => [
    restricted(intent.workerpool, order.workerpool) && "is from another workerpool",
    order.category !== intent.category && `serves category ${order.category}, you asked for ${intent.category}`,
    order.trust < intent.trust && `serves trust up to ${order.trust}, you asked for ${intent.trust}`,
    (requiredTag & ~BigInt(order.tag)) !== 0n && `lacks tag bits ${hex32(requiredTag & ~BigInt(order.tag))}`,
    intent.workerpoolMaxPrice !== undefined &&
      order.price > intent.workerpoolMaxPrice &&
      `price ${order.price} is above your max ${intent.workerpoolMaxPrice}`,
    restricted(order.appRestrict, intent.app) && "is restricted to another app",
    restricted(order.datasetRestrict, intent.dataset) && "is restricted to another dataset",
    restricted(order.requesterRestrict, intent.requester) && "is restricted to another requester",
  ]);
}

function hex32(value: bigint): string {
  return `0x${value.toString(16).padStart(64, "0")}`;
}
