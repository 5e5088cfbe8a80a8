import type { ResultFile } from "./digest.js";

/**
 * Reads a result folder from content-addressed storage. The Node entry provides one over an
 * in-process Helia node and one over a Kubo daemon; a browser app can wrap its own Helia node.
 */
export interface ContentReader {
  /** Every regular file under `location` (a CID), with paths relative to it. */
  readFiles(location: string, options: { signal?: AbortSignal; maxBytes: number }): Promise<ResultFile[]>;
}
