// The order book and the scheduler's identity: GET /v1/info, /v1/orders (list, publish),
// /v1/orders/{hash} (get, unpublish).
import type { OrderKind } from "@sunpool/sdk";
import type { FastifyInstance } from "fastify";

import type { ListQuery } from "../../book/orderBook.js";
import { notFound } from "../../errors.js";
import type { ApiContext } from "../context.js";
import { fastifyPath, routeSchema } from "../openapi.js";

export function orderRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get("/v1/info", { schema: routeSchema("/v1/info", "get") }, () => context.info());

  app.get("/v1/orders", { schema: routeSchema("/v1/orders", "get") }, async (request) => {
    const page = await context.book.list(request.query as ListQuery);
    const orders = await Promise.all(page.entries.map((entry) => context.book.toJson(entry)));
    return page.next === undefined ? { orders } : { orders, next: page.next };
  });

  app.post("/v1/orders", { schema: routeSchema("/v1/orders", "post") }, async (request, reply) => {
    const body = request.body as { kind: OrderKind; order: unknown; signature: string; params?: string };
    const { entry, created } = await context.book.publish(body);
    if (created) {
      // A deal may already exist for this request (matched by the requester itself).
      if (entry.params !== undefined) await context.pool.attachParams(entry.hash, entry.params);
      context.kick("order");
    }
    return reply.code(created ? 201 : 200).send(await context.book.toJson(entry));
  });

  const one = "/v1/orders/{hash}";
  app.get(fastifyPath(one), { schema: routeSchema(one, "get") }, async (request) => {
    const { hash } = request.params as { hash: string };
    const entry = await context.book.get(hash);
    if (entry === undefined) throw notFoundOrder(hash);
    return context.book.toJson(entry);
  });

  app.delete(fastifyPath(one), { schema: routeSchema(one, "delete") }, async (request) => {
    const { hash } = request.params as { hash: string };
    return context.book.toJson(await context.book.unpublish(hash));
  });
}

const notFoundOrder = (hash: string) =>
  notFound(`no order ${hash} in this book`, "Publish it first, or check the hash (sunpool order list).");
