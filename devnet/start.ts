// `npm run devnet`: the whole market on one machine, on 127.0.0.1 only — a Hardhat node with the
// contracts, funded accounts, the local image registry with the demo apps pushed by digest for
// linux/amd64 and linux/arm64, the pool's scheduler with its orders published, and worker agents on
// simulated solar boards. Ctrl-C stops everything. Runs on Node 24 directly (type stripping).
//
// The chain lives in memory, so every start is a new market: the scheduler's and workers' state
// from a previous run describes a chain that no longer exists and is cleared. Keystores are kept
// (they are slow to encrypt and always hold the same test keys); --reset clears them too.
//
// --lan moves the chain, the scheduler and a read-only copy of the registry to the machine's LAN
// address (devnet/lan.ts), for a Pi on the same network; loopback stays the default. --postgres
// keeps the scheduler's state in a local PostgreSQL server instead of SQLite (devnet/postgres.ts).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";

import { REGISTRY } from "./images.ts";
import {
  chooseLanAddress,
  engineTrustsRegistry,
  lanRegistryConfig,
  lanWarning,
  onRegistry,
  piOwnerFile,
  runningRegistryData,
  takeLanFlag,
} from "./lan.ts";
import { DEMO_APPS, devnetWallet, publishOrders, pushDemoImages, ROLE_INDEX, schedulerIpfsRepo, setUpMarket } from "./market.ts";
import { DEVNET_SCHEMA, freshDevnetDatabase } from "./postgres.ts";
import { checkPortFree, startService, waitForHttp, type Service } from "./processes.ts";
import { WORKER_BOARDS } from "./workers.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PASSWORD = "sunpool-devnet";

function fail(message: string): never {
  console.error(`devnet: ${message}`);
  process.exit(1);
}

const [major] = process.versions.node.split(".").map(Number);
if ((major ?? 0) < 24)
  fail(`Node ${process.versions.node} is too old: run through npm (npm run devnet), which uses the project's Node 24.`);

