// `npm run devnet:fund -- <address>`: fund a worker you brought yourself (a Pi flashed with the
// Sunpool image, or a worker on another machine) on a running devnet: gas money, and its stake
// deposited for it from the devnet's bank account, as its owner would on a real chain
// (`sunpool account deposit <SUN> --for <address>`).
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { createRpcProvider, createSunpoolClient, deposit, getBalance, parseDeployment } from "@sunpool/sdk";
import { isAddress, parseEther } from "ethers";

import { devnetWallet, SUN } from "./market.ts";

const usage = "Usage: npm run devnet:fund -- <worker address> [--stake SUN] [--eth ETH]";
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { stake: { type: "string", default: "50" }, eth: { type: "string", default: "1" } },
});
const [address] = positionals;
if (address === undefined || !isAddress(address)) {
  console.error(`devnet:fund: give the worker's address (0x + 40 hex digits; the Pi prints it). ${usage}`);
  process.exit(2);
}
const stake = Number(values.stake);
if (!(stake > 0) || !Number.isInteger(stake)) {
  console.error(`devnet:fund: --stake must be a whole number of SUN, got '${values.stake}'. ${usage}`);
  process.exit(2);
}

const state = resolve(process.env.SUNPOOL_DEVNET_STATE ?? join(import.meta.dirname, "..", ".devnet"));
let info: { rpcUrl: string; deployment: unknown };
try {
  info = JSON.parse(await readFile(join(state, "devnet.json"), "utf8")) as typeof info;
} catch {
  console.error(`devnet:fund: no running devnet (no ${join(state, "devnet.json")}). Start one first: npm run devnet`);
  process.exit(1);
}
const provider = createRpcProvider(info.rpcUrl);
try {
  const bank = await createSunpoolClient({ deployment: parseDeployment(info.deployment), provider, signer: devnetWallet(0) });
  await (await bank.signer!.sendTransaction({ to: address, value: parseEther(values.eth) })).wait();
  await deposit(bank, { amount: BigInt(stake) * SUN, for: address });
  const balance = await getBalance(bank, { account: address });
  console.log(
    JSON.stringify({ address, eth: values.eth, escrowBalance: (balance.balance / SUN).toString(), stake: stake.toString() }),
  );
} finally {
  provider.destroy();
}
