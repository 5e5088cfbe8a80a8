// The order book: signed app, dataset, workerpool and request orders, checked on entry (shape,
// signature or presignature, signer = the asset's owner or the requester, params document, live
// on-chain volume) and kept in SQLite. A listed order was valid when it was listed; the matcher
// re-reads on-chain volume before using it.
import {
  decodeTaskParams,
  hashOrder,
  isSunpoolError,
  orderDigest,
  orderFromJson,
  orderToJson,
  recoverOrderSigner,
  type OrderKind,
  type OrderOfKind,
  type RequestOrder,
  type SunpoolClient,
} from "@sunpool/sdk";
import { Contract, getAddress, type TypedDataDomain } from "ethers";

import { notFound, Rejection, unprocessable } from "../errors.js";
import type { Database } from "../store/database.js";

export type OrderStatus = "open" | "filled" | "cancelled";

export interface BookEntry<Kind extends OrderKind = OrderKind> {
  seq: number;
  kind: Kind;
  hash: string;
  order: OrderOfKind[Kind];
  signature: string;
  signer: string;
  params?: string;
  status: OrderStatus;
  publishedAt: string;
}

export interface OrderRecordJson {
  kind: OrderKind;
  hash: string;
  order: Record<string, string>;
  signature: string;
  signer: string;
  params?: string;
  status: OrderStatus;
  remaining: string;
  deals: string[];
  publishedAt: string;
}

export interface ListQuery {
  kind: OrderKind;
  app?: string;
  dataset?: string;
  workerpool?: string;
  signer?: string;
  status?: OrderStatus | "any";
  limit?: number;
  cursor?: string;
}

interface OrderRow {
  seq: number;
  hash: string;
  kind: OrderKind;
  body: string;
  signature: string;
  signer: string;
  params: string | null;
  status: OrderStatus;
  published_at: string;
}

const ERC1271_MAGIC = "0x1626ba7e";
const ASSET_FIELD = { app: "app", dataset: "dataset", workerpool: "workerpool", request: "app" } as const;
const ASSET_KIND = { app: 0, dataset: 1, workerpool: 2 } as const;

export class OrderBook {
  constructor(
    private readonly db: Database,
    private readonly chain: SunpoolClient,
    private readonly domain: TypedDataDomain,
    /** The workerpool this scheduler serves: the only workerpool orders it lists. */
    private readonly workerpool: string,
  ) {}

  /** Checks and stores a signed order; returns it and whether it was new. */
  async publish(input: {
    kind: OrderKind;
    order: unknown;
    signature: string;
    params?: string;
  }): Promise<{ entry: BookEntry; created: boolean }> {
    const { kind, signature } = input;
    let order: OrderOfKind[OrderKind];
    try {
      order = orderFromJson(kind, input.order);
    } catch (error) {
      throw new Rejection(
        400,
        "invalid order",
        isSunpoolError(error) ? error.shortMessage : String(error),
        "See the order schema in api/scheduler.openapi.yaml.",
        "/order",
      );
    }
    const hash = hashOrder(kind, order);
    const existing = this.get(hash);
    if (existing !== undefined) return { entry: existing, created: false };
    if (
      kind === "workerpool" &&
      (order as OrderOfKind["workerpool"]).workerpool.toLowerCase() !== this.workerpool.toLowerCase()
    ) {
      throw unprocessable(
        `this book serves workerpool ${this.workerpool}, not ${(order as OrderOfKind["workerpool"]).workerpool}`,
        "Publish workerpool orders at the scheduler of that workerpool.",
        "/order/workerpool",
      );
    }
    const params = kind === "request" ? this.checkParams(order as RequestOrder, input.params) : undefined;
    if (kind !== "request" && input.params !== undefined) {
      throw new Rejection(400, "invalid order", "only request orders carry a params document", "Leave params out.", "/params");
    }
    const signer = await this.checkSignature(kind, order, hash, signature);
    const consumed = await this.chain.hub.consumed(hash);
    if (consumed >= order.volume) {
      throw unprocessable("the order has no volume left on-chain (filled or cancelled)", "Sign a new order (a new salt).");
    }
    const publishedAt = new Date().toISOString();
    const asset = (order as unknown as Record<string, string>)[ASSET_FIELD[kind]]!.toLowerCase();
    this.db
      .prepare(
        "INSERT INTO orders (hash, kind, body, signature, signer, params, asset, status, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?) ON CONFLICT (hash) DO NOTHING",
      )
      .run(hash, kind, JSON.stringify(orderToJson(order)), signature, signer, params ?? null, asset, publishedAt);
    return { entry: this.get(hash)!, created: true };
  }

