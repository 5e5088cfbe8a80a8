// Orders on the wire (scheduler API, files): integers as decimal strings, everything else as hex.
import { ORDER_TYPE_NAMES, ORDER_TYPES, type OrderKind, type OrderOfKind } from "./eip712.js";
import { address, bytes32, uint } from "./build.js";
import { InvalidInputError } from "../errors/input.js";

export type JsonOrder = Record<string, string>;

/** An order as JSON: bigints become decimal strings. */
export function orderToJson(order: object): JsonOrder {
  return Object.fromEntries(Object.entries(order).map(([key, value]) => [key, String(value as string | bigint)]));
}

/** Parses and validates a JSON order of `kind`, field by field against its EIP-712 type. */
export function orderFromJson<Kind extends OrderKind>(kind: Kind, json: unknown): OrderOfKind[Kind] {
  if (typeof json !== "object" || json === null) throw new InvalidInputError(`${kind} order`, json, "a JSON object");
  const record = json as Record<string, unknown>;
  const fields = ORDER_TYPES[ORDER_TYPE_NAMES[kind]];
  const unknown = Object.keys(record).filter((key) => !fields.some((field) => field.name === key));
  if (unknown.length > 0)
    throw new InvalidInputError(`${kind} order field`, unknown[0], `one of ${fields.map((f) => f.name).join(", ")}`);
  const order: Record<string, string | bigint> = {};
  for (const field of fields) {
    const value = record[field.name];
    const name = `${kind} order ${field.name}`;
    order[field.name] =
      field.type === "bytes32" ? bytes32(name, value) : field.type === "address" ? address(name, value) : uint(name, value);
  }
  return order as OrderOfKind[Kind];
}
