import { isHexString } from "ethers";

import { ConfigError } from "./errors/input.js";
import { address } from "./orders/build.js";

/** Where Sunpool lives on one chain: the file scripts/deploy.ts writes (deployments/<chainId>.json). */
export interface Deployment {
  chainId: bigint;
  token: string;
  registry: string;
  hub: string;
  /** Block of the deployment: event scans start here. */
  deployedAtBlock: number;
}

/** Validates a parsed deployment file; `source` names it in the error. */
export function parseDeployment(value: unknown, source = "deployment"): Deployment {
  const record = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const chainId = record.chainId;
  const block = record.deployedAtBlock ?? 0;
  if (!(typeof chainId === "string" || typeof chainId === "number") || !/^[0-9]+$/.test(String(chainId))) {
    throw new ConfigError(`${source} has no valid chainId.`, [
      "A deployment file looks like deployments/31337.json: { chainId, token, registry, hub, deployedAtBlock }.",
      "Deploy with: npm run deploy -- --network <name>",
    ]);
  }
  for (const field of ["token", "registry", "hub"]) {
    if (typeof record[field] !== "string" || !isHexString(record[field], 20)) {
      throw new ConfigError(`${source} has no valid ${field} address.`, ["Redeploy, or fix the file by hand."]);
    }
  }
  if (typeof block !== "number" || !Number.isSafeInteger(block) || block < 0) {
    throw new ConfigError(`${source} has an invalid deployedAtBlock.`, ["Use the block number of the deployment (or 0)."]);
  }
  return {
    chainId: BigInt(String(chainId)),
    token: address("token", record.token),
    registry: address("registry", record.registry),
    hub: address("hub", record.hub),
    deployedAtBlock: block,
  };
}
