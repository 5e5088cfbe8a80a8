// sunpool account deposit | withdraw | balance
import { type Command } from "commander";
import { parseUnits } from "ethers";

import { deposit, getBalance, withdraw } from "../../actions/account.js";
import { formatSun } from "../../errors/account.js";
import { InvalidInputError } from "../../errors/input.js";
import type { Context } from "../context.js";

/** Parses a SUN amount typed by a person ("12.5") into token units. */
export function parseSun(text: string): bigint {
  try {
    return parseUnits(text, 18);
  } catch {
    throw new InvalidInputError("amount", text, "a SUN amount such as 10 or 0.25");
  }
}

export function registerAccountCommands(program: Command, context: () => Context): void {
  const account = program.command("account").description("Your escrow account at the hub");
  account
    .command("balance")
    .description("Show free, locked and wallet balances")
    .option("--account <address>", "another account than the wallet's")
    .addHelpText("after", "\nExamples:\n  $ sunpool account balance\n  $ sunpool account balance --account 0xabc... --json")
    .action(async (options: { account?: string }) => {
      const ctx = context();
      const client = await ctx.client(options.account === undefined);
      const balance = await getBalance(client, options.account === undefined ? {} : { account: options.account });
      ctx.output.result(balance, [
        `Account ${balance.account}`,
        `  free    ${formatSun(balance.balance)}`,
        `  locked  ${formatSun(balance.locked)}`,
        `  wallet  ${formatSun(balance.wallet)}`,
      ]);
    });
  account
    .command("deposit <amount>")
    .description("Move SUN from the wallet into the escrow (one transaction, EIP-2612 permit)")
    .option("--for <address>", "credit another account, e.g. your worker's stake (approve + depositFor: two transactions)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ sunpool account deposit 100\n  $ sunpool account deposit 0.5 --json\n  $ sunpool account deposit 50 --for 0xWORKER   # a worker's stake",
    )
    .action(async (amount: string, options: { for?: string }) => {
      const ctx = context();
      const client = await ctx.client(true);
      const result = await deposit(client, {
        amount: parseSun(amount),
        ...(options.for === undefined ? {} : { for: options.for }),
      });
      ctx.output.result(result, [`Deposited ${formatSun(result.amount)} for ${result.account} (tx ${result.transactionHash})`]);
    });
  account
    .command("withdraw <amount>")
    .description("Move free escrow balance back to the wallet")
    .option("--to <address>", "send to another address")
    .addHelpText("after", "\nExamples:\n  $ sunpool account withdraw 10\n  $ sunpool account withdraw 10 --to 0xabc...")
    .action(async (amount: string, options: { to?: string }) => {
      const ctx = context();
      const client = await ctx.client(true);
      const result = await withdraw(client, {
        amount: parseSun(amount),
        ...(options.to === undefined ? {} : { to: options.to }),
      });
      ctx.output.result(result, [`Withdrew ${formatSun(result.amount)} to ${result.to} (tx ${result.transactionHash})`]);
    });
}
