// Orders on the wire (scheduler API, files): integers as decimal strings, everything else as hex.
import { ORDER_FIELDS, ORDER_TYPE_NAMES, type OrderKind, type OrderOfKind } from "./eip712.js";
import { fieldValue } from "./build.js";
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
  const fields = ORDER_FIELDS[ORDER_TYPE_NAMES[kind]];
  const unknown = Object.keys(record).filter((key) => !fields.some((field) => field.name === key));
  if (unknown.length > 0)
    throw new InvalidInputError(`${kind} order field`, unknown[0], `one of ${fields.map((f) => f.name).join(", ")}`);
  const order: Record<string, string | bigint> = {};
  for (const field of fields) {
    const value = record[field.name];
    const name = `${kind} order ${field.name}`;
    // Types only: the range of category and trust is the contracts' to judge for orders read back.
    order[field.name] = fieldValue({ ...field, check: undefined }, name, value);
  }
  return order as OrderOfKind[Kind];
}
