// The devnet's market on a freshly deployed chain: named accounts from the Hardhat node's
// mnemonic, funded and staked; the demo apps and the dataset registered; keystores and configs
// for the requester, the scheduler and the workers. Orders are published once the scheduler runs
// (`publishOrders`), since its order book is where they live.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import {
  createAppOrder,
  createDatasetOrder,
  createRpcProvider,
  createSchedulerClient,
  createSunpoolClient,
  createWorkerpoolOrder,
  deposit,
  type Deployment,
  type Platform,
  publishOrder,
  registerApp,
  registerDataset,
  registerWorkerpool,
  type AppResources,
  type SunpoolClient,
} from "@sunpool/sdk";
import { HDNodeWallet, Mnemonic, parseUnits, sha256, ZeroHash } from "ethers";

import { pushScratchImage } from "./images.ts";

/** The Hardhat node's default accounts (public test keys: never use them on a real chain). */
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** Account indexes: 0 holds the token supply; the others have one role each. */
export const ROLE_INDEX = { requester: 1, appOwner: 2, scheduler: 3, firstWorker: 4 } as const;

export const SUN = 10n ** 18n;
const FUNDING = { requester: 1_000n, appOwner: 10n, scheduler: 1_000n, worker: 100n } as const;
const DEPOSIT = { requester: 200n, scheduler: 500n, worker: 50n } as const;
export const PRICES = { app: 1n * SUN, dataset: 1n * SUN, workerpool: 2n * SUN } as const;
/** The pool accepts up to trust 3 (one worker per replica, at least 3 workers for a dissent). */
const POOL_TRUST = 3n;
const ORDER_VOLUME = 100_000n;

