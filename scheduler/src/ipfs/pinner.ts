// The scheduler's always-on IPFS node keeps every result its workers produce: a worker hands its
// result over (POST /v1/workers/pins) before revealing it, and settlement pins again before
// finalizing if that did not happen, so a result stays fetchable while the Pi that computed it
// sleeps. Before finalizing, settlement checks that what it pinned hashes to the consensus digest
// (when the result is not encrypted to the requester, which only the requester can check).
import { ENCRYPTED_RESULT_FILE, resultDigest } from "@sunpool/sdk";
import type { IpfsNode } from "@sunpool/sdk/node";

import { Rejection } from "../errors.js";
import type { Database } from "../store/database.js";

export interface PinnerOptions {
  maxBytes: number;
  timeoutMs: number;
}

export class Pinner {
  constructor(
    readonly node: IpfsNode,
    private readonly db: Database,
    private readonly options: PinnerOptions,
  ) {}

  isPinned(cid: string): boolean {
    return this.db.prepare("SELECT 1 FROM pins WHERE cid = ?").get(cid) !== undefined;
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

  /** Fetches the content from `providers` and pins it; returns its size in bytes. */
  async ensurePinned(cid: string, providers: readonly string[], worker: string): Promise<number> {
    const existing = this.db.prepare("SELECT bytes FROM pins WHERE cid = ?").get(cid) as { bytes: number } | undefined;
    if (existing !== undefined) return existing.bytes;
    await this.node.connect(providers);
    let bytes: number;
    try {
      bytes = await this.node.pin(cid, { maxBytes: this.options.maxBytes, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
        throw new Rejection(
          504,
          "pin timed out",
          `could not fetch ${cid} within ${(this.options.timeoutMs / 1000).toString()} s`,
          "Keep the worker's IPFS node up and reachable at the multiaddrs it registered (or sent as providers), then retry.",
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
    this.db
      .prepare("INSERT INTO pins (cid, bytes, worker, pinned_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
      .run(cid, bytes, worker, new Date().toISOString());
    return bytes;
  }
}
