// What the HTTP routes need from the running scheduler (service.ts provides it).
import type { SunpoolClient, WorkerRequestScope } from "@sunpool/sdk";

import type { OrderBook } from "../book/orderBook.js";
import type { History } from "../dashboard/history.js";
import type { Pinner } from "../ipfs/pinner.js";
import type { Metrics } from "../metrics.js";
import type { Store } from "../store/store.js";
import type { Admission } from "../tasks/admission.js";
import type { AssignmentJson } from "../tasks/assignments.js";
import type { Pool } from "../tasks/pool.js";

export interface SchedulerInfoJson {
  chainId: string;
  hub: string;
  workerpool: string;
  scheduler: string;
  ipfsPeers: string[];
}

export interface ApiContext {
  db: Store;
  book: OrderBook;
  pool: Pool;
  pinner: Pinner;
  metrics: Metrics;
  scope: WorkerRequestScope;
  /** Who may join and get work (allow list, minimum stake). */
  admission: Admission;
  heartbeatSeconds: number;
  /** The dashboard's heartbeat history (dashboard/history.ts). */
  history: History;
  /** The scheduler's chain client, for the dashboard's read-only chain facts (stake, receipts). */
  chain?: SunpoolClient;
  info(): SchedulerInfoJson;
  /** Something changed: run a scheduling pass soon. */
  kick(reason: "order" | "worker" | "report"): void;
  /** The worker's next assignment, if any. */
  assignmentFor(worker: string): Promise<AssignmentJson | undefined>;
  /** Resolves when an assignment may be waiting for `worker` (or after `ms`, or on abort). */
  waitForAssignment(worker: string, ms: number, signal: AbortSignal): Promise<void>;
  status(): Promise<unknown>;
  health(): { ok: boolean; checks: Record<string, string> };
}
