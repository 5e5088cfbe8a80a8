// EIP-712 types of Sunpool orders and authorizations, field for field as in
// contracts/libraries/OrderHashing.sol. The one TypeScript copy: SDK, scheduler, worker and tests
// import it; test/vectors/orders.json pins it to the contracts.
import type { TypedDataDomain, TypedDataField } from "ethers";

export const DOMAIN_NAME = "Sunpool";
export const DOMAIN_VERSION = "1";

export const ORDER_TYPES = {
  AppOrder: [
    { name: "app", type: "bytes32" },
    { name: "price", type: "uint256" },
    { name: "volume", type: "uint256" },
    { name: "tag", type: "bytes32" },
    { name: "datasetRestrict", type: "bytes32" },
    { name: "workerpoolRestrict", type: "bytes32" },
    { name: "requesterRestrict", type: "address" },
    { name: "salt", type: "bytes32" },
  ],
  DatasetOrder: [
    { name: "dataset", type: "bytes32" },
    { name: "price", type: "uint256" },
    { name: "volume", type: "uint256" },
    { name: "tag", type: "bytes32" },
    { name: "appRestrict", type: "bytes32" },
    { name: "workerpoolRestrict", type: "bytes32" },
    { name: "requesterRestrict", type: "address" },
    { name: "salt", type: "bytes32" },
  ],
  WorkerpoolOrder: [
    { name: "workerpool", type: "bytes32" },
    { name: "price", type: "uint256" },
    { name: "volume", type: "uint256" },
    { name: "tag", type: "bytes32" },
    { name: "category", type: "uint256" },
    { name: "trust", type: "uint256" },
    { name: "appRestrict", type: "bytes32" },
    { name: "datasetRestrict", type: "bytes32" },
    { name: "requesterRestrict", type: "address" },
    { name: "salt", type: "bytes32" },
  ],
  RequestOrder: [
    { name: "app", type: "bytes32" },
    { name: "appMaxPrice", type: "uint256" },
    { name: "dataset", type: "bytes32" },
    { name: "datasetMaxPrice", type: "uint256" },
    { name: "workerpool", type: "bytes32" },
    { name: "workerpoolMaxPrice", type: "uint256" },
    { name: "requester", type: "address" },
    { name: "beneficiary", type: "address" },
    { name: "volume", type: "uint256" },
    { name: "tag", type: "bytes32" },
    { name: "category", type: "uint256" },
    { name: "trust", type: "uint256" },
    { name: "params", type: "bytes32" },
    { name: "salt", type: "bytes32" },
  ],
  TaskAuthorization: [
    { name: "taskId", type: "bytes32" },
    { name: "worker", type: "address" },
  ],
} as const satisfies Record<string, readonly TypedDataField[]>;

export type OrderTypeName = keyof typeof ORDER_TYPES;

/** An order as a TypeScript value, derived from its EIP-712 fields: integers are bigints, the rest hex strings. */
type TypedStruct<Fields extends readonly TypedDataField[]> = {
  [Field in Fields[number] as Field["name"]]: Field["type"] extends `uint${string}` ? bigint : string;
};

export type AppOrder = TypedStruct<(typeof ORDER_TYPES)["AppOrder"]>;
export type DatasetOrder = TypedStruct<(typeof ORDER_TYPES)["DatasetOrder"]>;
export type WorkerpoolOrder = TypedStruct<(typeof ORDER_TYPES)["WorkerpoolOrder"]>;
export type RequestOrder = TypedStruct<(typeof ORDER_TYPES)["RequestOrder"]>;

/** The four order kinds by their short names, as the scheduler API and the CLI spell them. */
export type OrderKind = "app" | "dataset" | "workerpool" | "request";

export const ORDER_KINDS: readonly OrderKind[] = ["app", "dataset", "workerpool", "request"];

/** The EIP-712 primary type of each order kind. */
export const ORDER_TYPE_NAMES = {
  app: "AppOrder",
  dataset: "DatasetOrder",
  workerpool: "WorkerpoolOrder",
  request: "RequestOrder",
} as const satisfies Record<OrderKind, OrderTypeName>;

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
