// Where a task's result goes and its dataset comes from. Two ways, chosen by the config's
// `ipfs.mode` (docs/worker.md, "IPFS"): "pool" (the default) hands results to the pool's IPFS
// node over its HTTP API and reads datasets from it, with no libp2p in the process; "node" runs
// a Helia node in the worker, which the pool's node fetches from. The pipeline and the executor
// see only this interface, so neither branches on the mode.
import type { ResultFile } from "@sunpool/sdk";

export interface ResultStore {
  /** Multiaddrs the worker registers for the pool's node to fetch from (none in pool mode). */
  peers(): string[];
  /**
   * The CID `files` are published under. A node adds them (and serves them from then on); pool
   * mode only computes it. Same files, same CID, any number of times.
   */
  add(files: readonly ResultFile[]): Promise<string>;
  /**
   * Has the pool's always-on node pin `cid` (idempotent). `files` are its files, read again from
   * the task folder; empty when they are lost, and the pool is then asked to pin what it may
   * already hold. `poolPeers` are the pool node's multiaddrs.
   */
  pin(cid: string, files: readonly ResultFile[], poolPeers: readonly string[]): Promise<void>;
  /**
   * A dataset's files, refused past `maxBytes`. Throws ContentMismatchError when what arrived is
   * not the content of `cid`.
   */
  readDataset(
    cid: string,
    options: { poolPeers: readonly string[]; maxBytes: number; signal: AbortSignal },
  ): Promise<ResultFile[]>;
  stop(): Promise<void>;
}

/** Content that does not hash to the CID it was asked for. */
export class ContentMismatchError extends Error {
  override readonly name = "ContentMismatchError";
}
