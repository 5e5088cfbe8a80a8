// Fills request orders: for each open request, the cheapest live app, dataset and workerpool
// orders of the book that satisfy it (the SDK's selection, which mirrors the hub's checks), then
// matchOrders. A request the book cannot fill yet waits for a new order (publishing one wakes
// every waiting request) or for its retry time; a partly filled request is matched again.
import {
  encodeMatchOrders,
  selectAppOrder,
  selectDatasetOrder,
  selectWorkerpoolOrder,
  type OrderKind,
  type SunpoolClient,
} from "@sunpool/sdk";
import type { Logger } from "pino";

import type { BookEntry, OrderBook } from "../book/orderBook.js";
import { TransactionReverted, type TransactionSender } from "../chain/transactions.js";
import type { Database } from "../store/database.js";

const RETRY_MS = 30_000;

export class Matcher {
  constructor(
    private readonly db: Database,
    private readonly chain: SunpoolClient,
    private readonly book: OrderBook,
    private readonly sender: TransactionSender,
    private readonly log: Logger,
  ) {}

  /** Makes every waiting request eligible again (a new order may fill it). */
  wake(): void {
    this.db.prepare("UPDATE orders SET retry_at = 0 WHERE kind = 'request' AND status = 'open'").run();
  }

  async matchOpenRequests(now = Date.now()): Promise<number> {
    let deals = 0;
    for (const request of this.book.open("request")) {
      const row = this.db.prepare("SELECT retry_at FROM orders WHERE hash = ?").get(request.hash) as { retry_at: number };
      if (row.retry_at > now) continue;
      // A request may need several deals (volume beyond one workerpool order's remaining).
      for (let round = 0; round < 16; round++) {
        const outcome = await this.matchOnce(request, now);
        if (outcome !== "matched") break;
        deals += 1;
      }
    }
    return deals;
  }

  private async matchOnce(request: BookEntry<"request">, now: number): Promise<"matched" | "filled" | "waiting"> {
    const remaining = await this.book.remaining(request);
    if (remaining === 0n) {
      this.book.setStatus(request.hash, "filled");
      return "filled";
    }
    const intent = request.order;
    const app = selectAppOrder(
      await this.candidates("app", (order) => order.app.toLowerCase() === intent.app.toLowerCase()),
      intent,
    );
    const dataset =
      BigInt(intent.dataset) === 0n
        ? undefined
        : selectDatasetOrder(
            await this.candidates("dataset", (order) => order.dataset.toLowerCase() === intent.dataset.toLowerCase()),
            intent,
          );
    const tag = BigInt(intent.tag) | BigInt(app.best?.order.tag ?? 0) | BigInt(dataset?.best?.order.tag ?? 0);
    const pool = selectWorkerpoolOrder(await this.candidates("workerpool", () => true), intent, tag);
    if (app.best === undefined || pool.best === undefined || (dataset !== undefined && dataset.best === undefined)) {
      const reasons = [...app.reasons, ...(dataset?.reasons ?? []), ...pool.reasons];
      const missing = app.best === undefined ? "app" : pool.best === undefined ? "workerpool" : "dataset";
      this.postpone(request.hash, now, `no ${missing} order fills it${reasons.length > 0 ? `: ${reasons.join("; ")}` : ""}`);
      return "waiting";
    }
    const entries = [request, app.best.entry, pool.best.entry, ...(dataset?.best ? [dataset.best.entry] : [])];
    const encoded = encodeMatchOrders(
      {
        app: app.best.order,
        workerpool: pool.best.order,
        request: intent,
        ...(dataset?.best ? { dataset: dataset.best.order } : {}),
      },
      {
        app: app.best.entry.signature,
        workerpool: pool.best.entry.signature,
        request: request.signature,
        ...(dataset?.best ? { dataset: dataset.best.entry.signature } : {}),
      },
    );
    try {
      const receipt = await this.sender.send("matchOrders", () => this.chain.hub.matchOrders(encoded));
      for (const log of receipt.logs) {
        const parsed = this.chain.hub.interface.parseLog(log);
        if (parsed?.name !== "DealCreated") continue;
        for (const entry of entries) this.book.recordDeal(entry.hash, parsed.args.dealId as string);
        this.log.info({ request: request.hash, dealId: parsed.args.dealId as string }, "request matched");
      }
      return "matched";
    } catch (error) {
      if (!(error instanceof TransactionReverted)) throw error;
      this.postpone(request.hash, now, error.message);
      return "waiting";
    }
  }

  /** Open orders of a kind that pass `filter`, with their live on-chain volume. */
  private async candidates<Kind extends Exclude<OrderKind, "request">>(
    kind: Kind,
    filter: (order: BookEntry<Kind>["order"]) => boolean,
  ): Promise<{ order: BookEntry<Kind>["order"]; remaining: bigint; entry: BookEntry<Kind> }[]> {
    const entries = this.book.open(kind).filter((entry) => filter(entry.order));
    const result = [];
    for (const entry of entries) {
      const remaining = await this.book.remaining(entry);
      if (remaining === 0n) this.book.setStatus(entry.hash, "filled");
      else result.push({ order: entry.order, remaining, entry });
    }
    return result;
  }

  private postpone(hash: string, now: number, reason: string): void {
    this.db.prepare("UPDATE orders SET retry_at = ?, last_error = ? WHERE hash = ?").run(now + RETRY_MS, reason, hash);
    this.log.debug({ request: hash, reason }, "request not matched yet");
  }
}
