// Which worker gets a replica of a task: the pure decision, in memory, so that it costs
// microseconds with ten thousand workers (scripts/bench-dispatch.ts measures it).
//
// Shape taken from TrustMesh's LCDWRR (least-connection, dynamic weighted round robin): filter
// by resources, prefer the least loaded relative to capacity. Changed for a solar fleet:
// - a worker whose energy outlook says it will not stay awake for the task is not eligible, and
//   one whose panel covers its load right now counts as more capacity (work done on sunshine
//   costs the battery nothing);
// - weights come from this pool's own record of each worker (tasks completed against tasks
//   abandoned or lost), not from the farmable global score;
// - the choice is deterministic (ties go to the worker assigned longest ago), so tests and
//   operators can explain every decision.
import type { Platform } from "@sunpool/sdk";

export const PLATFORM_MASK: Record<Platform, number> = { "linux/amd64": 1, "linux/arm64": 2, "linux/arm/v7": 4 };

export interface EnergyOutlook {
  stateOfChargePct: number;
  pvWatts: number;
  loadWatts: number;
  /** How long the worker expects to stay awake under load. */
  awakeSeconds: number;
  mainsPowered?: boolean;
}

export interface WorkerState {
  address: string;
  platforms: number;
  cores: number;
  memoryMiB: number;
  slots: number;
  /** Replicas it holds now (offered or running). */
  active: number;
  lastSeenMs: number;
  outlook?: EnergyOutlook;
  /** Tasks it completed for this pool, and tasks it abandoned, failed or lost. */
  good: number;
  bad: number;
  lastAssignedMs: number;
}

export interface TaskNeeds {
  /** Platforms the app image exists for (PLATFORM_MASK bits). */
  platforms: number;
  memoryMiB: number;
  cpuMillicores: number;
  expectedSeconds: number;
  /** Workers that already hold (or held) a replica of this task. */
  exclude: ReadonlySet<string>;
}

export interface DispatchPolicy {
  /** A worker not heard from for this long is offline. */
  offlineAfterMs: number;
  /** Required awake time as a multiple of the task's expected run time. */
  awakeMargin: number;
  /** Capacity bonus of a worker running on solar surplus. */
  solarBonus: number;
  /** Energy-blind round robin (for comparison benchmarks only). */
  energyBlind?: boolean;
}

export const DEFAULT_POLICY: DispatchPolicy = { offlineAfterMs: 45_000, awakeMargin: 1.5, solarBonus: 1.5 };

export type Ineligibility = "offline" | "full" | "platform" | "memory" | "cpu" | "excluded" | "energy";

/** Why a worker cannot take a task now, or undefined if it can. */
export function ineligibility(
  worker: WorkerState,
  needs: TaskNeeds,
  now: number,
  policy: DispatchPolicy,
): Ineligibility | undefined {
  if (now - worker.lastSeenMs > policy.offlineAfterMs) return "offline";
  if (worker.active >= worker.slots) return "full";
  if ((worker.platforms & needs.platforms) === 0) return "platform";
  if (worker.memoryMiB < needs.memoryMiB) return "memory";
  if (worker.cores * 1000 < needs.cpuMillicores) return "cpu";
  if (needs.exclude.has(worker.address)) return "excluded";
  if (!policy.energyBlind && !hasEnergyFor(worker.outlook, needs.expectedSeconds * policy.awakeMargin)) return "energy";
  return undefined;
}

function hasEnergyFor(outlook: EnergyOutlook | undefined, seconds: number): boolean {
  // No outlook yet (a worker that only registered): trust it for short tasks only.
  if (outlook === undefined) return seconds <= 60;
  return outlook.mainsPowered === true || outlook.awakeSeconds >= seconds;
}

/** Lower is better: load after taking the task, divided by the worker's effective capacity. */
export function dispatchScore(worker: WorkerState, policy: DispatchPolicy): number {
  if (policy.energyBlind) return worker.active / worker.slots;
  const reliability = (1 + worker.good) / (1 + worker.good + 3 * worker.bad);
  const solar = worker.outlook !== undefined && worker.outlook.pvWatts >= worker.outlook.loadWatts ? policy.solarBonus : 1;
  return (worker.active + 1) / worker.slots / (Math.sqrt(worker.cores) * reliability * solar);
}

export class Dispatcher {
  readonly workers = new Map<string, WorkerState>();

  constructor(readonly policy: DispatchPolicy = DEFAULT_POLICY) {}

  upsert(worker: WorkerState): void {
    this.workers.set(worker.address, worker);
  }

  /** The best worker for a task now, or undefined (with the reasons, for logs and status). */
  select(needs: TaskNeeds, now: number): WorkerState | undefined {
    let best: WorkerState | undefined;
    let bestScore = Infinity;
    for (const worker of this.workers.values()) {
      if (ineligibility(worker, needs, now, this.policy) !== undefined) continue;
      const score = dispatchScore(worker, this.policy);
      if (score < bestScore || (score === bestScore && best !== undefined && worker.lastAssignedMs < best.lastAssignedMs)) {
        best = worker;
        bestScore = score;
      }
    }
    return best;
  }

  /** Records an assignment decision (the caller persists it). */
  assign(worker: WorkerState, now: number): void {
    worker.active += 1;
    worker.lastAssignedMs = now;
  }

  release(address: string): void {
    const worker = this.workers.get(address);
    if (worker !== undefined && worker.active > 0) worker.active -= 1;
  }

  isOnline(address: string, now: number): boolean {
    const worker = this.workers.get(address);
    return worker !== undefined && now - worker.lastSeenMs <= this.policy.offlineAfterMs;
  }
}
