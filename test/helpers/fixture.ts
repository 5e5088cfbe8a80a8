// Deploys a fresh marketplace on the in-process Hardhat network and builds signed orders.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import {
  AbiCoder,
  type ContractTransactionReceipt,
  ZeroAddress,
  ZeroHash,
  hexlify,
  keccak256,
  randomBytes,
  solidityPacked,
  toBeHex,
  toUtf8Bytes,
} from "ethers";
import { network } from "hardhat";

import type { AssetRegistry, SunpoolHub, SunpoolToken } from "../../types/ethers-contracts/index.js";
import {
  type AppOrder,
  type DatasetOrder,
  type OrderTypeName,
  type RequestOrder,
  type WorkerpoolOrder,
  sunpoolDomain,
  typesFor,
} from "../../sdk/src/orders/eip712.js";
import { encodeMatchOrders } from "../../sdk/src/orders/codec.js";

export const connection = await network.create();
export const { ethers, networkHelpers } = connection;

const abi = AbiCoder.defaultAbiCoder();

export const TOKEN = 10n ** 18n;
export const APP_PRICE = 3n * TOKEN;
export const DATASET_PRICE = 2n * TOKEN;
export const WORKERPOOL_PRICE = 10n * TOKEN;
export const WORKER_STAKE_RATIO = 30n;
export const SCHEDULER_REWARD_RATIO = 10n;
export const TAG_ARM64 = toBeHex(2, 32);
export const TAG_AMD64 = toBeHex(1, 32);
export const TAG_BOTH = toBeHex(3, 32);
export const PARAMS = keccak256(solidityPacked(["string"], ['{"args":"hello"}']));
export const IMAGE_DIGEST = keccak256(solidityPacked(["string"], ["wordcount-image"]));
export const NO_ENERGY = { milliwattHours: 0, solarShareBps: 0 };
/** Where forfeited stakes that compensate nobody go in these tests (a burn address in production). */
export const TREASURY = "0x000000000000000000000000000000000000dEaD";
/** Smallest worker stake whose correct contribution raises a score: the default pool's stake (3 tokens). */
export const MIN_SCORED_STAKE = (WORKERPOOL_PRICE * WORKER_STAKE_RATIO) / 100n;

export interface Market {
  token: SunpoolToken;
  registry: AssetRegistry;
  hub: SunpoolHub;
  chainId: bigint;
  deployer: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  appOwner: HardhatEthersSigner;
  datasetOwner: HardhatEthersSigner;
  scheduler: HardhatEthersSigner;
  workers: HardhatEthersSigner[];
  stranger: HardhatEthersSigner;
  appId: string;
  datasetId: string;
  workerpoolId: string;
}

