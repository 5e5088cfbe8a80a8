// Gas per transaction and per task for the reference scenarios of docs/gas.md, measured on the
// in-process Hardhat network with warm accounts (everyone was paid once before), as iExec's
// figures beside ours were measured.
//
//   npm run gas          print the table
//   npm run gas:check    also fail when a figure grew more than 2 % over snapshots/gas.json
//   npm run gas:update   rewrite snapshots/gas.json
import { readFileSync, writeFileSync } from "node:fs";

import { id } from "ethers";
import type { ContractTransactionResponse } from "ethers";

import {
  DATASET_PRICE,
  NO_ENERGY,
  appOrder,
  authorize,
  contribute,
  datasetOrder,
  dealCreated,
  deployMarket,
  digestOf,
  ethers,
  requestOrder,
  reveal,
  signAll,
  workerpoolOrder,
  type Market,
} from "../test/helpers/fixture.js";
import { encodeMatchOrders } from "../sdk/src/orders/codec.js";

const SNAPSHOT = new URL("../snapshots/gas.json", import.meta.url);
const TOLERANCE = 0.02;
const EIP170_LIMIT = 24_576;
const CID_TEXT = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
const CID = "0x" + Buffer.from(CID_TEXT).toString("hex");

interface Scenario {
  transactions: Record<string, number>;
  total: number;
  perTask: number;
  matchCalldataBytes: number;
}

let saltCounter = 0;
const salt = () => id(`gas-benchmark-salt-${saltCounter++}`);

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction not mined");
  return Number(receipt.gasUsed);
}

async function match(market: Market, volume: bigint, trust: bigint, withDataset: boolean) {
  const orders = {
    app: appOrder(market, { salt: salt() }),
    workerpool: workerpoolOrder(market, { salt: salt() }),
    request: requestOrder(market, {
      volume,
      trust,
      salt: salt(),
      ...(withDataset ? { dataset: market.datasetId, datasetMaxPrice: DATASET_PRICE } : {}),
    }),
    ...(withDataset ? { dataset: datasetOrder(market, { salt: salt() }) } : {}),
  };
  const signatures = await signAll(market, orders);
  const hub = market.hub.connect(market.scheduler);
  const tx = hub.matchOrders(encodeMatchOrders(orders, signatures));
  const sent = await tx;
  const calldataBytes = (sent.data.length - 2) / 2;
  const receipt = await sent.wait();
  if (!receipt) throw new Error("matchOrders was not mined");
  return { dealId: dealCreated(market, receipt).dealId, gas: Number(receipt.gasUsed), calldataBytes };
}

async function submit(market: Market, dealId: string, index: bigint): Promise<number> {
  const worker = market.workers[0]!;
  const taskId = await market.hub.taskId(dealId, index);
  const authorization = await authorize(market, taskId, worker.address);
  return gasOf(
    market.hub.connect(worker).submitResult(dealId, index, digestOf(`result-${index}`), CID, NO_ENERGY, authorization),
  );
}

async function trustOne(market: Market, volume: bigint, withDataset: boolean): Promise<Scenario> {
  const matched = await match(market, volume, 1n, withDataset);
  const transactions: Record<string, number> = { matchOrders: matched.gas };
  let total = matched.gas;
  for (let index = 0n; index < volume; index++) {
    const gas = await submit(market, matched.dealId, index);
    total += gas;
    if (index === 0n) transactions["submitResult (first)"] = gas;
    if (index === volume - 1n && volume > 1n) transactions["submitResult (last)"] = gas;
  }
  return { transactions, total, perTask: Math.round(total / Number(volume)), matchCalldataBytes: matched.calldataBytes };
}

async function trustThree(market: Market): Promise<Scenario> {
  const [w0, w1] = market.workers;
  const matched = await match(market, 1n, 3n, false);
  const digest = digestOf("consensus");
  const transactions: Record<string, number> = { matchOrders: matched.gas };
  transactions["contribute (1st)"] = await gasOf(contribute(market, matched.dealId, 0n, w0!, digest));
  transactions["contribute (2nd, window closes)"] = await gasOf(contribute(market, matched.dealId, 0n, w1!, digest));
  transactions["reveal (1st)"] = await gasOf(reveal(market, matched.dealId, 0n, w0!, digest, CID_TEXT));
  transactions["reveal (2nd, consensus)"] = await gasOf(reveal(market, matched.dealId, 0n, w1!, digest, CID_TEXT));
  transactions["finalize"] = await gasOf(
    market.hub.connect(market.scheduler).finalize(matched.dealId, 0, CID, [w0!.address, w1!.address]),
  );
  const total = Object.values(transactions).reduce((a, b) => a + b, 0);
  return { transactions, total, perTask: total, matchCalldataBytes: matched.calldataBytes };
}