  get(hash: string): BookEntry | undefined {
    const row = this.db.prepare("SELECT * FROM orders WHERE hash = ?").get(hash.toLowerCase()) as OrderRow | undefined;
    return row === undefined ? undefined : toEntry(row);
  }

  /** One page of orders, newest first; `next` continues after the last one. */
  list(query: ListQuery): { entries: BookEntry[]; next?: string } {
    const limit = query.limit ?? 20;
    const conditions = ["kind = ?"];
    const values: (string | number)[] = [query.kind];
    if ((query.status ?? "open") !== "any") {
      conditions.push("status = ?");
      values.push(query.status ?? "open");
    }
    if (query.signer !== undefined) {
      conditions.push("signer = ?");
      values.push(getAddress(query.signer));
    }
    for (const field of ["app", "dataset", "workerpool"] as const) {
      const wanted = query[field];
      if (wanted === undefined) continue;
      // The asset column holds the field the kind is about; other fields are inside the body.
      if (ASSET_FIELD[query.kind] === field) conditions.push("asset = ?");
      else conditions.push(`lower(json_extract(body, '$.${field}')) = ?`);
      values.push(wanted.toLowerCase());
    }
    if (query.cursor !== undefined) {
      const cursor = Number(query.cursor);
      if (!Number.isSafeInteger(cursor) || cursor < 0) {
        throw new Rejection(
          400,
          "invalid cursor",
          "cursor is not one this book returned",
          "Pass the `next` value of the previous page.",
          "/cursor",
        );
      }
      conditions.push("seq < ?");
      values.push(cursor);
    }
    const rows = this.db
      .prepare(`SELECT * FROM orders WHERE ${conditions.join(" AND ")} ORDER BY seq DESC LIMIT ?`)
      .all(...values, limit + 1) as unknown as OrderRow[];
    const entries = rows.slice(0, limit).map(toEntry);
    return rows.length > limit ? { entries, next: entries.at(-1)!.seq.toString() } : { entries };
  }

  /** Open orders of one kind, oldest first (the matcher's view). */
  open<Kind extends OrderKind>(kind: Kind): BookEntry<Kind>[] {
    const rows = this.db
      .prepare("SELECT * FROM orders WHERE kind = ? AND status = 'open' ORDER BY seq")
      .all(kind) as unknown as OrderRow[];
    return rows.map(toEntry) as BookEntry<Kind>[];
  }

  /** Drops an order whose on-chain volume is spent (cancelled or filled). */
  async unpublish(hash: string): Promise<BookEntry> {
    const entry = this.get(hash);
    if (entry === undefined) throw notFound(`no order ${hash} in this book`);
    if ((await this.remaining(entry)) > 0n) {
      throw new Rejection(
        409,
        "order still live",
        "the order still has volume on-chain",
        "Cancel it on-chain first (the SDK's cancelOrder and `sunpool order cancel` do both).",
      );
    }
    this.setStatus(entry.hash, "cancelled");
    return { ...entry, status: "cancelled" };
  }

  async remaining(entry: BookEntry): Promise<bigint> {
    const consumed = await this.chain.hub.consumed(entry.hash);
    return entry.order.volume > consumed ? entry.order.volume - consumed : 0n;
  }

  setStatus(hash: string, status: OrderStatus): void {
    this.db.prepare("UPDATE orders SET status = ? WHERE hash = ? AND status = 'open'").run(status, hash);
  }

