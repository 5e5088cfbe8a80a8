// Which workers get work, and how much of what they say about themselves is believed. A worker is
// admitted when it is on the pool's allow list or holds the pool's minimum stake on-chain (its
// escrow balance, hub.balanceOf); anyone else may sign requests but is given nothing. Until a
// worker has a record with this pool (N tasks completed), its self-declared slots and cores are
// capped and its claims of mains power and solar surplus earn no dispatch bonus: a newcomer
// declaring 64 slots on mains power cannot take a pool's queue before doing any work.
export interface ProbationCaps {
  /** Tasks a worker must complete for this pool before its declared capacity is believed. */
  tasks: number;
  /** Slots a worker on probation gets at most. */
  slots: number;
  /** Cores a worker on probation counts for at most. */
  cores: number;
  /** Whether a worker on probation gets the mains-power and solar-surplus bonuses (default no). */
  energyBonus: boolean;
}

export const DEFAULT_PROBATION: ProbationCaps = { tasks: 5, slots: 1, cores: 4, energyBonus: false };

export interface AdmissionPolicy {
  /** Workers admitted whatever their stake (lowercase addresses); undefined: no list. */
  allow?: ReadonlySet<string>;
  /**
   * Escrow balance (token base units) that admits a worker not on the list. Undefined with a
   * list: only the list (a closed pool). Undefined without a list: 0, anyone who signs.
   */
  minStake?: bigint;
  probation: ProbationCaps;
  /** How long a balance reading is trusted before it is read again. */
  stakeTtlMs: number;
}

interface Reading {
  balance: bigint;
  readAt: number;
}

/** Balance reads per refresh, and at once (a pass must not flood the RPC endpoint). */
const REFRESH_LIMIT = 256;
const REFRESH_CONCURRENCY = 16;

export class Admission {
  private readonly readings = new Map<string, Reading>();

  constructor(
    readonly policy: AdmissionPolicy,
    private readonly readBalance: (worker: string) => Promise<bigint>,
  ) {}

  /** Only the allow list admits: strangers can be refused before their signature is even checked. */
  get closed(): boolean {
    return this.policy.allow !== undefined && this.policy.minStake === undefined;
  }

  /** The stake that admits a worker not on the list (undefined in a closed pool). */
  get minStake(): bigint | undefined {
    if (this.policy.minStake !== undefined) return this.policy.minStake;
    return this.policy.allow === undefined ? 0n : undefined;
  }

  listed(worker: string): boolean {
    return this.policy.allow?.has(worker.toLowerCase()) ?? false;
  }

  /** Whether `worker` may be given work, from the last balance reading (no RPC). */
  admitted(worker: string): boolean {
    if (this.listed(worker)) return true;
    const minStake = this.minStake;
    if (minStake === undefined) return false;
    if (minStake === 0n) return true;
    const reading = this.readings.get(worker.toLowerCase());
    return reading !== undefined && reading.balance >= minStake;
  }

  /** Reads the worker's balance now and says whether it is admitted (registration does). */
  async check(worker: string, now = Date.now()): Promise<{ admitted: boolean; balance?: bigint }> {
    if (this.listed(worker)) return { admitted: true };
    const minStake = this.minStake;
    if (minStake === undefined) return { admitted: false };
    if (minStake === 0n) return { admitted: true };
    const balance = await this.readBalance(worker);
    this.readings.set(worker.toLowerCase(), { balance, readAt: now });
    return { admitted: balance >= minStake, balance };
  }

  /**
   * Reads again the balances older than the TTL among `workers` (at most a few hundred per call);
   * returns the workers whose admission changed.
   */
  async refresh(workers: Iterable<string>, now = Date.now()): Promise<string[]> {
    const minStake = this.minStake;
    if (minStake === undefined || minStake === 0n) return [];
    const stale: string[] = [];
    for (const worker of workers) {
      if (this.listed(worker)) continue;
      const reading = this.readings.get(worker.toLowerCase());
      if (reading === undefined || now - reading.readAt >= this.policy.stakeTtlMs) stale.push(worker);
      if (stale.length >= REFRESH_LIMIT) break;
    }
    const changed: string[] = [];
    for (let start = 0; start < stale.length; start += REFRESH_CONCURRENCY) {
      await Promise.all(
        stale.slice(start, start + REFRESH_CONCURRENCY).map(async (worker) => {
          const before = this.admitted(worker);
          const balance = await this.readBalance(worker);
          this.readings.set(worker.toLowerCase(), { balance, readAt: now });
          if (this.admitted(worker) !== before) changed.push(worker);
        }),
      );
    }
    return changed;
  }
}
