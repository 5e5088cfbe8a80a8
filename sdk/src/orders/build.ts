// Order builders: every field has the default a user means when they leave it out (no
// restriction, no tag, volume 1) and a fresh random salt, so two otherwise equal orders never
// share a hash (and a cancelled order cannot be revived by re-signing it).
import { getAddress, hexlify, isHexString, randomBytes, ZeroAddress, ZeroHash } from "ethers";

import { InvalidInputError } from "../errors/input.js";
import type { AppOrder, DatasetOrder, RequestOrder, WorkerpoolOrder } from "./eip712.js";

/** Task categories: index -> reference time in seconds (contracts/libraries/Categories.sol). */
export const CATEGORY_SECONDS = [300, 1200, 3600, 10800, 36000] as const;

/** Highest trust level the contracts accept. */
export const MAX_TRUST = 20;

type Optional<T, Required extends keyof T> = Pick<T, Required> & Partial<Omit<T, Required>>;
type Amount = bigint | number;

export type AppOrderParameters = Optional<Record<keyof AppOrder, string | Amount>, "app" | "price">;
export type DatasetOrderParameters = Optional<Record<keyof DatasetOrder, string | Amount>, "dataset" | "price">;
export type WorkerpoolOrderParameters = Optional<Record<keyof WorkerpoolOrder, string | Amount>, "workerpool" | "price">;
export type RequestOrderParameters = Optional<Record<keyof RequestOrder, string | Amount>, "app" | "requester">;

/** A random 32-byte salt. */
export function randomSalt(): string {
  return hexlify(randomBytes(32));
}

export function createAppOrder(parameters: AppOrderParameters): AppOrder {
  return {
    app: bytes32("app", parameters.app),
    price: uint("price", parameters.price),
    volume: uint("volume", parameters.volume ?? 1n),
    tag: bytes32("tag", parameters.tag ?? ZeroHash),
    datasetRestrict: bytes32("datasetRestrict", parameters.datasetRestrict ?? ZeroHash),
    workerpoolRestrict: bytes32("workerpoolRestrict", parameters.workerpoolRestrict ?? ZeroHash),
    requesterRestrict: address("requesterRestrict", parameters.requesterRestrict ?? ZeroAddress),
    salt: bytes32("salt", parameters.salt ?? randomSalt()),
  };
}

export function createDatasetOrder(parameters: DatasetOrderParameters): DatasetOrder {
  return {
    dataset: bytes32("dataset", parameters.dataset),
    price: uint("price", parameters.price),
    volume: uint("volume", parameters.volume ?? 1n),
    tag: bytes32("tag", parameters.tag ?? ZeroHash),
    appRestrict: bytes32("appRestrict", parameters.appRestrict ?? ZeroHash),
    workerpoolRestrict: bytes32("workerpoolRestrict", parameters.workerpoolRestrict ?? ZeroHash),
    requesterRestrict: address("requesterRestrict", parameters.requesterRestrict ?? ZeroAddress),
    salt: bytes32("salt", parameters.salt ?? randomSalt()),
  };
}

export function createWorkerpoolOrder(parameters: WorkerpoolOrderParameters): WorkerpoolOrder {
  return {
    workerpool: bytes32("workerpool", parameters.workerpool),
    price: uint("price", parameters.price),
    volume: uint("volume", parameters.volume ?? 1n),
    tag: bytes32("tag", parameters.tag ?? ZeroHash),
    category: category(parameters.category ?? 0n),
    trust: trust(parameters.trust ?? 1n),
    appRestrict: bytes32("appRestrict", parameters.appRestrict ?? ZeroHash),
    datasetRestrict: bytes32("datasetRestrict", parameters.datasetRestrict ?? ZeroHash),
    requesterRestrict: address("requesterRestrict", parameters.requesterRestrict ?? ZeroAddress),
    salt: bytes32("salt", parameters.salt ?? randomSalt()),
  };
}

export function createRequestOrder(parameters: RequestOrderParameters): RequestOrder {
  return {
    app: bytes32("app", parameters.app),
    appMaxPrice: uint("appMaxPrice", parameters.appMaxPrice ?? 0n),
    dataset: bytes32("dataset", parameters.dataset ?? ZeroHash),
    datasetMaxPrice: uint("datasetMaxPrice", parameters.datasetMaxPrice ?? 0n),
    workerpool: bytes32("workerpool", parameters.workerpool ?? ZeroHash),
    workerpoolMaxPrice: uint("workerpoolMaxPrice", parameters.workerpoolMaxPrice ?? 0n),
    requester: address("requester", parameters.requester),
    beneficiary: address("beneficiary", parameters.beneficiary ?? ZeroAddress),
    volume: uint("volume", parameters.volume ?? 1n),
    tag: bytes32("tag", parameters.tag ?? ZeroHash),
    category: category(parameters.category ?? 0n),
    trust: trust(parameters.trust ?? 1n),
    params: bytes32("params", parameters.params ?? ZeroHash),
    salt: bytes32("salt", parameters.salt ?? randomSalt()),
  };
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
