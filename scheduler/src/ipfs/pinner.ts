// The scheduler's always-on IPFS node keeps every result its workers produce: a worker hands its
// result over (POST /v1/workers/pins) before revealing it, and settlement pins again before
// finalizing if that did not happen, so a result stays fetchable while the Pi that computed it
// sleeps. Before finalizing, settlement checks that what it pinned hashes to the consensus digest
// (when the result is not encrypted to the requester, which only the requester can check).
// A worker that runs no IPFS node uploads its result's files instead (addResult), and reads its
// dataset through this node (readContent).
import { ENCRYPTED_RESULT_FILE, InvalidInputError, resultDigest, type ResultFile } from "@sunpool/sdk";
import { resultCid, type IpfsNode } from "@sunpool/sdk/node";

import { Rejection } from "../errors.js";
import type { Store } from "../store/store.js";

export interface PinnerOptions {
  maxBytes: number;
  timeoutMs: number;
  /**
   * The store is shared by replicas, each with its own IPFS node: a `pins` row says that some
   * replica pinned the content, not that this node holds it, so this node pins it again (at once
   * when it holds the blocks) instead of trusting the row.
   */
  sharedStore?: boolean;
  /** The node dials only global addresses (config `ipfs.dialPrivate` off): said when a pin times out. */
  globalOnly?: boolean;
}

/** A fetch in flight (ensurePinned), and the upload of the same content that ended it, if any. */
interface Fetch {
  stop: AbortController;
  /** Settles once the fetch's pin attempt is over (and it cleaned up after a failure). */
  ended: Promise<void>;
  bytes: Promise<number>;
  upload?: Promise<number>;
}

export class Pinner {
  /** CIDs this process pinned on its node (with a shared store, the rows say nothing of this node). */
  private readonly pinnedHere = new Set<string>();
  /** Fetches in flight, by CID. */
  private readonly fetches = new Map<string, Fetch>();
  /** Uploads being added and pinned, by CID. */
  private readonly uploads = new Map<string, Promise<number>>();

  constructor(
    readonly node: IpfsNode,
    private readonly db: Store,
    private readonly options: PinnerOptions,
  ) {}

  /** The largest content pinned or served, in bytes. */
  get maxBytes(): number {
    return this.options.maxBytes;
  }

  async isPinned(cid: string): Promise<boolean> {
    return (await this.db.get("SELECT 1 FROM pins WHERE cid = ?", cid)) !== undefined;
  }

