// A real `hardhat node` process on a free loopback port with the marketplace deployed, for the
// SDK and CLI tests (spawned CLI processes need an HTTP endpoint, not the in-process network).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

import { ContractFactory, HDNodeWallet, type JsonRpcProvider, NonceManager, type Signer, Wallet } from "ethers";

import { DEFAULT_MIN_SCORED_STAKE, DEFAULT_TREASURY } from "../../../ignition/modules/Marketplace.js";
import { createRpcProvider } from "../../../sdk/src/client.js";
import { until } from "../../helpers/wait.js";

import type { Deployment } from "../../../sdk/src/deployment.js";

const MNEMONIC = "test test test test test test test test test test test junk";

export interface TestChain {
  rpcUrl: string;
  provider: JsonRpcProvider;
  deployment: Deployment;
  /** Funded accounts of the node (deployer first), as wallets with their private keys. */
  wallet(index: number): Wallet;
  /** Mines one block after moving the clock forward. */
  increaseTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

function artifact(path: string, name: string): { abi: never[]; bytecode: string } {
  const url = new URL(`../../../artifacts/contracts/${path}/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as { abi: never[]; bytecode: string };
}

async function deploy(signer: Signer, path: string, name: string, args: unknown[]): Promise<string> {
  const { abi, bytecode } = artifact(path, name);
  const contract = await new ContractFactory(abi, bytecode, signer).deploy(...args);
  await contract.waitForDeployment();
  return contract.getAddress();
}

export async function startChain(): Promise<TestChain> {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const cli = fileURLToPath(new URL("../../../node_modules/hardhat/dist/src/cli.js", import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    stdio: "ignore",
    detached: true,
  });
  const provider = createRpcProvider(rpcUrl, 200);
  await until(
    `hardhat node on port ${port.toString()} to answer`,
    async () => {
      if (child.exitCode !== null) throw new Error(`hardhat node exited with ${child.exitCode.toString()} before answering`);
      return provider.getBlockNumber().then(
        () => true,
        () => undefined,
      );
    },
    60_000,
    200,
  );
  const wallet = (index: number) =>
    new Wallet(HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).privateKey, provider);
  const deployer = new NonceManager(wallet(0));
  const address = await wallet(0).getAddress();
  const token = await deploy(deployer, "token/SunpoolToken.sol", "SunpoolToken", [address, 10n ** 27n]);
  const registry = await deploy(deployer, "registry/AssetRegistry.sol", "AssetRegistry", []);
  const hub = await deploy(deployer, "hub/SunpoolHub.sol", "SunpoolHub", [
    token,
    registry,
    DEFAULT_TREASURY,
    DEFAULT_MIN_SCORED_STAKE,
  ]);
  return {
    rpcUrl,
    provider,
    deployment: { chainId: 31337n, token, registry, hub, deployedAtBlock: 0 },
    wallet,
    async increaseTime(seconds) {
      await provider.send("evm_increaseTime", [seconds]);
      await provider.send("evm_mine", []);
    },
    async stop() {
      provider.destroy();
      if (child.pid === undefined || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await exited;
    },
  };
}
