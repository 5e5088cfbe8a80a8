// Crash points for the recovery tests: with SUNPOOL_WORKER_FAILPOINT=<name> the agent kills
// itself with SIGKILL the moment it reaches <name> — the same instant a power cut could strike —
// so a test can restart it and check that nothing was lost or done twice. Unset in production,
// where each call is one string comparison.
const armed = process.env.SUNPOOL_WORKER_FAILPOINT;

/** The points, in the order a task reaches them. */
export const FAILPOINTS = [
  "accepted",
  "container-started",
  "executed",
  "published",
  "pinned",
  // The step `sent` is journaled (for trust >= 2 with the commitment's salt); nothing is sent yet.
  "sending",
  // The transaction was sent (its hash journaled).
  "sent",
  "committed",
  "revealed",
] as const;

export type Failpoint = (typeof FAILPOINTS)[number];

/**
 * SUNPOOL_WORKER_TAMPER=1 makes this worker dishonest: it adds a file to every result before
 * hashing it, as a cheater returning made-up results would. For the consensus and slashing tests
 * and the devnet's `--dishonest` demo; never set it on a worker that stakes real tokens.
 */
export const tampering = process.env.SUNPOOL_WORKER_TAMPER === "1";

export function failpoint(name: Failpoint): void {
  if (armed === name) process.kill(process.pid, "SIGKILL");
}