/** Deploys token, registry and hub; registers an app, a dataset and a workerpool; funds everyone. */
export async function deployMarket(): Promise<Market> {
  const [deployer, requester, appOwner, datasetOwner, scheduler, stranger, ...workers] = await ethers.getSigners();
  if (deployer === undefined || requester === undefined || appOwner === undefined) throw new Error("signers");
  if (datasetOwner === undefined || scheduler === undefined || stranger === undefined) throw new Error("signers");
  const token = await ethers.deployContract("SunpoolToken", [deployer.address, 10n ** 9n * TOKEN]);
  const registry = await ethers.deployContract("AssetRegistry");
  const hub = await deployHub(await token.getAddress(), await registry.getAddress());
  const chainId = (await ethers.provider.getNetwork()).chainId;

  await registry.connect(appOwner).registerApp("wordcount", "127.0.0.1:5000/wordcount", IMAGE_DIGEST, 3, true, {
    memoryMiB: 64,
    cpuMillicores: 500,
    expectedSeconds: 30,
    maxOutputMiB: 16,
    network: false,
  });
  await registry
    .connect(datasetOwner)
    .registerDataset("corpus", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", IMAGE_DIGEST);
  await registry.connect(scheduler).registerWorkerpool("sunny-pool", WORKER_STAKE_RATIO, SCHEDULER_REWARD_RATIO);

  const market: Market = {
    token,
    registry,
    hub,
    chainId,
    deployer,
    requester,
    appOwner,
    datasetOwner,
    scheduler,
    workers,
    stranger,
    appId: await registry.appId(appOwner.address, "wordcount"),
    datasetId: await registry.datasetId(datasetOwner.address, "corpus"),
    workerpoolId: await registry.workerpoolId(scheduler.address, "sunny-pool"),
  };
  for (const account of [requester, scheduler, ...workers.slice(0, 8)]) {
    await fund(market, account, 1000n * TOKEN);
  }
  return market;
}

/** A hub over `token` and `registry` with the test treasury and minimum scored stake. */
export async function deployHub(token: string, registry: string, treasury = TREASURY, minScoredStake = MIN_SCORED_STAKE) {
  return ethers.deployContract("SunpoolHub", [token, registry, treasury, minScoredStake]);
}

/** Mints `amount` to `account` and deposits it into the hub. */
export async function fund(market: Market, account: HardhatEthersSigner, amount: bigint): Promise<void> {
  await market.token.mint(account.address, amount);
  await market.token.connect(account).approve(await market.hub.getAddress(), amount);
  await market.hub.connect(account).deposit(amount);
}

export function salt(): string {
  return hexlify(randomBytes(32));
}

export function appOrder(market: Market, overrides: Partial<AppOrder> = {}): AppOrder {
  return {
    app: market.appId,
    price: APP_PRICE,
    volume: 1000n,
    tag: ZeroHash,
    datasetRestrict: ZeroHash,
    workerpoolRestrict: ZeroHash,
    requesterRestrict: ZeroAddress,
    salt: salt(),
    ...overrides,
  };
}

export function datasetOrder(market: Market, overrides: Partial<DatasetOrder> = {}): DatasetOrder {
  return {
    dataset: market.datasetId,
    price: DATASET_PRICE,
    volume: 1000n,
    tag: ZeroHash,
    appRestrict: ZeroHash,
    workerpoolRestrict: ZeroHash,
    requesterRestrict: ZeroAddress,
    salt: salt(),
    ...overrides,
  };
}

export function workerpoolOrder(market: Market, overrides: Partial<WorkerpoolOrder> = {}): WorkerpoolOrder {
  return {
    workerpool: market.workerpoolId,
    price: WORKERPOOL_PRICE,
    volume: 1000n,
    tag: TAG_BOTH,
    category: 0n,
    trust: 100n,
    appRestrict: ZeroHash,
    datasetRestrict: ZeroHash,
    requesterRestrict: ZeroAddress,
    salt: salt(),
    ...overrides,
  };
}

export function requestOrder(market: Market, overrides: Partial<RequestOrder> = {}): RequestOrder {
  return {
    app: market.appId,
    appMaxPrice: APP_PRICE,
    dataset: ZeroHash,
    datasetMaxPrice: 0n,
    workerpool: market.workerpoolId,
    workerpoolMaxPrice: WORKERPOOL_PRICE,
    requester: market.requester.address,
    beneficiary: ZeroAddress,
    volume: 1n,
    tag: TAG_ARM64,
    category: 0n,
    trust: 1n,
    params: PARAMS,
    salt: salt(),
    ...overrides,
  };
}

/** Signs an order as EIP-712 typed data; `chainId`/`hub` default to the market's domain. */
export async function signOrder(
  market: Market,
  signer: HardhatEthersSigner,
  kind: OrderTypeName,
  order: object,
  domain: { chainId?: bigint; hub?: string } = {},
): Promise<string> {
  const hub = domain.hub ?? (await market.hub.getAddress());
  return signer.signTypedData(sunpoolDomain(domain.chainId ?? market.chainId, hub), typesFor(kind), order);
}

export interface MatchSet {
  app: AppOrder;
  workerpool: WorkerpoolOrder;
  request: RequestOrder;
  dataset?: DatasetOrder;
}

/** Signs every order of `orders` by its owner; the caller's own order may go unsigned. */
export async function signAll(market: Market, orders: MatchSet) {
  return {
    app: await signOrder(market, market.appOwner, "AppOrder", orders.app),
    dataset: orders.dataset ? await signOrder(market, market.datasetOwner, "DatasetOrder", orders.dataset) : "0x",
    workerpool: "0x",
    request: await signOrder(market, market.requester, "RequestOrder", orders.request),
  };
}

/** Matches the orders as the scheduler and returns the deal id. */
export async function matchDeal(market: Market, overrides: Partial<RequestOrder> = {}, withDataset = false) {
  const orders: MatchSet = {
    app: appOrder(market),
    workerpool: workerpoolOrder(market),
    request: requestOrder(
      market,
      withDataset ? { dataset: market.datasetId, datasetMaxPrice: DATASET_PRICE, ...overrides } : overrides,
    ),
    ...(withDataset ? { dataset: datasetOrder(market) } : {}),
  };
  const signatures = await signAll(market, orders);
  const hub = market.hub.connect(market.scheduler);
  const tx = await hub.matchOrders(encodeMatchOrders(orders, signatures));
  const receipt = await tx.wait();
  return { dealId: dealCreated(market, receipt).dealId, orders, receipt };
}

/** The DealCreated event of a matchOrders receipt. */
export function dealCreated(market: Market, receipt: ContractTransactionReceipt | null): { dealId: string; volume: bigint } {
  const event = receipt?.logs.map((log) => market.hub.interface.parseLog(log)).find((parsed) => parsed?.name === "DealCreated");
  if (!event) throw new Error("no DealCreated event in the receipt");
  return { dealId: event.args.dealId as string, volume: event.args.volume as bigint };
}

/** The scheduler's TaskAuthorization of `worker` on `taskId` (`scheduler` defaults to the market's). */
export async function authorize(market: Market, taskId: string, worker: string, scheduler = market.scheduler): Promise<string> {
  return scheduler.signTypedData(sunpoolDomain(market.chainId, await market.hub.getAddress()), typesFor("TaskAuthorization"), {
    taskId,
    worker,
  });
}

export function digestOf(text: string): string {
  return keccak256(solidityPacked(["string"], [text]));
}

/** The hidden vote: keccak256(abi.encode(taskId, resultDigest, worker, salt)), computed here independently of the hub. */
export function commitmentOf(taskId: string, digest: string, worker: string, secret: string): string {
  return keccak256(abi.encode(["bytes32", "bytes32", "address", "bytes32"], [taskId, digest, worker, secret]));
}

/** The salt a test worker commits with (deterministic, so a test can reveal without bookkeeping). */
export function saltOf(worker: string, taskId: string): string {
  return keccak256(abi.encode(["address", "bytes32", "string"], [worker, taskId, "salt"]));
}

export const ENERGY = { milliwattHours: 1500, solarShareBps: 8000 };

/** A worker's hidden contribution to a replicated task, authorized by the scheduler. */
export async function contribute(market: Market, dealId: string, index: bigint, worker: HardhatEthersSigner, digest: string) {
  const taskId = await market.hub.taskId(dealId, index);
  return market.hub
    .connect(worker)
    .contribute(
      dealId,
      index,
      commitmentOf(taskId, digest, worker.address, saltOf(worker.address, taskId)),
      ENERGY,
      await authorize(market, taskId, worker.address),
    );
}

/** Opens the worker's commitment; the location defaults to a CID-like text naming the digest. */
export async function reveal(
  market: Market,
  dealId: string,
  index: bigint,
  worker: HardhatEthersSigner,
  digest: string,
  location = `bafy-${digest.slice(2, 10)}`,
) {
  const taskId = await market.hub.taskId(dealId, index);
  return market.hub.connect(worker).reveal(dealId, index, digest, saltOf(worker.address, taskId), toUtf8Bytes(location));
}

/** Raises `worker`'s score in the market's pool by `tasks` replicated trust-3 tasks done with a partner. */
export async function buildScore(market: Market, worker: HardhatEthersSigner, tasks: number) {
  const partner = market.workers.find((w) => w.address !== worker.address)!;
  for (let i = 0; i < tasks; i++) {
    const { dealId } = await matchDeal(market, { trust: 3n });
    const digest = digestOf(`score-${i}`);
    await contribute(market, dealId, 0n, worker, digest);
    await contribute(market, dealId, 0n, partner, digest);
    await reveal(market, dealId, 0n, worker, digest);
    await reveal(market, dealId, 0n, partner, digest);
    await market.hub.connect(market.scheduler).finalize(dealId, 0n, "0x", [worker.address, partner.address]);
  }
}
