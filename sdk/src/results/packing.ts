// Packed files: a folder of result files as one byte string. Per file, big-endian:
//   u16 path length | UTF-8 path | u32 content length | content
// It is the plaintext of an encrypted result (./encryption.ts), and the body in which a worker
// hands its result to the pool's IPFS node and receives a dataset from it (docs/scheduler.md,
// "Content"). Each file's length comes before its content, so a reader refuses an oversized
// file before reading it, whatever the sender claimed for the whole body.
import { InvalidInputError } from "../errors/input.js";
import { assertSafeResultPath, type ResultFile } from "./digest.js";

/** Packs files into one byte string. */
export function packFiles(files: readonly ResultFile[]): Uint8Array<ArrayBuffer> {
  return concatBytes(packFileChunks(files));
}

/** The packed form as a list of chunks (headers and the contents themselves, not copied), for streaming. */
export function packFileChunks(files: readonly ResultFile[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (const file of files) {
    assertSafeResultPath(file.path);
    const path = new TextEncoder().encode(file.path);
    const lengths = new DataView(new ArrayBuffer(6));
    lengths.setUint16(0, path.length);
    lengths.setUint32(2, file.content.length);
    chunks.push(new Uint8Array(lengths.buffer, 0, 2), path, new Uint8Array(lengths.buffer, 2, 4), file.content);
  }
  return chunks;
}

export function unpackFiles(packed: Uint8Array): ResultFile[] {
  const files: ResultFile[] = [];
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  let offset = 0;
  while (offset < packed.length) {
    if (offset + 2 > packed.length) throw truncated(offset);
    const pathLength = view.getUint16(offset);
    const contentStart = offset + 2 + pathLength + 4;
    if (contentStart > packed.length) throw truncated(offset);
    const path = decodePath(packed.subarray(offset + 2, offset + 2 + pathLength));
    const contentLength = view.getUint32(offset + 2 + pathLength);
    if (contentStart + contentLength > packed.length) throw truncated(offset);
    files.push({ path, content: packed.slice(contentStart, contentStart + contentLength) });
    offset = contentStart + contentLength;
  }
  return files;
}

/**
 * Reads packed files from a byte stream (an HTTP body). `admit` sees each file's path and
 * declared size before a byte of its content is read or allocated, and throws to refuse it: the
 * caller's limits (total size, number of files) hold against any sender.
 */
export async function unpackFileStream(
  source: AsyncIterable<Uint8Array>,
  admit: (path: string, bytes: number) => void,
): Promise<ResultFile[]> {
  const reader = new ByteReader(source);
  const files: ResultFile[] = [];
  while (!(await reader.atEnd())) {
    const pathLength = new DataView((await reader.read(2)).buffer).getUint16(0);
    const path = decodePath(await reader.read(pathLength));
    const bytes = new DataView((await reader.read(4)).buffer).getUint32(0);
    admit(path, bytes);
    files.push({ path, content: await reader.read(bytes) });
  }
  return files;
}

/** Concatenates byte strings. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function decodePath(bytes: Uint8Array): string {
  let path: string;
  try {
    path = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidInputError("packed result path", "bytes that are not UTF-8", "a UTF-8 path");
  }
  assertSafeResultPath(path);
  return path;
}

function truncated(offset: number): InvalidInputError {
  return new InvalidInputError("packed result", `truncated at byte ${offset}`, "a complete packed folder");
}

/** Exact-length reads over a stream of chunks of any size. */
class ByteReader {
  readonly #chunks: AsyncIterator<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#chunks = source[Symbol.asyncIterator]();
  }

  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  async read(length: number): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (!(await this.#fill())) throw truncated(this.position);
      const take = Math.min(length - filled, this.#chunk.length - this.#offset);
      out.set(this.#chunk.subarray(this.#offset, this.#offset + take), filled);
      filled += take;
      this.#offset += take;
      this.position += take;
    }
    return out;
  }

  async #fill(): Promise<boolean> {
    while (this.#offset >= this.#chunk.length) {
      const next = await this.#chunks.next();
      if (next.done === true) return false;
      this.#chunk = next.value;
      this.#offset = 0;
    }
    return true;
  }
}
