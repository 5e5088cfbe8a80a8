// Prometheus metrics (prom-client): what an operator graphs and alerts on. Gauges that describe
// state are computed from the database when scraped, so they are right after a restart too.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface MetricsSources {
  workers(): { online: number; offline: number; busy: number };
  tasks(): Record<string, number>;
  outlook(): { solarWorkers: number; medianAwakeSeconds: number; pvWatts: number };
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
  return { registry, transactions, assignmentLatency, offers, requestsRejected };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Registers the state gauges, read from `sources` at scrape time. */
export function registerStateGauges(metrics: Metrics, sources: MetricsSources): void {
  new Gauge({
    name: "sunpool_scheduler_workers",
    help: "Registered workers by state.",
    labelNames: ["state"] as const,
    registers: [metrics.registry],
    collect() {
      for (const [state, count] of Object.entries(sources.workers())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: "sunpool_scheduler_tasks",
    help: "Tasks by status (the queue is `waiting`).",
    labelNames: ["status"] as const,
    registers: [metrics.registry],
    collect() {
      for (const [status, count] of Object.entries(sources.tasks())) this.set({ status }, count);
    },
  });
  new Gauge({
    name: "sunpool_scheduler_pool_outlook",
    help: "Energy outlook of the online workers: solar_workers, median_awake_seconds, pv_watts.",
    labelNames: ["measure"] as const,
    registers: [metrics.registry],
    collect() {
      const outlook = sources.outlook();
      this.set({ measure: "solar_workers" }, outlook.solarWorkers);
      this.set({ measure: "median_awake_seconds" }, outlook.medianAwakeSeconds);
      this.set({ measure: "pv_watts" }, outlook.pvWatts);
    },
  });
}
