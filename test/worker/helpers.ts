// Worker test fixtures: a market with a real app image in the local registry, and worker agents
// started in-process (runtime.startWorker) with a fresh data folder each.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { ZeroHash } from "ethers";
import { pino } from "pino";

import { registerApp, type AppResources } from "../../sdk/src/actions/assets.js";
import { publishOrder } from "../../sdk/src/actions/market.js";
import type { IpfsNode } from "../../sdk/src/node/ipfs.js";
import { writeKeystore } from "../../sdk/src/node/keystore.js";
import { createAppOrder, createWorkerpoolOrder } from "../../sdk/src/orders/build.js";
import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import { parseConfig, type WorkerConfig } from "../../worker/src/config.js";
import type { Board } from "../../worker/src/hardware/board.js";
import { startWorker, type RunningWorker } from "../../worker/src/runtime.js";
import { buildTestImage } from "../helpers/docker.js";
import { APP_PRICE, POOL_PRICE, type TestMarket } from "../sdk/helpers/market.js";

/**
 * The test app: writes its arguments, its task index and the dataset's line count (if any) to
 * /sunpool/out, and its progress to stderr. `fail` as first argument exits 3 after logging;
 * `sleep N` sleeps N seconds first.
 */
export const WORDCOUNT_SCRIPT = `
set -e
echo "starting with $# args" >&2
if [ "$1" = fail ]; then echo "the app was asked to fail" >&2; exit 3; fi
if [ "$1" = sleep ]; then sleep "$2"; fi
echo "$*" > "$SUNPOOL_OUT/args.txt"
mkdir -p "$SUNPOOL_OUT/meta"
echo "task index \${SUNPOOL_TASK_INDEX:-none}" > "$SUNPOOL_OUT/meta/index.txt"
for f in "$SUNPOOL_IN"/*; do
  [ "$(basename "$f")" = params.json ] || wc -l < "$f" > "$SUNPOOL_OUT/lines-$(basename "$f").txt"
done
echo done >&2
`;

export const WORDCOUNT_RESOURCES: AppResources = {
  memoryMiB: 64,
  cpuMillicores: 500,
  expectedSeconds: 10,
  maxOutputMiB: 1,
  network: false,
};

/** Builds and pushes the wordcount image and registers it as an app (owner: account 2). */
export async function registerWordcountApp(market: TestMarket): Promise<string> {
  const image = await buildTestImage(
    "wordcount",
    { "/app/run.sh": WORDCOUNT_SCRIPT },
    { entrypoint: ["/bin/sh", "/app/run.sh"] },
  );
  const { id } = await registerApp(await market.client(2), {
    name: "wordcount",
    image: image.image,
    imageDigest: image.imageDigest,
    platforms: ["linux/amd64", "linux/arm64"],
    resources: WORDCOUNT_RESOURCES,
  });
  return id;
}

/** Publishes the app's and the pool's orders on a scheduler. */
export async function publishPoolOrders(market: TestMarket, url: string, appId: string, trust: number) {
  const book = createSchedulerClient({ url });
  await publishOrder(await market.client(2), book, {
    kind: "app",
    order: createAppOrder({ app: appId, price: APP_PRICE, volume: 100 }),
  });
  await publishOrder(await market.client(3), book, {
    kind: "workerpool",
    order: createWorkerpoolOrder({ workerpool: market.workerpoolId, price: POOL_PRICE, volume: 100, trust, tag: ZeroHash }),
  });
  return book;
}

/** The JSON of a worker config file for `market`'s pool (paths relative to its folder). */
export function workerConfigJson(market: TestMarket, schedulerUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    scheduler: schedulerUrl,
    rpcUrl: market.chain.rpcUrl,
    deployment: "deployment.json",
    workerpool: market.workerpoolId,
    keystore: "keystore.json",
    dataDir: "data",
    heartbeatSeconds: 1,
    logLevel: "silent",
    ...overrides,
  };
}

/** A worker config in a fresh folder, with the deployment file written there. */
export function workerConfig(market: TestMarket, schedulerUrl: string, overrides: Record<string, unknown> = {}): WorkerConfig {
  const folder = mkdtempSync(join(tmpdir(), "sunpool-worker-"));
  const { chainId, ...addresses } = market.chain.deployment;
  writeFileSync(join(folder, "deployment.json"), JSON.stringify({ chainId: Number(chainId), ...addresses }));
  const json = workerConfigJson(market, schedulerUrl, overrides);
  writeFileSync(join(folder, "worker.config.json"), JSON.stringify(json));
  return parseConfig(json, folder);
}

/** Starts a worker agent in this process for account `account`. */
export async function startTestWorker(
  market: TestMarket,
  schedulerUrl: string,
  account: number,
  options: {
    ipfs?: IpfsNode;
    board?: Board;
    config?: Record<string, unknown>;
    simulatedLoad?: (busy: boolean) => void;
  } = {},
): Promise<RunningWorker> {
  const config = workerConfig(market, schedulerUrl, options.config);
  return startWorker({
    config,
    wallet: market.chain.wallet(account),
    logger: pino({ level: process.env.SUNPOOL_LOG_LEVEL ?? "silent" }),
    ...(options.ipfs === undefined ? {} : { ipfs: options.ipfs }),
    ...(options.board === undefined ? {} : { board: options.board }),
    ...(options.simulatedLoad === undefined ? {} : { simulatedLoad: options.simulatedLoad }),
  });
}

export const CLI_PASSWORD = "worker-cli-test-password";
const CLI = new URL("../../worker/dist/cli.js", import.meta.url).pathname;

/** A folder with a worker config and an encrypted keystore for `account`, for `sunpool-worker`. */
export async function prepareWorkerFolder(
  market: TestMarket,
  schedulerUrl: string,
  account: number,
  overrides: Record<string, unknown> = {},
): Promise<{ config: WorkerConfig; configPath: string }> {
  const config = workerConfig(market, schedulerUrl, { logLevel: "warn", ...overrides });
  const folder = dirname(config.deployment);
  await writeKeystore({
    path: join(folder, "keystore.json"),
    password: CLI_PASSWORD,
    privateKey: market.chain.wallet(account).privateKey,
  });
  return { config, configPath: join(folder, "worker.config.json") };
}

/** Runs `sunpool-worker <args>` (the built bin); `exited` resolves with the exit code or signal. */
export function spawnWorkerCli(
  args: string[],
  env: Record<string, string> = {},
  stdout: "ignore" | "pipe" = "ignore",
): { child: ChildProcess; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, SUNPOOL_WORKER_PASSWORD: CLI_PASSWORD, ...env },
    stdio: ["ignore", stdout, stdout === "pipe" ? "pipe" : "inherit"],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code)),
  );
  return { child, exited };
}
