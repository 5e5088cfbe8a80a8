// The task's output folder on the host: prepared before the run, measured while it runs, read and
// digested after. The container writes it as uid 65534; nothing in it is trusted (a task may leave
// symlinks to host files, FIFOs, unsafe names or millions of files there).
import { chmod, chown, lstat, mkdir, readdir, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";

import { assertSafeResultPath, resultDigest, type ResultFile } from "@sunpool/sdk";
import { readResultFolder } from "@sunpool/sdk/node";

import { InvalidTaskError } from "./errors.js";
import { GID, UID } from "./sandbox.js";

/** More entries than this counts as too large (each costs an inode and a digest line). */
export const MAX_OUTPUT_ENTRIES = 10_000;

/**
 * Creates `dir` (empty) for the container's user. As root it is chowned to 65534 with mode 0700;
 * otherwise it is made 0777, so the parent folder must be private to the agent (mode 0700).
 */
export async function prepareOutputDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length > 0)
    throw new InvalidTaskError("outputDir", `${dir} (not empty: ${entries.slice(0, 3).join(", ")})`, "an empty or absent folder");
  if (process.getuid?.() === 0) {
    await chown(dir, UID, GID);
    await chmod(dir, 0o700);
  } else {
    await chmod(dir, 0o777);
  }
}

export type OutputProblem = { kind: "too-large"; detail: string } | { kind: "invalid"; detail: string };

/**
 * Walks the folder without following links and reports the first problem: over `maxBytes` in
 * total, over MAX_OUTPUT_ENTRIES entries, or an entry the result format refuses (symlink, special
 * file, unsafe name). Stops early, so it is cheap to call while the task runs.
 */
export async function checkOutput(dir: string, maxBytes: number): Promise<OutputProblem | undefined> {
  let bytes = 0;
  let entries = 0;
  const walk = async (folder: string): Promise<OutputProblem | undefined> => {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (error) {
      // The task may delete a folder between readdir and here; the final check runs after exit.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    for (const name of names) {
      if (++entries > MAX_OUTPUT_ENTRIES)
        return { kind: "too-large", detail: `more than ${MAX_OUTPUT_ENTRIES} files and folders` };
      const full = join(folder, name);
      const path = relative(dir, full).split(sep).join("/");
      let stats;
      try {
        stats = await lstat(full);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      if (stats.isDirectory()) {
        const problem = await walk(full);
        if (problem !== undefined) return problem;
      } else if (stats.isFile()) {
        try {
          assertSafeResultPath(path);
        } catch {
          return { kind: "invalid", detail: `unsafe file name ${JSON.stringify(path)}` };
        }
        bytes += stats.size;
        if (bytes > maxBytes) return { kind: "too-large", detail: `more than ${maxBytes} bytes` };
      } else {
        return {
          kind: "invalid",
          detail: `${JSON.stringify(path)} is not a regular file or folder (symlinks, FIFOs and devices are refused)`,
        };
      }
    }
    return undefined;
  };
  return walk(dir);
}

/** Reads the checked folder and computes the documented result digest (docs/results.md). */
export async function collectOutput(dir: string, maxBytes: number): Promise<{ files: ResultFile[]; digest: string }> {
  const files = await readResultFolder(dir, { maxBytes });
  return { files, digest: resultDigest(files) };
}

/** Deletes an output folder the container wrote (used after failures the caller won't publish). */
export async function removeOutputDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
