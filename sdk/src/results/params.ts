// Task parameters: what a requester passes to the app. The document travels off-chain as exact
// UTF-8 text; the request order carries its sha256, which workers check before running anything.
import { sha256, toUtf8Bytes } from "ethers";

import { InvalidInputError } from "../errors/input.js";

export interface TaskParams {
  /** Command-line arguments appended to the image's entrypoint. */
  args?: string[];
  /** Extra environment variables (names in upper case; the SUNPOOL_ prefix is reserved). */
  env?: Record<string, string>;
  /** Encrypt the result to this key (see `generateResultKeyPair`). */
  resultEncryption?: { scheme: "ecdh-secp256k1-aes256gcm"; publicKey: string };
}

export const MAX_PARAMS_BYTES = 65_536;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

/** Serializes params (keys in a fixed order) and returns the text and its digest for the order. */
export function encodeTaskParams(params: TaskParams): { text: string; digest: string } {
  const validated = validateTaskParams(params);
  const text = JSON.stringify(validated);
  const bytes = toUtf8Bytes(text);
  if (bytes.length > MAX_PARAMS_BYTES)
    throw new InvalidInputError("task params size", bytes.length, `at most ${MAX_PARAMS_BYTES} bytes`);
  return { text, digest: sha256(bytes) };
}

/** Parses a params document, checking it against the digest in the request order. */
export function decodeTaskParams(text: string, expectedDigest: string): TaskParams {
  const digest = sha256(toUtf8Bytes(text));
  if (digest !== expectedDigest.toLowerCase()) {
    throw new InvalidInputError("task params", `digest ${digest}`, `the request order's params digest ${expectedDigest}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidInputError("task params", text, "a JSON object");
  }
  return validateTaskParams(parsed as TaskParams);
}

function validateTaskParams(params: TaskParams): TaskParams {
  if (typeof params !== "object" || params === null) throw new InvalidInputError("task params", params, "an object");
  const out: TaskParams = {};
  if (params.args !== undefined) {
    if (
      !Array.isArray(params.args) ||
      params.args.length > 256 ||
      params.args.some((arg) => typeof arg !== "string" || arg.includes("\0"))
    ) {
      throw new InvalidInputError("args", params.args, "up to 256 strings without NUL characters");
    }
    out.args = [...params.args];
  }
  if (params.env !== undefined) {
    const env: Record<string, string> = {};
    for (const name of Object.keys(params.env).sort()) {
      const value = params.env[name];
      if (!ENV_NAME.test(name) || name.startsWith("SUNPOOL_") || typeof value !== "string" || value.includes("\0")) {
        throw new InvalidInputError(`env ${name}`, value, "an upper-case name (not SUNPOOL_*) with a string value");
      }
      env[name] = value;
    }
    out.env = env;
  }
  if (params.resultEncryption !== undefined) {
    const { scheme, publicKey } = params.resultEncryption;
    if (scheme !== "ecdh-secp256k1-aes256gcm" || typeof publicKey !== "string" || !/^0x0[23][0-9a-fA-F]{64}$/.test(publicKey)) {
      throw new InvalidInputError(
        "resultEncryption",
        publicKey,
        'scheme "ecdh-secp256k1-aes256gcm" and a compressed secp256k1 public key',
      );
    }
    out.resultEncryption = { scheme, publicKey };
  }
  return out;
}
