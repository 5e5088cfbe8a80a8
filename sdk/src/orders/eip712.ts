// Sunpool's orders, described once: the table below is the one TypeScript copy of the contracts'
// order structs. SDK, scheduler, worker and tests import it; test/vectors/orders.json pins it to
// the contracts' hashing and decoding.
import type { TypedDataDomain, TypedDataField } from "ethers";

export const DOMAIN_NAME = "Sunpool";
export const DOMAIN_VERSION = "1";

/** What a builder puts in a field its caller left out; `required` fields have no default. */
export type FieldDefault = "required" | "zero" | "one" | "randomSalt";

/**
 * One row of the order table: the field's EIP-712 name and type, its width in bytes in
 * matchOrders' compact encoding (contracts/libraries/OrderCodec.sol), its default in the
 * builders, and the range check of the few fields narrower than their type.
 */
export interface OrderField {
  readonly name: string;
  readonly type: "bytes32" | "address" | "uint256";
  readonly packedBytes: number;
  readonly default: FieldDefault;
  readonly check?: "category" | "trust";
}

const bytes32Field = <const Name extends string, const Default extends FieldDefault = "zero">(name: Name, fallback?: Default) =>
  ({ name, type: "bytes32", packedBytes: 32, default: (fallback ?? "zero") as Default }) as const;
const addressField = <const Name extends string, const Default extends FieldDefault = "zero">(name: Name, fallback?: Default) =>
  ({ name, type: "address", packedBytes: 20, default: (fallback ?? "zero") as Default }) as const;
const uintField = <const Name extends string, const Default extends FieldDefault = "zero">(
  name: Name,
  packedBytes: number,
  fallback?: Default,
) => ({ name, type: "uint256", packedBytes, default: (fallback ?? "zero") as Default }) as const;

const PRICE_BYTES = 12;
const VOLUME_BYTES = 8;
const category = { ...uintField("category", 1), check: "category" } as const;
const trust = { ...uintField("trust", 1, "one"), check: "trust" } as const;

/**
 * The order table: every order kind's fields in EIP-712 order, field for field as in
 * contracts/types/Orders.sol and contracts/libraries/OrderHashing.sol. The types, the EIP-712
 * type map, the builders, the JSON codec and the matchOrders encoder are all read from it;
 * test/vectors/orders.json pins it to the contracts field by field (docs/engineering.md,
 * "Adding an order field").
 */
export const ORDER_FIELDS = {
  AppOrder: [
    bytes32Field("app", "required"),
    uintField("price", PRICE_BYTES, "required"),
    uintField("volume", VOLUME_BYTES, "one"),
    bytes32Field("tag"),
    bytes32Field("datasetRestrict"),
    bytes32Field("workerpoolRestrict"),
    addressField("requesterRestrict"),
    bytes32Field("salt", "randomSalt"),
  ],
  DatasetOrder: [
    bytes32Field("dataset", "required"),
    uintField("price", PRICE_BYTES, "required"),
    uintField("volume", VOLUME_BYTES, "one"),
    bytes32Field("tag"),
    bytes32Field("appRestrict"),
    bytes32Field("workerpoolRestrict"),
    addressField("requesterRestrict"),
    bytes32Field("salt", "randomSalt"),
  ],
  WorkerpoolOrder: [
    bytes32Field("workerpool", "required"),
    uintField("price", PRICE_BYTES, "required"),
    uintField("volume", VOLUME_BYTES, "one"),
    bytes32Field("tag"),
    category,
    trust,
    bytes32Field("appRestrict"),
    bytes32Field("datasetRestrict"),
    addressField("requesterRestrict"),
    bytes32Field("salt", "randomSalt"),
  ],
  RequestOrder: [
    bytes32Field("app", "required"),
    uintField("appMaxPrice", PRICE_BYTES),
    bytes32Field("dataset"),
    uintField("datasetMaxPrice", PRICE_BYTES),
    bytes32Field("workerpool"),
    uintField("workerpoolMaxPrice", PRICE_BYTES),
    addressField("requester", "required"),
    addressField("beneficiary"),
    uintField("volume", VOLUME_BYTES, "one"),
    bytes32Field("tag"),
    category,
    trust,
    bytes32Field("params"),
    bytes32Field("salt", "randomSalt"),
  ],
} as const satisfies Record<string, readonly OrderField[]>;

/** The EIP-712 primary type of an order. */
export type OrderKindTypeName = keyof typeof ORDER_FIELDS;

const eip712Fields = (fields: readonly OrderField[]): readonly TypedDataField[] =>
  fields.map(({ name, type }) => ({ name, type }));

/** The EIP-712 type map: the order table's names and types, plus the workers' task authorization. */
export const ORDER_TYPES = {
  AppOrder: eip712Fields(ORDER_FIELDS.AppOrder),
  DatasetOrder: eip712Fields(ORDER_FIELDS.DatasetOrder),
  WorkerpoolOrder: eip712Fields(ORDER_FIELDS.WorkerpoolOrder),
  RequestOrder: eip712Fields(ORDER_FIELDS.RequestOrder),
  TaskAuthorization: [
    { name: "taskId", type: "bytes32" },
    { name: "worker", type: "address" },
  ],
} as const satisfies Record<string, readonly TypedDataField[]>;

export type OrderTypeName = keyof typeof ORDER_TYPES;

/** An order as a TypeScript value, derived from its table rows: integers are bigints, the rest hex strings. */
type TypedStruct<Fields extends readonly OrderField[]> = {
  [Field in Fields[number] as Field["name"]]: Field["type"] extends `uint${string}` ? bigint : string;
};

export type AppOrder = TypedStruct<(typeof ORDER_FIELDS)["AppOrder"]>;
export type DatasetOrder = TypedStruct<(typeof ORDER_FIELDS)["DatasetOrder"]>;
export type WorkerpoolOrder = TypedStruct<(typeof ORDER_FIELDS)["WorkerpoolOrder"]>;
export type RequestOrder = TypedStruct<(typeof ORDER_FIELDS)["RequestOrder"]>;

/** The four order kinds by their short names, as the scheduler API and the CLI spell them. */
export type OrderKind = "app" | "dataset" | "workerpool" | "request";

export const ORDER_KINDS: readonly OrderKind[] = ["app", "dataset", "workerpool", "request"];

/** The EIP-712 primary type of each order kind. */
export const ORDER_TYPE_NAMES = {
  app: "AppOrder",
  dataset: "DatasetOrder",
  workerpool: "WorkerpoolOrder",
  request: "RequestOrder",
} as const satisfies Record<OrderKind, OrderKindTypeName>;

/** The order value of each kind. */
export interface OrderOfKind {
  app: AppOrder;
  dataset: DatasetOrder;
  workerpool: WorkerpoolOrder;
  request: RequestOrder;
}

export type AnyOrder = OrderOfKind[OrderKind];

/** The EIP-712 domain of a Sunpool hub: orders signed for one chain or hub are invalid on any other. */
export function sunpoolDomain(chainId: bigint, hub: string): TypedDataDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract: hub };
}

/** The single-type map ethers' signTypedData expects for one primary type. */
export function typesFor(name: OrderTypeName): Record<string, TypedDataField[]> {
  return { [name]: [...ORDER_TYPES[name]] };
}
