// The worker half of the scheduler API over node:http(s) instead of fetch, for an agent on a
// small device: the first use of fetch, Request, Response, Headers or FormData loads undici,
// ~15 MiB of resident memory on Node 24 (docs/benchmarks.md, "Worker footprint"), and
// openapi-fetch touches all of them on every call. The client keeps the SchedulerClient shape, so
// the SDK's worker calls (registerWorker, sendHeartbeat, pullAssignment, reportTask, pinResult)
// run on it unchanged; `send` adds raw bodies for content (./content.ts). Requests are signed as
// createWorkerApiClient signs them.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

import type { Signer } from "ethers";
import type { Client } from "openapi-fetch";

import type { paths } from "../generated/scheduler-api.js";
import type { SchedulerClient } from "../scheduler/client.js";
import { signWorkerRequest, type WorkerRequestScope } from "../scheduler/workerAuth.js";

export interface CreateNodeWorkerApiClientParameters {
  url: string;
  /** The worker's wallet: it signs every request. */
  signer: Signer;
  /** Chain and workerpool of the scheduler (from getSchedulerInfo). */
  scope: WorkerRequestScope;
  /** Per-request timeout (default 10 s; a long-polling pull adds its wait to it). */
  timeoutMs?: number;
}

export interface WorkerHttpRequest {
  method: "GET" | "POST" | "DELETE";
  /** Path with query string, e.g. `/v1/workers/assignments?waitSeconds=20`. */
  path: string;
  /**
   * JSON text (signed), or raw chunks. Raw bodies are signed as empty: the routes that take one
   * name its content in the path (a CID) and check it (docs/scheduler.md, "Content").
   */
  body?: string | readonly Uint8Array[];
  contentType?: string;
  signal?: AbortSignal;
  /** Overrides the client's timeout (uploads and downloads of large content). */
  timeoutMs?: number;
}

export interface WorkerHttpClient extends SchedulerClient {
  /** Sends a signed request; the response body is left unread for the caller to stream. */
  send(request: WorkerHttpRequest): Promise<IncomingMessage>;
}

type Init = {
  params?: { path?: Record<string, unknown>; query?: Record<string, unknown> };
  body?: unknown;
  signal?: AbortSignal;
};

/** A scheduler client whose requests carry the worker's signature, over node:http(s). */
export function createNodeWorkerApiClient(parameters: CreateNodeWorkerApiClientParameters): WorkerHttpClient {
  const base = new URL(parameters.url.replace(/\/$/, ""));
  const request = base.protocol === "https:" ? httpsRequest : httpRequest;
  const timeoutMs = (parameters.timeoutMs ?? 10_000) + 25_000;
  let last = 0;

  const send = async (call: WorkerHttpRequest): Promise<IncomingMessage> => {
    // Distinct timestamps even for requests in the same millisecond: the scheduler refuses a
    // signature it has seen, and two identical requests would otherwise sign the same message.
    last = Math.max(Date.now(), last + 1);
    const path = `${base.pathname === "/" ? "" : base.pathname}${call.path}`;
    const signed = typeof call.body === "string" ? call.body : "";
    const headers: Record<string, string> = {
      ...(await signWorkerRequest(parameters.signer, parameters.scope, {
        method: call.method,
        path,
        timestamp: last,
        body: signed,
      })),
      accept: "application/json, application/problem+json",
    };
    const chunks = call.body === undefined ? [] : typeof call.body === "string" ? [Buffer.from(call.body)] : call.body;
    if (call.body !== undefined) {
      headers["content-type"] = call.contentType ?? "application/json";
      headers["content-length"] = chunks.reduce((sum, chunk) => sum + chunk.length, 0).toString();
    }
    const signal = AbortSignal.any([AbortSignal.timeout(call.timeoutMs ?? timeoutMs), ...(call.signal ? [call.signal] : [])]);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = request(new URL(path, base), { method: call.method, headers, signal }, resolve);
      outgoing.once("error", reject);
      void (async () => {
        for (const chunk of chunks) {
          if (outgoing.write(chunk)) continue;
          await new Promise((drained) => {
            outgoing.once("drain", drained);
            outgoing.once("close", drained);
          });
          if (outgoing.destroyed) return;
        }
        outgoing.end();
      })();
    });
  };

  const json = async (method: WorkerHttpRequest["method"], template: string, init: Init = {}) => {
    let path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(init.params?.path?.[name])));
    const query = Object.entries(init.params?.query ?? {}).filter(([, value]) => value !== undefined);
    if (query.length > 0) path += `?${new URLSearchParams(query.map(([key, value]) => [key, String(value)])).toString()}`;
    const response = await send({
      method,
      path,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
    const text = await readText(response);
    const status = response.statusCode ?? 0;
    // What the SDK's `call` reads of an openapi-fetch result: `data`, or `error` and the status.
    const summary = { status, statusText: response.statusMessage ?? "" } as Response;
    const parsed = text.length === 0 ? undefined : parseJson(text);
    return status >= 200 && status < 300 ? { data: parsed, response: summary } : { error: parsed, response: summary };
  };

  const api = {
    GET: (path: string, init?: Init) => json("GET", path, init),
    POST: (path: string, init?: Init) => json("POST", path, init),
    DELETE: (path: string, init?: Init) => json("DELETE", path, init),
  } as unknown as Client<paths>;
  return { url: parameters.url, api, send };
}

/** The whole response body as text (JSON answers and problems are small). */
export async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { detail: text.slice(0, 200) };
  }
}
