// Apps, datasets and workerpools in the AssetRegistry: register, read one, list.
import { getBytes, hexlify, isHexString, ZeroAddress } from "ethers";

import { read, send } from "../chain.js";
import { type SunpoolClient, requireSigner } from "../client.js";
import { AssetExistsError, AssetNotFoundError, type AssetKindName } from "../errors/assets.js";
import { InvalidInputError } from "../errors/input.js";
import { address as parseAddress, bytes32 } from "../orders/build.js";

/** Platforms an app image can be built for, as OCI platform strings, and their registry bits. */
export const PLATFORM_BITS = { "linux/amd64": 1, "linux/arm64": 2, "linux/arm/v7": 4 } as const;
export type Platform = keyof typeof PLATFORM_BITS;

const ASSET_KIND = { app: 0, dataset: 1, workerpool: 2 } as const satisfies Record<AssetKindName, number>;

export interface AppResources {
  memoryMiB: number;
  cpuMillicores: number;
  /** Expected run time on a Raspberry Pi 4 core; dispatch and energy planning use it. */
  expectedSeconds: number;
  maxOutputMiB: number;
  /** The app needs network access (denied by default). */
  network: boolean;
}

export const DEFAULT_APP_RESOURCES: AppResources = {
  memoryMiB: 256,
  cpuMillicores: 1000,
  expectedSeconds: 60,
  maxOutputMiB: 16,
  network: false,
};

export interface App {
  id: string;
  owner: string;
  name: string;
  /** Image reference without digest, e.g. `127.0.0.1:5000/wordcount`. */
  image: string;
  /** `sha256:<hex>` digest of the image manifest; workers pull exactly this. */
  imageDigest: string;
  platforms: Platform[];
  /** Same inputs give the same result digest: only such apps can be replicated (trust >= 2). */
  deterministic: boolean;
  resources: AppResources;
}

export interface Dataset {
  id: string;
  owner: string;
  name: string;
  cid: string;
  /** sha256 of the content, 0x-prefixed. */
  checksum: string;
}

export interface Workerpool {
  id: string;
  owner: string;
  name: string;
  workerStakeRatio: number;
  schedulerRewardRatio: number;
}

export interface RegisterAppParameters {
  name: string;
  image: string;
  /** `sha256:<64 hex>` (as Docker prints it) or 0x-prefixed 32 bytes. */
  imageDigest: string;
  platforms: readonly Platform[];
  /**
   * Whether the same inputs always give byte-identical results (default true). Only deterministic
   * apps can be replicated (trust >= 2): replicas must agree. Declare `false` for an app whose
   * output carries timestamps, random numbers or an unstable order; it then runs with trust 1 only.
   */
  deterministic?: boolean;
  resources?: Partial<AppResources>;
}

/** Registers an app owned by the signer; fails with AssetExistsError if the name is taken. */
export async function registerApp(client: SunpoolClient, parameters: RegisterAppParameters) {
  const { address } = await requireSigner(client, "Registering an app");
  const resources = { ...DEFAULT_APP_RESOURCES, ...parameters.resources };
  const digest = parseImageDigest(parameters.imageDigest);
  const platforms = platformBits(parameters.platforms);
  if (parameters.deterministic !== undefined && typeof parameters.deterministic !== "boolean") {
    throw new InvalidInputError("deterministic", parameters.deterministic, "true or false");
  }
  const id = await read("appId", () => client.registry.appId(address, parameters.name));
  await assertAbsent(client, "app", id, parameters.name);
  const receipt = await send("registerApp", () =>
    client.registry.registerApp(
      parameters.name,
      parameters.image,
      digest,
      platforms,
      parameters.deterministic ?? true,
      resources,
    ),
  );
  return { id, transactionHash: receipt.hash };
}

/** Reads an app; throws AssetNotFoundError for an unknown id. */
export async function getApp(client: SunpoolClient, id: string): Promise<App> {
  const appId = bytes32("app id", id);
  await assertPresent(client, "app", appId);
  const record = await read("app", () => client.registry.app(appId));
  return {
    id: appId,
    owner: record.owner,
    name: record.name,
    image: record.image,
    imageDigest: `sha256:${record.imageDigest.slice(2)}`,
    platforms: (Object.keys(PLATFORM_BITS) as Platform[]).filter((p) => (Number(record.platforms) & PLATFORM_BITS[p]) !== 0),
    deterministic: record.deterministic,
    resources: {
      memoryMiB: Number(record.resources.memoryMiB),
      cpuMillicores: Number(record.resources.cpuMillicores),
      expectedSeconds: Number(record.resources.expectedSeconds),
      maxOutputMiB: Number(record.resources.maxOutputMiB),
      network: record.resources.network,
    },
  };
}

/** Lists registered apps (optionally of one owner), oldest first, from the registry's events. */
export async function listApps(client: SunpoolClient, parameters: { owner?: string } = {}): Promise<App[]> {
  const ids = await registeredIds(client, "AppRegistered", parameters.owner);
  return Promise.all(ids.map((id) => getApp(client, id)));
}

