// What Sunpool's two services, the scheduler and the worker agent, share about starting up: a JSON
// config file checked against its schema, with every mistake reported by path, and the keystore
// password from the environment or a file. Both throw SetupError, whose message is all an operator
// needs (the CLIs print it without a stack).
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { SetupError } from "../errors/input.js";

/** Who is starting: names the config in messages and the docs page that explains it. */
export interface ServiceIdentity {
  /** "scheduler" or "worker". */
  service: string;
  /** The page whose "Configuration" section documents the file, e.g. "docs/worker.md". */
  docs: string;
}

/** A schema with zod's safeParse (zod and zod/mini both have it). */
export interface ConfigSchema<Config> {
  safeParse(
    input: unknown,
  ):
    | { success: true; data: Config }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/** Reads a config file as JSON; a missing or malformed file is a SetupError saying what to do. */
export async function readConfigJson(path: string, identity: ServiceIdentity): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new SetupError(`No config file at ${path}. Write one (${identity.docs}, "Configuration"), or pass --config <file>.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SetupError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Checks a config against its schema; every problem is listed with its path. */
export function validateConfig<Config>(
  json: unknown,
  schema: ConfigSchema<Config>,
  identity: ServiceIdentity,
  source = "the config",
): Config {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `  - ${issue.path.map((key) => String(key)).join(".") || "(top level)"}: ${issue.message}`,
  );
  throw new SetupError(
    `${source} is not a valid ${identity.service} config:\n${problems.join("\n")}\nSee ${identity.docs}, "Configuration".`,
  );
}

/** The files every service config names; relative paths are relative to the config file. */
export interface ServicePaths {
  deployment: string;
  keystore: string;
  dataDir: string;
  keystorePasswordFile?: string | undefined;
}

/** The config with its paths resolved against `base` (the config file's folder). */
export function resolveServicePaths<Config extends ServicePaths>(config: Config, base: string): Config {
  return {
    ...config,
    deployment: resolve(base, config.deployment),
    keystore: resolve(base, config.keystore),
    dataDir: resolve(base, config.dataDir),
    ...(config.keystorePasswordFile === undefined ? {} : { keystorePasswordFile: resolve(base, config.keystorePasswordFile) }),
  };
}

/**
 * The keystore password: the environment variable first (a service manager's secret), then the
 * file the config names (one line, readable only by the service's user).
 */
export async function readKeystorePassword(
  envVariable: string,
  file: string | undefined,
  identity: ServiceIdentity,
): Promise<string> {
  const fromEnv = process.env[envVariable];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  if (file !== undefined) return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  throw new SetupError(
    `No keystore password: set ${envVariable}, or keystorePasswordFile in the config (a file only the ${identity.service}'s user can read).`,
  );
}
