// The order book: signed app, dataset, workerpool and request orders, checked on entry (shape,
// signature or presignature, signer = the asset's owner or the requester, params document, live
// on-chain volume, the signer's quota; for a request also: this pool or any, a workerpool order
// of this pool that can serve it, and the requester's escrow balance for it) and kept in SQLite.
// A refused order changes nothing. Consumed volumes are cached in memory, kept current from the
// hub's DealCreated and OrderCancelled events and this scheduler's own matches, and re-read after
// a TTL: a matching pass costs no RPC per open order.
import {
  decodeTaskParams,
  formatSun,
  hashOrder,
  isSunpoolError,
  orderDigest,
  orderFromJson,
  orderToJson,
  recoverOrderSigner,
  selectAppOrder,
  selectDatasetOrder,
  selectWorkerpoolOrder,
  type OrderKind,
  type OrderOfKind,
  type RequestOrder,
  type SunpoolClient,
} from "@sunpool/sdk";
import { Contract, getAddress, type TypedDataDomain } from "ethers";

import { notFound, Rejection, unprocessable } from "../errors.js";
import { jsonText, type Store } from "../store/store.js";

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

export interface OrderBookOptions {
  /** Open orders one signer may have in the book. */
  maxOpenOrdersPerSigner: number;
  /** How long a cached consumed volume is trusted without an event about it. */
  consumedTtlMs: number;
}

export const DEFAULT_BOOK_OPTIONS: OrderBookOptions = { maxOpenOrdersPerSigner: 100, consumedTtlMs: 120_000 };

const ERC1271_MAGIC = "0x1626ba7e";
const ASSET_FIELD = { app: "app", dataset: "dataset", workerpool: "workerpool", request: "app" } as const;
const ASSET_KIND = { app: 0, dataset: 1, workerpool: 2 } as const;

export class OrderBook {
  private readonly consumedCache = new Map<string, { consumed: bigint; readAt: number }>();
  /** Deals whose consumption this book already applied (its own matches). */
  private readonly appliedDeals = new Set<string>();
  private readonly options: OrderBookOptions;

