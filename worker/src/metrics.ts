// Prometheus metrics (prom-client) on a plain node:http listener: one read-only endpoint does not
// justify a web framework's memory on a 1 GB Pi. Gauges are computed from the journal and the
// energy manager when scraped, so they are right after a restart too.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

import type { EnergyManager, EnergyReport } from "./energy/manager.js";
import type { Journal } from "./journal/journal.js";

export function createMetrics(journal: Journal, energy: EnergyManager): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "sunpool_worker_" });
  new Gauge({
    name: "sunpool_worker_tasks",
    help: "Journaled tasks by step.",
    labelNames: ["step"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [step, count] of Object.entries(journal.counts())) this.set({ step }, count);
    },
  });
  const outlook = (key: "stateOfChargePct" | "pvWatts" | "loadWatts" | "awakeSeconds", name: string, help: string) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (energy.last !== undefined || energy.outlook().mainsPowered === true) this.set(energy.outlook()[key]);
      },
    });
  outlook("stateOfChargePct", "sunpool_worker_state_of_charge_percent", "Battery state of charge.");
  outlook("pvWatts", "sunpool_worker_pv_watts", "Panel power now.");
  outlook("loadWatts", "sunpool_worker_load_watts", "The board's draw now.");
  outlook("awakeSeconds", "sunpool_worker_awake_seconds", "How long the worker expects to stay awake under load.");
  // The energy accounts (worker/src/energy/ledger.ts), restored from the journal after a restart.
  const accounts = (name: string, help: string, value: (r: EnergyReport) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const report = energy.report();
        if (report !== undefined) this.set(value(report));
      },
    });
  new Gauge({
    name: "sunpool_worker_energy_watt_hours",
    help: "Energy through the battery bus since the accounts began, by flow: pv, battery_discharge, mains (sources); load, battery_charge (uses).",
    labelNames: ["flow"] as const,
    registers: [registry],
    collect() {
      const r = energy.report();
      if (r === undefined) return;
      this.set({ flow: "pv" }, r.pvWh);
      this.set({ flow: "battery_discharge" }, r.batteryDischargeWh);
      this.set({ flow: "mains" }, r.mainsWh);
      this.set({ flow: "load" }, r.loadWh);
      this.set({ flow: "battery_charge" }, r.batteryChargeWh);
    },
  });
  new Gauge({
    name: "sunpool_worker_last_task_watt_hours",
    help: "The last metered task's energy by source: pv (the panel's cover), battery, mains.",
    labelNames: ["source"] as const,
    registers: [registry],
    collect() {
      const task = energy.report()?.lastTask;
      if (task === undefined) return;
      this.set({ source: "pv" }, task.pvWh);
      this.set({ source: "battery" }, task.batteryWh);
      this.set({ source: "mains" }, task.mainsWh);
    },
  });
  accounts(
    "sunpool_worker_availability_ratio",
    "Hours the worker could accept work / daylight-plus-battery hours (the panel carried the idle Pi or the battery was above its floor).",
    (r) => r.availability,
  );
  accounts(
    "sunpool_worker_daylight_battery_hours",
    "Hours the panel carried the idle Pi or the battery was above its floor (availability's denominator).",
    (r) => r.daylightOrBatteryHours,
  );
  accounts(
    "sunpool_worker_harvested_task_ratio",
    "Share of metered tasks that ran on harvested energy only (no mains).",
    (r) => r.harvestedTaskShare,
  );
  accounts("sunpool_worker_tasks_metered", "Tasks whose energy was metered.", (r) => r.tasks);
  accounts(
    "sunpool_worker_brownouts",
    "Power lost without a planned shutdown (low-voltage cut, supply collapse).",
    (r) => r.brownOuts,
  );
  accounts(
    "sunpool_worker_deep_discharge_hours",
    "Hours below the chemistry's deep-discharge state of charge.",
    (r) => r.deepDischargeHours,
  );
  accounts(
    "sunpool_worker_battery_cycles",
    "Equivalent full cycles: battery discharge / nominal pack energy.",
    (r) => r.equivalentFullCycles,
  );
  accounts(
    "sunpool_worker_state_of_charge_floor_percent",
    "The floor the energy policy plans to (battery health: chemistry, temperature, cycles).",
    (r) => r.stateOfChargeFloor * 100,
  );
  return registry;
}

export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || request.url !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics is served here\n");
      return;
    }
    registry
      .metrics()
      .then((text) => response.writeHead(200, { "content-type": registry.contentType }).end(text))
      .catch((error: unknown) => response.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port.toString()}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
