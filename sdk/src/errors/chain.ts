import { redactUrl, SunpoolError } from "./base.js";

/** Hints for the contract errors a user can act on; the others are reported by name and values. */
const REVERT_HINTS: Record<string, string> = {
  OrderExhausted: "The order was fully used or cancelled: ask for a fresh one.",
  OrderInvalidSignature: "The order was signed for another chain or hub, or altered after signing: sign it again.",
  MatchPriceTooHigh: "Raise the request's max price or find a cheaper order.",
  MatchTrustTooHigh: "Lower the trust level or use a workerpool that offers it.",
  MatchCategoryMismatch: "Use the category the workerpool order offers.",
  MatchAppNotDeterministic:
    "The app is registered as non-deterministic: its replicas cannot agree. Request trust 1 (sunpool run --trust 1).",
  EscrowInsufficientBalance: "Deposit more: sunpool account deposit <amount>",
  RegistryAssetExists: "Pick another name, or use the existing asset's id.",
  RegistryUnknownAsset: "Register the asset first, or check its id.",
  TaskDeadlineNotReached: "Wait until the deadline has passed, then retry.",
  TaskAlreadyEnded: "The task has ended already: read its outcome with sunpool task show <deal> <index>.",
  TaskConsensusReached: "The task's revealed results hold consensus: finalize it instead.",
  TaskNoConsensus: "The revealed results do not hold consensus (yet): wait for the reveals, or reopen after the reveal deadline.",
};

/** A contract call reverted with one of the contracts' custom errors (docs/protocol.md). */
export class ContractRevertError extends SunpoolError {
  override name = "ContractRevertError";
  constructor(
    readonly action: string,
    readonly errorName: string,
    readonly args: readonly unknown[],
    cause?: unknown,
  ) {
    const hint = REVERT_HINTS[errorName];
    super("CONTRACT_REVERT", `${action} reverted: ${errorName}(${args.map(formatArg).join(", ")}).`, {
      hints: hint === undefined ? [] : [hint],
      docsPath: "docs/protocol.md",
      cause,
    });
  }
}

/** The chain's RPC endpoint could not be reached or answered with a transport error. */
export class RpcUnreachableError extends SunpoolError {
  override name = "RpcUnreachableError";
  constructor(url: string, cause: unknown) {
    super("RPC_UNREACHABLE", `Cannot reach the chain at ${redactUrl(url)}.`, {
      hints: ["Check --rpc (or SUNPOOL_RPC_URL / the config file); for the devnet run: npm run devnet"],
      cause,
    });
  }
}

function formatArg(value: unknown): string {
  return typeof value === "bigint" ? value.toString() : String(value);
}
