// What a command needs, created on first use: settings, the chain client (with the wallet when
// the command signs), the scheduler client, an IPFS reader. Nothing connects until asked.
import password from "@inquirer/password";
import type { JsonRpcProvider, Wallet } from "ethers";
import { dirname, join } from "node:path";

import { createRpcProvider, createSunpoolClient, type SunpoolClient } from "../client.js";
import type { Deployment } from "../deployment.js";
import { SunpoolError } from "../errors/base.js";
import { RpcUnreachableError } from "../errors/chain.js";
import { KeystoreError } from "../errors/input.js";
import { findDeployment, loadSettings, type Settings, type SettingsOverrides } from "../node/config.js";
import type { IpfsNode } from "../node/ipfs.js";
import { readKeystore } from "../node/keystore.js";
import type { ContentReader } from "../results/reader.js";
import { createSchedulerClient, getSchedulerInfo, type SchedulerClient } from "../scheduler/client.js";
import type { Output } from "./output.js";

/** The devnet mines on demand: poll every half second so progress shows promptly. */
const POLLING_INTERVAL_MS = 500;

export interface GlobalOptions {
  config?: string;
  rpc?: string;
  scheduler?: string;
  keystore?: string;
  deployment?: string;
  kubo?: string;
  ipfsPeer?: string[];
  json?: boolean;
}

export class Context {
  #settings: Settings | undefined;
  #wallet: Wallet | undefined;
  #ipfs: IpfsNode | undefined;
  #chain: Promise<{ provider: JsonRpcProvider; deployment: Deployment }> | undefined;
  #reader: Promise<ContentReader> | undefined;

  constructor(
    readonly options: GlobalOptions,
    readonly output: Output,
  ) {}

  async settings(): Promise<Settings> {
    if (this.#settings !== undefined) return this.#settings;
    const overrides: SettingsOverrides = {};
    if (this.options.rpc !== undefined) overrides.rpcUrl = this.options.rpc;
    if (this.options.scheduler !== undefined) overrides.schedulerUrl = this.options.scheduler;
    if (this.options.keystore !== undefined) overrides.keystore = this.options.keystore;
    if (this.options.kubo !== undefined) overrides.kuboUrl = this.options.kubo;
    if (this.options.ipfsPeer !== undefined) overrides.ipfsPeers = this.options.ipfsPeer;
    if (this.options.deployment !== undefined) overrides.deploymentFile = this.options.deployment;
    this.#settings = await loadSettings({
      ...(this.options.config === undefined ? {} : { configPath: this.options.config }),
      overrides,
    });
    return this.#settings;
  }

  /** The chain client; with `signing`, unlocked with the keystore password. One provider per command. */
  async client(signing = false): Promise<SunpoolClient> {
    this.#chain ??= this.#connect();
    const { provider, deployment } = await this.#chain;
    return createSunpoolClient({
      deployment,
      provider,
      pollingIntervalMs: POLLING_INTERVAL_MS,
      ...(signing ? { signer: await this.wallet() } : {}),
    });
  }

  async #connect(): Promise<{ provider: JsonRpcProvider; deployment: Deployment }> {
    const settings = await this.settings();
    const provider = createRpcProvider(settings.rpcUrl, POLLING_INTERVAL_MS);
    try {
      const { chainId } = await provider.getNetwork();
      return { provider, deployment: await findDeployment(settings, chainId) };
    } catch (error) {
      provider.destroy();
      throw error instanceof SunpoolError ? error : new RpcUnreachableError(settings.rpcUrl, error);
    }
  }

  async wallet(): Promise<Wallet> {
    if (this.#wallet !== undefined) return this.#wallet;
    const settings = await this.settings();
    this.#wallet = await readKeystore(settings.keystorePath, await this.password("Keystore password"));
    return this.#wallet;
  }

  /** SUNPOOL_PASSWORD, else a prompt on an interactive terminal, else a clear error. */
  async password(message: string): Promise<string> {
    const fromEnv = process.env.SUNPOOL_PASSWORD;
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
    if (!process.stdin.isTTY) {
      throw new KeystoreError("The keystore password is needed but there is no terminal to ask it on.", [
        "Set SUNPOOL_PASSWORD in the environment of scripts and CI.",
      ]);
    }
    return password({ message, mask: "*" });
  }

  /** Where signed requests are kept (next to the keystore): `order cancel` works from them without the book. */
  async requestsFolder(): Promise<string> {
    return join(dirname((await this.settings()).keystorePath), "requests");
  }

  async scheduler(): Promise<SchedulerClient> {
    return createSchedulerClient({ url: (await this.settings()).schedulerUrl });
  }

  /**
   * A Kubo reader when configured, else an in-process Helia node dialed to the configured peers
   * and the scheduler's (asked once per command; a scheduler that does not answer adds none).
   */
  async reader(): Promise<ContentReader> {
    this.#reader ??= (async () => {
      const settings = await this.settings();
      // IPFS modules load on first use: most commands never need them, and they double start-up time.
      const { createKuboReader } = await import("../node/ipfs.js");
      if (settings.kuboUrl !== undefined) return createKuboReader(settings.kuboUrl);
      const schedulerPeers = await getSchedulerInfo(await this.scheduler()).then(
        (info) => info.ipfsPeers,
        () => [],
      );
      const node = await this.ipfsNode();
      await node.connect([...settings.ipfsPeers, ...schedulerPeers]);
      return node;
    })();
    return this.#reader;
  }

  async ipfsNode(): Promise<IpfsNode> {
    const settings = await this.settings();
    const { createIpfsNode } = await import("../node/ipfs.js");
    this.#ipfs ??= await createIpfsNode(settings.ipfsRepo === undefined ? {} : { repo: settings.ipfsRepo });
    return this.#ipfs;
  }

  async close(): Promise<void> {
    if (this.#chain !== undefined) (await this.#chain.catch(() => undefined))?.provider.destroy();
    await this.#ipfs?.stop();
  }
}
