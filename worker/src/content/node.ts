// Node mode: the worker runs its own Helia node (sdk's createIpfsNode, which loads libp2p when it
// is called). A result is added to it and the pool's node fetches it from there over bitswap; a
// dataset is fetched from the pool's node the same way (bitswap checks every block's hash).
import { pinResult, type SchedulerClient } from "@sunpool/sdk";
import { createIpfsNode, type IpfsNode } from "@sunpool/sdk/node";

import type { ResultStore } from "./store.js";

/** Starts a node with its repo in `repo` (the worker's data folder). */
export async function startNodeResultStore(
  api: SchedulerClient,
  options: { repo: string; listen?: string[] },
): Promise<ResultStore> {
  return nodeResultStore(await createIpfsNode(options), api, { owned: true });
}

/** A store over a running node; `owned`: stopping the store stops the node. */
export function nodeResultStore(node: IpfsNode, api: SchedulerClient, options: { owned: boolean }): ResultStore {
  return {
    peers: () => node.multiaddrs(),
    add: (files) => node.addFiles(files),
    async pin(cid, _files, poolPeers) {
      await node.connect(poolPeers);
      await pinResult(api, { cid, providers: node.multiaddrs() });
    },
    async readDataset(cid, options) {
      await node.connect(options.poolPeers);
      return node.readFiles(cid, { signal: options.signal, maxBytes: options.maxBytes });
    },
    stop: () => (options.owned ? node.stop() : Promise.resolve()),
  };
}
