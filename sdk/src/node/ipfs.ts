// IPFS for Node: an in-process Helia node (the default) and a reader over a Kubo daemon.
//
// The Helia node is a light one: TCP on loopback (or the addresses given), noise, yamux,
// identify and bitswap, and no bootstrap, DHT, delegated routing or public gateways. It finds
// content by dialing the peers it is told about (the scheduler's always-on node, whose
// multiaddrs GET /v1/info returns); every result is verified against its on-chain digest anyway.
// The stack is imported when a node is created, not with this module: a process that only reads
// the keystore or computes a CID (a worker publishing through its pool) never loads libp2p.
import type { Multiaddr } from "@multiformats/multiaddr";
import type { KuboRPCClient } from "kubo-rpc-client";
import { CID } from "multiformats/cid";
import { join } from "node:path";

import { InvalidInputError } from "../errors/input.js";
import type { ResultFile } from "../results/digest.js";
import type { ContentReader } from "../results/reader.js";

export interface IpfsNode extends ContentReader {
  /** Addresses other nodes can dial. */
  multiaddrs(): string[];
  /** Connects to peers by multiaddr (ignoring the ones that fail, which are returned). */
  connect(peers: readonly string[]): Promise<string[]>;
  /** Adds files as one UnixFS folder (CIDv1, raw leaves) and returns the folder's CID. */
  addFiles(files: readonly ResultFile[]): Promise<string>;
  /**
   * Fetches every block of `cid` (from connected peers) and pins it; returns the content's size.
   * Throws once more than `maxBytes` arrived; what was fetched is unpinned again.
   */
  pin(cid: string, options: { maxBytes: number; signal?: AbortSignal }): Promise<number>;
  stop(): Promise<void>;
}

export interface CreateIpfsNodeParameters {
  /** Folder for blocks and the node's identity; in memory when absent. */
  repo?: string;
  /** libp2p listen addresses (default: a random TCP port on 127.0.0.1). */
  listen?: string[];
  /**
   * Whether the node may dial private, loopback, link-local and reserved addresses, and names
   * (default true). A node that dials addresses others hand it — a pool's node fetching from the
   * multiaddrs workers register — sets false outside a LAN: otherwise anyone it serves can make it
   * connect to hosts on its own network. False dials global IP addresses only (a name could
   * resolve to anything).
   */
  dialPrivate?: boolean;
}