  /**
   * Whether pinned content `cid` is a result with digest `digest`: true or false, or undefined
   * for a result encrypted to the requester (its digest is over the plaintext).
   */
  async matchesDigest(cid: string, digest: string): Promise<boolean | undefined> {
    const files = await this.node.readFiles(cid, {
      maxBytes: this.options.maxBytes,
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (files.length === 1 && files[0]!.path === ENCRYPTED_RESULT_FILE) return undefined;
    return resultDigest(files).toLowerCase() === digest.toLowerCase();
  }

  /**
   * Adds the files a worker uploaded as the result `cid` and pins it; returns its size in bytes.
   * The CID is computed before anything is stored: files that make another CID are refused and
   * leave nothing behind. The same upload again is harmless.
   */
  async addResult(cid: string, files: readonly ResultFile[], worker: string): Promise<number> {
    const computed = await resultCid(files);
    if (computed !== cid) {
      throw new Rejection(
        422,
        "CID mismatch",
        `the uploaded files make ${computed}, not ${cid}`,
        "Upload exactly the files the CID was computed over (the SDK's resultCid: CIDv1, raw leaves, 1 MiB chunks, in a folder).",
        "/cid",
      );
    }
    // The same content uploaded twice at once (the CID binds it): the second shares the first.
    const uploading = this.uploads.get(cid);
    if (uploading !== undefined) return await uploading;
    // Helia's fetch of a CID does not end when the same blocks are added locally meanwhile: it would
    // wait out its timeout (a pool-mode and a node-mode replica of one task hand over the same
    // result). The upload ends a fetch in flight, lets it clean up (it unpins what it had started),
    // then pins the files; the fetch answers with this pin. A fetch asked for while the upload runs
    // waits for it (ensurePinned).
    const fetch = this.fetches.get(cid);
    const upload =
      fetch === undefined
        ? this.addAndPin(cid, files, worker)
        : (async () => {
            fetch.stop.abort();
            await fetch.ended;
            return await this.addAndPin(cid, files, worker);
          })();
    if (fetch !== undefined) fetch.upload = upload;
    this.uploads.set(cid, upload);
    try {
      return await upload;
    } finally {
      if (this.uploads.get(cid) === upload) this.uploads.delete(cid);
    }
  }

  private async addAndPin(cid: string, files: readonly ResultFile[], worker: string): Promise<number> {
    const existing = await this.db.get<{ bytes: number }>("SELECT bytes FROM pins WHERE cid = ?", cid);
    if (existing !== undefined && this.holds(cid)) return existing.bytes;
    const added = await this.node.addFiles(files);
    // Both sides run the same importer settings; a difference would be a bug here, not the worker's.
    if (added !== cid) throw new Error(`the IPFS node added ${added} where the importer computed ${cid}`);
    const bytes = await this.node.pin(cid, {
      maxBytes: this.options.maxBytes,
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await this.record(cid, bytes, worker);
    return bytes;
  }

  /** The files of `cid` (fetched from the node's peers if it does not hold them), within the size limit. */
  async readContent(cid: string): Promise<ResultFile[]> {
    try {
      return await this.node.readFiles(cid, {
        maxBytes: this.options.maxBytes,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const absent = "Check the CID: content this pool's node does not hold must be served by a node it is connected to.";
      if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
        throw new Rejection(
          504,
          "content not found",
          `could not fetch ${cid} within ${(this.options.timeoutMs / 1000).toString()} s`,
          absent,
        );
      }
      if (error instanceof Error && error.name === "LoadBlockFailedError") {
        throw new Rejection(404, "content not found", `neither this pool's node nor its peers hold ${cid}`, absent);
      }
      if (error instanceof InvalidInputError && error.message.startsWith("Invalid result size")) {
        throw new Rejection(
          413,
          "content too large",
          `${cid} is larger than ${this.options.maxBytes.toString()} bytes`,
          'This pool serves content up to its pin limit; read larger content with an IPFS node (worker config ipfs.mode "node").',
        );
      }
      throw new Rejection(
        400,
        "cannot read content",
        `${cid}: ${error instanceof Error ? error.message : String(error)}`,
        "Send the CID of a UnixFS file or folder.",
        "/cid",
      );
    }
  }

  /**
   * Fetches the content from `providers` and pins it; returns its size in bytes. One fetch per
   * CID: a second request for it shares the first, and one made while the CID is being uploaded
   * waits for the upload.
   */
  async ensurePinned(cid: string, providers: readonly string[], worker: string): Promise<number> {
    const existing = await this.db.get<{ bytes: number }>("SELECT bytes FROM pins WHERE cid = ?", cid);
    if (existing !== undefined && this.holds(cid)) return existing.bytes;
    const running = this.uploads.get(cid) ?? this.fetches.get(cid)?.bytes;
    if (running !== undefined) return await running;
    let end = () => {};
    const fetch: Fetch = {
      stop: new AbortController(),
      ended: new Promise<void>((resolve) => (end = resolve)),
      bytes: Promise.resolve(0),
    };
    fetch.bytes = this.fetchAndPin(cid, providers, worker, fetch, end).finally(() => {
      if (this.fetches.get(cid) === fetch) this.fetches.delete(cid);
    });
    this.fetches.set(cid, fetch);
    return await fetch.bytes;
  }

  private async fetchAndPin(cid: string, providers: readonly string[], worker: string, fetch: Fetch, ended: () => void) {
    let bytes: number;
    try {
      await this.node.connect(providers);
      bytes = await this.node.pin(cid, {
        maxBytes: this.options.maxBytes,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), fetch.stop.signal]),
      });
    } catch (error) {
      ended();
      // An upload of the same content ended this fetch: its pin is the answer.
      if (fetch.upload !== undefined) return await fetch.upload;
      if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
        throw new Rejection(
          504,
          "pin timed out",
          `could not fetch ${cid} within ${(this.options.timeoutMs / 1000).toString()} s`,
          this.options.globalOnly === true
            ? 'This pool dials only global IP addresses (its ipfs.dialPrivate is off): register a public multiaddr for the worker\'s IPFS node, use ipfs.mode "pool" (upload the result), or ask the operator to turn ipfs.dialPrivate on for a LAN; then retry.'
            : "Keep the worker's IPFS node up and reachable at the multiaddrs it registered (or sent as providers), then retry.",
        );
      }
      if (error instanceof Error && error.message.includes("more than")) {
        throw new Rejection(
          413,
          "result too large",
          `${cid} is larger than ${this.options.maxBytes.toString()} bytes`,
          "Results must stay within the pool's pin limit.",
        );
      }
      throw new Rejection(
        400,
        "cannot pin",
        `${cid}: ${error instanceof Error ? error.message : String(error)}`,
        "Send the CID of a result folder your node serves.",
        "/cid",
      );
    }
    try {
      await this.record(cid, bytes, worker);
    } finally {
      ended(); // after the row: an upload waiting on this fetch then finds the content pinned
    }
    return bytes;
  }

  /** Whether a `pins` row for `cid` means this node holds it (always, unless the store is shared). */
  private holds(cid: string): boolean {
    return this.options.sharedStore !== true || this.pinnedHere.has(cid);
  }

  private async record(cid: string, bytes: number, worker: string): Promise<void> {
    this.pinnedHere.add(cid);
    await this.db.run(
      "INSERT INTO pins (cid, bytes, worker, pinned_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      cid,
      bytes,
      worker,
      new Date().toISOString(),
    );
  }
}
