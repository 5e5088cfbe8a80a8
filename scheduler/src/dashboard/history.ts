// The dashboard's memory: heartbeat samples per worker and the energy receipts of this pool's
// tasks, both in the scheduler's SQLite file so that a restart loses no history. Samples are
// written at most once a minute per worker (and at every change of state), then thinned and
// dropped on a timer of their own, so the table stays bounded whatever the fleet's heartbeat rate.
import type { SunpoolClient } from "@sunpool/sdk";

import type { EnergyOutlook } from "../dispatch/dispatcher.js";
import { getMeta, type Store } from "../store/store.js";

export type WorkerActivity = "working" | "idle" | "sleeping" | "offline";

export interface HistoryPolicy {
  /** At most one unchanged sample per worker this often (ms). */
  sampleMs: number;
  /** Samples older than this are thinned to one per `thinBucketMs` (state changes are kept). */
  thinAfterMs: number;
  thinBucketMs: number;
  /** Samples and receipts older than this are dropped. */
  keepMs: number;
}

export const DEFAULT_HISTORY: HistoryPolicy = {
  sampleMs: 60_000,
  thinAfterMs: 24 * 3600_000,
  thinBucketMs: 15 * 60_000,
  keepMs: 14 * 24 * 3600_000,
};

/**
 * What a heartbeat says about the worker: a farewell with no awake time left is the agent powering
 * the Pi off until its wake-up alarm (agent.ts sends exactly that before `powerOffUntil`); any
 * other farewell is a stop. Otherwise it works if it holds a task.
 */
export function activityOf(outlook: EnergyOutlook, heldTasks: number, farewell: boolean): WorkerActivity {
  if (farewell) return outlook.awakeSeconds === 0 && outlook.mainsPowered !== true ? "sleeping" : "offline";
  return heldTasks > 0 ? "working" : "idle";
}

export class History {
  private readonly last = new Map<string, { at: number; state: WorkerActivity }>();

  constructor(
    private readonly db: Store,
    readonly policy: HistoryPolicy = DEFAULT_HISTORY,
  ) {}

  /** Records a heartbeat as a sample when it changes the worker's state or the last one is old enough. */
  async recordHeartbeat(
    worker: string,
    outlook: EnergyOutlook,
    heldTasks: number,
    farewell: boolean,
    now: number,
  ): Promise<void> {
    const state = activityOf(outlook, heldTasks, farewell);
    const previous = this.last.get(worker) ?? (await this.lastStored(worker));
    const changed = previous === undefined || previous.state !== state;
    if (!changed && now - previous.at < this.policy.sampleMs) return;
    await this.db.run(
      `INSERT INTO worker_samples (worker, at, state, soc, pv_watts, load_watts, awake_seconds, mains, tasks, changed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (worker, at) DO UPDATE SET state = excluded.state, soc = excluded.soc, pv_watts = excluded.pv_watts,
           load_watts = excluded.load_watts, awake_seconds = excluded.awake_seconds, mains = excluded.mains,
           tasks = excluded.tasks, changed = excluded.changed`,
      worker,
      now,
      state,
      outlook.stateOfChargePct,
      outlook.pvWatts,
      outlook.loadWatts,
      Math.round(outlook.awakeSeconds),
      outlook.mainsPowered === true ? 1 : 0,
      heldTasks,
      changed ? 1 : 0,
    );
    this.last.set(worker, { at: now, state });
  }

  private async lastStored(worker: string): Promise<{ at: number; state: WorkerActivity } | undefined> {
    const row = await this.db.get<{ at: number; state: WorkerActivity }>(
      "SELECT at, state FROM worker_samples WHERE worker = ? ORDER BY at DESC LIMIT 1",
      worker,
    );
    return row === undefined ? undefined : { at: row.at, state: row.state };
  }

  /** Thins samples older than a day to one per bucket (keeping every change of state) and drops the oldest. */
  async prune(now: number): Promise<{ thinned: number; dropped: number }> {
    return await this.db.transaction(async () => {
      const keepAfter = now - this.policy.keepMs;
      const dropped =
        Number((await this.db.run("DELETE FROM worker_samples WHERE at < ?", keepAfter)).changes) +
        Number((await this.db.run("DELETE FROM energy_receipts WHERE at < ?", keepAfter)).changes);
      const thinned = (
        await this.db.run(
          `DELETE FROM worker_samples AS s WHERE s.at < ? AND s.changed = 0 AND EXISTS (
             SELECT 1 FROM worker_samples AS o WHERE o.worker = s.worker AND o.at < s.at AND o.at / CAST(? AS BIGINT) = s.at / CAST(? AS BIGINT))`,
          now - this.policy.thinAfterMs,
          this.policy.thinBucketMs,
          this.policy.thinBucketMs,
        )
      ).changes;
      return { thinned: Number(thinned), dropped };
    });
  }
}

const RECEIPTS_CURSOR = "dashboard.receiptsBlock";

/**
 * Copies the energy receipts (ContributionAccepted) of this pool's tasks from the chain, from a
 * cursor kept in `meta`, in ranges of `chunk` blocks. Receipts of other pools' tasks are skipped,
 * so it never reads past the reconciler's cursor: a task is known from its DealCreated on.
 */
export async function syncReceipts(db: Store, chain: SunpoolClient, fromBlock: number, chunk = 2000): Promise<number> {
  const reconciled = await getMeta(db, "chain.cursor");
  if (reconciled === undefined) return 0;
  const latest = Number(reconciled);
  let next = Number((await getMeta(db, RECEIPTS_CURSOR)) ?? fromBlock);
  let added = 0;
  while (next <= latest) {
    const to = Math.min(latest, next + chunk - 1);
    const logs = await chain.hub.queryFilter(chain.hub.filters.ContributionAccepted(), next, to);
    added += await db.transaction(async () => {
      let inserted = 0;
      for (const log of logs) {
        const taskId = log.args.taskId.toLowerCase();
        if ((await db.get("SELECT 1 AS known FROM tasks WHERE task_id = ?", taskId)) === undefined) continue;
        const seen = await db.get<{ updated_at: number }>(
          "SELECT updated_at FROM replicas WHERE task_id = ? AND lower(worker) = lower(?)",
          taskId,
          log.args.worker,
        );
        const { changes } = await db.run(
          `INSERT INTO energy_receipts (task_id, worker, milliwatt_hours, solar_share_bps, block, at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
          taskId,
          log.args.worker,
          Number(log.args.milliwattHours),
          Number(log.args.solarShareBps),
          log.blockNumber,
          seen?.updated_at ?? Date.now(),
        );
        inserted += changes;
      }
      await db.run(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        RECEIPTS_CURSOR,
        String(to + 1),
      );
      return inserted;
    });
    next = to + 1;
  }
  return added;
}
