// Escrow account: what a requester, a scheduler or a worker has deposited in the hub.
import { Signature } from "ethers";

import { read, send } from "../chain.js";
import { type SunpoolClient, requireSigner } from "../client.js";
import { InsufficientBalanceError, InsufficientTokensError } from "../errors/account.js";
import { InvalidInputError } from "../errors/input.js";
import { address as parseAddress } from "../orders/build.js";

/** EIP-2612 `Permit` typed-data types (OpenZeppelin ERC20Permit). */
export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export interface GetBalanceParameters {
  /** Defaults to the client's signer. */
  account?: string;
}

export interface Balance {
  account: string;
  /** Deposited and free to spend or withdraw. */
  balance: bigint;
  /** Held for tasks in flight (requester payments) and stakes (schedulers, workers). */
  locked: bigint;
  /** SUN tokens in the wallet itself, outside the escrow. */
  wallet: bigint;
}

/** Escrow balance, locked amount and wallet token balance of an account. */
export async function getBalance(client: SunpoolClient, parameters: GetBalanceParameters = {}): Promise<Balance> {
  const account =
    parameters.account === undefined
      ? (await requireSigner(client, "Reading your balance")).address
      : parseAddress("account", parameters.account);
  const [balance, locked, wallet] = await read("balanceOf", () =>
    Promise.all([client.hub.balanceOf(account), client.hub.lockedOf(account), client.token.balanceOf(account)]),
  );
  return { account, balance, locked, wallet };
}

export interface DepositParameters {
  /** Amount in token units (wei of SUN). */
  amount: bigint;
  /** Permit deadline in seconds from now (default 1 hour). */
  permitValiditySeconds?: number;
  /**
   * Credit another account, e.g. a worker's stake paid from its owner's wallet (the worker's own
   * wallet then only needs gas). Two transactions: approve, then depositFor.
   */
  for?: string;
}

/**
 * Deposits SUN into the escrow in one transaction, authorizing the hub with an EIP-2612 permit
 * signature instead of a separate approve transaction.
 */
export async function deposit(client: SunpoolClient, parameters: DepositParameters) {
  const amount = positive("amount", parameters.amount);
  const { signer, address } = await requireSigner(client, "Depositing");
  const held = await read("balanceOf", () => client.token.balanceOf(address));
  if (held < amount) throw new InsufficientTokensError(address, held, amount);
  const beneficiary = parameters.for === undefined ? address : parseAddress("for", parameters.for);
  if (beneficiary !== address) {
    // No permit here: depositWithPermit credits msg.sender only.
    await send("approve", () => client.token.approve(client.deployment.hub, amount));
    const receipt = await send("depositFor", () => client.hub.depositFor(beneficiary, amount));
    return { transactionHash: receipt.hash, amount, account: beneficiary };
  }

  const [nonce, name, latest] = await read("permit nonce", () =>
    Promise.all([client.token.nonces(address), client.token.name(), client.provider.getBlock("latest")]),
  );
  const deadline = BigInt((latest?.timestamp ?? Math.floor(Date.now() / 1000)) + (parameters.permitValiditySeconds ?? 3600));
  const signature = Signature.from(
    await signer.signTypedData(
      { name, version: "1", chainId: client.deployment.chainId, verifyingContract: client.deployment.token },
      PERMIT_TYPES,
      { owner: address, spender: client.deployment.hub, value: amount, nonce, deadline },
    ),
  );
  const receipt = await send("depositWithPermit", () =>
    client.hub.depositWithPermit(amount, deadline, signature.v, signature.r, signature.s),
  );
  return { transactionHash: receipt.hash, amount, account: address };
}

export interface WithdrawParameters {
  amount: bigint;
  /** Recipient of the tokens (default: the signer). */
  to?: string;
}

/** Withdraws free escrow balance to a wallet. */
export async function withdraw(client: SunpoolClient, parameters: WithdrawParameters) {
  const amount = positive("amount", parameters.amount);
  const { address } = await requireSigner(client, "Withdrawing");
  const to = parameters.to === undefined ? address : parseAddress("to", parameters.to);
  const balance = await read("balanceOf", () => client.hub.balanceOf(address));
  if (balance < amount) throw new InsufficientBalanceError(address, balance, amount, "withdraw");
  const receipt = await send("withdraw", () => client.hub.withdraw(to, amount));
  return { transactionHash: receipt.hash, amount, to };
}

function positive(field: string, value: bigint): bigint {
  if (typeof value !== "bigint" || value <= 0n) throw new InvalidInputError(field, value, "a positive amount");
  return value;
}
