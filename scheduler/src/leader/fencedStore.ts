// The store as the leader's scheduler sees it on PostgreSQL with replicas: every write carries the
// lease's fence (lease.ts `fence`). A transaction ends with it, just before COMMIT; a statement
// written outside a transaction becomes a transaction of its own with the fence. Reads are left as
// they are. A deposed leader's write is thus refused (NotLeaderError), and the lease cannot change
// hands between the fence and the COMMIT (the row is read FOR SHARE). The fence comes last, not
// first, so that the row is locked for one round trip: a leader cut off from the database in the
// middle of a transaction would otherwise keep the row locked, and every other replica out, until
// the server noticed (the server ends a session idle in a transaction after IDLE_IN_TRANSACTION_MS).
import { AsyncLocalStorage } from "node:async_hooks";

import type { Row, SqlValue, Store } from "../store/store.js";
import { NotLeaderError, type LeaderLease } from "./lease.js";

/** How long the server lets a leader's transaction sit idle before it ends the session (ms). */
export const IDLE_IN_TRANSACTION_MS = 5000;

export function fencedStore(db: Store, lease: LeaderLease): Store {
  const inside = new AsyncLocalStorage<true>();
  const transaction = <T>(body: () => Promise<T>): Promise<T> => {
    if (inside.getStore() === true) return body();
    return db.transaction(() =>
      inside.run(true, async () => {
        if (!lease.isLeader()) throw new NotLeaderError(`replica ${lease.holder} does not lead: its write is refused`);
        // A leader cut off mid-transaction: the server ends the session (and frees its locks) after this.
        await db.run(`SET LOCAL idle_in_transaction_session_timeout = ${IDLE_IN_TRANSACTION_MS.toString()}`);
        const result = await body();
        // Last, right before COMMIT: the lease row FOR SHARE, held for one round trip.
        await lease.fence(db);
        return result;
      }),
    );
  };
  return {
    dialect: db.dialect,
    location: db.location,
    get: <T = Row>(sql: string, ...params: SqlValue[]) => db.get<T>(sql, ...params),
    all: <T = Row>(sql: string, ...params: SqlValue[]) => db.all<T>(sql, ...params),
    run: (sql: string, ...params: SqlValue[]) =>
      inside.getStore() === true ? db.run(sql, ...params) : transaction(() => db.run(sql, ...params)),
    transaction,
    // The replica's store outlives its terms as leader: closing is the replica's business.
    close: () => Promise.resolve(),
  };
}
