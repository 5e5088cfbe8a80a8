// @sunpool/scheduler: run a workerpool's scheduler from code (the CLI, the devnet and tests do).
export { startScheduler } from "./service.js";
export type { Scheduler, SchedulerOptions } from "./service.js";
export { Dispatcher, DEFAULT_POLICY, PLATFORM_MASK } from "./dispatch/dispatcher.js";
export type { DispatchPolicy, EnergyOutlook, TaskNeeds, WorkerState } from "./dispatch/dispatcher.js";
export { initialReplicas } from "./tasks/pool.js";
export { loadConfig } from "./config.js";
export type { SchedulerConfig } from "./config.js";
export type { Store, StoreConfig } from "./store/store.js";
export { StoreUnreachableError } from "./errors.js";
