// Requests the CLI signed, kept on disk before they are handed to a scheduler: the salt is what
// lets the requester cancel a request on-chain, and only the scheduler would hold it otherwise.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { bytes32 } from "../orders/build.js";
import type { RequestOrder } from "../orders/eip712.js";
import { orderFromJson, orderToJson } from "../orders/json.js";
import { hashOrder } from "../orders/sign.js";

/** Writes `<folder>/<orderHash>.json` atomically; returns the order hash. */
export async function saveRequest(folder: string, request: RequestOrder, params: string): Promise<string> {
  const hash = hashOrder("request", request);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const file = join(folder, `${hash}.json`);
  await writeFile(`${file}.tmp`, JSON.stringify({ kind: "request", order: orderToJson(request), params }, null, 2) + "\n");
  await rename(`${file}.tmp`, file);
  return hash;
}

/** The saved request with this hash, or undefined if this machine never signed it. */
export async function loadRequest(folder: string, hash: string): Promise<{ order: RequestOrder; params: string } | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, `${bytes32("order hash", hash)}.json`), "utf8");
  } catch {
    return undefined;
  }
  const saved = JSON.parse(text) as { order: unknown; params: string };
  return { order: orderFromJson("request", saved.order), params: saved.params };
}
