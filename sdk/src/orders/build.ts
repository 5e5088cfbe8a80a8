// Order builders: every field has the default a user means when they leave it out (no
// restriction, no tag, volume 1) and a fresh random salt, so two otherwise equal orders never
// share a hash (and a cancelled order cannot be revived by re-signing it).
import { getAddress, hexlify, isHexString, randomBytes, ZeroAddress, ZeroHash } from "ethers";

import { InvalidInputError } from "../errors/input.js";
import {
  type AppOrder,
  type DatasetOrder,
  ORDER_FIELDS,
  type OrderField,
  type OrderKindTypeName,
  type RequestOrder,
  type WorkerpoolOrder,
} from "./eip712.js";

/** Task categories: index -> reference time in seconds (contracts/libraries/Categories.sol). */
export const CATEGORY_SECONDS = [300, 1200, 3600, 10800, 36000] as const;

/** Highest trust level the contracts accept. */
export const MAX_TRUST = 20;

type Amount = bigint | number;
/** A builder's parameters: every field of the order, optional unless its table row has no default. */
type OrderParameters<Name extends OrderKindTypeName, Order> = Pick<
  Record<keyof Order, string | Amount>,
  Extract<RequiredField<Name>, keyof Order>
> &
  Partial<Record<keyof Order, string | Amount>>;
type RequiredField<Name extends OrderKindTypeName> = Extract<
  (typeof ORDER_FIELDS)[Name][number],
  { default: "required" }
>["name"];

export type AppOrderParameters = OrderParameters<"AppOrder", AppOrder>;
export type DatasetOrderParameters = OrderParameters<"DatasetOrder", DatasetOrder>;
export type WorkerpoolOrderParameters = OrderParameters<"WorkerpoolOrder", WorkerpoolOrder>;
export type RequestOrderParameters = OrderParameters<"RequestOrder", RequestOrder>;

/** A random 32-byte salt. */
export function randomSalt(): string {
  return hexlify(randomBytes(32));
}

export function createAppOrder(parameters: AppOrderParameters): AppOrder {
  return fromTable("AppOrder", parameters) as AppOrder;
}

export function createDatasetOrder(parameters: DatasetOrderParameters): DatasetOrder {
  return fromTable("DatasetOrder", parameters) as DatasetOrder;
}

export function createWorkerpoolOrder(parameters: WorkerpoolOrderParameters): WorkerpoolOrder {
  return fromTable("WorkerpoolOrder", parameters) as WorkerpoolOrder;
}

export function createRequestOrder(parameters: RequestOrderParameters): RequestOrder {
  return fromTable("RequestOrder", parameters) as RequestOrder;
}

/** Builds an order row by row from the order table: given values validated, missing ones defaulted. */
function fromTable(typeName: OrderKindTypeName, parameters: Partial<Record<string, unknown>>): Record<string, string | bigint> {
  const order: Record<string, string | bigint> = {};
  for (const field of ORDER_FIELDS[typeName] as readonly OrderField[]) {
    order[field.name] = fieldValue(field, field.name, parameters[field.name] ?? defaultOf(field));
  }
  return order;
}

/** A required field has no default: undefined reaches the validator, whose error names the field. */
function defaultOf(field: OrderField): unknown {
  switch (field.default) {
    case "required":
      return undefined;
    case "one":
      return 1n;
    case "randomSalt":
      return randomSalt();
    case "zero":
      return field.type === "bytes32" ? ZeroHash : field.type === "address" ? ZeroAddress : 0n;
  }
}

/** Validates one field's value against its row: type, then the range of narrow fields. */
export function fieldValue(field: OrderField, label: string, value: unknown): string | bigint {
  if (field.check === "category") return category(value);
  if (field.check === "trust") return trust(value);
  return field.type === "bytes32" ? bytes32(label, value) : field.type === "address" ? address(label, value) : uint(label, value);
}

/** Validates a 0x-prefixed 32-byte hex value (ids, tags, salts) and returns it lower-cased. */
export function bytes32(field: string, value: unknown): string {
  if (typeof value !== "string" || !isHexString(value, 32)) {
    throw new InvalidInputError(field, value, "32 bytes as 0x-prefixed hex (66 characters)");
  }
  return value.toLowerCase();
}

/** Validates an address and returns it checksummed. */
export function address(field: string, value: unknown): string {
  if (typeof value !== "string" || !isHexString(value, 20)) {
    throw new InvalidInputError(field, value, "an address (0x followed by 40 hex digits)");
  }
  return getAddress(value.toLowerCase());
}

/** Validates a non-negative integer given as bigint, safe number or decimal string. */
export function uint(field: string, value: unknown): bigint {
  let parsed: bigint | undefined;
  if (typeof value === "bigint") parsed = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) parsed = BigInt(value);
  else if (typeof value === "string" && /^[0-9]{1,78}$/.test(value)) parsed = BigInt(value);
  if (parsed === undefined || parsed < 0n || parsed >= 1n << 256n) {
    throw new InvalidInputError(field, value, "a non-negative integer");
  }
  return parsed;
}

/** Validates a category index (0 to 4). */
export function category(value: unknown): bigint {
  const parsed = uint("category", value);
  if (parsed >= BigInt(CATEGORY_SECONDS.length)) {
    throw new InvalidInputError("category", value, `0 to ${CATEGORY_SECONDS.length - 1} (${CATEGORY_SECONDS.join(", ")} s)`);
  }
  return parsed;
}

/** Validates a trust level (0 to MAX_TRUST). */
export function trust(value: unknown): bigint {
  const parsed = uint("trust", value);
  if (parsed > BigInt(MAX_TRUST)) throw new InvalidInputError("trust", value, `0 to ${MAX_TRUST}`);
  return parsed;
}
