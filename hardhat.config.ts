import { createRequire } from "node:module";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

// The build machines cannot reach the Solidity binaries site, so Hardhat compiles with the
// solc-js build shipped in the pinned `solc` npm package. Hardhat does not check that this file's
// version matches `version`: bump both together (package.json pins solc exactly).
const SOLC_VERSION = "0.8.30";
const solcPath = require.resolve("solc/soljson.js");

// `npm test` runs the contract tests with coverage beside the other suites (scripts/test.sh). Their
// instrumented build goes to its own folders, so the others keep deploying the plain contracts from
// artifacts/, and it leaves the TypeChain types (same ABIs) alone.
const separateBuild = process.env.SUNPOOL_HARDHAT_BUILD;

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  ...(separateBuild === undefined
    ? {}
    : {
        paths: { artifacts: `${separateBuild}/artifacts`, cache: `${separateBuild}/cache` },
        typechain: { dontOverrideCompile: true },
      }),
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: solcPath,
        settings: {
          evmVersion: "cancun",
          optimizer: { enabled: true, runs: 400 },
          viaIR: true,
        },
      },
    },
  },
  test: {
    // The spec reporter plus each file's time, which the lanes of scripts/test.sh are balanced by.
    mocha: { reporter: "./test/helpers/timedSpec.ts" },
    solidity: {
      fuzz: { runs: 400, seed: "0x5a4e" },
      invariant: { runs: 400, depth: 40, failOnRevert: false },
      // Shared EIP-712 vectors, checked by both the Solidity and the TypeScript tests.
      fsPermissions: { readFile: ["test/vectors/orders.json"] },
    },
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: process.env.SUNPOOL_RPC_URL ?? "http://127.0.0.1:8545",
    },
  },
});
