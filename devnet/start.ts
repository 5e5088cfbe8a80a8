// `npm run devnet`: the on-chain market on one machine — a Hardhat node on 127.0.0.1 with the
// contracts deployed. The scheduler and the simulated solar workers join it as they are built
// (issues 5, 4, 6). Ctrl-C stops everything. Runs on Node 24 directly (type stripping).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const HOST = "127.0.0.1";
const PORT = Number(process.env.SUNPOOL_DEVNET_PORT ?? 8545);
const RPC_URL = `http://${HOST}:${PORT}`;
const STATE_DIR = new URL("../.devnet/", import.meta.url);

function fail(message: string): never {
  console.error(`devnet: ${message}`);
  process.exit(1);
}

async function checkPortFree(): Promise<void> {
  await new Promise<void>((resolve) => {
    const server = createServer();
    server.once("error", () =>
      fail(
        `port ${PORT} on ${HOST} is in use. Stop what listens there (ss -ltnp 'sport = :${PORT}') or set SUNPOOL_DEVNET_PORT.`,
      ),
    );
    server.listen(PORT, HOST, () => server.close(() => resolve()));
  });
}

async function waitForChain(chain: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (chain.exitCode !== null) fail(`the Hardhat node exited (code ${chain.exitCode}); see .devnet/chain.log`);
    try {
      const response = await fetch(RPC_URL, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  fail(`the Hardhat node did not answer on ${RPC_URL} within ${timeoutMs / 1000} s; see .devnet/chain.log`);
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, SUNPOOL_RPC_URL: RPC_URL } });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`)),
    );
  });
}

const [major] = process.versions.node.split(".").map(Number);
if ((major ?? 0) < 24)
  fail(`Node ${process.versions.node} is too old: run through npm (npm run devnet), which uses the project's Node 24.`);
await checkPortFree();
mkdirSync(STATE_DIR, { recursive: true });
const started = Date.now();
const log = openSync(new URL("chain.log", STATE_DIR), "w");
// The node runs as our direct child (no npx/sh in between), so its exit means its port is free.
const hardhatCli = fileURLToPath(new URL("../node_modules/hardhat/dist/src/cli.js", import.meta.url));
const chain = spawn(process.execPath, [hardhatCli, "node", "--hostname", HOST, "--port", String(PORT)], {
  stdio: ["ignore", log, log],
  detached: true,
});
/** Stops the node's whole process group and waits for it, so its port is free when we exit. */
async function stop(): Promise<void> {
  if (chain.pid === undefined || chain.exitCode !== null || chain.signalCode !== null) return;
  const exited = new Promise((resolve) => chain.once("exit", resolve));
  process.kill(-chain.pid, "SIGTERM");
  const timer = setTimeout(() => chain.pid !== undefined && process.kill(-chain.pid, "SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log("\ndevnet: stopping");
    void stop().then(() => process.exit(0));
  });
}

try {
  // Compile the contracts only (not the Solidity tests) while the node starts.
  const build = run("npx", ["hardhat", "build", "--quiet", "--no-tests"]);
  await waitForChain(chain, 60_000);
  await build;
  // A new node is a new chain 31337: Ignition's journal of the previous devnet describes contracts
  // that no longer exist and would make it skip the deployment.
  rmSync(new URL("../ignition/deployments/chain-31337/", import.meta.url), { recursive: true, force: true });
  await run("npx", ["hardhat", "run", "--no-compile", "--network", "localhost", "scripts/deploy.ts"]);
} catch (error) {
  await stop();
  fail(error instanceof Error ? error.message : String(error));
}
console.log(`
devnet ready in ${((Date.now() - started) / 1000).toFixed(1)} s: chain at ${RPC_URL} (log: .devnet/chain.log)
Accounts: the Hardhat node's 20 funded test accounts; the first holds the SunpoolToken supply.
Try next:
  npx hardhat console --network localhost      # then: const hub = await ethers.getContractAt("SunpoolHub", "<hub>")
Ctrl-C stops the devnet.`);
