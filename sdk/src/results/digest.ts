// The result digest: the one value workers vote on and the hub records. It is defined over the
// task's output folder so that anyone can recompute it with coreutils (docs/results.md):
//
//   (cd out && find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum
//
// i.e. sha256 of the `sha256sum` listing of every regular file, sorted by path bytes.
import { sha256, toUtf8Bytes } from "ethers";

import { InvalidInputError } from "../errors/input.js";

export interface ResultFile {
  /** Relative POSIX path inside the output folder, e.g. `counts/part-0.txt`. */
  path: string;
  content: Uint8Array;
}

/** Paths a result may contain: no absolute paths, no `..`, nothing sha256sum would escape. */
const SAFE_SEGMENT = /^(?!\.{1,2}$)[^/\\\n\r\0]{1,255}$/;

/** Throws unless `path` is a safe relative path (the worker refuses outputs that are not). */
export function assertSafeResultPath(path: string): void {
  const segments = path.split("/");
  if (path.length > 4096 || segments.some((segment) => !SAFE_SEGMENT.test(segment))) {
    throw new InvalidInputError("result path", path, "a relative path without '..', backslashes, newlines or empty segments");
  }
}

/** The listing the digest is the sha256 of: `<sha256 hex>  <path>\n` per file, sorted by path bytes. */
export function resultManifest(files: readonly ResultFile[]): string {
  const entries = files.map((file) => {
    assertSafeResultPath(file.path);
    return { path: file.path, key: toUtf8Bytes(file.path), hash: sha256(file.content).slice(2) };
  });
  entries.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.path === entries[i - 1]!.path) throw new InvalidInputError("result path", entries[i]!.path, "unique paths");
  }
  return entries.map((entry) => `${entry.hash}  ${entry.path}\n`).join("");
}

/** The result digest of a set of files, as the bytes32 the hub records. */
export function resultDigest(files: readonly ResultFile[]): string {
  return sha256(toUtf8Bytes(resultManifest(files)));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
