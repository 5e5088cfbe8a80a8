import { SunpoolError } from "./base.js";

/** The result content could not be fetched from IPFS. */
export class ResultUnavailableError extends SunpoolError {
  override name = "ResultUnavailableError";
  constructor(
    readonly location: string,
    cause: unknown,
  ) {
    super("RESULT_UNAVAILABLE", `Cannot fetch the result ${location} from IPFS.`, {
      hints: [
        "The scheduler's IPFS node pins every result: check that it is reachable (its multiaddrs are in sunpool info),",
        "or pass --ipfs-peer / --kubo to fetch from another node.",
      ],
      cause,
    });
  }
}

/** The fetched content does not hash to the digest recorded on-chain: it must not be trusted. */
export class ResultMismatchError extends SunpoolError {
  override name = "ResultMismatchError";
  constructor(
    readonly location: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super("RESULT_MISMATCH", `The content at ${location} does not match the on-chain result digest.`, {
      hints: ["Do not use this content. Report the scheduler; the digest on-chain is what the workers agreed on."],
      details: `expected ${expected}, computed ${actual}`,
      docsPath: "docs/results.md",
    });
  }
}