export interface RegisterDatasetParameters {
  name: string;
  cid: string;
  /** sha256 of the content (0x-prefixed); the Node entry's `addDataset` computes it. */
  checksum: string;
}

/** Registers a dataset owned by the signer. */
export async function registerDataset(client: SunpoolClient, parameters: RegisterDatasetParameters) {
  const { address } = await requireSigner(client, "Registering a dataset");
  const checksum = bytes32("checksum", parameters.checksum);
  const id = await read("datasetId", () => client.registry.datasetId(address, parameters.name));
  await assertAbsent(client, "dataset", id, parameters.name);
  const receipt = await send("registerDataset", () => client.registry.registerDataset(parameters.name, parameters.cid, checksum));
  return { id, transactionHash: receipt.hash };
}

export async function getDataset(client: SunpoolClient, id: string): Promise<Dataset> {
  const datasetId = bytes32("dataset id", id);
  await assertPresent(client, "dataset", datasetId);
  const record = await read("dataset", () => client.registry.dataset(datasetId));
  return { id: datasetId, owner: record.owner, name: record.name, cid: record.cid, checksum: record.checksum };
}

export async function listDatasets(client: SunpoolClient, parameters: { owner?: string } = {}): Promise<Dataset[]> {
  const ids = await registeredIds(client, "DatasetRegistered", parameters.owner);
  return Promise.all(ids.map((id) => getDataset(client, id)));
}

export interface RegisterWorkerpoolParameters {
  name: string;
  /** % of the workerpool price each contributing worker stakes (default 30). */
  workerStakeRatio?: number;
  /** % of the workerpool price the scheduler keeps (default 10). */
  schedulerRewardRatio?: number;
}

/** Registers a workerpool whose scheduler is the signer. */
export async function registerWorkerpool(client: SunpoolClient, parameters: RegisterWorkerpoolParameters) {
  const { address } = await requireSigner(client, "Registering a workerpool");
  const id = await read("workerpoolId", () => client.registry.workerpoolId(address, parameters.name));
  await assertAbsent(client, "workerpool", id, parameters.name);
  const receipt = await send("registerWorkerpool", () =>
    client.registry.registerWorkerpool(parameters.name, parameters.workerStakeRatio ?? 30, parameters.schedulerRewardRatio ?? 10),
  );
  return { id, transactionHash: receipt.hash };
}

export async function getWorkerpool(client: SunpoolClient, id: string): Promise<Workerpool> {
  const workerpoolId = bytes32("workerpool id", id);
  await assertPresent(client, "workerpool", workerpoolId);
  const record = await read("workerpool", () => client.registry.workerpool(workerpoolId));
  return {
    id: workerpoolId,
    owner: record.owner,
    name: record.name,
    workerStakeRatio: Number(record.workerStakeRatio),
    schedulerRewardRatio: Number(record.schedulerRewardRatio),
  };
}

/** Parses `sha256:<hex>` or 0x-hex into the registry's bytes32 form. */
export function parseImageDigest(value: string): string {
  const hex = value.startsWith("sha256:") ? `0x${value.slice(7)}` : value;
  if (!isHexString(hex, 32))
    throw new InvalidInputError("image digest", value, "sha256:<64 hex digits> (docker images --digests)");
  return hexlify(getBytes(hex));
}

function platformBits(platforms: readonly Platform[]): number {
  if (platforms.length === 0)
    throw new InvalidInputError("platforms", "[]", `one or more of ${Object.keys(PLATFORM_BITS).join(", ")}`);
  let bits = 0;
  for (const platform of platforms) {
    const bit = PLATFORM_BITS[platform] as number | undefined;
    if (bit === undefined) throw new InvalidInputError("platform", platform, Object.keys(PLATFORM_BITS).join(", "));
    bits |= bit;
  }
  return bits;
}

async function ownerOf(client: SunpoolClient, kind: AssetKindName, id: string): Promise<string> {
  return read("ownerOf", () => client.registry.ownerOf(ASSET_KIND[kind], id));
}

async function assertPresent(client: SunpoolClient, kind: AssetKindName, id: string): Promise<void> {
  if ((await ownerOf(client, kind, id)) === ZeroAddress) throw new AssetNotFoundError(kind, id);
}

async function assertAbsent(client: SunpoolClient, kind: AssetKindName, id: string, name: string): Promise<void> {
  if ((await ownerOf(client, kind, id)) !== ZeroAddress) throw new AssetExistsError(kind, id, name);
}

async function registeredIds(
  client: SunpoolClient,
  event: "AppRegistered" | "DatasetRegistered",
  owner: string | undefined,
): Promise<string[]> {
  const filter = client.registry.filters[event](undefined, owner === undefined ? undefined : parseAddress("owner", owner));
  const logs = await read(`${event} events`, () => client.registry.queryFilter(filter, client.deployment.deployedAtBlock));
  return logs.map((log) => log.args.id);
}
