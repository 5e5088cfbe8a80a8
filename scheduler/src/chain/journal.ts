// The undo journal of the chain follower. Applying a block's events records, per event, the rows
// they changed (before and after, column by column); when a reorganisation removes the block, the
// journal undoes exactly those changes, newest first. Only what an event changed is undone: a
// column changed since by the scheduler itself (an offer, a lease, a report, a heartbeat) keeps
// its value, counters move back by the event's increment, and offers of a task whose deal is
// removed are parked until the canonical chain brings the deal back. Plain SQL over primary keys,
// so it works on any store that runs the scheduler's schema.
import type { Store } from "../store/store.js";

/** Rows one event may change: a table, its primary key, and a filter (evaluated before and after). */
export interface Scope {
  table: string;
  key: readonly string[];
  where: string;
  args: readonly (string | number)[];
}

type Row = Record<string, string | number | null>;

/** Columns that count events (a worker's record): undone by their increment, not by value. */
const COUNTERS: Readonly<Record<string, readonly string[]>> = { workers: ["good", "bad"] };

/** Replica states that hold one of the worker's slots under a lease. */
const HELD = new Set(["offered", "running"]);

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The rows an event's scopes cover now, keyed by table and primary key. */
async function snapshot(db: Store, scopes: readonly Scope[]): Promise<Map<string, { scope: Scope; key: string; row: Row }>> {
  const rows = new Map<string, { scope: Scope; key: string; row: Row }>();
  for (const scope of scopes) {
    for (const row of await db.all<Row>(`SELECT * FROM ${quote(scope.table)} WHERE ${scope.where}`, ...scope.args)) {
      const key = JSON.stringify(scope.key.map((column) => row[column]));
      rows.set(`${scope.table}\u0000${key}`, { scope, key, row });
    }
  }
  return rows;
}

const sameRow = (a: Row, b: Row) => Object.keys(a).every((column) => a[column] === b[column]);

/** Runs `body` (one event's effects) and journals the rows it changed under `block`. */
export async function journaled(db: Store, block: number, scopes: readonly Scope[], body: () => Promise<void>): Promise<void> {
  const before = await snapshot(db, scopes);
  await body();
  const after = await snapshot(db, scopes);
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(id);
    const now = after.get(id);
    if (old !== undefined && now !== undefined && sameRow(old.row, now.row)) continue;
    const { scope, key } = (old ?? now)!;
    await db.run(
      "INSERT INTO chain_undo (block, tbl, key, before, after) VALUES (?, ?, ?, ?, ?)",
      block,
      scope.table,
      JSON.stringify({ columns: scope.key, values: JSON.parse(key) as unknown[] }),
      old === undefined ? null : JSON.stringify(old.row),
      now === undefined ? null : JSON.stringify(now.row),
    );
  }
}

/** What a rollback took away, for the caches and logs that follow the chain in memory. */
export interface Undone {
  /** Deals of this pool whose DealCreated was removed: deal id, request hash, app and dataset ids. */
  deals: { dealId: string; requestHash: string; app: string; dataset?: string }[];
  /** Journal entries undone. */
  changes: number;
}

/**
 * Undoes every journaled change of blocks after `fork`, newest first, and forgets them. Replicas
 * that hold a slot again (their contribution was removed) get a fresh lease: the worker has one
 * lease to show it still holds the task before it goes to another. Call inside a transaction.
 */
