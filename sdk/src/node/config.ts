// Where the CLI (and Node apps) find the chain, the scheduler, IPFS and the wallet: flags, then
// environment, then the project's sunpool.config.json, then defaults that point at the devnet.
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

import { type Deployment, parseDeployment } from "../deployment.js";
import { ConfigError } from "../errors/input.js";

export const CONFIG_FILE = "sunpool.config.json";

export const DEFAULTS = {
  rpcUrl: "http://127.0.0.1:8545",
  schedulerUrl: "http://127.0.0.1:7300",
  keystore: ".sunpool/keystore.json",
} as const;

/** The config file's shape (all optional). Paths are relative to the file. */
export interface ConfigFile {
  rpcUrl?: string;
  schedulerUrl?: string;
  keystore?: string;
  ipfs?: { peers?: string[]; kuboUrl?: string; repo?: string };
  deployment?: Record<string, unknown>;
}

export interface Settings {
  configPath: string;
  rpcUrl: string;
  schedulerUrl: string;
  keystorePath: string;
  ipfsPeers: string[];
  kuboUrl?: string;
  ipfsRepo?: string;
  deployment?: Deployment;
}

export interface SettingsOverrides {
  rpcUrl?: string;
  schedulerUrl?: string;
  keystore?: string;
  ipfsPeers?: string[];
  kuboUrl?: string;
  deploymentFile?: string;
}

/** Resolves settings: overrides (flags) > environment > config file > defaults. */
export async function loadSettings(
  options: { configPath?: string; overrides?: SettingsOverrides; env?: Record<string, string | undefined> } = {},
): Promise<Settings> {
  const env = options.env ?? process.env;
  const configPath = resolve(options.configPath ?? env.SUNPOOL_CONFIG ?? CONFIG_FILE);
  const file = await readConfigFile(configPath, options.configPath !== undefined);
  const base = dirname(configPath);
  const overrides = options.overrides ?? {};
  const deploymentFile = overrides.deploymentFile ?? env.SUNPOOL_DEPLOYMENT;
  const deployment =
    deploymentFile !== undefined
      ? parseDeployment(await readJson(resolve(deploymentFile)), deploymentFile)
      : file.deployment === undefined
        ? undefined
        : parseDeployment(file.deployment, `${configPath} (deployment)`);
  const peers = overrides.ipfsPeers ?? env.SUNPOOL_IPFS_PEERS?.split(",").filter(Boolean) ?? file.ipfs?.peers ?? [];
  const kuboUrl = overrides.kuboUrl ?? env.SUNPOOL_KUBO_URL ?? file.ipfs?.kuboUrl;
  const settings: Settings = {
    configPath,
    rpcUrl: overrides.rpcUrl ?? env.SUNPOOL_RPC_URL ?? file.rpcUrl ?? DEFAULTS.rpcUrl,
    schedulerUrl: overrides.schedulerUrl ?? env.SUNPOOL_SCHEDULER_URL ?? file.schedulerUrl ?? DEFAULTS.schedulerUrl,
    keystorePath: resolve(base, overrides.keystore ?? env.SUNPOOL_KEYSTORE ?? file.keystore ?? DEFAULTS.keystore),
    ipfsPeers: peers,
  };
  if (kuboUrl !== undefined) settings.kuboUrl = kuboUrl;
  if (file.ipfs?.repo !== undefined) settings.ipfsRepo = resolve(base, file.ipfs.repo);
  if (deployment !== undefined) settings.deployment = deployment;
  return settings;
}

/**
 * The deployment for `chainId`: the configured one, else deployments/<chainId>.json in the
 * current folder or a parent (the Sunpool repository's devnet writes it there).
 */
export async function findDeployment(settings: Settings, chainId: bigint, from = process.cwd()): Promise<Deployment> {
  if (settings.deployment !== undefined) return settings.deployment;
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, "deployments", `${chainId}.json`);
    const json = await readJson(candidate).catch(() => undefined);
    if (json !== undefined) return parseDeployment(json, candidate);
    if (dirname(dir) === dir) break;
  }
  throw new ConfigError(`No Sunpool deployment known for chain ${chainId}.`, [
    "Pass --deployment <file> (deployments/<chainId>.json from the deploy script),",
    "or run sunpool init --deployment <file> to store it in the project's config.",
  ]);
}

export async function writeConfigFile(path: string, config: ConfigFile): Promise<void> {
  await writeFile(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o644 });
}

async function readConfigFile(path: string, required: boolean): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    if (!required) return {};
    throw new ConfigError(`No config file at ${path}.`, ["Create one with: sunpool init"], cause);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    return parsed;
  } catch (cause) {
    throw new ConfigError(`${path} is not valid JSON.`, ["Fix it, or delete it and run sunpool init again."], cause);
  }
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as unknown;
  } catch (cause) {
    throw new ConfigError(`Cannot read ${path}.`, ["Check the path and that the file is JSON."], cause);
  }
}
