// The store as the leader's scheduler sees it on PostgreSQL with replicas: every write carries the
// lease's fence (lease.ts `fence`). A transaction begins with it; a statement written outside a
// transaction becomes a transaction of its own with the fence. Reads are left as they are. A
// deposed leader's write is thus refused (NotLeaderError), and the lease cannot change hands while
// a fenced transaction is open.
import { AsyncLocalStorage } from "node:async_hooks";

import type { Row, SqlValue, Store } from "../store/store.js";
import type { LeaderLease } from "./lease.js";

export function fencedStore(db: Store, lease: LeaderLease): Store {
  const inside = new AsyncLocalStorage<true>();
  const transaction = <T>(body: () => Promise<T>): Promise<T> => {
    if (inside.getStore() === true) return body();
    return db.transaction(() =>
      inside.run(true, async () => {
        await lease.fence(db);
        return body();
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
