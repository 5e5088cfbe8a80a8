// Result folders on disk: read an output folder into files, write a verified result into one.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";

import { InvalidInputError } from "../errors/input.js";
import { assertSafeResultPath, type ResultFile } from "../results/digest.js";

/** Reads every regular file under `folder`; symlinks and special files are refused, not followed. */
export async function readResultFolder(folder: string, options: { maxBytes?: number } = {}): Promise<ResultFile[]> {
  const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
  const files: ResultFile[] = [];
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const path = relative(folder, full).split(sep).join("/");
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        assertSafeResultPath(path);
        total += (await lstat(full)).size;
        if (total > maxBytes) throw new InvalidInputError("output size", `over ${maxBytes} bytes`, "a smaller output");
        files.push({ path, content: await readFile(full) });
      } else {
        throw new InvalidInputError("output entry", path, "regular files and folders only (no symlinks, sockets or devices)");
      }
    }
  };
  await walk(folder);
  return files;
}

/** Writes result files under `folder`, refusing any path that would land outside it. */
export async function writeResultFolder(folder: string, files: readonly ResultFile[]): Promise<string[]> {
  const root = resolve(folder);
  const written: string[] = [];
  for (const file of files) {
    assertSafeResultPath(file.path);
    const target = resolve(root, file.path);
    if (!target.startsWith(root + sep)) throw new InvalidInputError("result path", file.path, "a path inside the output folder");
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    written.push(target);
  }
  return written;
}

/** sha256 of a file, 0x-prefixed (a dataset's registered checksum). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `0x${hash.digest("hex")}`;
}