/** Deployed bytecode sizes; the EVM refuses contracts over 24,576 bytes (EIP-170). */
async function bytecodeSizes(market: Market): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const [name, contract] of Object.entries({ SunpoolHub: market.hub, AssetRegistry: market.registry })) {
    const code = await ethers.provider.getCode(await contract.getAddress());
    sizes[name] = (code.length - 2) / 2;
  }
  return sizes;
}

async function main(): Promise<void> {
  const market = await deployMarket();
  const sizes = await bytecodeSizes(market);
  for (const [name, size] of Object.entries(sizes)) {
    console.log(
      `${name} bytecode: ${size.toLocaleString("en")} bytes (${(EIP170_LIMIT - size).toLocaleString("en")} below the EIP-170 limit)`,
    );
    if (size > EIP170_LIMIT) {
      console.error(`${name} is too large to deploy on a real chain: split it or move code into libraries.`);
      process.exitCode = 1;
    }
  }
  // Warm-up: every party has been paid once, as in a running market.
  await trustOne(market, 1n, true);
  await trustThree(market);

  const results: Record<string, Scenario> = {
    "trust 1, one task": await trustOne(market, 1n, false),
    "trust 1, batch of 10": await trustOne(market, 10n, false),
    "trust 3, two agreeing workers": await trustThree(market),
    "trust 1, with a dataset": await trustOne(market, 1n, true),
  };

  for (const [name, scenario] of Object.entries(results)) {
    console.log(
      `\n${name}: total ${scenario.total.toLocaleString("en")} gas, per task ${scenario.perTask.toLocaleString("en")}, matchOrders calldata ${scenario.matchCalldataBytes} bytes`,
    );
    for (const [tx, gas] of Object.entries(scenario.transactions))
      console.log(`  ${tx.padEnd(30)} ${gas.toLocaleString("en").padStart(9)}`);
  }

  if (process.env.GAS_UPDATE) {
    writeFileSync(SNAPSHOT, JSON.stringify({ ...results, bytecode: sizes }, null, 2) + "\n");
    console.log(`\nwrote ${SNAPSHOT.pathname}`);
    return;
  }
  if (process.env.GAS_CHECK) checkAgainstSnapshot(results, sizes);
}

function checkAgainstSnapshot(results: Record<string, Scenario>, sizes: Record<string, number>): void {
  const { bytecode: recordedSizes = {}, ...snapshot } = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Record<string, Scenario> & {
    bytecode?: Record<string, number>;
  };
  const regressions: string[] = [];
  for (const [name, size] of Object.entries(sizes)) {
    const before = recordedSizes[name];
    if (before === undefined) regressions.push(`${name} bytecode: not in the snapshot`);
    else if (size > before * (1 + TOLERANCE)) regressions.push(`${name} bytecode: ${size} > ${before} bytes + 2 %`);
  }
  for (const [name, scenario] of Object.entries(results)) {
    const recorded = snapshot[name];
    if (!recorded) {
      regressions.push(`${name}: not in the snapshot (run npm run gas:update and commit it)`);
      continue;
    }
    const figures: [string, number, number | undefined][] = [
      ["total", scenario.total, recorded.total],
      ["per task", scenario.perTask, recorded.perTask],
      ["matchOrders calldata", scenario.matchCalldataBytes, recorded.matchCalldataBytes],
      ...Object.entries(scenario.transactions).map(([tx, gas]): [string, number, number | undefined] => [
        tx,
        gas,
        recorded.transactions[tx],
      ]),
    ];
    for (const [figure, now, before] of figures) {
      if (before === undefined) regressions.push(`${name} / ${figure}: not in the snapshot`);
      else if (now > before * (1 + TOLERANCE)) {
        regressions.push(
          `${name} / ${figure}: ${now} > ${before} + 2 % (${(((now - before) / before) * 100).toFixed(1)} % more)`,
        );
      }
    }
  }
  if (regressions.length > 0) {
    console.error(`\nGas regressions against snapshots/gas.json:\n- ${regressions.join("\n- ")}`);
    console.error("Make the change cheaper, or, if the cost is deliberate, run `npm run gas:update` and say why in the commit.");
    process.exitCode = 1;
    return;
  }
  console.log("\ngas: every figure within 2 % of snapshots/gas.json");
}

await main();
