// The worker owner's config file (worker.config.json), validated with zod so that every mistake
// is reported with its path and what to write instead. Paths are relative to the file's folder.
import { dirname, resolve } from "node:path";

import { readConfigJson, resolveServicePaths, validateConfig } from "@sunpool/sdk/node";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

import { DEFAULT_ENERGY_POLICY } from "./energy/policy.js";

// zod's "mini" build: the schemas read the same, and it costs the agent ~5 MiB less resident
// memory than the chained API for as long as it runs (docs/benchmarks.md, "Worker footprint").
// Its messages come from the English locale, as the chained API's do.
z.config(en());

/** What the owner must fix before the agent can start: the SDK's, shared with the scheduler. */
export { SetupError } from "@sunpool/sdk";

const inaSchema = z.strictObject({
  chip: z.enum(["ina219", "ina226"]),
  address: z.int().check(z.gte(0x40), z.lte(0x4f)),
  shuntOhms: z.number().check(z.positive(), z.lte(10)),
  maxAmps: z.number().check(z.positive(), z.lte(50)),
});

const batterySchema = z.strictObject({
  chemistry: z._default(z.enum(["lifepo4", "li-ion"]), "lifepo4"),
  cells: z._default(z.int().check(z.gte(1), z.lte(8)), 4),
  capacityAh: z._default(z.number().check(z.positive(), z.lte(1000)), 20),
});

const boardSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("none") }),
  z.strictObject({
    kind: z.literal("witty-pi-4"),
    i2cBus: z._default(z.int().check(z.gte(0), z.lte(20)), 1),
    battery: z.prefault(batterySchema, {}),
    lowVoltageCutoff: z.number().check(z.gte(2), z.lte(25)),
    recoveryVoltage: z.number().check(z.gte(2), z.lte(25)),
    powerCutDelaySeconds: z._default(z.number().check(z.gte(1), z.lte(25)), 25),
    /** Rated panel power: `self-test --simulate` simulates it. */
    panelWatts: z.optional(z.number().check(z.positive(), z.lte(1000))),
    monitor: inaSchema,
    panelMonitor: z.optional(inaSchema),
  }),
  z.strictObject({
    kind: z.literal("simulated"),
    /** A TMY3 site; clear sky at the latitude otherwise. */
    site: z.optional(z.enum(["albuquerque", "greensboro"])),
    latitude: z.optional(z.number().check(z.gte(-90), z.lte(90))),
    longitude: z.optional(z.number().check(z.gte(-180), z.lte(180))),
    panelWatts: z._default(z.number().check(z.positive(), z.lte(1000)), 20),
    battery: z.prefault(batterySchema, {}),
    initialStateOfCharge: z._default(z.number().check(z.gte(0), z.lte(1)), 0.8),
    /** Simulated seconds per real second. */
    speed: z._default(z.number().check(z.gte(1), z.lte(100_000)), 1),
    startTime: z.optional(z.iso.datetime()),
  }),
]);

