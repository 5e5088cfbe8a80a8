// Every contract call and transaction goes through here, so that a revert always becomes a
// ContractRevertError naming the contract's custom error and a dead endpoint an RpcUnreachableError.
import { type ContractTransactionReceipt, type ContractTransactionResponse, Interface, isError } from "ethers";

import { ContractRevertError, RpcUnreachableError } from "./errors/chain.js";
import { SunpoolError } from "./errors/base.js";
import { assetRegistryAbi, sunpoolHubAbi, sunpoolTokenAbi } from "./generated/abis.js";

/** Every custom error of the three contracts (the hub bubbles up the registry's). */
const errorsInterface = new Interface(
  [...sunpoolHubAbi, ...assetRegistryAbi, ...sunpoolTokenAbi].filter(
    (fragment, index, all) =>
      fragment.type === "error" && all.findIndex((other) => other.type === "error" && other.name === fragment.name) === index,
  ),
);

/** Decodes revert data into the contract error's name and arguments, if it is one of ours. */
export function decodeRevert(data: string | null | undefined): { name: string; args: unknown[] } | undefined {
  if (data === null || data === undefined || data.length < 10) return undefined;
  const parsed = errorsInterface.parseError(data);
  return parsed === null ? undefined : { name: parsed.name, args: [...parsed.args] };
}

/** Translates an ethers error from `action` into a SunpoolError; other errors pass through. */
export function translateError(action: string, error: unknown): unknown {
  if (error instanceof SunpoolError) return error;
  if (isError(error, "CALL_EXCEPTION")) {
    const decoded = decodeRevert(error.data);
    if (decoded !== undefined) return new ContractRevertError(action, decoded.name, decoded.args, error);
    return new ContractRevertError(action, error.reason ?? "unknown revert", [], error);
  }
  if (isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") || isConnectionRefused(error)) {
    return new RpcUnreachableError("the RPC endpoint", error);
  }
  return error;
}

/** Runs a read-only contract call with error translation. */
export async function read<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateError(action, error);
  }
}

/** Sends a transaction and waits for its receipt, with error translation. */
export async function send(
  action: string,
  transaction: () => Promise<ContractTransactionResponse>,
): Promise<ContractTransactionReceipt> {
  try {
    const response = await transaction();
    const receipt = await response.wait();
    if (receipt === null) throw new RpcUnreachableError("the RPC endpoint", new Error(`no receipt for ${response.hash}`));
    return receipt;
  } catch (error) {
    throw translateError(action, error);
  }
}

function isConnectionRefused(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause)}` : "";
  return /ECONNREFUSED|fetch failed|ENOTFOUND|EHOSTUNREACH/.test(text);
}
