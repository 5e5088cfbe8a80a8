import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/** Where forfeited stakes that compensate nobody go by default: a burn address (nobody holds its key). */
export const DEFAULT_TREASURY = "0x000000000000000000000000000000000000dEaD";
/** Smallest worker stake per task whose correct contribution raises a score by default: 0.01 token (18 decimals). */
export const DEFAULT_MIN_SCORED_STAKE = 10n ** 16n;

/**
 * Deploys the registry and a hub escrowing `token` (a contract future or an address). The module's
 * parameters `treasury` and `minScoredStake` default to {@link DEFAULT_TREASURY} and
 * {@link DEFAULT_MIN_SCORED_STAKE} (scripts/deploy.ts sets them from SUNPOOL_TREASURY and
 * SUNPOOL_MIN_SCORED_STAKE).
 */
export function deployMarketplace(m: IgnitionModuleBuilder, token: ArgumentType) {
  const treasury = m.getParameter<string>("treasury", DEFAULT_TREASURY);
  const minScoredStake = m.getParameter<bigint>("minScoredStake", DEFAULT_MIN_SCORED_STAKE);
  const registry = m.contract("AssetRegistry");
  const hub = m.contract("SunpoolHub", [token, registry, treasury, minScoredStake]);
  return { registry, hub };
}

/** The marketplace over an existing ERC20: `--parameters '{"Marketplace":{"token":"0x…"}}'`. */
export default buildModule("Marketplace", (m) => {
  const token = m.getParameter<string>("token");
  return deployMarketplace(m, token);
});
