import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/** Deploys the registry and a hub escrowing `token` (a contract future or an address). */
export function deployMarketplace(m: IgnitionModuleBuilder, token: ArgumentType) {
  const registry = m.contract("AssetRegistry");
  const hub = m.contract("SunpoolHub", [token, registry]);
  return { registry, hub };
}

/** The marketplace over an existing ERC20: `--parameters '{"Marketplace":{"token":"0x…"}}'`. */
export default buildModule("Marketplace", (m) => {
  const token = m.getParameter<string>("token");
  return deployMarketplace(m, token);
});
