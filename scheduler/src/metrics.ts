// Prometheus metrics (prom-client): what an operator graphs and alerts on. Gauges that describe
// state are computed from the database when scraped, so they are right after a restart too.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface MetricsSources {
  workers(): Promise<{ online: number; offline: number; busy: number }>;
  tasks(): Promise<Record<string, number>>;
  outlook(): Promise<{ solarWorkers: number; medianAwakeSeconds: number; pvWatts: number }>;
}

export function createMetrics() {
  const registry = new Registry();
  const transactions = new Counter({
    name: "sunpool_scheduler_transactions_total",
    help: "Transactions sent, by kind and result (mined, reverted, failed).",
    labelNames: ["kind", "result"] as const,
    registers: [registry],
  });
  const assignmentLatency = new Histogram({
    name: "sunpool_scheduler_assignment_latency_seconds",
    help: "Time from a task becoming dispatchable (deal seen) to its first offer to a worker.",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600],
    registers: [registry],
  });
  const offers = new Counter({
    name: "sunpool_scheduler_offers_total",
    help: "Replicas offered to workers.",
    registers: [registry],
  });
  const requestsRejected = new Counter({
    name: "sunpool_scheduler_requests_rejected_total",
    help: "API requests rejected, by status code.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const reorgs = new Counter({
    name: "sunpool_scheduler_chain_reorgs_total",
    help: "Chain reorganisations handled: applied blocks that left the chain were rolled back to the fork point.",
    registers: [registry],
  });
  const reorgDepth = new Gauge({
    name: "sunpool_scheduler_chain_reorg_deepest_blocks",
    help: "Deepest reorganisation handled since start, in blocks rolled back.",
    registers: [registry],
  });
  const chainLag = new Gauge({
    name: "sunpool_scheduler_chain_lag_blocks",
    help: "Blocks between the chain head and the last block applied (confirmations included).",
    registers: [registry],
  });
  const workerEnergy = createWorkerEnergyGauges(registry);
  return { registry, transactions, assignmentLatency, offers, requestsRejected, reorgs, reorgDepth, chainLag, workerEnergy };
}

/** A solar worker's energy accounts as its heartbeat reports them (api/scheduler.openapi.yaml WorkerEnergyMetrics). */
export interface WorkerEnergyMetrics {
  availability: number;
  pvWh: number;
  batteryChargeWh: number;
  batteryDischargeWh: number;
  mainsWh: number;
  loadWh: number;
  brownOuts: number;
  deepDischargeHours: number;
  equivalentFullCycles: number;
  tasks: number;
  tasksOnHarvest: number;
}

/** Per-worker gauges, set from each heartbeat that carries the worker's energy accounts. */
function createWorkerEnergyGauges(registry: Registry) {
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge({ name, help, labelNames: ["worker", ...labelNames], registers: [registry] });
  const energy = gauge(
    "sunpool_scheduler_worker_energy_watt_hours",
    "A worker's energy since its accounts began, by flow: pv, battery_discharge, mains (sources); load, battery_charge (uses).",
    ["flow"],
  );
  const availability = gauge(
    "sunpool_scheduler_worker_availability_ratio",
    "Hours a worker could accept work / its daylight-plus-battery hours.",
    [],
  );
  const brownOuts = gauge("sunpool_scheduler_worker_brownouts", "A worker's power losses without a planned shutdown.", []);
  const deep = gauge("sunpool_scheduler_worker_deep_discharge_hours", "Hours a worker's battery spent deeply discharged.", []);
  const cycles = gauge("sunpool_scheduler_worker_battery_cycles", "A worker's battery equivalent full cycles.", []);
  const tasks = gauge(
    "sunpool_scheduler_worker_tasks_metered",
    "A worker's metered tasks, by whether they ran on harvested energy only.",
    ["harvested"],
  );
  return {
    record(worker: string, m: WorkerEnergyMetrics): void {
      const flows = {
        pv: m.pvWh,
        battery_discharge: m.batteryDischargeWh,
        mains: m.mainsWh,
        load: m.loadWh,
        battery_charge: m.batteryChargeWh,
      };
      for (const [flow, wh] of Object.entries(flows)) energy.set({ worker, flow }, wh);
      availability.set({ worker }, m.availability);
      brownOuts.set({ worker }, m.brownOuts);
      deep.set({ worker }, m.deepDischargeHours);
      cycles.set({ worker }, m.equivalentFullCycles);
      tasks.set({ worker, harvested: "true" }, m.tasksOnHarvest);
      tasks.set({ worker, harvested: "false" }, m.tasks - m.tasksOnHarvest);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Registers the state gauges, read from `sources` at scrape time. */
export function registerStateGauges(metrics: Metrics, sources: MetricsSources): void {
  new Gauge({
    name: "sunpool_scheduler_workers",
    help: "Registered workers by state.",
    labelNames: ["state"] as const,
    registers: [metrics.registry],
    async collect() {
      for (const [state, count] of Object.entries(await sources.workers())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: "sunpool_scheduler_tasks",
    help: "Tasks by status (the queue is `waiting`).",
    labelNames: ["status"] as const,
    registers: [metrics.registry],
    async collect() {
      for (const [status, count] of Object.entries(await sources.tasks())) this.set({ status }, count);
    },
  });
  new Gauge({
    name: "sunpool_scheduler_pool_outlook",
    help: "Energy outlook of the online workers: solar_workers, median_awake_seconds, pv_watts.",
    labelNames: ["measure"] as const,
    registers: [metrics.registry],
    async collect() {
      const outlook = await sources.outlook();
      this.set({ measure: "solar_workers" }, outlook.solarWorkers);
      this.set({ measure: "median_awake_seconds" }, outlook.medianAwakeSeconds);
      this.set({ measure: "pv_watts" }, outlook.pvWatts);
    },
  });
}
