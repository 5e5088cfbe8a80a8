// Encoder for the compact calldata of SunpoolHub.matchOrders (contracts/libraries/OrderCodec.sol):
// per order a uint16 mask of its non-zero fields (bit i = field i in EIP-712 type order), then those
// fields at their widths in the order table (eip712.ts); then four uint16-length-prefixed signatures.
import { concat, getBytes, toBeHex } from "ethers";

import { InvalidInputError } from "../errors/input.js";
import {
  type AppOrder,
  type DatasetOrder,
  ORDER_FIELDS,
  type OrderKindTypeName,
  type RequestOrder,
  type WorkerpoolOrder,
} from "./eip712.js";

function encodeOrder(kind: OrderKindTypeName, order: object | undefined): string {
  if (order === undefined) return toBeHex(0, 2);
  const values = order as Record<string, string | bigint>;
  let mask = 0;
  const parts: string[] = [];
  ORDER_FIELDS[kind].forEach((field, bit) => {
    const raw = values[field.name];
    if (raw === undefined) throw new InvalidInputError(`${kind}.${field.name}`, raw, "a value (use 0 for none)");
    const value = BigInt(raw);
    if (value === 0n) return;
    const width = field.packedBytes;
    if (value >= 1n << BigInt(8 * width)) {
      throw new InvalidInputError(
        `${kind}.${field.name}`,
        value,
        `a value below 2^${8 * width} (its field in matchOrders is ${width} bytes)`,
      );
    }
    mask |= 1 << bit;
    parts.push(toBeHex(value, width));
  });
  return concat([toBeHex(mask, 2), ...parts]);
}

function encodeSignature(signature: string | undefined): string {
  const bytes = getBytes(signature ?? "0x");
  if (bytes.length > 0xffff) throw new InvalidInputError("signature length", bytes.length, "at most 65535 bytes");
  return concat([toBeHex(bytes.length, 2), bytes]);
}

export interface MatchOrders {
  app: AppOrder;
  dataset?: DatasetOrder;
  workerpool: WorkerpoolOrder;
  request: RequestOrder;
}

export interface MatchSignatures {
  app?: string;
  dataset?: string;
  workerpool?: string;
  request?: string;
}

/** The `encodedOrders` argument of `matchOrders`. */
export function encodeMatchOrders(orders: MatchOrders, signatures: MatchSignatures = {}): string {
  return concat([
    encodeOrder("AppOrder", orders.app),
    encodeOrder("DatasetOrder", orders.dataset),
    encodeOrder("WorkerpoolOrder", orders.workerpool),
    encodeOrder("RequestOrder", orders.request),
    encodeSignature(signatures.app),
    encodeSignature(signatures.dataset),
    encodeSignature(signatures.workerpool),
    encodeSignature(signatures.request),
  ]);
}
