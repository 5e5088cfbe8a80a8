// EIP-712 hashing, signing and signer recovery of orders and task authorizations, with the same
// digests as contracts/libraries/OrderHashing.sol (pinned by test/vectors/orders.json).
import { type Signer, type TypedDataDomain, TypedDataEncoder, verifyTypedData } from "ethers";

import { ORDER_TYPE_NAMES, type OrderKind, type OrderOfKind, typesFor } from "./eip712.js";

/**
 * The order's EIP-712 struct hash: the `orderHash` the hub keys consumption by and emits
 * (`hashRequestOrder` on-chain). It is the same on every chain; signatures are not, because
 * they cover {orderDigest}, which adds the hub's domain.
 */
export function hashOrder<Kind extends OrderKind>(kind: Kind, order: OrderOfKind[Kind]): string {
  return TypedDataEncoder.hashStruct(ORDER_TYPE_NAMES[kind], typesFor(ORDER_TYPE_NAMES[kind]), order);
}

/** The EIP-712 digest a signer signs: the struct hash in the hub's domain. */
export function orderDigest<Kind extends OrderKind>(domain: TypedDataDomain, kind: Kind, order: OrderOfKind[Kind]): string {
  return TypedDataEncoder.hash(domain, typesFor(ORDER_TYPE_NAMES[kind]), order);
}

/** Signs an order as EIP-712 typed data. */
export async function signOrder<Kind extends OrderKind>(
  signer: Signer,
  domain: TypedDataDomain,
  kind: Kind,
  order: OrderOfKind[Kind],
): Promise<string> {
  return signer.signTypedData(domain, typesFor(ORDER_TYPE_NAMES[kind]), order);
}

/** The address an ECDSA order signature recovers to (ERC-1271 signers are checked on-chain). */
export function recoverOrderSigner<Kind extends OrderKind>(
  domain: TypedDataDomain,
  kind: Kind,
  order: OrderOfKind[Kind],
  signature: string,
): string {
  return verifyTypedData(domain, typesFor(ORDER_TYPE_NAMES[kind]), order, signature);
}

/** The scheduler's authorization for `worker` to work on `taskId`. */
export async function signTaskAuthorization(
  signer: Signer,
  domain: TypedDataDomain,
  taskId: string,
  worker: string,
): Promise<string> {
  return signer.signTypedData(domain, typesFor("TaskAuthorization"), { taskId, worker });
}
