// What a command needs, created on first use: settings, the chain client (with the wallet when
// the command signs), the scheduler client, an IPFS reader. Nothing connects until asked.
import password from "@inquirer/password";
import { JsonRpcProvider, type Wallet } from "ethers";

import { createSunpoolClient, type SunpoolClient } from "../client.js";
import { RpcUnreachableError } from "../errors/chain.js";
import { KeystoreError } from "../errors/input.js";
import { findDeployment, loadSettings, type Settings, type SettingsOverrides } from "../node/config.js";
import type { IpfsNode } from "../node/ipfs.js";
import { readKeystore } from "../node/keystore.js";
import type { ContentReader } from "../results/reader.js";
import { createSchedulerClient, type SchedulerClient } from "../scheduler/client.js";
import type { Output } from "./output.js";

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
  #providers: JsonRpcProvider[] = [];

  constructor(
    readonly options: GlobalOptions,
    readonly output: Output,
  ) {}

  async settings(): Promise<Settings> {
    const overrides: SettingsOverrides = {};
    if (this.options.rpc !== undefined) overrides.rpcUrl = this.options.rpc;
    if (this.options.scheduler !== undefined) overrides.schedulerUrl = this.options.scheduler;
    if (this.options.keystore !== undefined) overrides.keystore = this.options.keystore;
    if (this.options.kubo !== undefined) overrides.kuboUrl = this.options.kubo;
    if (this.options.ipfsPeer !== undefined) overrides.ipfsPeers = this.options.ipfsPeer;
    if (this.options.deployment !== undefined) overrides.deploymentFile = this.options.deployment;
    this.#settings ??= await loadSettings({
      ...(this.options.config === undefined ? {} : { configPath: this.options.config }),
      overrides,
    });
    return this.#settings;
  }

  /** The chain client; with `signing`, unlocked with the keystore password. */
  async client(signing = false): Promise<SunpoolClient> {
    const settings = await this.settings();
    const provider = new JsonRpcProvider(settings.rpcUrl, undefined, {
      staticNetwork: true,
      pollingInterval: 500,
      cacheTimeout: -1,
    });
    this.#providers.push(provider);
    let chainId: bigint;
    try {
      chainId = (await provider.getNetwork()).chainId;
    } catch (error) {
      throw new RpcUnreachableError(settings.rpcUrl, error);
    }
    const deployment = await findDeployment(settings, chainId);
    return createSunpoolClient({
      deployment,
      provider,
      pollingIntervalMs: 500,
      ...(signing ? { signer: await this.wallet() } : {}),
    });
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

  async scheduler(): Promise<SchedulerClient> {
    return createSchedulerClient({ url: (await this.settings()).schedulerUrl });
  }

  /** A Kubo reader when configured, else an in-process Helia node dialed to the given peers. */
  async reader(extraPeers: readonly string[] = []): Promise<ContentReader> {
    const settings = await this.settings();
    // IPFS modules load on first use: most commands never need them, and they double start-up time.
    const { createKuboReader } = await import("../node/ipfs.js");
    if (settings.kuboUrl !== undefined) return createKuboReader(settings.kuboUrl);
    const node = await this.ipfsNode();
    await node.connect([...settings.ipfsPeers, ...extraPeers]);
    return node;
  }

  async ipfsNode(): Promise<IpfsNode> {
    const settings = await this.settings();
    const { createIpfsNode } = await import("../node/ipfs.js");
    this.#ipfs ??= await createIpfsNode(settings.ipfsRepo === undefined ? {} : { repo: settings.ipfsRepo });
    return this.#ipfs;
  }

  async close(): Promise<void> {
    for (const provider of this.#providers) provider.destroy();
    await this.#ipfs?.stop();
  }
}
