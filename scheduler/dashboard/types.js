// The JSON the dashboard reads (api/scheduler.openapi.yaml, /v1/dashboard/...), as JSDoc types:
// they let the linter check app.js without a compile step. Nothing here runs.

/** @typedef {"working" | "idle" | "sleeping" | "offline"} WorkerState */

/**
 * @typedef {object} WorkerSummary
 * @property {string} address
 * @property {string} [board]
 * @property {WorkerState} state
 * @property {string} lastSeen
 * @property {number} [stateOfChargePct]
 * @property {number} [pvWatts]
 * @property {number} [loadWatts]
 * @property {number} [awakeSeconds]
 * @property {boolean} mainsPowered
 * @property {number} tasksInFlight
 * @property {number} completed
 * @property {number} failed
 */

/** @typedef {{ from: string; bucketSeconds: number }} TimeWindow */

/**
 * @typedef {object} Failure
 * @property {string} taskId
 * @property {string} worker
 * @property {string} state
 * @property {string} [reason]
 * @property {string} [taskOutcome]
 * @property {string} at
 */

/**
 * @typedef {object} PoolData
 * @property {string} generatedAt
 * @property {TimeWindow} window
 * @property {WorkerSummary[]} workers
 * @property {Record<WorkerState, number>} workerStates
 * @property {Record<string, number>} tasks
 * @property {Failure[]} failures
 * @property {{ at: string; completed: number }[]} throughput
 * @property {{ at: string; receipts: number; milliwattHours: number; solarSharePct: number }[]} energyPerTask
 * @property {{ workerpool: string; scheduler: string }} pool
 */

/**
 * @typedef {object} WorkerTask
 * @property {string} taskId
 * @property {string} state
 * @property {string} [reason]
 * @property {string} [taskOutcome]
 * @property {string} offeredAt
 */

/**
 * @typedef {object} WorkerData
 * @property {string} generatedAt
 * @property {TimeWindow} window
 * @property {WorkerSummary} worker
 * @property {{ at: string; state: WorkerState; stateOfChargePct?: number; pvWatts?: number }[]} samples
 * @property {{ at: string; state: WorkerState }[]} timeline
 * @property {WorkerTask[]} tasks
 * @property {{ taskId: string; milliwattHours: number; solarSharePct: number; at: string }[]} receipts
 * @property {{ receipts: number; milliwattHours: number; solarSharePct: number }} energy
 * @property {{ stake: string; locked: string; earnings: string; reputation: string }} [chain]
 * @property {string} [chainError]
 */

/**
 * @typedef {object} Replica
 * @property {string} worker
 * @property {string} state
 * @property {string} [reason]
 * @property {{ pvWh: number; batteryWh: number; mainsWh: number }} [energySplit] the worker's report, unverified
 * @property {string} offeredAt
 * @property {string} updatedAt
 */

/** @typedef {{ worker: string; milliwattHours: number; solarShareBps: number }} Receipt */

/**
 * @typedef {object} ChainTask
 * @property {string} status
 * @property {string} outcome
 * @property {string} [resultDigest]
 * @property {string} [resultLocation]
 * @property {{ reason: string; hints: string[] }} [failure]
 * @property {{ contributors: number; reveals: number; decided: boolean }} [consensus]
 * @property {Receipt[]} energy
 */

/**
 * @typedef {object} Task
 * @property {string} taskId
 * @property {number} index
 * @property {string} status
 * @property {string} [outcome]
 * @property {number} round
 * @property {number} contributions
 * @property {{ digest: string; locations: string[] }} [result]
 * @property {Replica[]} replicas
 * @property {ChainTask} [chain]
 * @property {string} [chainError]
 */

/**
 * @typedef {object} Deal
 * @property {string} dealId
 * @property {string} requestHash
 * @property {string} requester
 * @property {number} trust
 * @property {number} volume
 * @property {{ id: string; name: string }} app
 * @property {{ id: string; name: string }} [dataset]
 * @property {Task[]} tasks
 */

/**
 * @typedef {object} LookupData
 * @property {string} id
 * @property {"task" | "deal" | "request"} kind
 * @property {string} [requestStatus]
 * @property {Deal[]} deals
 */

/** @typedef {{ title?: string; detail?: string; hint?: string }} Problem */

export {};