export async function undoAfter(db: Store, fork: number, now: number, leaseMs: number): Promise<Undone> {
  const entries = await db.all<{
    tbl: string;
    key: string;
    before: string | null;
    after: string | null;
  }>("SELECT * FROM chain_undo WHERE block > ? ORDER BY seq DESC", fork);
  const undone: Undone = { deals: [], changes: entries.length };
  for (const entry of entries) {
    const { columns, values } = JSON.parse(entry.key) as { columns: string[]; values: (string | number)[] };
    const where = columns.map((column) => `${quote(column)} = ?`).join(" AND ");
    const current = await db.get<Row>(`SELECT * FROM ${quote(entry.tbl)} WHERE ${where}`, ...values);
    const before = entry.before === null ? undefined : (JSON.parse(entry.before) as Row);
    const after = entry.after === null ? undefined : (JSON.parse(entry.after) as Row);
    if (before === undefined) {
      if (current === undefined) continue;
      if (entry.tbl === "tasks") await parkReplicas(db, String(current.task_id));
      if (entry.tbl === "deals") {
        // The matcher records its deals from the receipt: that record went with the block too.
        await db.run("DELETE FROM order_deals WHERE deal_id = ?", String(current.deal_id));
        await db.run("UPDATE orders SET status = 'open' WHERE hash = ? AND status = 'filled'", String(current.request_hash));
        const app = JSON.parse(String(current.app)) as { id: string };
        const dataset = current.dataset === null ? undefined : (JSON.parse(String(current.dataset)) as { id: string });
        undone.deals.push({
          dealId: String(current.deal_id),
          requestHash: String(current.request_hash),
          app: app.id,
          ...(dataset === undefined ? {} : { dataset: dataset.id }),
        });
      }
      await db.run(`DELETE FROM ${quote(entry.tbl)} WHERE ${where}`, ...values);
      continue;
    }
    if (current === undefined) {
      if (after !== undefined) continue;
      const names = Object.keys(before);
      await db.run(
        `INSERT INTO ${quote(entry.tbl)} (${names.map(quote).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`,
        ...names.map((name) => before[name] ?? null),
      );
      continue;
    }
    if (after === undefined) continue;
    const counters = COUNTERS[entry.tbl] ?? [];
    const sets: string[] = [];
    const args: (string | number | null)[] = [];
    for (const column of Object.keys(before)) {
      if (before[column] === after[column]) continue;
      if (counters.includes(column)) {
        sets.push(`${quote(column)} = ${quote(column)} - ?`);
        args.push(Number(after[column]) - Number(before[column]));
      } else if (current[column] === after[column]) {
        sets.push(`${quote(column)} = ?`);
        args.push(before[column] ?? null);
      }
    }
    const reheld = before.state !== after.state && current.state === after.state && HELD.has(String(before.state));
    if (entry.tbl === "replicas" && reheld) {
      sets.push("lease_until = ?");
      args.push(now + leaseMs);
    }
    if (sets.length > 0) await db.run(`UPDATE ${quote(entry.tbl)} SET ${sets.join(", ")} WHERE ${where}`, ...args, ...values);
  }
  await db.run("DELETE FROM chain_undo WHERE block > ?", fork);
  return undone;
}

/** A task a reorg removes: its offers (what this scheduler alone knows) wait for it to return. */
async function parkReplicas(db: Store, taskId: string): Promise<void> {
  const rows = await db.all<Row>("SELECT * FROM replicas WHERE task_id = ?", taskId);
  for (const row of rows) {
    await db.run(
      "INSERT INTO reorged_replicas (task_id, worker, row) VALUES (?, ?, ?) ON CONFLICT (task_id, worker) DO UPDATE SET row = excluded.row",
      taskId,
      String(row.worker),
      JSON.stringify(row),
    );
  }
  await db.run("DELETE FROM replicas WHERE task_id = ?", taskId);
}

/**
 * A deal is on the chain again: the offers parked when a reorg removed it come back (with a fresh
 * lease when they hold a slot). Returns how many.
 */
export async function restoreParked(db: Store, dealId: string, now: number, leaseMs: number): Promise<number> {
  const parked = await db.all<{ row: string }>(
    "SELECT p.row FROM reorged_replicas p JOIN tasks t USING (task_id) WHERE t.deal_id = ?",
    dealId,
  );
  for (const { row: text } of parked) {
    const row = JSON.parse(text) as Row;
    if (HELD.has(String(row.state))) row.lease_until = now + leaseMs;
    const names = Object.keys(row);
    await db.run(
      `INSERT INTO replicas (${names.map(quote).join(", ")}) VALUES (${names.map(() => "?").join(", ")}) ON CONFLICT DO NOTHING`,
      ...names.map((name) => row[name] ?? null),
    );
  }
  await db.run("DELETE FROM reorged_replicas WHERE task_id IN (SELECT task_id FROM tasks WHERE deal_id = ?)", dealId);
  return parked.length;
}
