// A SunpoolClient binds an ethers provider (and optionally a signer) to one deployment. Actions
// are plain functions that take the client first (docs/engineering.md, "SDK"), so an app that
// imports one action pulls in nothing else.
import { Contract, JsonRpcProvider, type Provider, type Signer, type TypedDataDomain } from "ethers";

import { ChainMismatchError } from "./errors/market.js";
import { ConfigError } from "./errors/input.js";
import { RpcUnreachableError } from "./errors/chain.js";
import type { Deployment } from "./deployment.js";
import { assetRegistryAbi, sunpoolHubAbi, sunpoolTokenAbi } from "./generated/abis.js";
import type { AssetRegistry } from "./generated/contracts/registry/AssetRegistry.js";
import type { SunpoolHub } from "./generated/contracts/hub/SunpoolHub.js";
import type { SunpoolToken } from "./generated/contracts/token/SunpoolToken.js";
import { sunpoolDomain } from "./orders/eip712.js";

export type { AssetRegistry, SunpoolHub, SunpoolToken };

export interface SunpoolClient {
  readonly provider: Provider;
  /** Signs transactions and orders; absent for a read-only client. */
  readonly signer: Signer | undefined;
  readonly deployment: Deployment;
  /** The EIP-712 domain orders are signed in. */
  readonly domain: TypedDataDomain;
  readonly hub: SunpoolHub;
  readonly registry: AssetRegistry;
  readonly token: SunpoolToken;
  /** How often follow-ups (run, watch) re-read the chain when events are late or missed. */
  readonly pollingIntervalMs: number;
}

export interface CreateSunpoolClientParameters {
  deployment: Deployment;
  /** An ethers provider, or `rpcUrl` to create one. */
  provider?: Provider;
  rpcUrl?: string;
  /** A signer; it is connected to the provider when it has none. */
  signer?: Signer;
  pollingIntervalMs?: number;
}

/**
 * Creates a client after checking that the RPC endpoint is reachable and on the deployment's
 * chain (a signature for one chain must never be produced for another by mistake).
 */
export async function createSunpoolClient(parameters: CreateSunpoolClientParameters): Promise<SunpoolClient> {
  const { deployment } = parameters;
  const pollingIntervalMs = parameters.pollingIntervalMs ?? 1000;
  const provider = parameters.provider ?? rpcProvider(parameters.rpcUrl, pollingIntervalMs);
  let chainId: bigint;
  try {
    chainId = await probeChainId(provider);
  } catch (error) {
    if (parameters.provider === undefined) (provider as JsonRpcProvider).destroy();
    throw new RpcUnreachableError(parameters.rpcUrl ?? "the provider's endpoint", error);
  }
  if (chainId !== deployment.chainId) {
    throw new ChainMismatchError("The RPC endpoint", `chain ${deployment.chainId}`, `chain ${chainId}`);
  }
  const signer = parameters.signer && (parameters.signer.provider ? parameters.signer : parameters.signer.connect(provider));
  const runner = signer ?? provider;
  return {
    provider,
    signer,
    deployment,
    domain: sunpoolDomain(deployment.chainId, deployment.hub),
    hub: new Contract(deployment.hub, sunpoolHubAbi, runner) as unknown as SunpoolHub,
    registry: new Contract(deployment.registry, assetRegistryAbi, runner) as unknown as AssetRegistry,
    token: new Contract(deployment.token, sunpoolTokenAbi, runner) as unknown as SunpoolToken,
    pollingIntervalMs,
  };
}

/** Attempts at the chain id when the connection drops mid-request, and the pause between them. */
const PROBE_ATTEMPTS = 3;
const PROBE_PAUSE_MS = 250;

/**
 * The endpoint's chain id. A connection reset mid-request (a keep-alive socket the node closed as
 * it was reused, a busy node) is tried again; a refused connection or an error answer is not.
 */
async function probeChainId(provider: Provider): Promise<bigint> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await provider.getNetwork()).chainId;
    } catch (error) {
      if (attempt >= PROBE_ATTEMPTS || !isConnectionReset(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, PROBE_PAUSE_MS * attempt));
    }
  }
}

function isConnectionReset(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (code === "ECONNRESET" || code === "EPIPE" || current.message.includes("socket hang up")) return true;
  }
  return false;
}

function rpcProvider(rpcUrl: string | undefined, pollingIntervalMs: number): JsonRpcProvider {
  if (rpcUrl === undefined) {
    throw new ConfigError("No chain to talk to: neither a provider nor an RPC URL was given.", [
      "Pass rpcUrl (CLI: --rpc or SUNPOOL_RPC_URL); the devnet's is http://127.0.0.1:8545.",
    ]);
  }
  return createRpcProvider(rpcUrl, pollingIntervalMs);
}

/**
 * The JSON-RPC provider every Sunpool part should use.
 * staticNetwork: ethers would otherwise retry network detection forever on a dead endpoint;
 * callers check the chain id themselves and fail with a clear error instead.
 * cacheTimeout -1: ethers reuses identical answers for 250 ms by default, which hands two
 * transactions sent back to back the same nonce.
 */
export function createRpcProvider(rpcUrl: string, pollingIntervalMs = 1000): JsonRpcProvider {
  return new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, pollingInterval: pollingIntervalMs, cacheTimeout: -1 });
}

/** The client's signer and its address, or a clear error for a read-only client. */
export async function requireSigner(client: SunpoolClient, action: string): Promise<{ signer: Signer; address: string }> {
  if (client.signer === undefined) {
    throw new ConfigError(`${action} needs a wallet, but this client is read-only.`, [
      "Create the client with a signer (CLI: run sunpool init to create an encrypted wallet).",
    ]);
  }
  return { signer: client.signer, address: await client.signer.getAddress() };
}
