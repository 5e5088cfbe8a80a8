// `npm run devnet` as a user runs it: a real process, a real Hardhat node, Ctrl-C to stop.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

import { expect } from "chai";
import { Contract, JsonRpcProvider } from "ethers";

const PORT = 18545;

function startDevnet(port: number) {
  const child = spawn(process.execPath, ["devnet/start.ts"], {
    env: { ...process.env, SUNPOOL_DEVNET_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("npm run devnet", function () {
  this.timeout(120_000);

  it("brings up a chain with the contracts deployed, and Ctrl-C stops it", async function () {
    const devnet = startDevnet(PORT);
    try {
      await waitFor(() => devnet.output().includes("devnet ready") || devnet.child.exitCode !== null, 110_000);
      expect(devnet.output()).to.include("devnet ready");
      const addresses = JSON.parse(readFileSync(new URL("../deployments/31337.json", import.meta.url), "utf8")) as {
        hub: string;
      };
      const provider = new JsonRpcProvider(`http://127.0.0.1:${PORT}`);
      const hub = new Contract(addresses.hub, ["function token() view returns (address)"], provider);
      expect(await hub.getFunction("token")()).to.equal((addresses as unknown as { token: string }).token);
      provider.destroy();
    } finally {
      devnet.child.kill("SIGINT");
    }
    expect(await devnet.exited).to.equal(0);
    // The node is gone: its port can be bound again.
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once("error", reject);
      server.listen(PORT, "127.0.0.1", () => server.close(() => resolve()));
    });
    expect(devnet.output()).to.include("devnet: stopping");
  });

  it("refuses a port in use with what to do", async function () {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(PORT + 1, "127.0.0.1", resolve));
    try {
      const devnet = startDevnet(PORT + 1);
      expect(await devnet.exited).to.equal(1);
      expect(devnet.output()).to.include(`port ${PORT + 1} on 127.0.0.1 is in use`);
      expect(devnet.output()).to.include("SUNPOOL_DEVNET_PORT");
    } finally {
      blocker.close();
    }
  });
});
