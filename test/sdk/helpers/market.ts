// A market for the SDK and CLI tests: a Hardhat node with the contracts, funded accounts, an app
// and a workerpool registered, their orders published at a stand-in scheduler, and IPFS nodes.
import { ZeroHash, parseUnits } from "ethers";

import { deposit } from "../../../sdk/src/actions/account.js";
import { registerApp, registerWorkerpool } from "../../../sdk/src/actions/assets.js";
import { publishOrder } from "../../../sdk/src/actions/market.js";
import { createSunpoolClient, type SunpoolClient } from "../../../sdk/src/client.js";
import { createIpfsNode, type IpfsNode } from "../../../sdk/src/node/ipfs.js";
import { createAppOrder, createWorkerpoolOrder } from "../../../sdk/src/orders/build.js";
import { createSchedulerClient } from "../../../sdk/src/scheduler/client.js";
import { startChain, type TestChain } from "./chain.js";
import { type StandinOptions, startStandinScheduler, type StandinScheduler, type TestApp } from "./standinScheduler.js";

export const SUN = 10n ** 18n;
export const APP_PRICE = 1n * SUN;
export const POOL_PRICE = 2n * SUN;

/** The test app: echoes its arguments and task index, like a container writing to /out. */
export const echoApp: TestApp = (params, index) => [
  { path: "echo.txt", content: new TextEncoder().encode(`${(params.args ?? []).join(" ")} #${index}\n`) },
  { path: "meta/index.json", content: new TextEncoder().encode(JSON.stringify({ index })) },
];

export interface TestMarket {
  chain: TestChain;
  appId: string;
  workerpoolId: string;
  workerIpfs: IpfsNode;
  requesterIpfs: IpfsNode;
  /** A client signing as the node's account `index` (1 requester, 2 app owner, 3 scheduler, 4 worker). */
  client(index: number): Promise<SunpoolClient>;
  /** Starts a stand-in scheduler over the same pool and publishes the app and workerpool orders there. */
  scheduler(options?: Partial<StandinOptions>): Promise<StandinScheduler>;
  stop(): Promise<void>;
}

export async function startMarket(): Promise<TestMarket> {
  const chain = await startChain();
  const client = (index: number) =>
    createSunpoolClient({
      deployment: chain.deployment,
      provider: chain.provider,
      signer: chain.wallet(index),
      pollingIntervalMs: 200,
    });
  const deployer = await client(0);
  for (const index of [1, 3, 5]) {
    await (await deployer.token.transfer(chain.wallet(index).address, parseUnits("1000", 18))).wait();
  }
  const appOwner = await client(2);
  const scheduler = await client(3);
  const { id: appId } = await registerApp(appOwner, {
    name: "echo",
    image: "127.0.0.1:5000/echo",
    imageDigest: `sha256:${"ab".repeat(32)}`,
    platforms: ["linux/amd64", "linux/arm64"],
  });
  const { id: workerpoolId } = await registerWorkerpool(scheduler, { name: "solar-pool" });
  await deposit(scheduler, { amount: 500n * SUN });
  const workerIpfs = await createIpfsNode();
  const requesterIpfs = await createIpfsNode();
  const started: StandinScheduler[] = [];
  return {
    chain,
    appId,
    workerpoolId,
    workerIpfs,
    requesterIpfs,
    client,
    async scheduler(options = {}) {
      const standin = await startStandinScheduler({
        deployment: chain.deployment,
        scheduler: chain.wallet(3),
        worker: chain.wallet(4),
        workerpool: workerpoolId,
        ipfs: workerIpfs,
        app: echoApp,
        ...options,
      });
      started.push(standin);
      const book = createSchedulerClient({ url: standin.url });
      await publishOrder(appOwner, book, { kind: "app", order: createAppOrder({ app: appId, price: APP_PRICE, volume: 1000 }) });
      await publishOrder(scheduler, book, {
        kind: "workerpool",
        order: createWorkerpoolOrder({ workerpool: workerpoolId, price: POOL_PRICE, volume: 1000, trust: 1, tag: ZeroHash }),
      });
      return standin;
    },
    async stop() {
      for (const standin of started) await standin.stop();
      await workerIpfs.stop();
      await requesterIpfs.stop();
      await chain.stop();
    },
  };
}
