import { formatUnits } from "ethers";

import { SunpoolError } from "./base.js";

/** Formats a token amount (18 decimals) for messages: `12.5 SUN`. */
export function formatSun(amount: bigint): string {
  return `${formatUnits(amount, 18)} SUN`;
}

/** The escrow balance (deposited, not locked) does not cover what the operation needs. */
export class InsufficientBalanceError extends SunpoolError {
  override name = "InsufficientBalanceError";
  readonly missing: bigint;
  constructor(
    readonly account: string,
    readonly balance: bigint,
    readonly needed: bigint,
    purpose: "spend" | "withdraw" = "spend",
  ) {
    const missing = needed - balance;
    super(
      "INSUFFICIENT_BALANCE",
      `Escrow balance of ${account} is ${formatSun(balance)}; this needs ${formatSun(needed)} (${formatSun(missing)} missing).`,
      {
        hints:
          purpose === "spend"
            ? [
                `Deposit the difference: sunpool account deposit ${formatUnits(missing, 18)}`,
                "(from code: deposit(client, { amount }))",
              ]
            : ["Only the free balance can be withdrawn; locked funds come back as your tasks end (sunpool account balance)."],
        docsPath: "docs/sdk.md#account",
      },
    );
    this.missing = missing;
  }
}

/** The wallet holds fewer tokens than it tries to deposit. */
export class InsufficientTokensError extends SunpoolError {
  override name = "InsufficientTokensError";
  constructor(
    readonly account: string,
    readonly held: bigint,
    readonly needed: bigint,
  ) {
    super("INSUFFICIENT_TOKENS", `Wallet ${account} holds ${formatSun(held)} but the deposit needs ${formatSun(needed)}.`, {
      hints: [
        "Get SUN tokens into this wallet first (on the devnet the deployer account holds the supply),",
        "or deposit a smaller amount.",
      ],
      docsPath: "docs/sdk.md#account",
    });
  }
}
