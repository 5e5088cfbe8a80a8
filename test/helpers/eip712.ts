// EIP-712 types of Sunpool orders and authorizations, field for field as in
// contracts/libraries/OrderHashing.sol. The SDK will own this file; tests import it from here.
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

export interface AppOrder {
  app: string;
  price: bigint;
  volume: bigint;
  tag: string;
  datasetRestrict: string;
  workerpoolRestrict: string;
  requesterRestrict: string;
  salt: string;
}

export interface DatasetOrder {
  dataset: string;
  price: bigint;
  volume: bigint;
  tag: string;
  appRestrict: string;
  workerpoolRestrict: string;
  requesterRestrict: string;
  salt: string;
}

export interface WorkerpoolOrder {
  workerpool: string;
  price: bigint;
  volume: bigint;
  tag: string;
  category: bigint;
  trust: bigint;
  appRestrict: string;
  datasetRestrict: string;
  requesterRestrict: string;
  salt: string;
}

export interface RequestOrder {
  app: string;
  appMaxPrice: bigint;
  dataset: string;
  datasetMaxPrice: bigint;
  workerpool: string;
  workerpoolMaxPrice: bigint;
  requester: string;
  beneficiary: string;
  volume: bigint;
  tag: string;
  category: bigint;
  trust: bigint;
  params: string;
  salt: string;
}

export function sunpoolDomain(chainId: bigint, hub: string): TypedDataDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract: hub };
}

/** The single-type map ethers' signTypedData expects for one primary type. */
export function typesFor(name: OrderTypeName): Record<string, TypedDataField[]> {
  return { [name]: [...ORDER_TYPES[name]] };
}
