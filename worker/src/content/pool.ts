// Pool mode: the worker runs no IPFS node. It computes a result's CID itself, uploads the files
// for the pool's node to add and pin (which checks the same CID), and downloads a dataset's files
// from that node, recomputing their CID: the pool's node is trusted with availability only.
import { pinResult, type ResultFile } from "@sunpool/sdk";
import { downloadContent, resultCid, uploadResult, type WorkerHttpClient } from "@sunpool/sdk/node";

import { ContentMismatchError, type ResultStore } from "./store.js";

export function createPoolResultStore(api: WorkerHttpClient): ResultStore {
  return {
    peers: () => [],
    add: (files) => resultCid(files),
    async pin(cid, files) {
      if (files.length > 0) await uploadResult(api, { cid, files });
      else await pinResult(api, { cid });
    },
    async readDataset(cid, options) {
      const files: ResultFile[] = await downloadContent(api, cid, { maxBytes: options.maxBytes, signal: options.signal });
      if (files.length === 0) throw new ContentMismatchError(`the pool's node served no files for ${cid}`);
      const arrived = await resultCid(files);
      if (arrived !== cid) {
        throw new ContentMismatchError(
          `the files the pool's node served for ${cid} make ${arrived}: it served other content, or the dataset was ` +
            `not added as Sunpool adds it (CIDv1, raw leaves, 1 MiB chunks, one folder); such a dataset needs ipfs.mode "node"`,
        );
      }
      return files;
    },
    stop: () => Promise.resolve(),
  };
}
