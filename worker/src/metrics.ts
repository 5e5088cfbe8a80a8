// Prometheus metrics (prom-client) on a plain node:http listener: one read-only endpoint does not
// justify a web framework's memory on a 1 GB Pi. Gauges are computed from the journal and the
// energy manager when scraped, so they are right after a restart too.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

import type { EnergyManager } from "./energy/manager.js";
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