const USAGE = "npm run devnet -- [--workers N] [--dishonest K] [--arm64 K] [--reset] [--lan [address]] [--postgres]";
let flags: { workers?: string; dishonest: string; arm64: string; reset: boolean; postgres: boolean; help: boolean };
let lanFlag: string | undefined;
try {
  const taken = takeLanFlag(process.argv.slice(2));
  lanFlag = taken.lan;
  flags = parseArgs({
    args: taken.args,
    options: {
      workers: { type: "string" },
      dishonest: { type: "string", default: "0" },
      arm64: { type: "string", default: "0" },
      reset: { type: "boolean", default: false },
      postgres: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
} catch (error) {
  fail(`${(error as Error).message}. Usage: ${USAGE}`);
}
if (flags.help) {
  console.log(`Usage: ${USAGE}

  --workers N   worker agents on simulated solar boards (0-${WORKER_BOARDS.length.toString()}, default 3; 0 to bring
                your own, e.g. a Pi: docs/worker-owner.md)
  --dishonest K the last K workers return made-up results (to watch consensus slash them; default 0)
  --arm64 K     the first K workers run linux/arm64 images through qemu user-mode emulation (default 0)
  --reset       also forget the keystores kept in .devnet/keys (the chain always starts fresh)
  --lan [addr]  listen on this machine's LAN address instead of 127.0.0.1 (the first private IPv4 address
                of an interface that is up, or addr), so that a Pi joins with the sunpool.yaml it writes
                (docs/worker-owner.md). Everyone on the LAN can then use the chain's funded dev keys.
  --postgres    the scheduler keeps its state in PostgreSQL (bash scripts/postgres.sh ensure: installs it the
                first time, as root) instead of SQLite in .devnet/run/scheduler

Environment: SUNPOOL_DEVNET_PORT (chain, default 8545), SUNPOOL_DEVNET_SCHEDULER_PORT (default 7300).
State and logs: .devnet/ (docs/devnet.md).`);
  process.exit(0);
}
let workerCount = Number(flags.workers ?? "3");
if (!Number.isInteger(workerCount) || workerCount < 0 || workerCount > WORKER_BOARDS.length)
  fail(`--workers must be an integer from 0 to ${WORKER_BOARDS.length.toString()}, got '${String(flags.workers)}'`);

const dishonest = Number(flags.dishonest);
if (!Number.isInteger(dishonest) || dishonest < 0 || (dishonest > 0 && dishonest >= workerCount))
  fail(
    `--dishonest must be an integer from 0 to ${(workerCount - 1).toString()} (fewer than --workers), got '${flags.dishonest}'`,
  );

const arm64 = Number(flags.arm64);
if (!Number.isInteger(arm64) || arm64 < 0 || arm64 > workerCount)
  fail(`--arm64 must be an integer from 0 to ${workerCount.toString()} (at most --workers), got '${flags.arm64}'`);

let HOST = "127.0.0.1";
if (lanFlag !== undefined) {
  try {
    HOST = chooseLanAddress(networkInterfaces(), lanFlag === "" ? undefined : lanFlag);
  } catch (error) {
    fail((error as Error).message);
  }
}
/** The read-only registry a Pi pulls the demo images from (--lan only; same port as the loopback one). */
const LAN_REGISTRY = lanFlag === undefined ? undefined : `${HOST}:${REGISTRY.split(":")[1] ?? "5000"}`;
/** Where scripts/docker.sh keeps the loopback registry's storage, which the LAN registry serves. */
const REGISTRY_DATA = join(ROOT, ".devnet/docker/registry/data");

const CHAIN_PORT = Number(process.env.SUNPOOL_DEVNET_PORT ?? 8545);
const SCHEDULER_PORT = Number(process.env.SUNPOOL_DEVNET_SCHEDULER_PORT ?? 7300);
const RPC_URL = `http://${HOST}:${CHAIN_PORT.toString()}`;
const SCHEDULER_URL = `http://${HOST}:${SCHEDULER_PORT.toString()}`;
// SUNPOOL_DEVNET_STATE moves the state elsewhere (the end-to-end tests use a temporary folder so
// that they never clear the state of a devnet a developer is running).
const STATE = resolve(process.env.SUNPOOL_DEVNET_STATE ?? join(ROOT, ".devnet"));
const KEYS = join(STATE, "keys");
const RUN = join(STATE, "run");
const LOGS = join(STATE, "logs");

const services: Service[] = [];
let stopping = false;

/**
 * Starts a part and tracks it for stopAll. Refused once stopping: the start-up steps go on while
 * stopAll runs (a Ctrl-C mid-start), and a part started then would outlive the devnet in its own
 * process group, holding its port.
 */
function launch(...args: Parameters<typeof startService>): Service {
  if (stopping) throw new Error(`not starting the ${args[0]}: the devnet is stopping`);
  const service = startService(...args);
  services.push(service);
  return service;
}

/**
 * Workers first, together (they stop their containers and persist their journals), then the
 * scheduler, then the chain they both talk to.
 */
async function stopAll(): Promise<void> {
  stopping = true;
  const workers = services.filter((service) => service.name.startsWith("worker"));
  await Promise.all(workers.map((worker) => worker.stop()));
  for (const service of services.filter((s) => !workers.includes(s)).reverse()) await service.stop();
}
// A second Ctrl-C while stopping must not orphan the parts (they run in their own process groups).
let signalled = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    console.log("\ndevnet: stopping");
    void stopAll().then(() => process.exit(0));
  });
}

