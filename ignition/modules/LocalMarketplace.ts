import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { deployMarketplace } from "./Marketplace.js";

/** Local and test chains: a SunpoolToken (supply minted to the deployer) and the marketplace over it. */
export default buildModule("LocalMarketplace", (m) => {
  const deployer = m.getAccount(0);
  const initialSupply = m.getParameter<bigint>("initialSupply", 1_000_000_000n * 10n ** 18n);
  const token = m.contract("SunpoolToken", [deployer, initialSupply]);
  return { token, ...deployMarketplace(m, token) };
});
