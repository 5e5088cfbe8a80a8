// Content through the pool's IPFS node, for workers that run no node of their own (the default on
// a Pi: docs/worker.md, "IPFS"). POST uploads a result's files under the CID the worker computed;
// the node adds and pins them only if they make that CID. GET serves a CID's files (a task's
// dataset), which the worker checks itself. Bodies are packed files (the SDK's packFileChunks).
//
// An upload is untrusted until proven otherwise, so each check comes before the work it guards:
// its type and declared length, then the signature and admission, before a byte of the body is
// read (the signed path names the CID, which binds the content: the body itself is signed as
// empty); each file's declared size before its content; the CID before anything is stored.
import { Readable } from "node:stream";

import { InvalidInputError, packFileChunks, unpackFileStream, type ResultFile } from "@sunpool/sdk";
import { PACKED_FILES_TYPE } from "@sunpool/sdk/node";
import type { FastifyInstance, FastifyRequest } from "fastify";

import { Rejection } from "../../errors.js";
import type { ApiContext } from "../context.js";
import { fastifyPath, routeSchema } from "../openapi.js";
import { authenticateWorker } from "../workerAuth.js";
import { admit } from "./workers.js";

const CONTENT = "/v1/workers/content/{cid}";
/** As many files as a task's output may hold (the worker's MAX_OUTPUT_ENTRIES). */
const MAX_FILES = 10_000;
/** Packing adds 6 bytes and the path per file; paths of up to this much in total. */
const MAX_PATH_BYTES = 1024 * 1024;

export function contentRoutes(app: FastifyInstance, context: ApiContext): void {
  const maxBytes = context.pinner.maxBytes;
  const bodyLimit = maxBytes + MAX_FILES * 6 + MAX_PATH_BYTES;
  // Uploading and reading make the node store and fetch: only for registered workers still admitted.
  const authenticate = async (request: FastifyRequest) => {
    request.worker = await authenticateWorker(context, request, {
      mustBeRegistered: true,
      admit: (worker) => admit(context, worker),
    });
  };

  // A plugin of its own: the packed-files parser applies to these routes only.
  void app.register((scope, _options, registered) => {
    // The body stays a stream: the route reads it file by file, checking each size first.
    scope.addContentTypeParser(PACKED_FILES_TYPE, (_request, payload, done) => done(null, payload));

    scope.post(
      fastifyPath(CONTENT),
      {
        schema: routeSchema(CONTENT, "post"),
        bodyLimit,
        onRequest: async (request, reply) => {
          // A refused upload's body is not drained: the connection ends with the answer.
          void reply.header("connection", "close");
          checkEnvelope(request, bodyLimit, maxBytes);
          await authenticate(request);
        },
      },
      async (request) => {
        const { cid } = request.params as { cid: string };
        const files = await readUpload(request.body as Readable, cid, maxBytes);
        const bytes = await context.pinner.addResult(cid, files, request.worker!);
        return { cid, bytes };
      },
    );

    scope.get(fastifyPath(CONTENT), { schema: routeSchema(CONTENT, "get"), onRequest: authenticate }, async (request, reply) => {
      const { cid } = request.params as { cid: string };
      const chunks = packFileChunks(await context.pinner.readContent(cid));
      const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      return reply
        .type(PACKED_FILES_TYPE)
        .header("content-length", length)
        .send(Readable.from(chunks, { objectMode: false }));
    });
    registered();
  });
}

/** What the headers alone say is wrong with an upload (before any signature work). */
function checkEnvelope(request: FastifyRequest, bodyLimit: number, maxBytes: number): void {
  const type = request.headers["content-type"]?.split(";")[0]?.trim();
  if (type !== PACKED_FILES_TYPE) {
    throw new Rejection(
      415,
      "unsupported content type",
      `the body is ${type ?? "untyped"}, not ${PACKED_FILES_TYPE}`,
      "Send the result's files packed (the SDK's uploadResult does).",
    );
  }
  const declared = Number(request.headers["content-length"]);
  if (!Number.isSafeInteger(declared)) {
    throw new Rejection(411, "length required", "the upload has no Content-Length", "Send the body with its length.");
  }
  const { cid } = request.params as { cid: string };
  if (declared > bodyLimit) throw tooLarge(cid, maxBytes);
}

async function readUpload(body: Readable, cid: string, maxBytes: number): Promise<ResultFile[]> {
  let files = 0;
  let bytes = 0;
  try {
    return await unpackFileStream(body, (_path, size) => {
      files += 1;
      bytes += size;
      if (bytes > maxBytes) throw tooLarge(cid, maxBytes);
      if (files > MAX_FILES) {
        throw new Rejection(
          413,
          "too many files",
          `${cid}: more than ${MAX_FILES.toString()} files`,
          "A result holds at most 10,000 files.",
        );
      }
    });
  } catch (error) {
    if (error instanceof InvalidInputError) {
      throw new Rejection(
        400,
        "invalid upload",
        error.shortMessage,
        "Send the result's files packed (the SDK's uploadResult does).",
      );
    }
    throw error;
  }
}

function tooLarge(cid: string, maxBytes: number): Rejection {
  return new Rejection(
    413,
    "result too large",
    `${cid} is larger than ${maxBytes.toString()} bytes`,
    "Results must stay within the pool's pin limit.",
  );
}