  constructor(
    private readonly db: Store,
    private readonly chain: SunpoolClient,
    private readonly domain: TypedDataDomain,
    /** The workerpool this scheduler serves: the only workerpool orders it lists. */
    private readonly workerpool: string,
    options: Partial<OrderBookOptions> = {},
  ) {
    this.options = { ...DEFAULT_BOOK_OPTIONS, ...options };
  }

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
    const existing = await this.get(hash);
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
    if (kind === "request") this.checkRequestPool(order as RequestOrder);
    const params = kind === "request" ? this.checkParams(order as RequestOrder, input.params) : undefined;
    if (kind !== "request" && input.params !== undefined) {
      throw new Rejection(400, "invalid order", "only request orders carry a params document", "Leave params out.", "/params");
    }
    const signer = await this.checkSignature(kind, order, hash, signature);
    await this.checkQuota(signer);
    const consumed = await this.chain.hub.consumed(hash);
    if (consumed >= order.volume) {
      throw unprocessable("the order has no volume left on-chain (filled or cancelled)", "Sign a new order (a new salt).");
    }
    if (kind === "request") await this.checkRequestServable(order as RequestOrder, order.volume - consumed);
    // Every check passed: only now is anything stored.
    this.consumedCache.set(hash, { consumed, readAt: Date.now() });
    const publishedAt = new Date().toISOString();
    const asset = (order as unknown as Record<string, string>)[ASSET_FIELD[kind]]!.toLowerCase();
    await this.db.run(
      "INSERT INTO orders (hash, kind, body, signature, signer, params, asset, status, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?) ON CONFLICT (hash) DO NOTHING",
      hash,
      kind,
      JSON.stringify(orderToJson(order)),
      signature,
      signer,
      params ?? null,
      asset,
      publishedAt,
    );
    return { entry: (await this.get(hash))!, created: true };
  }

  async get(hash: string): Promise<BookEntry | undefined> {
    const row = await this.db.get<OrderRow>("SELECT * FROM orders WHERE hash = ?", hash.toLowerCase());
    return row === undefined ? undefined : toEntry(row);
  }

  /** One page of orders, newest first; `next` continues after the last one. */
  async list(query: ListQuery): Promise<{ entries: BookEntry[]; next?: string }> {
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
      else conditions.push(`lower(${jsonText(this.db.dialect, "body", field)}) = ?`);
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
    const rows = await this.db.all<OrderRow>(
      `SELECT * FROM orders WHERE ${conditions.join(" AND ")} ORDER BY seq DESC LIMIT ?`,
      ...values,
      limit + 1,
    );
    const entries = rows.slice(0, limit).map(toEntry);
    return rows.length > limit ? { entries, next: entries.at(-1)!.seq.toString() } : { entries };
  }

  /** Open orders of one kind, oldest first (the matcher's view). */
  async open<Kind extends OrderKind>(kind: Kind): Promise<BookEntry<Kind>[]> {
    const rows = await this.db.all<OrderRow>("SELECT * FROM orders WHERE kind = ? AND status = 'open' ORDER BY seq", kind);
    return rows.map(toEntry) as BookEntry<Kind>[];
  }

  /** Drops an order whose on-chain volume is spent (cancelled or filled). */
  async unpublish(hash: string): Promise<BookEntry> {
    const entry = await this.get(hash);
    if (entry === undefined) throw notFound(`no order ${hash} in this book`);
    this.consumedCache.delete(entry.hash);
    if ((await this.remaining(entry)) > 0n) {
      throw new Rejection(
        409,
        "order still live",
        "the order still has volume on-chain",
        "Cancel it on-chain first (the SDK's cancelOrder and `sunpool order cancel` do both).",
      );
    }
    await this.setStatus(entry.hash, "cancelled");
    return { ...entry, status: "cancelled" };
  }

  /** The order's volume left on-chain, from the cache when it is current. */
  async remaining(entry: BookEntry, now = Date.now()): Promise<bigint> {
    const consumed = await this.consumed(entry.hash, now);
    return entry.order.volume > consumed ? entry.order.volume - consumed : 0n;
  }

  private async consumed(hash: string, now: number): Promise<bigint> {
    const cached = this.consumedCache.get(hash);
    if (cached !== undefined && now - cached.readAt < this.options.consumedTtlMs) return cached.consumed;
    const consumed = await this.chain.hub.consumed(hash);
    this.consumedCache.set(hash, { consumed, readAt: now });
    return consumed;
  }

  /** This scheduler's match created `dealId` from these orders: their volumes went down by `volume`. */
  applyDeal(dealId: string, hashes: readonly string[], volume: bigint): void {
    this.appliedDeals.add(dealId.toLowerCase());
    for (const hash of hashes) {
      const cached = this.consumedCache.get(hash);
      if (cached !== undefined) cached.consumed += volume;
    }
  }

  /**
   * A DealCreated event. Not one of this scheduler's matches (the requester matched it, or
   * another book did): which app, dataset and workerpool orders it consumed is not in the event,
   * so the cached volumes of every order of its app, dataset and workerpool are read again.
   */
  async onDealCreated(deal: {
    dealId: string;
    app: string;
    dataset: string;
    workerpool: string;
    requestHash: string;
  }): Promise<void> {
    if (this.appliedDeals.delete(deal.dealId.toLowerCase())) return;
    this.consumedCache.delete(deal.requestHash.toLowerCase());
    const rows = await this.db.all<{ hash: string }>(
      `SELECT hash FROM orders WHERE status = 'open' AND ((kind = 'app' AND asset = ?) OR (kind = 'dataset' AND asset = ?)
           OR (kind = 'workerpool' AND asset = ?))`,
      deal.app.toLowerCase(),
      deal.dataset.toLowerCase(),
      deal.workerpool.toLowerCase(),
    );
    for (const { hash } of rows) this.consumedCache.delete(hash);
  }

  /** An OrderCancelled event: the order's volume is gone (read again when next needed). */
  onOrderCancelled(hash: string): void {
    this.consumedCache.delete(hash.toLowerCase());
  }

  async setStatus(hash: string, status: OrderStatus): Promise<void> {
    await this.db.run("UPDATE orders SET status = ? WHERE hash = ? AND status = 'open'", status, hash);
  }

  async recordDeal(hash: string, dealId: string): Promise<void> {
    await this.db.run(
      "INSERT INTO order_deals (order_hash, deal_id, seq) SELECT ?, ?, coalesce(max(seq), 0) + 1 FROM order_deals WHERE true ON CONFLICT DO NOTHING",
      hash.toLowerCase(),
      dealId,
    );
  }

  async deals(hash: string): Promise<string[]> {
    const rows = await this.db.all<{
      deal_id: string;
    }>("SELECT deal_id FROM order_deals WHERE order_hash = ? ORDER BY seq", hash);
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
      deals: await this.deals(entry.hash),
      publishedAt: entry.publishedAt,
    };
  }

  /** A request names this pool, or none (any pool). */
  private checkRequestPool(order: RequestOrder): void {
    if (BigInt(order.workerpool) === 0n || order.workerpool.toLowerCase() === this.workerpool.toLowerCase()) return;
    throw unprocessable(
      `the request is for workerpool ${order.workerpool}; this book serves workerpool ${this.workerpool}`,
      "Publish it at the scheduler of that workerpool, or sign a request for this one (or for any: workerpool 0x0).",
      "/order/workerpool",
    );
  }

  /** Each signer may keep a bounded number of open orders here (one key cannot fill the book). */
  private async checkQuota(signer: string): Promise<void> {
    const { n } = (await this.db.get<{
      n: number;
    }>("SELECT count(*) AS n FROM orders WHERE signer = ? AND status = 'open'", signer))!;
    if (n < this.options.maxOpenOrdersPerSigner) return;
    throw new Rejection(
      429,
      "quota exceeded",
      `${signer} already has ${n.toString()} open orders in this book, the most one signer may have`,
      "Wait until some are filled, or cancel some on-chain and unpublish them (sunpool order cancel), then publish again.",
    );
  }

  /**
   * A request must be servable now: an open workerpool order of this pool fits it (otherwise no
   * deal could ever start from it, and orders carry no expiry to end its wait), and the
   * requester's escrow balance covers what its remaining volume would lock (the cheapest fitting
   * orders of the book; an app or dataset order not published yet counts at the request's maximum).
   */
  private async checkRequestServable(order: RequestOrder, remaining: bigint): Promise<void> {
    const now = Date.now();
    const pool = selectWorkerpoolOrder(await this.liveOrders("workerpool", this.workerpool, now), order, BigInt(order.tag));
    if (pool.best === undefined) {
      throw unprocessable(
        `no open workerpool order of this pool can serve the request${pool.reasons.length > 0 ? `: ${pool.reasons.join("; ")}` : ""}`,
        "List the pool's orders (sunpool order list --kind workerpool) and sign a request its category, trust, tag and price fit.",
        "/order",
      );
    }
    const app = selectAppOrder(await this.liveOrders("app", order.app, now), order);
    const dataset =
      BigInt(order.dataset) === 0n ? undefined : selectDatasetOrder(await this.liveOrders("dataset", order.dataset, now), order);
    const taskPrice =
      pool.best.order.price +
      (app.best?.order.price ?? order.appMaxPrice) +
      (dataset === undefined ? 0n : (dataset.best?.order.price ?? order.datasetMaxPrice));
    const needed = taskPrice * remaining;
    const balance = await this.chain.hub.balanceOf(order.requester);
    if (balance >= needed) return;
    throw unprocessable(
      `the requester ${getAddress(order.requester)} has ${formatSun(balance)} in escrow; ${remaining.toString()} task(s) at ${formatSun(taskPrice)} need ${formatSun(needed)}`,
      `Deposit at least ${formatSun(needed - balance)} more (sunpool account deposit <SUN>), then publish the request again.`,
      "/order/requester",
    );
  }

  /**
   * Open orders of a kind for one asset that have volume left (cached), oldest first. With
   * `markFilled`, orders found spent are marked filled (the matcher does; intake changes nothing).
   */
  async liveOrders<Kind extends Exclude<OrderKind, "request">>(
    kind: Kind,
    asset: string,
    now = Date.now(),
    markFilled = false,
  ): Promise<{ order: OrderOfKind[Kind]; remaining: bigint; entry: BookEntry<Kind> }[]> {
    const rows = await this.db.all<OrderRow>(
      "SELECT * FROM orders WHERE kind = ? AND asset = ? AND status = 'open' ORDER BY seq",
      kind,
      asset.toLowerCase(),
    );
    const result = [];
    for (const entry of rows.map(toEntry) as BookEntry<Kind>[]) {
      const remaining = await this.remaining(entry, now);
      if (remaining > 0n) result.push({ order: entry.order, remaining, entry });
      else if (markFilled) await this.setStatus(entry.hash, "filled");
    }
    return result;
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
