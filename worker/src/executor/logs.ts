// A task's output streams, bounded. The engine stores at most LOG_MAX_SIZE per container
// (sandbox.ts); the executor keeps the last LOG_TAIL_BYTES of each stream for the report.
import type Docker from "dockerode";

export const LOG_TAIL_BYTES = 64 * 1024;

export interface TaskLogs {
  /** The last LOG_TAIL_BYTES of stdout (UTF-8, a split character at the cut is replaced). */
  stdout: string;
  stderr: string;
  /** Bytes dropped from the front of each stream (engine rotation not counted). */
  truncated: { stdout: number; stderr: number };
}

/** Keeps the last `limit` bytes written to it. */
export class TailBuffer {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = 0;

  constructor(limit: number = LOG_TAIL_BYTES) {
    this.limit = limit;
  }

  write(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.limit) {
      const first = this.#chunks[0]!;
      const excess = this.#size - this.limit;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
        this.#dropped += first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
        this.#dropped += excess;
      }
    }
  }

  get dropped(): number {
    return this.#dropped;
  }

  toString(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}

/**
 * Splits the engine's multiplexed log format (8-byte frame headers: stream type, 3 zero bytes,
 * big-endian length) into bounded stdout and stderr tails.
 */
export function demultiplexLogs(data: Buffer, limit: number = LOG_TAIL_BYTES): TaskLogs {
  const stdout = new TailBuffer(limit);
  const stderr = new TailBuffer(limit);
  let offset = 0;
  while (offset + 8 <= data.length) {
    const stream = data[offset]!;
    const length = data.readUInt32BE(offset + 4);
    const payload = data.subarray(offset + 8, Math.min(data.length, offset + 8 + length));
    (stream === 2 ? stderr : stdout).write(payload);
    offset += 8 + length;
  }
  return { stdout: stdout.toString(), stderr: stderr.toString(), truncated: { stdout: stdout.dropped, stderr: stderr.dropped } };
}

/** The bounded logs of a (stopped) container. */
export async function readContainerLogs(container: Docker.Container, limit: number = LOG_TAIL_BYTES): Promise<TaskLogs> {
  const data = await container.logs({ stdout: true, stderr: true, follow: false });
  return demultiplexLogs(data, limit);
}
