// The operator's config file (scheduler.config.json), validated with zod so that every mistake is
// reported with its path and what to write instead. Paths are relative to the file's folder.
import { dirname, resolve } from "node:path";

import { readConfigJson, resolveServicePaths, validateConfig } from "@sunpool/sdk/node";
import { parseUnits } from "ethers";
import { z } from "zod";

import { DEFAULT_REORG_WINDOW } from "./chain/reconciler.js";
import { DEFAULT_PROBATION } from "./tasks/admission.js";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address (0x + 40 hex digits)");
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a bytes32 id (0x + 64 hex digits)");
const sun = z.string().regex(/^[0-9]{1,30}(\.[0-9]{1,18})?$/, 'an amount of SUN as a decimal string, e.g. "1" or "0.5"');

/** Blocks an event waits below the head before the scheduler acts on it (chain.confirmations). */
export const DEFAULT_CONFIRMATIONS = 12;

/** Stake that admits a worker when the config names no allow list and no minStake. */
export const DEFAULT_MIN_STAKE_SUN = "1";

export const configSchema = z
  .object({
    rpcUrl: z.url({ message: "an http(s) or ws(s) URL of the chain's JSON-RPC endpoint" }),
    deployment: z.string().min(1).describe("path of deployments/<chainId>.json"),
    workerpool: bytes32,
    keystore: z.string().min(1).describe("the workerpool owner's encrypted keystore"),
    keystorePasswordFile: z.string().min(1).optional(),
    dataDir: z.string().min(1).default(".sunpool/scheduler"),
    // Absent: SQLite in dataDir. { postgres: url }: a PostgreSQL database (docs/scheduler.md, "The store").
    store: z
      .object({
        postgres: z.url({
          protocol: /^postgres(ql)?$/,
          message: "a PostgreSQL URL: postgres://user:password@host:port/database",
        }),
      })
      .strict()
      .optional(),
    // With store.postgres, replicas share the database and one leads (docs/scheduler.md, "Running
    // two replicas"): this one's name in the lease, and the URL the others forward requests to.
    replica: z
      .object({
        id: z
          .string()
          .regex(/^[A-Za-z0-9._:-]{1,64}$/, "1 to 64 letters, digits, '.', '_', ':' or '-'")
          .optional(),
        advertiseUrl: z.url({ protocol: /^https?$/, message: "an http(s) URL other replicas reach this one at" }).optional(),
      })
      .strict()
      .optional(),
    listen: z
      .object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(7300) })
      .strict()
      .default({ host: "127.0.0.1", port: 7300 }),
    ipfs: z
      .object({
        listen: z.array(z.string()).optional(),
        // Off by default: a worker's registered multiaddrs must not make the pool's node dial into
        // the operator's own network. A pool whose workers are on its LAN turns it on.
        dialPrivate: z.boolean().default(false),
        maxPinMiB: z.number().positive().max(4096).default(64),
        pinTimeoutSeconds: z.number().positive().max(3600).default(60),
      })
      .strict()
      .default({ dialPrivate: false, maxPinMiB: 64, pinTimeoutSeconds: 60 }),
    workers: z
      .object({
        heartbeatSeconds: z.number().int().min(1).max(3600).default(15),
        leaseHeartbeats: z.number().int().min(2).max(100).default(3),
        allow: z.array(address).optional(),
        minStake: sun.optional(),
        stakeRefreshSeconds: z.number().positive().max(86_400).default(60),
        probation: z
          .object({
            tasks: z.number().int().min(0).max(1_000_000).default(DEFAULT_PROBATION.tasks),
            slots: z.number().int().min(1).max(64).default(DEFAULT_PROBATION.slots),
            cores: z.number().int().min(1).max(256).default(DEFAULT_PROBATION.cores),
            energyBonus: z.boolean().default(DEFAULT_PROBATION.energyBonus),
          })
          .strict()
          .default(DEFAULT_PROBATION),
      })
      .strict()
      .default({ heartbeatSeconds: 15, leaseHeartbeats: 3, stakeRefreshSeconds: 60, probation: DEFAULT_PROBATION }),
    tasks: z
      .object({ failAfter: z.number().int().min(1).max(8).default(2) })
      .strict()
      .default({ failAfter: 2 }),
    book: z
      .object({ maxOpenOrdersPerSigner: z.number().int().min(1).max(100_000).default(100) })
      .strict()
      .default({ maxOpenOrdersPerSigner: 100 }),
    chain: z
      .object({
        // Safe on public chains without finality by default; 0 on a local devnet (its config says so).
        confirmations: z
          .union([z.number().int().min(0).max(1000), z.literal("finalized")], {
            message: 'a number of blocks (0 to 1000) or "finalized"',
          })
          .default(DEFAULT_CONFIRMATIONS),
        reorgWindow: z.number().int().min(1).max(10_000).default(DEFAULT_REORG_WINDOW),
        pollSeconds: z.number().positive().max(600).default(2),
        logsChunk: z.number().int().min(1).max(100_000).default(2000),
      })
      .strict()
      .default({ confirmations: DEFAULT_CONFIRMATIONS, reorgWindow: DEFAULT_REORG_WINDOW, pollSeconds: 2, logsChunk: 2000 }),
    rateLimitPerMinute: z.number().int().min(1).default(6000),
    pauseMatching: z.boolean().default(false),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
  })
  .strict()
  .superRefine((config, context) => {
    if (config.replica !== undefined && config.store === undefined) {
      context.addIssue({
        code: "custom",
        path: ["replica"],
        message:
          "replicas need a shared PostgreSQL store: add store.postgres, or remove replica (on SQLite one process serves a data folder)",
      });
    }
    const wildcard = ["0.0.0.0", "::", "[::]"].includes(config.listen.host);
    if (config.store !== undefined && wildcard && config.replica?.advertiseUrl === undefined) {
      context.addIssue({
        code: "custom",
        path: ["replica", "advertiseUrl"],
        message: `listen.host ${config.listen.host} is no address other replicas can forward to: set replica.advertiseUrl, e.g. "http://10.0.0.5:${config.listen.port.toString()}"`,
      });
    }
  });

export type SchedulerConfig = z.infer<typeof configSchema>;

const IDENTITY = { service: "scheduler", docs: "docs/scheduler.md" };

/** Reads and validates a config file; relative paths in it are resolved against its folder. */
export async function loadConfig(path: string): Promise<SchedulerConfig> {
  const config = validateConfig(await readConfigJson(path, IDENTITY), configSchema, IDENTITY, path);
  return resolveServicePaths(config, dirname(resolve(path)));
}

/**
 * The stake (token base units) that admits a worker not on `workers.allow`: `workers.minStake`;
 * if absent, none with an allow list (only the list is admitted), 1 SUN without one.
 */
export function minWorkerStake(config: SchedulerConfig): bigint | undefined {
  const minStake = config.workers.minStake ?? (config.workers.allow === undefined ? DEFAULT_MIN_STAKE_SUN : undefined);
  return minStake === undefined ? undefined : parseUnits(minStake, 18);
}