export const configSchema = z
  .strictObject({
    scheduler: z.url({ error: "the scheduler's URL, e.g. http://127.0.0.1:7300" }),
    rpcUrl: z.url({ error: "an http(s) URL of the chain's JSON-RPC endpoint" }),
    /** Path of deployments/<chainId>.json. */
    deployment: z.string().check(z.minLength(1)),
    workerpool: z.string().check(z.regex(/^0x[0-9a-fA-F]{64}$/, "the workerpool id (0x + 64 hex digits)")),
    /** The worker's encrypted keystore (sunpool init). */
    keystore: z.string().check(z.minLength(1)),
    keystorePasswordFile: z.optional(z.string().check(z.minLength(1))),
    dataDir: z._default(z.string().check(z.minLength(1)), ".sunpool/worker"),
    /** The platform whose images this worker runs; another CPU's needs qemu-user-static (slow). */
    platform: z.optional(z.enum(["linux/amd64", "linux/arm64", "linux/arm/v7"])),
    docker: z.prefault(z.strictObject({ socketPath: z._default(z.string(), "/var/run/docker.sock") }), {}),
    ipfs: z.prefault(
      z
        .strictObject({
          /** pool: results and datasets go through the pool's IPFS node over HTTP; node: run a Helia node. */
          mode: z._default(z.enum(["pool", "node"]), "pool"),
          /** Node mode: libp2p listen addresses. */
          listen: z.optional(z.array(z.string())),
        })
        .check(
          z.refine((ipfs) => ipfs.mode === "node" || ipfs.listen === undefined, {
            message: 'ipfs.listen needs ipfs.mode "node" (pool mode runs no IPFS node)',
            path: ["listen"],
          }),
        ),
      {},
    ),
    executor: z.prefault(
      z.strictObject({
        /** Largest task image pulled or run. */
        maxImageMiB: z._default(z.int().check(z.gte(1), z.lte(1_000_000)), 1024),
        /** No image is pulled while the engine's data root has less free space. */
        minFreeDiskMiB: z._default(z.int().check(z.gte(0), z.lte(100_000_000)), 1024),
        /** An image pull is abandoned after this. */
        pullTimeoutSeconds: z._default(z.int().check(z.gte(1), z.lte(86_400)), 600),
        /** Task images no task needed for this long are removed. */
        imageRetentionHours: z._default(z.number().check(z.gte(0), z.lte(100_000)), 168),
        /** Write-rate limit on the disk under the task folders (0: none). */
        writeMiBPerSecond: z._default(z.number().check(z.gte(0), z.lte(10_000)), 8),
        /** Write operations per second (0: none). */
        writeIops: z._default(z.int().check(z.gte(0), z.lte(1_000_000)), 200),
        network: z.prefault(
          z.strictObject({
            /** Run `network: true` apps (needs root and iptables). */
            enabled: z._default(z.boolean(), true),
            name: z._default(z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/)), "sunpool-tasks"),
            bridge: z._default(z.string().check(z.regex(/^[a-zA-Z0-9_-]{1,15}$/, "1-15 letters, digits, - or _")), "sunpool0"),
            dns: z._default(z.array(z.ipv4()).check(z.minLength(1), z.maxLength(3)), ["1.1.1.1", "9.9.9.9"]),
          }),
          {},
        ),
      }),
      {},
    ),
    board: z._default(boardSchema, { kind: "none" }),
    energy: z.prefault(
      z.strictObject({
        floor: z._default(z.number().check(z.gte(0), z.lte(0.9)), DEFAULT_ENERGY_POLICY.floor),
        /** A fixed reserve for tasks ending in the dark; absent: forecast (worker/src/energy/policy.ts). */
        nightReserve: z.optional(z.number().check(z.gte(0), z.lte(0.95))),
        idleWatts: z._default(z.number().check(z.positive(), z.lte(100)), DEFAULT_ENERGY_POLICY.idleWatts),
        busyWatts: z._default(z.number().check(z.positive(), z.lte(200)), DEFAULT_ENERGY_POLICY.busyWatts),
        /** Shut the Pi down when idle and the outlook is poor. */
        sleep: z._default(z.boolean(), true),
      }),
      {},
    ),
    heartbeatSeconds: z._default(z.int().check(z.gte(1), z.lte(600)), 15),
    metrics: z.optional(
      z.strictObject({
        host: z._default(z.string(), "127.0.0.1"),
        port: z._default(z.int().check(z.gte(0), z.lte(65535)), 9464),
      }),
    ),
    /** The owner's status page (worker/src/status/): off unless given; 0.0.0.0 opens it to the LAN. */
    status: z.optional(
      z.strictObject({
        listen: z.prefault(
          z.strictObject({
            host: z._default(z.string(), "127.0.0.1"),
            port: z._default(z.int().check(z.gte(0), z.lte(65535)), 9465),
          }),
          {},
        ),
      }),
    ),
    logLevel: z._default(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), "info"),
  })
  .check(
    z.refine((config) => config.energy.nightReserve === undefined || config.energy.nightReserve >= config.energy.floor, {
      message: "energy.nightReserve must be at least energy.floor",
      path: ["energy", "nightReserve"],
    }),
  );

export type WorkerConfig = z.infer<typeof configSchema>;
/** What a config file may contain (defaults not yet applied). */
export type WorkerConfigFile = z.input<typeof configSchema>;

const IDENTITY = { service: "worker", docs: "docs/worker.md" };

/** Reads and validates a config file; relative paths in it are resolved against its folder. */
export async function loadConfig(path: string): Promise<WorkerConfig> {
  return parseConfig(await readConfigJson(path, IDENTITY), dirname(resolve(path)), path);
}

export function parseConfig(json: unknown, base: string, source = "the config"): WorkerConfig {
  return resolveServicePaths(validateConfig(json, configSchema, IDENTITY, source), base);
}
