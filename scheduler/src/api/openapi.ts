// The HTTP layer validates against api/scheduler.openapi.yaml itself: route schemas (body, query,
// path) are taken from the document the SDK's client is generated from, so server and clients
// cannot drift apart.
import { readFileSync } from "node:fs";

import type { FastifySchema } from "fastify";
import { parse } from "yaml";

export const SHARED_SCHEMA_ID = "sunpool-api";

interface Parameter {
  name: string;
  in: "query" | "path" | "header";
  required?: boolean;
  schema: unknown;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: unknown }> };
}

interface Document {
  paths: Record<string, { parameters?: Parameter[] } & Record<string, Operation | Parameter[] | undefined>>;
  components: { schemas: Record<string, unknown> };
}

const documentUrl = new URL("../../../api/scheduler.openapi.yaml", import.meta.url);
const document = parse(readFileSync(documentUrl, "utf8")) as Document;

/** The document's component schemas, to register once with `fastify.addSchema`. */
export function sharedSchema(): { $id: string; definitions: unknown } {
  return { $id: SHARED_SCHEMA_ID, definitions: rewriteRefs(document.components.schemas) };
}

/** Fastify's path syntax for an OpenAPI path (`{hash}` -> `:hash`). */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

/** Validation schemas of one operation of the document. */
export function routeSchema(path: string, method: "get" | "post" | "delete"): FastifySchema {
  const item = document.paths[path];
  const operation = item?.[method] as Operation | undefined;
  if (item === undefined || operation === undefined)
    throw new Error(`${method.toUpperCase()} ${path} is not in the OpenAPI document`);
  const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])];
  const schema: FastifySchema = {};
  const group = (location: "query" | "path") => {
    const selected = parameters.filter((parameter) => parameter.in === location);
    if (selected.length === 0) return undefined;
    return {
      type: "object",
      additionalProperties: location === "path",
      properties: Object.fromEntries(selected.map((parameter) => [parameter.name, rewriteRefs(parameter.schema)])),
      required: selected.filter((parameter) => parameter.required === true).map((parameter) => parameter.name),
    };
  };
  const querystring = group("query");
  const params = group("path");
  if (querystring !== undefined) schema.querystring = querystring;
  if (params !== undefined) schema.params = params;
  const body = operation.requestBody?.content["application/json"]?.schema;
  if (body !== undefined) schema.body = rewriteRefs(body);
  return schema;
}

const COMPONENT_PREFIX = "#/components/schemas/";

// Ajv knows JSON Schema's `definitions`, not OpenAPI's `components`: move the component schemas
// there and point every reference at the shared schema.
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) =>
      key === "$ref" && typeof value === "string" && value.startsWith(COMPONENT_PREFIX)
        ? [key, `${SHARED_SCHEMA_ID}#/definitions/${value.slice(COMPONENT_PREFIX.length)}`]
        : [key, rewriteRefs(value)],
    ),
  );
}