export function devnetWallet(index: number): HDNodeWallet {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${index.toString()}`);
}

interface AppManifest {
  name: string;
  description: string;
  entrypoint: string[];
  files: Record<string, string>;
  platforms: Platform[];
  /** Same inputs, same bytes out (sorted output, no clock, no randomness): replicable with trust >= 2. */
  deterministic: boolean;
  resources: AppResources;
  dataset?: { name: string; file: string };
}

export interface DemoApp {
  name: string;
  description: string;
  id: string;
  image: string;
  imageDigest: string;
  datasetId?: string;
}

export interface DemoDataset {
  id: string;
  name: string;
  /** The file's bytes, to be added to the scheduler's IPFS repository under `cid`. */
  content: Uint8Array;
  fileName: string;
  cid: string;
}

export interface Market {
  workerpoolId: string;
  apps: DemoApp[];
  datasets: DemoDataset[];
}

const APPS_DIR = new URL("apps/", import.meta.url);
export const DEMO_APPS = ["wordcount", "primes"] as const;

async function readManifest(name: string): Promise<AppManifest> {
  const manifest = JSON.parse(await readFile(new URL(`${name}/app.json`, APPS_DIR), "utf8")) as AppManifest;
  if (typeof manifest.deterministic !== "boolean") {
    throw new Error(
      `devnet/apps/${name}/app.json: "deterministic" must be true or false (false when the output carries time or randomness)`,
    );
  }
  return manifest;
}

/** Builds and pushes every demo app's image (before the chain is up: they do not depend on it). */
export async function pushDemoImages() {
  const images = new Map<string, { image: string; imageDigest: string }>();
  for (const name of DEMO_APPS) {
    const manifest = await readManifest(name);
    const files: Record<string, string> = {};
    for (const [inImage, source] of Object.entries(manifest.files)) {
      files[inImage] = await readFile(new URL(`${name}/${source}`, APPS_DIR), "utf8");
    }
    const pushed = await pushScratchImage({
      repository: `sunpool-demo/${name}`,
      files,
      entrypoint: manifest.entrypoint,
      platforms: manifest.platforms,
    });
    images.set(name, pushed);
  }
  return images;
}

/**
 * Funds and stakes the accounts, registers the workerpool, the apps and their datasets.
 * `addDataset` stores a dataset file where workers will fetch it and returns its CID.
 */
export async function setUpMarket(parameters: {
  deployment: Deployment;
  rpcUrl: string;
  workers: number;
  images: Map<string, { image: string; imageDigest: string }>;
  addDataset: (fileName: string, content: Uint8Array) => Promise<string>;
}): Promise<Market> {
  const provider = createRpcProvider(parameters.rpcUrl);
  const client = (index: number) =>
    createSunpoolClient({ deployment: parameters.deployment, provider, signer: devnetWallet(index), pollingIntervalMs: 100 });
  try {
    const bank = await client(0);
    const grants: [number, bigint][] = [
      [ROLE_INDEX.requester, FUNDING.requester],
      [ROLE_INDEX.appOwner, FUNDING.appOwner],
      [ROLE_INDEX.scheduler, FUNDING.scheduler],
      ...Array.from({ length: parameters.workers }, (_, i): [number, bigint] => [ROLE_INDEX.firstWorker + i, FUNDING.worker]),
    ];
    // Sent back to back from one account; ethers numbers them, the node mines them in order.
    const transfers = [];
    for (const [index, amount] of grants) {
      transfers.push(await bank.token.transfer(devnetWallet(index).address, parseUnits(amount.toString(), 18)));
    }
    await Promise.all(transfers.map((tx) => tx.wait()));

    await deposit(await client(ROLE_INDEX.requester), { amount: DEPOSIT.requester * SUN });
    const scheduler = await client(ROLE_INDEX.scheduler);
    await deposit(scheduler, { amount: DEPOSIT.scheduler * SUN });
    for (let i = 0; i < parameters.workers; i++) {
      await deposit(await client(ROLE_INDEX.firstWorker + i), { amount: DEPOSIT.worker * SUN });
    }
    const { id: workerpoolId } = await registerWorkerpool(scheduler, { name: "devnet-solar-pool" });

    const appOwner = await client(ROLE_INDEX.appOwner);
    const apps: DemoApp[] = [];
    const datasets: DemoDataset[] = [];
    for (const name of DEMO_APPS) {
      const manifest = await readManifest(name);
      const image = parameters.images.get(name);
      if (image === undefined) throw new Error(`the image of demo app ${name} was not pushed`);
      const { id } = await registerApp(appOwner, {
        name,
        image: image.image,
        imageDigest: image.imageDigest,
        platforms: manifest.platforms,
        deterministic: manifest.deterministic,
        resources: manifest.resources,
      });
      const app: DemoApp = { name, description: manifest.description, id, ...image };
      if (manifest.dataset !== undefined) {
        const content = new Uint8Array(await readFile(new URL(`${name}/${manifest.dataset.file}`, APPS_DIR)));
        const cid = await parameters.addDataset(manifest.dataset.file, content);
        const dataset = await registerDataset(appOwner, { name: manifest.dataset.name, cid, checksum: sha256(content) });
        datasets.push({ id: dataset.id, name: manifest.dataset.name, content, fileName: manifest.dataset.file, cid });
        app.datasetId = dataset.id;
      }
      apps.push(app);
    }
    return { workerpoolId, apps, datasets };
  } finally {
    provider.destroy();
  }
}

/** Publishes the apps', datasets' and the pool's orders on the running scheduler. */
export async function publishOrders(parameters: {
  deployment: Deployment;
  rpcUrl: string;
  schedulerUrl: string;
  market: Market;
}): Promise<void> {
  const provider = createRpcProvider(parameters.rpcUrl);
  const client = (index: number): Promise<SunpoolClient> =>
    createSunpoolClient({ deployment: parameters.deployment, provider, signer: devnetWallet(index), pollingIntervalMs: 100 });
  try {
    const book = createSchedulerClient({ url: parameters.schedulerUrl });
    const appOwner = await client(ROLE_INDEX.appOwner);
    for (const app of parameters.market.apps) {
      await publishOrder(appOwner, book, {
        kind: "app",
        order: createAppOrder({ app: app.id, price: PRICES.app, volume: ORDER_VOLUME }),
      });
    }
    for (const dataset of parameters.market.datasets) {
      await publishOrder(appOwner, book, {
        kind: "dataset",
        order: createDatasetOrder({ dataset: dataset.id, price: PRICES.dataset, volume: ORDER_VOLUME }),
      });
    }
    const scheduler = await client(ROLE_INDEX.scheduler);
    // One order per time budget class the CLI offers by default (category 0 = 300 s, 1 = 1200 s).
    for (const category of [0n, 1n]) {
      await publishOrder(scheduler, book, {
        kind: "workerpool",
        order: createWorkerpoolOrder({
          workerpool: parameters.market.workerpoolId,
          price: PRICES.workerpool,
          volume: ORDER_VOLUME,
          trust: POOL_TRUST,
          category,
          tag: ZeroHash,
        }),
      });
    }
  } finally {
    provider.destroy();
  }
}

/** The IPFS repository folder of a scheduler whose dataDir is `dataDir` (scheduler/src/service.ts). */
export function schedulerIpfsRepo(dataDir: string): string {
  return join(dataDir, "ipfs");
}
