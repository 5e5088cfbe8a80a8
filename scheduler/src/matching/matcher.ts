// Fills request orders: for each open request, the cheapest live app, dataset and workerpool
// orders of the book that satisfy it (the SDK's selection, which mirrors the hub's checks), then
// matchOrders. A request the book cannot fill yet waits for a new order (publishing one wakes
// every waiting request) or for its retry time; a partly filled request is matched again. Live
// volumes come from the book's cache (kept by events and by this matcher's own deals), not from
// one RPC per open order per pass.
import { encodeMatchOrders, selectAppOrder, selectDatasetOrder, selectWorkerpoolOrder, type SunpoolClient } from "@sunpool/sdk";
import type { Logger } from "pino";

import type { BookEntry, OrderBook } from "../book/orderBook.js";
import { TransactionReverted, type TransactionSender } from "../chain/transactions.js";
import type { Store } from "../store/store.js";

const RETRY_MS = 30_000;

export class Matcher {
  constructor(
    private readonly db: Store,
    private readonly chain: SunpoolClient,
    private readonly book: OrderBook,
    private readonly sender: TransactionSender,
    private readonly log: Logger,
    /** This scheduler's workerpool (its workerpool orders are the only ones in the book). */
    private readonly workerpool: string,
  ) {}

  /** Makes every waiting request eligible again (a new order may fill it). */
  async wake(): Promise<void> {
    await this.db.run("UPDATE orders SET retry_at = 0 WHERE kind = 'request' AND status = 'open'");
  }

  async matchOpenRequests(now = Date.now()): Promise<number> {
    let deals = 0;
    for (const request of await this.book.open("request")) {
      const row = (await this.db.get<{ retry_at: number }>("SELECT retry_at FROM orders WHERE hash = ?", request.hash))!;
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
    const remaining = await this.book.remaining(request, now);
    if (remaining === 0n) {
      await this.book.setStatus(request.hash, "filled");
      return "filled";
    }
    const intent = request.order;
    const app = selectAppOrder(await this.book.liveOrders("app", intent.app, now, true), intent);
    const dataset =
      BigInt(intent.dataset) === 0n
        ? undefined
        : selectDatasetOrder(await this.book.liveOrders("dataset", intent.dataset, now, true), intent);
    const tag = BigInt(intent.tag) | BigInt(app.best?.order.tag ?? 0) | BigInt(dataset?.best?.order.tag ?? 0);
    const pool = selectWorkerpoolOrder(await this.book.liveOrders("workerpool", this.workerpool, now, true), intent, tag);
    if (app.best === undefined || pool.best === undefined || (dataset !== undefined && dataset.best === undefined)) {
      const reasons = [...app.reasons, ...(dataset?.reasons ?? []), ...pool.reasons];
      const missing = app.best === undefined ? "app" : pool.best === undefined ? "workerpool" : "dataset";
      await this.postpone(
        request.hash,
        now,
        `no ${missing} order fills it${reasons.length > 0 ? `: ${reasons.join("; ")}` : ""}`,
      );
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
        const dealId = parsed.args.dealId as string;
        this.book.applyDeal(
          dealId,
          entries.map((entry) => entry.hash),
          parsed.args.volume as bigint,
        );
        for (const entry of entries) await this.book.recordDeal(entry.hash, dealId);
        this.log.info({ request: request.hash, dealId }, "request matched");
      }
      return "matched";
    } catch (error) {
      if (!(error instanceof TransactionReverted)) throw error;
      await this.postpone(request.hash, now, error.message);
      return "waiting";
    }
  }

  private async postpone(hash: string, now: number, reason: string): Promise<void> {
    await this.db.run("UPDATE orders SET retry_at = ?, last_error = ? WHERE hash = ?", now + RETRY_MS, reason, hash);
    this.log.debug({ request: hash, reason }, "request not matched yet");
  }
}
