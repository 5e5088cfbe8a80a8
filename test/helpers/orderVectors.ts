// The one-field vectors of test/vectors/orders.json, made from the order table
// (sdk/src/orders/eip712.ts): for every field of every order kind, a matchOrders encoding in which
// that field alone is set, at its full packed width, and the struct hash of each decoded order.
// test/solidity/OrderVectors.t.sol decodes each with the contracts' codec and hashes it with the
// contracts' typehashes, so a field the table and the contracts disagree on (name, type, order,
// width) fails there; test/vectors.test.ts fails when the table changed and the file was not
// rewritten (SUNPOOL_UPDATE_VECTORS=1 npx hardhat test mocha test/vectors.test.ts).
import { getAddress, hexlify, TypedDataEncoder } from "ethers";

import { encodeMatchOrders, type MatchOrders } from "../../sdk/src/orders/codec.js";
import { ORDER_FIELDS, type OrderField, type OrderKindTypeName, typesFor } from "../../sdk/src/orders/eip712.js";

export interface OneFieldVector {
  kind: OrderKindTypeName;
  field: string;
  encoded: string;
  structHashes: Record<"app" | "dataset" | "workerpool" | "request", string>;
}

/** Bytes 1, 2, 3 … filling the field's packed width: a shifted, truncated or reordered read changes it. */
function patternValue(field: OrderField): string | bigint {
  const bytes = Uint8Array.from({ length: field.packedBytes }, (_, index) => index + 1);
  if (field.type === "uint256") return BigInt(hexlify(bytes));
  return field.type === "address" ? getAddress(hexlify(bytes)) : hexlify(bytes);
}

function zeroOrder(kind: OrderKindTypeName): Record<string, string | bigint> {
  return Object.fromEntries(
    ORDER_FIELDS[kind].map((field: OrderField) => [
      field.name,
      field.type === "uint256" ? 0n : field.type === "address" ? getAddress("0x" + "00".repeat(20)) : "0x" + "00".repeat(32),
    ]),
  );
}

const KIND_KEYS = { AppOrder: "app", DatasetOrder: "dataset", WorkerpoolOrder: "workerpool", RequestOrder: "request" } as const;

export function oneFieldVectors(): OneFieldVector[] {
  const vectors: OneFieldVector[] = [];
  for (const kind of Object.keys(ORDER_FIELDS) as OrderKindTypeName[]) {
    for (const field of ORDER_FIELDS[kind] as readonly OrderField[]) {
      const orders = {
        app: zeroOrder("AppOrder"),
        dataset: zeroOrder("DatasetOrder"),
        workerpool: zeroOrder("WorkerpoolOrder"),
        request: zeroOrder("RequestOrder"),
      };
      orders[KIND_KEYS[kind]][field.name] = patternValue(field);
      const hash = (name: OrderKindTypeName) => TypedDataEncoder.hashStruct(name, typesFor(name), orders[KIND_KEYS[name]]);
      vectors.push({
        kind,
        field: field.name,
        encoded: encodeMatchOrders(orders as unknown as MatchOrders),
        structHashes: {
          app: hash("AppOrder"),
          dataset: hash("DatasetOrder"),
          workerpool: hash("WorkerpoolOrder"),
          request: hash("RequestOrder"),
        },
      });
    }
  }
  return vectors;
}