const started = Date.now();
try {
  await preflight();
  if (LAN_REGISTRY !== undefined) {
    await checkLocalWorkersCanPull(LAN_REGISTRY);
    console.log(lanWarning(HOST, { chain: CHAIN_PORT, scheduler: SCHEDULER_PORT, registry: Number(LAN_REGISTRY.split(":")[1]) }));
  }
  if (flags.reset) await rm(KEYS, { recursive: true, force: true });
  await rm(RUN, { recursive: true, force: true });
  await rm(LOGS, { recursive: true, force: true });
  await mkdir(RUN, { recursive: true });
  await mkdir(LOGS, { recursive: true });
  await mkdir(KEYS, { recursive: true });

  const chain = launch(
    "Hardhat node",
    [join(ROOT, "node_modules/hardhat/dist/src/cli.js"), "node", "--hostname", HOST, "--port", CHAIN_PORT.toString()],
    {
      log: join(LOGS, "chain.log"),
    },
  );
  // Independent steps overlap: compiling, the images and the keystores do not need the chain.
  const build = run("npx", ["hardhat", "build", "--quiet", "--no-tests"]);
  // Pushed through the loopback registry in every mode; --lan serves the same storage on the LAN.
  const images = pushDemoImages().then((pushed) =>
    LAN_REGISTRY === undefined ? pushed : serveImagesOnLan(pushed, LAN_REGISTRY),
  );
  const keystores = writeKeystores(workerCount);
  const database = flags.postgres ? freshDevnetDatabase(ROOT) : undefined;
  await waitForHttp(chain, RPC_URL, 60_000, rpcRequest("eth_chainId"));
  await build;
  // A new node is a new chain 31337: Ignition's journal of the previous devnet describes contracts
  // that no longer exist and would make it skip the deployment.
  await rm(join(ROOT, "ignition/deployments/chain-31337"), { recursive: true, force: true });
  await run("npx", ["hardhat", "run", "--no-compile", "--network", "localhost", "scripts/deploy.ts"], { quiet: true });
  const deploymentFile = join(ROOT, "deployments/31337.json");
  const { parseDeployment } = await import("@sunpool/sdk");
  const deployment = parseDeployment(JSON.parse(await readFile(deploymentFile, "utf8")), deploymentFile);

  const schedulerDir = join(RUN, "scheduler");
  const { createIpfsNode } = await import("@sunpool/sdk/node");
  const market = await setUpMarket({
    deployment,
    rpcUrl: RPC_URL,
    workers: workerCount,
    images: await images,
    // The dataset goes into the scheduler's own IPFS repository: its always-on node serves it.
    addDataset: async (fileName, content) => {
      const node = await createIpfsNode({ repo: schedulerIpfsRepo(schedulerDir) });
      try {
        return await node.addFiles([{ path: fileName, content }]);
      } finally {
        await node.stop();
      }
    },
  });
  const keys = await keystores;

  const schedulerConfig = join(schedulerDir, "scheduler.config.json");
  await writeJson(schedulerConfig, {
    rpcUrl: RPC_URL,
    deployment: deploymentFile,
    workerpool: market.workerpoolId,
    keystore: keys.scheduler,
    dataDir: schedulerDir,
    ...(database === undefined ? {} : { store: { postgres: await database } }),
    listen: { host: HOST, port: SCHEDULER_PORT },
    // A Pi fetches datasets from the scheduler's IPFS node: on the LAN, it listens there too. The
    // devnet's workers are on this machine (or its LAN): the pool's node may dial them there.
    ipfs: { dialPrivate: true, ...(LAN_REGISTRY === undefined ? {} : { listen: [`/ip4/${HOST}/tcp/0`] }) },
    workers: { heartbeatSeconds: 2 },
    // Automine: a block only comes with a transaction, so no event could wait for confirmations.
    chain: { pollSeconds: 0.25, confirmations: 0 },
    logLevel: "info",
  });
  const scheduler = launch("scheduler", [join(ROOT, "scheduler/dist/cli.js"), "start", "--config", schedulerConfig], {
    log: join(LOGS, "scheduler.log"),
    env: { SUNPOOL_SCHEDULER_PASSWORD: PASSWORD },
    restart: true,
    pidFile: join(RUN, "scheduler.pid"),
  });
  await waitForHttp(scheduler, `${SCHEDULER_URL}/healthz`, 30_000);
  await publishOrders({ deployment, rpcUrl: RPC_URL, schedulerUrl: SCHEDULER_URL, market });

  for (let i = 0; i < workerCount; i++) {
    const folder = join(RUN, `worker-${(i + 1).toString()}`);
    const config = join(folder, "worker.config.json");
    await writeJson(config, {
      scheduler: SCHEDULER_URL,
      rpcUrl: RPC_URL,
      deployment: deploymentFile,
      workerpool: market.workerpoolId,
      keystore: keys.workers[i],
      dataDir: join(folder, "data"),
      board: WORKER_BOARDS[i]!.board,
      ...(i < arm64 ? { platform: "linux/arm64" } : {}),
      heartbeatSeconds: 2,
      logLevel: "info",
    });
    launch(
      `worker ${(i + 1).toString()}`,
      ["--max-semi-space-size=1", join(ROOT, "worker/dist/cli.js"), "start", "--config", config],
      {
        log: join(LOGS, `worker-${(i + 1).toString()}.log`),
        restart: true,
        pidFile: join(RUN, `worker-${(i + 1).toString()}.pid`),
        env: { SUNPOOL_WORKER_PASSWORD: PASSWORD, ...(i >= workerCount - dishonest ? { SUNPOOL_WORKER_TAMPER: "1" } : {}) },
      },
    );
  }
  await waitForHttp(scheduler, `${SCHEDULER_URL}/v1/status`, 60_000, undefined, async (response) => {
    const status = (await response.json()) as { workers: { online: number } };
    return status.workers.online >= workerCount;
  });

  const requesterConfig = join(STATE, "sunpool.config.json");
  await writeJson(requesterConfig, {
    rpcUrl: RPC_URL,
    schedulerUrl: SCHEDULER_URL,
    keystore: relative(STATE, keys.requester),
    deployment: { ...deployment, chainId: deployment.chainId.toString() },
  });
  const summary = {
    rpcUrl: RPC_URL,
    schedulerUrl: SCHEDULER_URL,
    deployment: { ...deployment, chainId: deployment.chainId.toString() },
    workerpool: market.workerpoolId,
    apps: Object.fromEntries(market.apps.map((app) => [app.name, app])),
    datasets: Object.fromEntries(market.datasets.map(({ name, id, cid }) => [name, { id, cid }])),
    accounts: {
      requester: devnetWallet(ROLE_INDEX.requester).address,
      appOwner: devnetWallet(ROLE_INDEX.appOwner).address,
      scheduler: devnetWallet(ROLE_INDEX.scheduler).address,
      workers: Array.from({ length: workerCount }, (_, i) => devnetWallet(ROLE_INDEX.firstWorker + i).address),
    },
    requesterConfig,
    password: PASSWORD,
    // The scheduler's store: its PostgreSQL URL (no password on the local server), else SQLite.
    store: database === undefined ? { sqlite: join(schedulerDir, "scheduler.sqlite") } : { postgres: await database },
    ...(LAN_REGISTRY === undefined
      ? {}
      : { lan: { address: HOST, registry: LAN_REGISTRY, piOwnerFile: join(STATE, "pi/sunpool.yaml") } }),
  };
  if (LAN_REGISTRY !== undefined) {
    await mkdir(join(STATE, "pi"), { recursive: true });
    await writeFile(
      join(STATE, "pi/sunpool.yaml"),
      piOwnerFile({ schedulerUrl: SCHEDULER_URL, workerpool: market.workerpoolId, rpcUrl: RPC_URL, deployment }),
    );
  }
  await writeJson(join(STATE, "devnet.json"), summary);
  printReady(summary, (Date.now() - started) / 1000);
  watchForCrashes();
} catch (error) {
  // Stopping on a signal: the signal's handler finishes the stop and exits.
  if (!signalled) {
    await stopAll();
    fail(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The devnet's own workers pull the demo images by their registered names, `<lan>:5000/…` with
 * --lan: Docker pulls over plain HTTP only from loopback and the registries it is told to trust.
 * Without that trust, --lan alone starts no worker of its own (the Pis are the workers).
 */
async function checkLocalWorkersCanPull(registry: string): Promise<void> {
  if (workerCount === 0) return;
  let config = {};
  try {
    const { stdout } = await promisify(execFile)("docker", ["info", "--format", "{{json .RegistryConfig}}"], { timeout: 30_000 });
    config = JSON.parse(stdout) as object;
  } catch {
    // Unknown: treated as not trusted, which only costs the local workers.
  }
  if (engineTrustsRegistry(config, registry)) return;
  const fix =
    `to run workers on this machine as well, add "insecure-registries": ["${registry}"] to /etc/docker/daemon.json ` +
    `and restart Docker (sudo systemctl restart docker)`;
  if (flags.workers !== undefined || dishonest > 0 || arm64 > 0)
    fail(
      `this machine's Docker engine does not pull from the plain-HTTP registry ${registry}, so its workers could not run the demo apps: ${fix}; or start with --workers 0 and bring Pis.`,
    );
  console.log(`devnet: --lan starts no worker of its own (Docker here does not trust ${registry}; ${fix}).`);
  workerCount = 0;
}

/**
 * Starts the read-only registry on the LAN address over the loopback registry's storage, checks
 * that it serves every demo image, and names the images as a Pi pulls them.
 */
async function serveImagesOnLan<T extends { image: string; imageDigest: string }>(
  pushed: Map<string, T>,
  registry: string,
): Promise<Map<string, T>> {
  // The storage of the registry that runs, whichever checkout started it; else this one's.
  const data = runningRegistryData() ?? REGISTRY_DATA;
  if (!existsSync(data))
    throw new Error(
      `${data} is missing: --lan serves the registry that bash scripts/docker.sh ensure starts, with SUNPOOL_REGISTRY unset`,
    );
  const config = join(RUN, "registry-lan.yml");
  await writeFile(config, lanRegistryConfig(registry, data));
  const service = launch("LAN registry", ["serve", config], {
    command: "docker-registry",
    log: join(LOGS, "registry-lan.log"),
    restart: true,
    pidFile: join(RUN, "registry-lan.pid"),
  });
  await waitForHttp(service, `http://${registry}/v2/`, 30_000);
  const named = new Map<string, T>();
  for (const [name, image] of pushed) {
    const lanImage = onRegistry(image.image, REGISTRY, registry);
    const response = await fetch(`http://${lanImage.replace("/", "/v2/")}/manifests/${image.imageDigest}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" },
    });
    if (!response.ok)
      throw new Error(
        `the LAN registry does not serve ${lanImage}@${image.imageDigest} (${response.status.toString()}): it serves ${data}, ` +
          `so the images must be pushed to the registry of bash scripts/docker.sh (SUNPOOL_REGISTRY unset)`,
      );
    named.set(name, { ...image, image: lanImage });
  }
  return named;
}

async function preflight(): Promise<void> {
  for (const [folder, what] of [
    ["sdk/dist", "the SDK"],
    ["scheduler/dist", "the scheduler"],
    ["worker/dist", "the worker"],
  ] as const) {
    if (!existsSync(join(ROOT, folder)))
      fail(`${what} is not built (${folder} is missing): run bash scripts/setup.sh once, or npm run build.`);
  }
  await checkPortFree(HOST, CHAIN_PORT, "the chain", "SUNPOOL_DEVNET_PORT");
  await checkPortFree(HOST, SCHEDULER_PORT, "the scheduler", "SUNPOOL_DEVNET_SCHEDULER_PORT");
  if (LAN_REGISTRY !== undefined)
    await checkPortFree(HOST, Number(LAN_REGISTRY.split(":")[1]), "the LAN registry", "SUNPOOL_REGISTRY (its port)");
  try {
    await promisify(execFile)("bash", [join(ROOT, "scripts/docker.sh"), "ensure"], { timeout: 300_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    fail(`no Docker engine and image registry: bash scripts/docker.sh ensure failed.\n${stderr.trim()}`);
  }
}

/** Encrypted keystores of the devnet's test keys, written once and kept in .devnet/keys. */
async function writeKeystores(workers: number) {
  const { writeKeystore } = await import("@sunpool/sdk/node");
  const write = async (name: string, index: number) => {
    const path = join(KEYS, `${name}.json`);
    if (!existsSync(path)) await writeKeystore({ path, password: PASSWORD, privateKey: devnetWallet(index).privateKey });
    return path;
  };
  const requester = await write("requester", ROLE_INDEX.requester);
  const scheduler = await write("scheduler", ROLE_INDEX.scheduler);
  const workerKeys: string[] = [];
  for (let i = 0; i < workers; i++) workerKeys.push(await write(`worker-${(i + 1).toString()}`, ROLE_INDEX.firstWorker + i));
  return { requester, scheduler, workers: workerKeys };
}

function run(command: string, args: string[], options: { quiet?: boolean } = {}): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      { cwd: ROOT, env: { ...process.env, SUNPOOL_RPC_URL: RPC_URL }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error === null) {
          if (options.quiet !== true && stdout.trim() !== "") console.log(stdout.trim());
          resolvePromise();
        } else reject(new Error(`${command} ${args.join(" ")} failed:\n${stderr || stdout}`));
      },
    );
  });
}

function rpcRequest(method: string): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
  };
}

/** A path as the user would type it from the repository's root. */
function shown(path: string): string {
  const inside = relative(ROOT, path);
  return inside.startsWith("..") ? path : inside;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(resolve(path, ".."), { recursive: true });
  await writeFile(path, JSON.stringify(value, null, 2) + "\n");
}

/** A part that dies for good (the chain, or a part crashing in a loop) takes the devnet down. */
function watchForCrashes(): void {
  for (const service of services) {
    void service.failed.then(async (reason) => {
      if (stopping) return;
      console.error(`devnet: ${reason}; see ${shown(service.log)}. Stopping the rest.`);
      await stopAll();
      process.exit(1);
    });
  }
}

function printReady(
  summary: {
    rpcUrl: string;
    schedulerUrl: string;
    deployment: { hub: string };
    workerpool: string;
    apps: Record<string, { id: string; datasetId?: string }>;
    accounts: { requester: string; workers: string[] };
    lan?: { address: string; registry: string; piOwnerFile: string };
    store: { sqlite: string } | { postgres: string };
  },
  seconds: number,
): void {
  const wordcount = summary.apps[DEMO_APPS[0]]!;
  const primes = summary.apps[DEMO_APPS[1]]!;
  console.log(`
devnet ready in ${seconds.toFixed(1)} s
  chain       ${summary.rpcUrl} (chain id 31337; hub ${summary.deployment.hub})
  scheduler   ${summary.schedulerUrl} (workerpool ${summary.workerpool}; state in ${"postgres" in summary.store ? `PostgreSQL, ${summary.store.postgres.split("?")[0]!} schema ${DEVNET_SCHEMA}` : "SQLite"})
  dashboard   ${summary.schedulerUrl}/ (pool, workers, tasks: open it in a browser)
  registry    http://${summary.lan?.registry ?? REGISTRY} (demo images for linux/amd64 and linux/arm64${summary.lan === undefined ? "" : "; read-only"})
  workers     ${WORKER_BOARDS.slice(0, summary.accounts.workers.length)
    .map((worker) => worker.label)
    .join("; ")}
  requester   ${summary.accounts.requester} (200 SUN deposited)
  apps        wordcount ${wordcount.id}
              primes    ${primes.id}
  state, logs ${shown(STATE)}/ (addresses and ids: devnet.json there)

Try next, in another terminal at the repository's root:
  export SUNPOOL_CONFIG=${shown(join(STATE, "sunpool.config.json"))} SUNPOOL_PASSWORD=${PASSWORD}
  npx sunpool account balance
  npx sunpool run ${wordcount.id} --dataset ${wordcount.datasetId ?? "?"} --arg 1
  npx sunpool run ${primes.id} --volume 10 --arg 1000000 --arg 10 --out results/primes
  npx sunpool run ${wordcount.id} --dataset ${wordcount.datasetId ?? "?"} --trust 3 --arg 1
  curl -s ${summary.schedulerUrl}/v1/status

${summary.lan === undefined ? "" : piInstructions(summary.lan)}
Ctrl-C stops the devnet.`);
}

function piInstructions(lan: { address: string; registry: string; piOwnerFile: string }): string {
  return `
A Pi on this network (docs/worker-owner.md, "Joining a laptop's devnet over the LAN"):
  1. copy ${shown(lan.piOwnerFile)} to the card's boot partition as sunpool.yaml (set battery, panel, wifi)
  2. boot it; when it prints its address: npm run devnet:fund -- 0xTHE_PI_ADDRESS
  3. it joins the pool: curl -s http://${lan.address}:${SCHEDULER_PORT.toString()}/v1/status
`;
}
