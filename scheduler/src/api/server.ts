// The HTTP API (fastify): schemas from the OpenAPI document, a body limit, a rate limit, and one
// error shape for every refusal (RFC 9457 problem: what was wrong, and what to do).
import rateLimit from "@fastify/rate-limit";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { Logger } from "pino";

import { Rejection, StoreUnreachableError } from "../errors.js";
import { FORWARDED_FOR } from "../leader/forwarding.js";
import type { ApiContext } from "./context.js";
import { dashboardRoutes } from "../dashboard/routes.js";
import { routeSchema, sharedSchema } from "./openapi.js";
import { contentRoutes } from "./routes/content.js";
import { orderRoutes } from "./routes/orders.js";
import { taskRoutes } from "./routes/tasks.js";
import { workerRoutes } from "./routes/workers.js";

export interface ApiOptions {
  /** Largest request body (default 256 KiB: an order with a 64 KiB params document fits). */
  bodyLimit?: number;
  /** Requests per minute per client address. */
  rateLimitPerMinute: number;
  /**
   * With replicas: the client address a follower stamped on a request it forwarded (its
   * `x-sunpool-forwarded-for` header), or undefined when the stamp is missing or forged; the rate
   * limit then counts the real client, not the follower.
   */
  forwardedClient?: (header: string | string[] | undefined) => string | undefined;
}

export async function createApi(context: ApiContext, logger: Logger, options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 256 * 1024,
    // Workers poll and heartbeat all day: per-request logs would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", allErrors: false } },
  });
  app.addSchema(sharedSchema());
  // Worker signatures cover the exact body bytes: keep the text next to the parsed value.
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(
        new Rejection(
          400,
          "invalid JSON",
          "the request body is not valid JSON",
          "Send a JSON document with content-type application/json.",
        ),
        undefined,
      );
    }
  });
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => options.forwardedClient?.(request.headers[FORWARDED_FOR]) ?? request.ip,
    errorResponseBuilder: (_request, limit) =>
      new Rejection(
        429,
        "too many requests",
        `more than ${limit.max.toString()} requests per minute from this address`,
        `Retry after ${limit.after}.`,
      ),
  });

  app.setErrorHandler((error: FastifyError | Rejection | StoreUnreachableError, request, reply) => {
    const problem = toProblem(error);
    context.metrics.requestsRejected.inc({ status: problem.status.toString() });
    if (problem.status >= 500 && problem.status !== 504) request.log.error({ err: error, url: request.url }, "request failed");
    if (problem.status === 503) void reply.header("retry-after", STORE_RETRY_SECONDS.toString());
    return reply.code(problem.status).type("application/problem+json").send(problem);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type("application/problem+json")
      .send({
        title: "not found",
        status: 404,
        detail: `no route ${request.method} ${request.url.split("?")[0]!}`,
        hint: "See api/scheduler.openapi.yaml for the routes.",
      }),
  );

  orderRoutes(app, context);
  taskRoutes(app, context);
  workerRoutes(app, context);
  contentRoutes(app, context);
  dashboardRoutes(app, context);
  app.get("/v1/status", { schema: routeSchema("/v1/status", "get") }, () => context.status());
  app.get("/healthz", { schema: routeSchema("/healthz", "get"), config: { rateLimit: false } }, (_request, reply) => {
    const health = context.health();
    return reply.code(health.ok ? 200 : 503).send({ status: health.ok ? "ok" : "degraded", checks: health.checks });
  });
  app.get("/metrics", { config: { rateLimit: false } }, async (_request, reply) =>
    reply.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics()),
  );
  return app;
}

interface Problem {
  title: string;
  status: number;
  detail: string;
  hint?: string;
  field?: string;
}

/** What a client waits before retrying a request the database could not serve. */
const STORE_RETRY_SECONDS = 5;

function toProblem(error: FastifyError | Rejection | StoreUnreachableError): Problem {
  if (error instanceof StoreUnreachableError) {
    // The request was fine; the pool's database was not there. Say so, and when to come back.
    return {
      title: "database unavailable",
      status: 503,
      detail: "the pool's database cannot be reached right now",
      hint: `Retry in ${STORE_RETRY_SECONDS.toString()} s (Retry-After); the pool's operator sees the cause in the scheduler's log.`,
    };
  }
  if (error instanceof Rejection) {
    return {
      title: error.title,
      status: error.status,
      detail: error.detail,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      ...(error.field === undefined ? {} : { field: error.field }),
    };
  }
  if (error.validation !== undefined) {
    const first = error.validation[0];
    const field = first === undefined ? undefined : `${error.validationContext ?? "body"}${first.instancePath}`;
    return {
      title: "invalid request",
      status: 400,
      detail: `${field ?? "the request"} ${first?.message ?? "is invalid"}`,
      hint: "See api/scheduler.openapi.yaml for the expected shape.",
      ...(field === undefined ? {} : { field }),
    };
  }
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return {
      title: "body too large",
      status: 413,
      detail: error.message,
      hint: "Keep request bodies under 256 KiB (params documents under 64 KiB).",
    };
  }
  if (error.statusCode !== undefined && error.statusCode < 500) {
    return { title: "invalid request", status: error.statusCode, detail: error.message };
  }
  return { title: "internal error", status: 500, detail: "the scheduler failed to handle this request; its log has the details" };
}
