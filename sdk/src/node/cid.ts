// A result's CID without an IPFS node (./unixfs.ts computes it). Imported on first use: a worker
// agent idles for hours between results, and the UnixFS importer's modules would stay in its
// memory all along (docs/benchmarks.md, "Worker footprint").
import type { ResultFile } from "../results/digest.js";

/** The CID of the folder of `files` (CIDv1, raw leaves, 1 MiB chunks), as an IPFS node's addFiles makes it. */
export async function resultCid(files: readonly ResultFile[]): Promise<string> {
  const { computeResultCid } = await import("./unixfs.js");
  return computeResultCid(files);
}