  recordDeal(hash: string, dealId: string): void {
    this.db
      .prepare("INSERT INTO order_deals (order_hash, deal_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
      .run(hash.toLowerCase(), dealId);
  }

  deals(hash: string): string[] {
    const rows = this.db.prepare("SELECT deal_id FROM order_deals WHERE order_hash = ? ORDER BY rowid").all(hash) as {
      deal_id: string;
    }[];
    return rows.map((row) => row.deal_id);
  }

  async toJson(entry: BookEntry): Promise<OrderRecordJson> {
    const remaining = entry.status === "open" ? await this.remaining(entry) : 0n;
    return {
      kind: entry.kind,
      hash: entry.hash,
      order: orderToJson(entry.order),
      signature: entry.signature,
      signer: entry.signer,
      ...(entry.params === undefined ? {} : { params: entry.params }),
      status: entry.status === "open" && remaining === 0n ? "filled" : entry.status,
      remaining: remaining.toString(),
      deals: this.deals(entry.hash),
      publishedAt: entry.publishedAt,
    };
  }

  private checkParams(order: RequestOrder, params: string | undefined): string {
    if (params === undefined) {
      throw new Rejection(
        400,
        "invalid order",
        "request orders need their params document",
        "Send the exact text whose sha256 is order.params (the SDK's run does).",
        "/params",
      );
    }
    try {
      decodeTaskParams(params, order.params);
    } catch (error) {
      throw unprocessable(
        isSunpoolError(error) ? error.shortMessage : String(error),
        "Send the exact params text the order's params digest was computed from.",
        "/params",
      );
    }
    return params;
  }

  /** Returns the address the order is signed by, which must be the one entitled to sign it. */
  private async checkSignature(kind: OrderKind, order: OrderOfKind[OrderKind], hash: string, signature: string): Promise<string> {
    const expected = await this.expectedSigner(kind, order);
    if (signature === "0x") {
      const presigner = await this.chain.hub.presigner(hash);
      if (presigner !== expected) {
        throw unprocessable(
          `the order has no signature and is not presigned on-chain by ${expected}`,
          "Sign it, or presign it with presign<Kind>Order first.",
          "/signature",
        );
      }
      return expected;
    }
    let recovered: string | undefined;
    try {
      recovered = recoverOrderSigner(this.domain, kind, order, signature);
    } catch {
      recovered = undefined;
    }
    if (recovered === expected) return expected;
    // A contract signer (a multisig or smart wallet) answers for itself through EIP-1271.
    if ((await this.chain.provider.getCode(expected)) !== "0x") {
      const wallet = new Contract(
        expected,
        ["function isValidSignature(bytes32,bytes) view returns (bytes4)"],
        this.chain.provider,
      );
      const digest = orderDigest(this.domain, kind, order);
      const magic = await (wallet.getFunction("isValidSignature")(digest, signature) as Promise<string>).catch(() => "0x");
      if (magic === ERC1271_MAGIC) return expected;
    }
    throw unprocessable(
      recovered === undefined
        ? "the signature is not a valid signature of this order"
        : `the order is signed by ${recovered}, not by ${expected}`,
      kind === "request" ? "Sign with the requester's key." : `Sign with the key of the ${kind}'s owner (${expected}).`,
      "/signature",
    );
  }

  private async expectedSigner(kind: OrderKind, order: OrderOfKind[OrderKind]): Promise<string> {
    if (kind === "request") return getAddress((order as RequestOrder).requester);
    const id = (order as unknown as Record<string, string>)[kind]!;
    const owner = await this.chain.registry.ownerOf(ASSET_KIND[kind], id).catch(() => undefined);
    if (owner === undefined || BigInt(owner) === 0n) {
      throw unprocessable(
        `no ${kind} ${id} is registered`,
        `Register the ${kind} first (sunpool ${kind} deploy).`,
        `/order/${kind}`,
      );
    }
    return owner;
  }
}

function toEntry(row: OrderRow): BookEntry {
  return {
    seq: row.seq,
    kind: row.kind,
    hash: row.hash,
    order: orderFromJson(row.kind, JSON.parse(row.body) as unknown),
    signature: row.signature,
    signer: row.signer,
    ...(row.params === null ? {} : { params: row.params }),
    status: row.status,
    publishedAt: row.published_at,
  };
}
