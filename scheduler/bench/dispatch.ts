// Dispatch benchmark: decision latency and throughput with 10,000 registered workers (issue 5's
// targets: p99 <= 1 ms per assignment, >= 5,000 assignments/s on one core), then the same
// decisions through the Pool (SQLite reads and writes of real offers), then the EIP-712
// authorization signature each offer also needs.
//   node scheduler/bench/dispatch.ts [workers=10000] [assignments=50000]
// Run after `npm run build` (it uses scheduler/dist).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { computeTaskId, signTaskAuthorization, sunpoolDomain } from "@sunpool/sdk";
import { Wallet } from "ethers";

import { DEFAULT_POLICY, Dispatcher, type TaskNeeds, type WorkerState } from "../dist/dispatch/dispatcher.js";
import { openStore, type Store } from "../dist/store/store.js";
import { DEFAULT_PROBATION } from "../dist/tasks/admission.js";
import { Pool } from "../dist/tasks/pool.js";

const workerCount = Number(process.argv[2] ?? 10_000);
const assignments = Number(process.argv[3] ?? 50_000);
let seed = 42;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

function fleet(now: number): WorkerState[] {
  return Array.from({ length: workerCount }, (_, i) => ({
    address: `0x${i.toString(16).padStart(40, "0")}`,
    platforms: random() < 0.8 ? 2 : 1,
    cores: random() < 0.7 ? 4 : 8,
    memoryMiB: random() < 0.5 ? 2048 : 8192,
    slots: random() < 0.8 ? 1 : 2,
    active: 0,
    lastSeenMs: now - Math.floor(random() * 30_000),
    outlook: {
      stateOfChargePct: 100 * random(),
      pvWatts: 8 * random(),
      loadWatts: 4,
      awakeSeconds: Math.floor(20_000 * random()),
    },
    good: Math.floor(50 * random()),
    bad: Math.floor(3 * random()),
    lastAssignedMs: 0,
  }));
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const format = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

// 1. The decision alone: select + assign, with completions releasing capacity as tasks finish.
{
  const now = Date.now();
  const dispatcher = new Dispatcher(DEFAULT_POLICY);
  for (const worker of fleet(now)) dispatcher.upsert(worker);
  const busy: string[] = [];
  const latencies: number[] = [];
  let unplaced = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < assignments; i++) {
    const needs: TaskNeeds = {
      platforms: random() < 0.5 ? 2 : 3,
      memoryMiB: random() < 0.8 ? 256 : 4096,
      cpuMillicores: 1000,
      expectedSeconds: random() < 0.9 ? 60 : 3600,
      exclude: new Set(busy.slice(-2)),
    };
    const t0 = process.hrtime.bigint();
    const chosen = dispatcher.select(needs, now);
    if (chosen !== undefined) dispatcher.assign(chosen, now);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (chosen === undefined) unplaced++;
    else busy.push(chosen.address);
    // Keep the pool about half busy: tasks finish as new ones arrive.
    if (busy.length > workerCount / 2) dispatcher.release(busy.splice(Math.floor(random() * busy.length), 1)[0]!);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  console.log(
    `dispatch decision, ${workerCount.toString()} workers, ${assignments.toString()} assignments (${unplaced.toString()} found no eligible worker):`,
  );
  console.log(
    `  p50 ${format(percentile(latencies, 50))}  p99 ${format(percentile(latencies, 99))}  max ${format(latencies.at(-1)!)}`,
  );
  console.log(`  throughput ${Math.round(assignments / seconds).toLocaleString("en")} assignments/s (one core)`);
}

// 2. Through the Pool: the decision plus the store (plan, record offers) for a batch of tasks, on
// SQLite, and on PostgreSQL too when SUNPOOL_BENCH_POSTGRES names an empty database's URL.
await poolBench("SQLite", await openStore({ sqlite: join(mkdtempSync(join(tmpdir(), "sunpool-bench-")), "bench.sqlite") }));
if (process.env.SUNPOOL_BENCH_POSTGRES !== undefined) {
  await poolBench("PostgreSQL", await openStore({ postgres: process.env.SUNPOOL_BENCH_POSTGRES }));
}

async function poolBench(label: string, db: Store): Promise<void> {
  const now = Date.now();
  // A fleet with a record: no probation caps (they would only shrink the slots measured).
  const pool = await Pool.open(db, new Dispatcher(DEFAULT_POLICY), {
    limits: { admitted: () => true, probation: { ...DEFAULT_PROBATION, tasks: 0 } },
  });
  const app = {
    id: `0x${"11".repeat(32)}`,
    owner: `0x${"22".repeat(20)}`,
    name: "bench",
    image: "127.0.0.1:5000/bench",
    imageDigest: `sha256:${"ab".repeat(32)}`,
    platforms: ["linux/arm64", "linux/amd64"] as const,
    deterministic: true,
    resources: { memoryMiB: 256, cpuMillicores: 1000, expectedSeconds: 60, maxOutputMiB: 16, network: false },
  };
  for (const worker of fleet(now)) {
    await pool.register(
      {
        address: worker.address,
        platforms: worker.platforms === 2 ? ["linux/arm64"] : ["linux/amd64"],
        cores: worker.cores,
        memoryMiB: worker.memoryMiB,
        slots: worker.slots,
        ipfsPeers: [],
      },
      now,
    );
    await pool.heartbeat(worker.address, worker.outlook!, now);
  }
  const tasks = 5000;
  const dealId = `0x${"33".repeat(32)}`;
  await pool.addDeal(
    {
      dealId,
      requestHash: `0x${"44".repeat(32)}`,
      requester: app.owner,
      trust: 1,
      category: 0,
      volume: tasks,
      startDeadline: Math.floor(now / 1000) + 3000,
      app: { ...app, platforms: [...app.platforms] },
      params: "{}",
      block: 1,
    },
    now,
  );
  const t0 = process.hrtime.bigint();
  const plan = await pool.planOffers(now, Math.floor(now / 1000), tasks);
  const t1 = process.hrtime.bigint();
  await pool.recordOffers(
    plan.map((item) => ({ ...item, authorization: "0x" })),
    now,
  );
  const t2 = process.hrtime.bigint();
  const planMs = Number(t1 - t0) / 1e6;
  const recordMs = Number(t2 - t1) / 1e6;
  console.log(
    `pool (${label}), ${workerCount.toString()} workers, ${tasks.toString()} queued tasks -> ${plan.length.toString()} offers:`,
  );
  console.log(
    `  plan ${planMs.toFixed(0)} ms (${format(planMs / plan.length)}/offer), record ${recordMs.toFixed(0)} ms (${format(recordMs / plan.length)}/offer)`,
  );
  console.log(`  ${Math.round((plan.length / (planMs + recordMs)) * 1000).toLocaleString("en")} offers/s without signatures`);
  await db.close();
}

// 3. The authorization every offer carries (secp256k1 over EIP-712, in JS).
{
  const signer = Wallet.createRandom();
  const domain = sunpoolDomain(31337n, `0x${"55".repeat(20)}`);
  const count = 500;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++)
    await signTaskAuthorization(signer, domain, computeTaskId(`0x${"66".repeat(32)}`, i), signer.address);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / count;
  console.log(`authorization signature: ${format(ms)} each (${Math.round(1000 / ms).toLocaleString("en")}/s)`);
}
