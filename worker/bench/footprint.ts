// The agent's footprint while idle: resident memory and CPU of a `sunpool-worker` process joined
// to a scheduler on a local Hardhat node, sampled from /proc over a minute with no work to do
// (it heartbeats every 15 s and long-polls for assignments, as in production). The worker runs
// with the default config: results go through the pool's IPFS node (ipfs.mode "pool"), so no
// libp2p is loaded; the node is started with the flags of the CLI's shebang, as the bin runs it.
// Target (issue 15): RSS <= 64 MiB for the bundled agent (a Pi Zero 2 W has 512 MB), CPU < 1 % idle.
//   npx tsx worker/bench/footprint.ts [seconds=60]      (needs `npm run build`)
//   SUNPOOL_WORKER_CLI=<stage>/opt/sunpool/worker/dist/cli.js npx tsx worker/bench/footprint.ts
//     measures the image's bundled worker instead (`node firmware-scripts/bundle-worker.ts <stage>`,
//     which firmware-scripts/build-worker.sh runs).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { deposit } from "../../sdk/src/actions/account.js";
import { writeKeystore } from "../../sdk/src/node/keystore.js";
import { startMarket, startPoolScheduler, SUN } from "../../test/sdk/helpers/market.js";
import { DEVICE_SCRYPT_N } from "../src/device/provision.js";

const seconds = Number(process.argv[2] ?? 60);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const WORKER = 4;

const market = await startMarket();
await deposit(await market.client(WORKER), { amount: 1n * SUN }).catch(() => undefined);
const scheduler = await startPoolScheduler(market.chain, market.workerpoolId);
const folder = mkdtempSync(join(tmpdir(), "sunpool-footprint-"));
const { chainId, ...addresses } = market.chain.deployment;
writeFileSync(join(folder, "deployment.json"), JSON.stringify({ chainId: Number(chainId), ...addresses }));
// As the Pi's provisioning writes it (a random password, a light scrypt).
await writeKeystore({
  path: join(folder, "keystore.json"),
  password: "footprint",
  privateKey: market.chain.wallet(WORKER).privateKey,
  scryptN: DEVICE_SCRYPT_N,
});
writeFileSync(
  join(folder, "worker.config.json"),
  JSON.stringify({
    scheduler: scheduler.url,
    rpcUrl: market.chain.rpcUrl,
    deployment: "deployment.json",
    workerpool: market.workerpoolId,
    keystore: "keystore.json",
    dataDir: "data",
    logLevel: "warn",
  }),
);
const cli = process.env.SUNPOOL_WORKER_CLI ?? new URL("../dist/cli.js", import.meta.url).pathname;
// The flags of the bin's shebang (`#!/usr/bin/env -S node <flags>`, worker/src/cli.ts).
const shebang = readFileSync(cli, "utf8").split("\n", 1)[0]!;
const flags = shebang.startsWith("#!") ? shebang.split(/\s+/).slice(shebang.split(/\s+/).indexOf("node") + 1) : [];
const child = spawn(process.execPath, [...flags, cli, "start", "--config", join(folder, "worker.config.json")], {
  env: { ...process.env, SUNPOOL_WORKER_PASSWORD: "footprint" },
  stdio: ["ignore", "ignore", "inherit"],
});

const stat = () => {
  const fields = readFileSync(`/proc/${child.pid!.toString()}/stat`, "utf8").split(") ")[1]!.split(" ");
  const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const status = readFileSync(`/proc/${child.pid!.toString()}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  // The high-water mark since the process started: start-up (modules, keystore) included.
  const hwmKiB = Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
  return { cpuTicks, rssKiB, hwmKiB };
};
// Let it start, register and settle (start-up work is not idle work).
await new Promise((resolve) => setTimeout(resolve, 15_000));
const first = stat();
let peakRss = first.rssKiB;
const started = performance.now();
while (performance.now() - started < seconds * 1000) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  peakRss = Math.max(peakRss, stat().rssKiB);
}
const last = stat();
const wall = (performance.now() - started) / 1000;
const cpu = (last.cpuTicks - first.cpuTicks) / TICKS_PER_SECOND / wall;
console.log(
  `sunpool-worker idle over ${wall.toFixed(0)} s (mains host, pool mode, heartbeats every 15 s, node ${flags.join(" ")}):`,
);
console.log(
  `  RSS ${(last.rssKiB / 1024).toFixed(1)} MiB (peak ${(peakRss / 1024).toFixed(1)} MiB while idle, ${(last.hwmKiB / 1024).toFixed(1)} MiB since start); CPU ${(cpu * 100).toFixed(2)} % of one core`,
);
child.kill("SIGTERM");
await new Promise((resolve) => child.once("exit", resolve));
await scheduler.stop();
await market.stop();
