// How result files become a UnixFS folder, and its CID computed without an IPFS node. A worker
// that hands its result to the pool's node (docs/worker.md, "IPFS") needs only the CID: it
// computes it here, with the exact import settings the Helia node's addFiles uses (./ipfs.ts), so
// the CID it journals is the one the pool's node gets when it adds the same files. Both reach this
// module through import() (./cid.ts, ./ipfs.ts): the importer loads when first used.
import { importer, type ImporterOptions } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import type { CID } from "multiformats/cid";

import { InvalidInputError } from "../errors/input.js";
import type { ResultFile } from "../results/digest.js";

/** The folder every result is wrapped in (its name is not part of the CID, its entries are). */
const ROOT = "result";

/**
 * CIDv1 with raw leaves, 1 MiB chunks, balanced DAG of up to 1024 links: @helia/unixfs's
 * defaults, written out so that a Helia upgrade that changes them cannot change result CIDs.
 */
export function resultImportOptions(): Pick<ImporterOptions, "cidVersion" | "rawLeaves" | "chunker" | "layout"> {
  return {
    cidVersion: 1,
    rawLeaves: true,
    chunker: fixedSize({ chunkSize: 1_048_576 }),
    layout: balanced({ maxChildrenPerNode: 1024 }),
  };
}

/** The importer's input for result files: one folder holding them. */
export function resultImportSource(files: readonly ResultFile[]): { path: string; content: Uint8Array }[] {
  if (files.length === 0) throw new InvalidInputError("result files", "an empty list", "at least one file");
  return files.map((file) => ({ path: `${ROOT}/${file.path}`, content: file.content }));
}

/** The CID of the folder of `files`, as an IPFS node adds it (no node, no blocks kept). */
export async function computeResultCid(files: readonly ResultFile[]): Promise<string> {
  // The importer hands every block to `put`: hashing it was all that was needed.
  const discard = { put: (cid: CID) => cid };
  return rootOf(importer(resultImportSource(files), discard, resultImportOptions()));
}

/** The folder's CID among the importer's entries. */
export async function rootOf(entries: AsyncIterable<{ path?: string; cid: CID }>): Promise<string> {
  let root: CID | undefined;
  for await (const entry of entries) if (entry.path === ROOT) root = entry.cid;
  if (root === undefined) throw new InvalidInputError("result files", "an empty list", "at least one file");
  return root.toString();
}
