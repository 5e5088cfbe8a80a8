// The worker owner's config file (worker.config.json), validated with zod so that every mistake
// is reported with its path and what to write instead. Paths are relative to the file's folder.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

import { z } from "zod";

import { DEFAULT_ENERGY_POLICY } from "./energy/policy.js";

export class SetupError extends Error {
  override readonly name = "SetupError";
}

const inaSchema = z
  .object({
    chip: z.enum(["ina219", "ina226"]),
    address: z.number().int().min(0x40).max(0x4f),
    shuntOhms: z.number().positive().max(10),
    maxAmps: z.number().positive().max(50),
  })
  .strict();

const batterySchema = z
  .object({
    chemistry: z.enum(["lifepo4", "li-ion"]).default("lifepo4"),
    cells: z.number().int().min(1).max(8).default(4),
    capacityAh: z.number().positive().max(1000).default(20),
  })
  .strict();

const boardSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }).strict(),
  z
    .object({
      kind: z.literal("witty-pi-4"),
      i2cBus: z.number().int().min(0).max(20).default(1),
      battery: batterySchema.prefault({}),
      lowVoltageCutoff: z.number().min(2).max(25),
      recoveryVoltage: z.number().min(2).max(25),
      powerCutDelaySeconds: z.number().min(1).max(25).default(25),
      panelWatts: z.number().positive().max(1000).optional().describe("rated panel power: `self-test --simulate` simulates it"),
      monitor: inaSchema,
      panelMonitor: inaSchema.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal("simulated"),
      site: z.enum(["albuquerque", "greensboro"]).optional().describe("a TMY3 site; clear-sky at latitude otherwise"),
      latitude: z.number().min(-90).max(90).optional(),
      longitude: z.number().min(-180).max(180).optional(),
      panelWatts: z.number().positive().max(1000).default(20),
      battery: batterySchema.prefault({}),
      initialStateOfCharge: z.number().min(0).max(1).default(0.8),
      speed: z.number().min(1).max(100_000).default(1).describe("simulated seconds per real second"),
      startTime: z.iso.datetime().optional(),
    })
    .strict(),
]);

export const configSchema = z
  .object({
    scheduler: z.url({ message: "the scheduler's URL, e.g. http://127.0.0.1:7300" }),
    rpcUrl: z.url({ message: "an http(s) URL of the chain's JSON-RPC endpoint" }),
    deployment: z.string().min(1).describe("path of deployments/<chainId>.json"),
    workerpool: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "the workerpool id (0x + 64 hex digits)"),
    keystore: z.string().min(1).describe("the worker's encrypted keystore (sunpool init)"),
    keystorePasswordFile: z.string().min(1).optional(),
    dataDir: z.string().min(1).default(".sunpool/worker"),
    platform: z
      .enum(["linux/amd64", "linux/arm64", "linux/arm/v7"])
      .optional()
      .describe("the platform whose images this worker runs; another CPU's needs qemu-user-static (slow)"),
    docker: z
      .object({ socketPath: z.string().default("/var/run/docker.sock") })
      .strict()
      .prefault({}),
    ipfs: z
      .object({ listen: z.array(z.string()).optional() })
      .strict()
      .prefault({}),
    executor: z
      .object({
        maxImageMiB: z.number().int().min(1).max(1_000_000).default(1024).describe("largest task image pulled or run"),
        minFreeDiskMiB: z
          .number()
          .int()
          .min(0)
          .max(100_000_000)
          .default(1024)
          .describe("no image is pulled while the engine's data root has less free space"),
        pullTimeoutSeconds: z.number().int().min(1).max(86_400).default(600).describe("an image pull is abandoned after this"),
        imageRetentionHours: z
          .number()
          .min(0)
          .max(100_000)
          .default(168)
          .describe("task images no task needed for this long are removed"),
        writeMiBPerSecond: z
          .number()
          .min(0)
          .max(10_000)
          .default(8)
          .describe("write-rate limit on the disk under the task folders (0: none)"),
        writeIops: z.number().int().min(0).max(1_000_000).default(200).describe("write operations per second (0: none)"),
        network: z
          .object({
            enabled: z.boolean().default(true).describe("run `network: true` apps (needs root and iptables)"),
            name: z
              .string()
              .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/)
              .default("sunpool-tasks"),
            bridge: z
              .string()
              .regex(/^[a-zA-Z0-9_-]{1,15}$/, "1-15 letters, digits, - or _")
              .default("sunpool0"),
            dns: z.array(z.ipv4()).min(1).max(3).default(["1.1.1.1", "9.9.9.9"]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    board: boardSchema.default({ kind: "none" }),
    energy: z
      .object({
        floor: z.number().min(0).max(0.9).default(DEFAULT_ENERGY_POLICY.floor),
        nightReserve: z.number().min(0).max(0.95).default(DEFAULT_ENERGY_POLICY.nightReserve),
        idleWatts: z.number().positive().max(100).default(DEFAULT_ENERGY_POLICY.idleWatts),
        busyWatts: z.number().positive().max(200).default(DEFAULT_ENERGY_POLICY.busyWatts),
        sleep: z.boolean().default(true).describe("shut the Pi down when idle and the outlook is poor"),
      })
      .strict()
      .prefault({}),
    heartbeatSeconds: z.number().int().min(1).max(600).default(15),
    metrics: z
      .object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(9464) })
      .strict()
      .optional(),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .strict()
  .refine((config) => config.energy.nightReserve >= config.energy.floor, {
    message: "energy.nightReserve must be at least energy.floor",
    path: ["energy", "nightReserve"],
  });

export type WorkerConfig = z.infer<typeof configSchema>;
/** What a config file may contain (defaults not yet applied). */
export type WorkerConfigFile = z.input<typeof configSchema>;

/** Reads and validates a config file; relative paths in it are resolved against its folder. */
export async function loadConfig(path: string): Promise<WorkerConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new SetupError(`No config file at ${path}. Write one (docs/worker.md, "Configuration"), or pass --config <file>.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SetupError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(json, dirname(resolve(path)), path);
}

export function parseConfig(json: unknown, base: string, source = "the config"): WorkerConfig {
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    throw new SetupError(`${source} is not a valid worker config:\n${problems.join("\n")}\nSee docs/worker.md, "Configuration".`);
  }
  const config = parsed.data;
  return {
    ...config,
    deployment: resolve(base, config.deployment),
    keystore: resolve(base, config.keystore),
    dataDir: resolve(base, config.dataDir),
    ...(config.keystorePasswordFile === undefined ? {} : { keystorePasswordFile: resolve(base, config.keystorePasswordFile) }),
  };
}
