// Benchmarks of the whole market on a running devnet (`npm run devnet` in another terminal):
//   npm run bench:devnet -- latency [runs=20]     request → verified result of a trivial task, one at a time
//   npm run bench:devnet -- throughput [tasks=30] one batch of trivial tasks: tasks per minute
// Both print the gas the hub spent per task over the run, from the receipts of the blocks mined.
//
// Latency is split into the container's own run time (the same image and arguments run directly
// on the engine with `docker run`, measured here) and the framework's overhead: everything else —
// signing and publishing the request, matching, the deal, dispatch, pull of the assignment,
// result upload and pinning, the on-chain submission, and the requester's download and check.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import {
  createRpcProvider,
  createSchedulerClient,
  createSunpoolClient,
  deposit,
  getBalance,
  getResult,
  getSchedulerInfo,
  parseDeployment,
  run,
} from "@sunpool/sdk";
import { createIpfsNode } from "@sunpool/sdk/node";

import { devnetWallet, ROLE_INDEX } from "../market.ts";

const [mode = "latency", countArg] = process.argv.slice(2);
const STATE = process.env.SUNPOOL_DEVNET_STATE ?? join(import.meta.dirname, "../../.devnet");
const info = JSON.parse(readFileSync(join(STATE, "devnet.json"), "utf8")) as {
  rpcUrl: string;
  schedulerUrl: string;
  deployment: Record<string, unknown>;
  apps: Record<string, { id: string; image: string; imageDigest: string }>;
  accounts: { workers: string[] };
};
const TRIVIAL_ARGS = ["1000"]; // primes below 1000: the container itself is the work

const deployment = parseDeployment(info.deployment);
const provider = createRpcProvider(info.rpcUrl);
const client = await createSunpoolClient({
  deployment,
  provider,
  signer: devnetWallet(ROLE_INDEX.requester),
  pollingIntervalMs: 50,
});
const scheduler = createSchedulerClient({ url: info.schedulerUrl });
const reader = await createIpfsNode();
await reader.connect((await getSchedulerInfo(scheduler)).ipfsPeers);
const app = info.apps.primes!;
// Each trivial task costs 3 SUN: keep enough in escrow for the run (the devnet deposits 200).
const { balance } = await getBalance(client, {});
if (balance < 400n * 10n ** 18n) await deposit(client, { amount: 400n * 10n ** 18n - balance });
const firstBlock = await provider.getBlockNumber();

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (value: number) => `${value.toFixed(0)} ms`;

try {
  if (mode === "latency") {
    const runs = Number(countArg ?? 20);
    const container = await containerSeconds(5);
    const totals: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const outcome = await run(client, { scheduler, app: app.id, params: { args: TRIVIAL_ARGS } });
      const task = outcome.tasks[0]!;
      if (task.outcome !== "completed") throw new Error(`run ${i.toString()}: the task ended ${task.outcome}`);
      await getResult(client, { dealId: task.dealId, index: task.index, reader });
      totals.push(performance.now() - started);
    }
    totals.sort((a, b) => a - b);
    const overhead = totals.map((total) => total - container);
    console.log(
      `request → verified result, trivial task, ${runs.toString()} runs, ${info.accounts.workers.length.toString()} workers`,
    );
    console.log(`  total     p50 ${ms(percentile(totals, 50))}  p95 ${ms(percentile(totals, 95))}`);
    console.log(`  container ${ms(container)} (docker run of the same image and arguments, median of 5)`);
    console.log(`  overhead  p50 ${ms(percentile(overhead, 50))}  p95 ${ms(percentile(overhead, 95))}`);
    await printGas(runs);
  } else if (mode === "throughput") {
    const tasks = Number(countArg ?? 30);
    const started = performance.now();
    // Task i of the batch counts the primes in its 1/tasks share of the same small range.
    const outcome = await run(client, {
      scheduler,
      app: app.id,
      volume: tasks,
      params: { args: [...TRIVIAL_ARGS, tasks.toString()] },
    });
    const seconds = (performance.now() - started) / 1000;
    const done = outcome.tasks.filter((task) => task.outcome === "completed").length;
    console.log(`batch of ${tasks.toString()} trivial tasks, ${info.accounts.workers.length.toString()} workers`);
    console.log(`  ${done.toString()} completed in ${seconds.toFixed(1)} s: ${((done / seconds) * 60).toFixed(1)} tasks/min`);
    await printGas(tasks);
  } else {
    throw new Error(`unknown mode ${mode}: latency or throughput`);
  }
} finally {
  await reader.stop();
  provider.destroy();
}

/** Median wall time of `docker run` of the app's image with the benchmark's arguments. */
async function containerSeconds(runs: number): Promise<number> {
  const reference = `${app.image}@${app.imageDigest}`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await promisify(execFile)("docker", [
      "run",
      "--rm",
      "--network",
      "none",
      "--read-only",
      "--tmpfs",
      "/sunpool/out",
      "-e",
      "SUNPOOL_OUT=/sunpool/out",
      reference,
      ...TRIVIAL_ARGS,
    ]);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return percentile(times, 50);
}

/** Gas of every transaction to the hub mined since the benchmark began, per task. */
async function printGas(tasks: number): Promise<void> {
  const last = await provider.getBlockNumber();
  let gas = 0n;
  const byMethod = new Map<string, bigint>();
  for (let number = firstBlock + 1; number <= last; number++) {
    const block = await provider.getBlock(number, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.to?.toLowerCase() !== deployment.hub.toLowerCase()) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      const method = client.hub.interface.parseTransaction(tx)?.name ?? tx.data.slice(0, 10);
      gas += receipt!.gasUsed;
      byMethod.set(method, (byMethod.get(method) ?? 0n) + receipt!.gasUsed);
    }
  }
  console.log(
    `  gas at the hub: ${(gas / BigInt(tasks)).toLocaleString("en")} per task (${[...byMethod].map(([m, g]) => `${m} ${g.toLocaleString("en")}`).join(", ")})`,
  );
}
