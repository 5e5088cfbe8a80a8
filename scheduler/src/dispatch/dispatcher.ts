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
  /**
   * Optional, for forecast-driven admission (harvest.ts): usable battery energy between empty and
   * full, the floor the worker keeps (percent), its idle draw, and the panel watts it expects hour
   * by hour from now. With them the scheduler can tell that a task will not fit before its deadline.
   */
  batteryWattHours?: number;
  floorPct?: number;
  idleWatts?: number;
  pvForecastWatts?: number[];
  /**
   * Optional: the charge (percent) a task ending in each hour from now must leave by the worker's
   * own rule (the floor in daylight, its night reserve after sunset). Without it the scheduler
   * plans to the floor, and may count on a start the worker then refuses.
   */
  endReservePct?: number[];
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
  /**
   * No record with this pool yet (tasks/admission.ts): its claims of mains power and of solar
   * surplus are not believed (no bonus), only the awake time of its outlook.
   */
  unproven?: boolean;
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

/** A worker's capacity for one more task: cores, this pool's record of it, and solar surplus. */
export function capacityWeight(worker: WorkerState, policy: DispatchPolicy): number {
  const reliability = (1 + worker.good) / (1 + worker.good + 3 * worker.bad);
  const solar =
    worker.unproven !== true && worker.outlook !== undefined && worker.outlook.pvWatts >= worker.outlook.loadWatts
      ? policy.solarBonus
      : 1;
  return Math.sqrt(worker.cores) * reliability * solar;
}

/** Seconds a worker can be trusted to stay awake (no outlook yet: short tasks only). */
function awakeSeconds(worker: WorkerState): number {
  const outlook = worker.outlook;
  if (outlook === undefined) return 60;
  return outlook.mainsPowered === true && worker.unproven !== true ? Infinity : outlook.awakeSeconds;
}

/**
 * The workers with a free slot, one typed column per field. A decision is a scan of these
 * columns, which stays in the CPU cache; objects scattered on the heap would not (measured: 5x
 * slower at 10,000 workers). Rows are swap-removed when a worker fills up.
 */
class AvailableWorkers {
  size = 0;
  workers: WorkerState[] = [];
  platforms = new Int32Array(0);
  memoryMiB = new Float64Array(0);
  millicores = new Float64Array(0);
  lastSeenMs = new Float64Array(0);
  awakeSeconds = new Float64Array(0);
  weight = new Float64Array(0);
  load = new Float64Array(0);
  lastAssignedMs = new Float64Array(0);
  private readonly row = new Map<string, number>();

  put(worker: WorkerState, policy: DispatchPolicy): void {
    let index = this.row.get(worker.address);
    if (index === undefined) {
      index = this.size++;
      if (index >= this.platforms.length) this.grow(Math.max(64, this.platforms.length * 2));
      this.row.set(worker.address, index);
    }
    this.workers[index] = worker;
    this.platforms[index] = worker.platforms;
    this.memoryMiB[index] = worker.memoryMiB;
    this.millicores[index] = worker.cores * 1000;
    this.lastSeenMs[index] = worker.lastSeenMs;
    this.awakeSeconds[index] = awakeSeconds(worker);
    this.weight[index] = capacityWeight(worker, policy);
    this.load[index] = policy.energyBlind ? worker.active / worker.slots : (worker.active + 1) / worker.slots;
    this.lastAssignedMs[index] = worker.lastAssignedMs;
  }

  remove(address: string): void {
    const index = this.row.get(address);
    if (index === undefined) return;
    const last = --this.size;
    if (index !== last) {
      this.workers[index] = this.workers[last]!;
      for (const column of [
        this.platforms,
        this.memoryMiB,
        this.millicores,
        this.lastSeenMs,
        this.awakeSeconds,
        this.weight,
        this.load,
        this.lastAssignedMs,
      ]) {
        column[index] = column[last]!;
      }
      this.row.set(this.workers[index].address, index);
    }
    this.workers.length = last;
    this.row.delete(address);
  }

  private grow(capacity: number): void {
    const resize = <T extends Int32Array | Float64Array>(column: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(column);
      return next;
    };
    this.platforms = resize(this.platforms, (n) => new Int32Array(n));
    this.memoryMiB = resize(this.memoryMiB, (n) => new Float64Array(n));
    this.millicores = resize(this.millicores, (n) => new Float64Array(n));
    this.lastSeenMs = resize(this.lastSeenMs, (n) => new Float64Array(n));
    this.awakeSeconds = resize(this.awakeSeconds, (n) => new Float64Array(n));
    this.weight = resize(this.weight, (n) => new Float64Array(n));
    this.load = resize(this.load, (n) => new Float64Array(n));
    this.lastAssignedMs = resize(this.lastAssignedMs, (n) => new Float64Array(n));
  }
}

export class Dispatcher {
  readonly workers = new Map<string, WorkerState>();
  private readonly available = new AvailableWorkers();

  constructor(readonly policy: DispatchPolicy = DEFAULT_POLICY) {}

  /** Adds a worker, or takes note of changes to it (call after mutating its state). */
  upsert(worker: WorkerState): void {
    this.workers.set(worker.address, worker);
    if (worker.active < worker.slots) this.available.put(worker, this.policy);
    else this.available.remove(worker.address);
  }

  remove(address: string): void {
    this.workers.delete(address);
    this.available.remove(address);
  }

  /**
   * The best worker for a task now, or undefined. Eligible: seen within offlineAfterMs, a free
   * slot, the image's platform, enough memory and cores, not already holding a replica of the
   * task, and awake for awakeMargin times the task's expected run time. Best: the lowest load
   * after taking the task ((active + 1) / slots) per unit of capacityWeight; on a tie, the worker
   * assigned longest ago. Energy-blind: the lowest load, nothing else.
   */
  select(needs: TaskNeeds, now: number): WorkerState | undefined {
    const rows = this.available;
    const seenAfter = now - this.policy.offlineAfterMs;
    const awakeFor = this.policy.energyBlind ? -Infinity : needs.expectedSeconds * this.policy.awakeMargin;
    const blind = this.policy.energyBlind === true;
    let best = -1;
    let bestScore = Infinity;
    for (let i = 0; i < rows.size; i++) {
      if ((rows.platforms[i]! & needs.platforms) === 0) continue;
      if (rows.memoryMiB[i]! < needs.memoryMiB || rows.millicores[i]! < needs.cpuMillicores) continue;
      if (rows.lastSeenMs[i]! < seenAfter || rows.awakeSeconds[i]! < awakeFor) continue;
      const score = blind ? rows.load[i]! : rows.load[i]! / rows.weight[i]!;
      if (score > bestScore || (score === bestScore && rows.lastAssignedMs[i]! >= rows.lastAssignedMs[best]!)) continue;
      // The set lookup is the most expensive check: only for a worker that would win.
      if (needs.exclude.has(rows.workers[i]!.address)) continue;
      best = i;
      bestScore = score;
    }
    return best < 0 ? undefined : rows.workers[best];
  }

  /** Records an assignment decision (the caller persists it). */
  assign(worker: WorkerState, now: number): void {
    worker.active += 1;
    worker.lastAssignedMs = now;
    this.upsert(worker);
  }

  release(address: string): void {
    const worker = this.workers.get(address);
    if (worker === undefined || worker.active === 0) return;
    worker.active -= 1;
    this.upsert(worker);
  }

  isOnline(address: string, now: number): boolean {
    const worker = this.workers.get(address);
    return worker !== undefined && now - worker.lastSeenMs <= this.policy.offlineAfterMs;
  }
}