export async function createIpfsNode(parameters: CreateIpfsNodeParameters = {}): Promise<IpfsNode> {
  const [
    { noise },
    { yamux },
    { withBitswap },
    { withLibp2pLight },
    { unixfs },
    { identify },
    { tcp },
    { MemoryBlockstore },
    { FsBlockstore },
    { MemoryDatastore },
    { FsDatastore },
    { createHeliaLight },
    { multiaddr },
    { resultImportOptions, resultImportSource, rootOf },
    { isPrivateIp },
  ] = await Promise.all([
    import("@chainsafe/libp2p-noise"),
    import("@chainsafe/libp2p-yamux"),
    import("@helia/bitswap"),
    import("@helia/libp2p"),
    import("@helia/unixfs"),
    import("@libp2p/identify"),
    import("@libp2p/tcp"),
    import("blockstore-core"),
    import("blockstore-fs"),
    import("datastore-core"),
    import("datastore-fs"),
    import("helia"),
    import("@multiformats/multiaddr"),
    import("./unixfs.js"),
    import("@libp2p/utils"),
  ]);
  // libp2p asks the gater before every dial, with names already resolved where it resolves them.
  const globalOnly = (address: Multiaddr): boolean => {
    const [first] = address.getComponents();
    if (first?.value === undefined || (first.name !== "ip4" && first.name !== "ip6")) return true;
    return isPrivateIp(first.value) !== false;
  };
  const stores =
    parameters.repo === undefined
      ? { blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore() }
      : {
          blockstore: new FsBlockstore(join(parameters.repo, "blocks")),
          datastore: new FsDatastore(join(parameters.repo, "datastore")),
        };
  const helia = withBitswap(
    withLibp2pLight(createHeliaLight(stores), {
      addresses: { listen: parameters.listen ?? ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
      // libp2p refuses a host's sixth inbound connection within a second. Loopback peers are
      // processes on this machine (a devnet: the pool's node, its workers' nodes, requesters):
      // limiting them protects nothing and failed one pin in six, which then waited its timeout.
      connectionManager: { allow: ["/ip4/127.0.0.0/ipcidr/8", "/ip6/::1/ipcidr/128"] },
      ...(parameters.dialPrivate === false ? { connectionGater: { denyDialMultiaddr: globalOnly } } : {}),
    }),
  );
  await helia.start();
  const fs = unixfs(helia);
  const walker: FolderSource = {
    async list(cid, signal) {
      const entries: { name: string; cid: string; directory: boolean }[] = [];
      for await (const entry of fs.ls(CID.parse(cid), { signal })) {
        const stat = await fs.stat(entry.cid, { signal });
        entries.push({ name: entry.name, cid: entry.cid.toString(), directory: stat.type === "directory" });
      }
      return entries;
    },
    cat: (cid, signal) => fs.cat(CID.parse(cid), { signal }),
    isDirectory: async (cid, signal) => (await fs.stat(CID.parse(cid), { signal })).type === "directory",
  };
  return {
    multiaddrs: () => helia.libp2p.getMultiaddrs().map(String),
    async connect(peers) {
      const failed: string[] = [];
      await Promise.all(
        peers.map(async (peer) => {
          try {
            await helia.libp2p.dial(multiaddr(peer), { signal: AbortSignal.timeout(5000) });
          } catch {
            failed.push(peer);
          }
        }),
      );
      return failed;
    },
    addFiles: (files) => rootOf(fs.addAll(resultImportSource(files), resultImportOptions())),
    readFiles: (location, options) => readFolder(walker, location, options),
    async pin(location, options) {
      const root = parseCid(location);
      let bytes = 0;
      try {
        for await (const block of helia.pins.add(root, { signal: options.signal })) {
          for await (const chunk of helia.blockstore.get(block, { signal: options.signal })) bytes += chunk.length;
          if (bytes > options.maxBytes) {
            throw new InvalidInputError(
              "pinned content",
              `more than ${options.maxBytes.toString()} bytes`,
              "a result within the app's output cap",
            );
          }
        }
      } catch (error) {
        if (await helia.pins.isPinned(root)) for await (const _ of helia.pins.rm(root)) void _;
        throw error;
      }
      return bytes;
    },
    async stop() {
      await helia.stop();
    },
  };
}

/** A reader over a Kubo daemon's RPC API (e.g. http://127.0.0.1:5001). */
export function createKuboReader(url: string): ContentReader {
  let client: Promise<KuboRPCClient> | undefined;
  const kubo = () => (client ??= import("kubo-rpc-client").then(({ create }) => create({ url })));
  const source: FolderSource = {
    async list(cid, signal) {
      const entries: { name: string; cid: string; directory: boolean }[] = [];
      for await (const entry of (await kubo()).ls(CID.parse(cid), { signal })) {
        entries.push({ name: entry.name, cid: entry.cid.toString(), directory: entry.type === "dir" });
      }
      return entries;
    },
    async *cat(cid, signal) {
      yield* (await kubo()).cat(CID.parse(cid), { signal });
    },
    isDirectory: async (cid, signal) => (await (await kubo()).files.stat(`/ipfs/${cid}`, { signal })).type === "directory",
  };
  return { readFiles: (location, options) => readFolder(source, location, options) };
}

interface FolderSource {
  list(cid: string, signal?: AbortSignal): Promise<{ name: string; cid: string; directory: boolean }[]>;
  cat(cid: string, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  isDirectory(cid: string, signal?: AbortSignal): Promise<boolean>;
}

/** Walks a UnixFS folder into files, refusing to read more than `maxBytes` in total. */
async function readFolder(
  source: FolderSource,
  location: string,
  options: { signal?: AbortSignal; maxBytes: number },
): Promise<ResultFile[]> {
  const files: ResultFile[] = [];
  let total = 0;
  const read = async (cid: string): Promise<Uint8Array> => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of source.cat(cid, options.signal)) {
      total += chunk.length;
      if (total > options.maxBytes)
        throw new InvalidInputError("result size", `over ${options.maxBytes} bytes`, "a smaller result, or raise maxBytes");
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  };
  const walk = async (cid: string, prefix: string): Promise<void> => {
    for (const entry of await source.list(cid, options.signal)) {
      const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (entry.directory) await walk(entry.cid, path);
      else files.push({ path, content: await read(entry.cid) });
    }
  };
  CID.parse(location);
  if (await source.isDirectory(location, options.signal)) await walk(location, "");
  else files.push({ path: "result", content: await read(location) });
  return files;
}

function parseCid(location: string): CID {
  try {
    return CID.parse(location);
  } catch {
    throw new InvalidInputError("cid", location, "an IPFS CID (e.g. bafy...)");
  }
}
