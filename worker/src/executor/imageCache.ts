// Task images on the worker's disk: which ones the executor pulled and when a task last needed
// each, in a small JSON file beside the journal, and the collector that removes the ones no task
// needed for a while. The engine itself does not know when an image pulled by digest was last
// used (no tag time, and task containers are removed after each run), and a worker's SD card
// cannot keep every image a stranger ever sent it.
//
// Only images recorded here are ever removed (never the owner's own images), and only through
// the engine's ordinary removal: an image that any container still uses is refused by the engine
// and stays until a later collection.
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";

import type Docker from "dockerode";

import { dockerError, statusCode } from "./images.js";

export interface CollectedImages {
  /** References (`repo@sha256:…`) removed from the engine. */
  removed: string[];
  /** Idle references the engine kept because a container uses them. */
  inUse: string[];
}

/** When each task image was last needed, persisted in `file` (written whole, then renamed). */
export class ImageCache {
  readonly file: string;
  #lastUsed: Map<string, number> | undefined;

  constructor(file: string) {
    this.file = file;
  }

  /** Notes that a task needed `reference` at `atMs` (board time). */
  async touch(reference: string, atMs: number): Promise<void> {
    const entries = await this.#load();
    entries.set(reference, Math.max(atMs, entries.get(reference) ?? 0));
    await this.#save(entries);
  }

  /** Recorded references and their last use (unix ms). */
  async entries(): Promise<ReadonlyMap<string, number>> {
    return new Map(await this.#load());
  }

  /**
   * Removes from the engine every recorded image no task needed for `maxIdleMs`, except those in
   * `keep` and those a container uses (the engine refuses those; they stay recorded).
   */
  async collect(
    docker: Docker,
    options: { nowMs: number; maxIdleMs: number; keep?: ReadonlySet<string> },
  ): Promise<CollectedImages> {
    const entries = await this.#load();
    const removed: string[] = [];
    const inUse: string[] = [];
    for (const [reference, lastUsed] of [...entries]) {
      if (options.nowMs - lastUsed < options.maxIdleMs || options.keep?.has(reference) === true) continue;
      try {
        await docker.getImage(reference).remove();
        removed.push(reference);
        entries.delete(reference);
      } catch (error) {
        const status = statusCode(error);
        if (status === 404) entries.delete(reference);
        else if (status === 409) inUse.push(reference);
        else throw dockerError(docker, error);
      }
    }
    if (removed.length > 0 || entries.size !== (await this.#read()).size) await this.#save(entries);
    return { removed, inUse };
  }

  async #load(): Promise<Map<string, number>> {
    this.#lastUsed ??= await this.#read();
    return this.#lastUsed;
  }

  async #read(): Promise<Map<string, number>> {
    try {
      const json = JSON.parse(await readFile(this.file, "utf8")) as Record<string, unknown>;
      return new Map(
        Object.entries(json).filter((entry): entry is [string, number] => typeof entry[1] === "number" && entry[0].includes("@")),
      );
    } catch {
      // Absent or damaged by a power cut: start afresh (images it forgot are the owner's to prune).
      return new Map();
    }
  }

  async #save(entries: Map<string, number>): Promise<void> {
    this.#lastUsed = entries;
    await mkdir(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.tmp`;
    const handle = await open(temporary, "w", 0o600);
    try {
      await handle.writeFile(JSON.stringify(Object.fromEntries(entries)));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.file);
  }
}
