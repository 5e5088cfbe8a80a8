// Result encryption for the requester: ECDH on secp256k1 with an ephemeral key per result,
// HKDF-SHA256, AES-256-GCM (WebCrypto; ethers for the curve, so it runs in browsers too). The
// worker encrypts the packed output folder to the public key in the task params; only the
// requester's key opens it. The digest on-chain stays the digest of the plaintext folder, so
// replicas that encrypt with different ephemeral keys still agree.
//
// The requester's result key is derived from its wallet key (`deriveResultKey`), so nothing
// beyond the encrypted keystore has to be kept safe; the derivation separates it from the
// signing key.
//
// Envelope: "SPENC1" (6 bytes) | ephemeral public key (33, compressed) | IV (12) | ciphertext+tag,
// over the packed folder (./packing.ts).
import { concat, getBytes, keccak256, SigningKey, toUtf8Bytes, Wallet } from "ethers";

import { InvalidInputError } from "../errors/input.js";
import type { ResultFile } from "./digest.js";
import { concatBytes, packFiles, unpackFiles } from "./packing.js";

export { packFiles, unpackFiles } from "./packing.js";

/** The file name of an encrypted result inside its IPFS folder. */
export const ENCRYPTED_RESULT_FILE = "result.sunpool-enc";

const MAGIC = new TextEncoder().encode("SPENC1");
const INFO = new TextEncoder().encode("sunpool-result-v1");
const PUBLIC_KEY_BYTES = 33;
const IV_BYTES = 12;

export interface ResultKeyPair {
  /** Compressed secp256k1 public key (0x02.. or 0x03.., 33 bytes): put it in the task params. */
  publicKey: string;
  /** The private key (0x, 32 bytes): keep it secret. */
  privateKey: string;
}

/** The result key pair of a wallet: same wallet, same key pair, on any machine. */
export function deriveResultKey(walletPrivateKey: string): ResultKeyPair {
  const privateKey = keccak256(concat([toUtf8Bytes("sunpool-result-key-v1"), walletPrivateKey]));
  return { privateKey, publicKey: SigningKey.computePublicKey(privateKey, true) };
}

/** A fresh random result key pair, for requesters that manage keys themselves. */
export function generateResultKeyPair(): ResultKeyPair {
  const { privateKey } = Wallet.createRandom();
  return { privateKey, publicKey: SigningKey.computePublicKey(privateKey, true) };
}

/** Encrypts result files to a requester's public key. */
export async function encryptResult(files: readonly ResultFile[], publicKey: string): Promise<Uint8Array> {
  const ephemeral = new SigningKey(Wallet.createRandom().privateKey);
  const ephemeralPublic = new Uint8Array(getBytes(SigningKey.computePublicKey(ephemeral.publicKey, true)));
  let shared: string;
  try {
    shared = ephemeral.computeSharedSecret(publicKey);
  } catch (cause) {
    throw new InvalidInputError("result public key", publicKey, `a secp256k1 public key (${String(cause)})`);
  }
  const key = await contentKey(shared, ephemeralPublic);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, packFiles(files)));
  return concatBytes([MAGIC, ephemeralPublic, iv, ciphertext]);
}

/** Decrypts an envelope with the requester's private key; throws if it was altered or is not for this key. */
export async function decryptResult(envelope: Uint8Array, privateKey: string): Promise<ResultFile[]> {
  const header = MAGIC.length + PUBLIC_KEY_BYTES + IV_BYTES;
  if (envelope.length < header + 16 || !MAGIC.every((byte, i) => envelope[i] === byte)) {
    throw new InvalidInputError("encrypted result", `${envelope.length} bytes`, "a Sunpool result envelope (SPENC1)");
  }
  const ephemeralPublic = envelope.slice(MAGIC.length, MAGIC.length + PUBLIC_KEY_BYTES);
  const iv = envelope.slice(MAGIC.length + PUBLIC_KEY_BYTES, header);
  const key = await contentKey(new SigningKey(privateKey).computeSharedSecret(ephemeralPublic), ephemeralPublic);
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, envelope.slice(header)));
  } catch {
    throw new InvalidInputError("encrypted result", "authentication failed", "an envelope encrypted to this key and not altered");
  }
  return unpackFiles(plaintext);
}

/** AES key from the ECDH point's x coordinate, salted with the ephemeral public key. */
async function contentKey(sharedPoint: string, salt: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const x = new Uint8Array(getBytes(sharedPoint).subarray(1, 33));
  const hkdf = await crypto.subtle.importKey("raw", x, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: INFO },
    hkdf,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}
