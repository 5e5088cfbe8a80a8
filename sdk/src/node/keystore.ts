// The wallet on disk: an encrypted JSON keystore (Web3 Secret Storage v3, scrypt), written
// atomically with owner-only permissions. A plain private key never touches the disk.
//
// scrypt runs in OpenSSL (node:crypto), not in ethers' JavaScript: at N = 2^17 that is 0.4 s
// instead of 0.8 s with V8's optimizing compiler and 27 s without it (x86_64; the worker on a Pi
// runs without it, docs/worker.md "Footprint"), and it runs off the main thread. The format and
// its parameters are ethers', so every keystore reads the same way whatever N it was written with.
import { scrypt as opensslScrypt } from "node:crypto";
import { access, mkdir, open, readFile, rename } from "node:fs/promises";

import { encryptKeystoreJson, getAddress, type HDNodeWallet, scrypt, Wallet } from "ethers";
import { dirname } from "node:path";

import { KeystoreError } from "../errors/input.js";

export interface WriteKeystoreParameters {
  path: string;
  password: string;
  /** Import this key instead of generating one. */
  privateKey?: string;
  /** Replace an existing keystore (the old key is lost unless backed up). */
  overwrite?: boolean;
  /**
   * scrypt's cost N (a power of two; default 2^17, ethers' and geth's). Stretching protects a
   * password a person chose; a machine-generated 256-bit password needs none, and a lower N
   * spares a small device the 128 MiB and seconds 2^17 costs at every start.
   */
  scryptN?: number;
}

/** Creates (or imports) a wallet and stores it encrypted; returns its address. */
export async function writeKeystore(parameters: WriteKeystoreParameters): Promise<{ address: string }> {
  if (parameters.password.length < 8) {
    throw new KeystoreError("The keystore password is too short.", ["Use at least 8 characters."]);
  }
  if (!parameters.overwrite && (await exists(parameters.path))) {
    throw new KeystoreError(`A keystore already exists at ${parameters.path}.`, [
      "Keep it (sunpool wallet show prints its address), or pass --force to replace it after backing it up.",
    ]);
  }
  let wallet: Wallet | HDNodeWallet;
  try {
    wallet = parameters.privateKey === undefined ? Wallet.createRandom() : new Wallet(parameters.privateKey);
  } catch (cause) {
    throw new KeystoreError("The private key to import is not valid.", ["Give 32 bytes as 0x-prefixed hex."], cause);
  }
  useOpensslScrypt();
  // A custom cost leaves out the mnemonic ethers adds for a random wallet: nobody has seen it.
  const json =
    parameters.scryptN === undefined
      ? await wallet.encrypt(parameters.password)
      : await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, parameters.password, {
          scrypt: { N: parameters.scryptN },
        });
  await mkdir(dirname(parameters.path), { recursive: true, mode: 0o700 });
  await writeFileDurably(parameters.path, json, 0o600);
  return { address: wallet.address };
}

/** Opens a keystore; wrong passwords and damaged files get their own messages. */
export async function readKeystore(path: string, password: string): Promise<Wallet> {
  let json: string;
  try {
    json = await readFile(path, "utf8");
  } catch (cause) {
    throw new KeystoreError(`No keystore at ${path}.`, ["Create one with: sunpool init", "or point --keystore at yours."], cause);
  }
  useOpensslScrypt();
  try {
    const wallet = await Wallet.fromEncryptedJson(json, password);
    return wallet instanceof Wallet ? wallet : new Wallet(wallet.privateKey);
  } catch (cause) {
    const wrongPassword = cause instanceof Error && /password/i.test(cause.message);
    throw new KeystoreError(
      wrongPassword ? `Wrong password for the keystore at ${path}.` : `The keystore at ${path} is damaged or not a keystore.`,
      wrongPassword ? ["Retry with the right password (SUNPOOL_PASSWORD or the prompt)."] : ["Restore it from your backup."],
      cause,
    );
  }
}

/** The address stored in a keystore, without decrypting it. */
export async function keystoreAddress(path: string): Promise<string> {
  try {
    const { address } = JSON.parse(await readFile(path, "utf8")) as { address?: string };
    if (typeof address !== "string") throw new Error("no address field");
    return getAddress(`0x${address.replace(/^0x/i, "")}`);
  } catch (cause) {
    throw new KeystoreError(`Cannot read the keystore at ${path}.`, ["Create one with: sunpool init"], cause);
  }
}

let opensslScryptInUse = false;

/** Has ethers derive keystore keys with node:crypto's scrypt (once per process). */
function useOpensslScrypt(): void {
  if (opensslScryptInUse) return;
  opensslScryptInUse = true;
  scrypt.register(
    (password, salt, N, r, p, keyLength) =>
      new Promise<Uint8Array>((resolve, reject) => {
        // OpenSSL refuses work over maxmem (32 MiB by default); scrypt needs 128 * N * r bytes.
        opensslScrypt(password, salt, keyLength, { N, r, p, maxmem: 256 * N * r }, (error, key) => {
          if (error === null) resolve(new Uint8Array(key));
          else reject(error);
        });
      }),
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a file so that a power cut at any instant leaves either the old file or the whole new one:
 * temporary file, fsync, rename, fsync of the folder (ext4 may otherwise keep the rename but not
 * the data, and a solar Pi loses power as a matter of course).
 */
export async function writeFileDurably(path: string, data: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid.toString()}.tmp`;
  const file = await open(temporary, "w", mode);
  try {
    await file.writeFile(data);
    await file.chmod(mode);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const folder = await open(dirname(path), "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
