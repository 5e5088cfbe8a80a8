// Forecast-driven admission: whether a solar worker can finish a task on the energy it harvests
// (its panel now and later, and what the panel already put in its battery) before the task's
// deadline. Pure functions of a worker's outlook and the task's energy, so that the scheduler, its
// tests and `npm run bench:solar-year` make the same decision.
//
// Two levels, from what the worker's heartbeat carries:
// - every outlook has `awakeSeconds`: how long the worker's own forecast says it stays above its
//   battery floor under full load. A worker is offered a task only when that covers the task's
//   (learned or declared) run time with the policy's margin (dispatcher.ts, the hot path);
// - an outlook may also carry the battery's usable energy, its floor, the board's idle and busy
//   draw and the panel forecast hour by hour. With those the scheduler walks the battery forward
//   itself and finds the earliest start, within the deadline, after which the task ends above the
//   floor. That is what lets it decline a task early: when no online worker that could run it has
//   such a start, nobody will finish it on harvested energy, and the requester is better refunded
//   now than at the deadline. A worker without a forecast in its outlook never causes a decline
//   (it may be able to later: the scheduler cannot tell).
import type { EnergyOutlook } from "./dispatcher.js";

/** What a task costs a board: its run time and its average draw while running (the whole board). */
export interface TaskEnergy {
  seconds: number;
  watts: number;
}

export interface HarvestPolicy {
  /** Run time and energy are planned as this multiple of the estimate (the dispatcher's awakeMargin). */
  margin: number;
  /** Charge controller and battery round-trip efficiency (0..1) for surplus stored while idle. */
  chargeEfficiency: number;
  /** Candidate start times are this far apart (seconds). */
  startStepSeconds: number;
}

export const DEFAULT_HARVEST_POLICY: HarvestPolicy = { margin: 1.5, chargeEfficiency: 0.9, startStepSeconds: 900 };

/** A Pi 4 under full load (docs/hardware.md): the draw assumed for a task nothing is known of. */
export const DEFAULT_BUSY_WATTS = 6.4;

/** An outlook complete enough for the scheduler to walk the battery forward itself. */
export interface ForecastOutlook {
  stateOfChargePct: number;
  batteryWattHours: number;
  floorPct: number;
  idleWatts: number;
  pvForecastWatts: readonly number[];
  /** The charge a task ending in each hour must leave (the worker's night reserve); else the floor. */
  endReservePct?: readonly number[];
}

export function forecastOf(outlook: EnergyOutlook | undefined): ForecastOutlook | undefined {
  if (outlook === undefined) return undefined;
  const { batteryWattHours, floorPct, idleWatts, pvForecastWatts } = outlook;
  if (batteryWattHours === undefined || floorPct === undefined || idleWatts === undefined || pvForecastWatts === undefined) {
    return undefined;
  }
  return {
    stateOfChargePct: outlook.stateOfChargePct,
    batteryWattHours,
    floorPct,
    idleWatts,
    pvForecastWatts,
    ...(outlook.endReservePct === undefined ? {} : { endReservePct: outlook.endReservePct }),
  };
}

const STEP_SECONDS = 300;

/**
 * The earliest start (seconds from now, a multiple of `startStepSeconds`) after which the worker
 * runs the task for `margin` × its run time without its battery falling below the floor, ends
 * with what the worker keeps for the night if it ends after sunset (`endReservePct`), and ends
 * before `secondsLeft`; undefined when there is none. Before the start the board draws its idle
 * power; past the forecast's end the panel is assumed to give nothing.
 */
export function earliestHarvestStart(
  outlook: ForecastOutlook,
  task: TaskEnergy,
  secondsLeft: number,
  policy: HarvestPolicy = DEFAULT_HARVEST_POLICY,
): number | undefined {
  const run = Math.max(STEP_SECONDS, task.seconds * policy.margin);
  const drawWatts = (task.watts * task.seconds * policy.margin) / run;
  const capacity = outlook.batteryWattHours;
  const floor = (outlook.floorPct / 100) * capacity;
  const pvAt = (t: number): number => outlook.pvForecastWatts[Math.floor(t / 3600)] ?? 0;
  const reserveAt = (t: number): number =>
    (Math.max(outlook.floorPct, outlook.endReservePct?.[Math.floor(t / 3600)] ?? outlook.floorPct) / 100) * capacity;
  const next = (stored: number, t: number, draw: number, seconds: number): number => {
    const pv = pvAt(t);
    const net = pv >= draw ? (pv - draw) * policy.chargeEfficiency : pv - draw;
    return Math.min(capacity, Math.max(0, stored + (net * seconds) / 3600));
  };
  let idleStored = (outlook.stateOfChargePct / 100) * capacity;
  let idleAt = 0;
  for (let start = 0; start + run <= secondsLeft; start += policy.startStepSeconds) {
    // The battery while idle until this start (it may sink below the floor at night: the worker
    // sleeps then, which this walk does not count on, so it errs on the safe side).
    for (; idleAt < start; idleAt += STEP_SECONDS) idleStored = next(idleStored, idleAt, outlook.idleWatts, STEP_SECONDS);
    let stored = idleStored;
    let ok = stored >= floor;
    for (let t = 0; ok && t < run; t += STEP_SECONDS) {
      const seconds = Math.min(STEP_SECONDS, run - t);
      stored = next(stored, start + t, drawWatts, seconds);
      ok = stored >= floor;
    }
    if (ok && stored >= reserveAt(start + run)) return start;
  }
  return undefined;
}

/** An app's energy per task as the pool learned it from receipts, or as its owner declared it. */
export interface AppEnergy {
  seconds: number;
  wattHours: number;
  /** Receipts it was learned from (0: the declared figures). */
  runs: number;
}

/** Weight of a new receipt in the running estimate. */
export const LEARNING_RATE = 0.25;
/** After this many receipts, one receipt may move the estimate by at most LEARNING_BOUND times. */
export const LEARNING_SETTLED = 3;
export const LEARNING_BOUND = 4;
/** Receipts beyond these are not believed (a uint32 of mWh is 4.3 MWh; a task runs at most a week). */
const MAX_SECONDS = 7 * 86_400;
const MAX_WATT_HOURS = 10_000;

/**
 * Folds one energy receipt into an app's estimate: an exponentially weighted mean whose inputs are
 * bounded, so that once a few receipts are in, one worker's receipt (an outlier, or a lie) moves the
 * estimate by at most +75 % or -19 % (rate 0.25, bound 4). Returns the new estimate.
 */
export function learnAppEnergy(previous: AppEnergy | undefined, receipt: { seconds: number; wattHours: number }): AppEnergy {
  const clip = (value: number, max: number) => Math.min(max, Math.max(0, Number.isFinite(value) ? value : 0));
  let seconds = clip(receipt.seconds, MAX_SECONDS);
  let wattHours = clip(receipt.wattHours, MAX_WATT_HOURS);
  if (previous === undefined || previous.runs === 0) return { seconds, wattHours, runs: 1 };
  if (previous.runs >= LEARNING_SETTLED) {
    seconds = Math.min(previous.seconds * LEARNING_BOUND, Math.max(previous.seconds / LEARNING_BOUND, seconds));
    wattHours = Math.min(previous.wattHours * LEARNING_BOUND, Math.max(previous.wattHours / LEARNING_BOUND, wattHours));
  }
  return {
    seconds: previous.seconds + LEARNING_RATE * (seconds - previous.seconds),
    wattHours: previous.wattHours + LEARNING_RATE * (wattHours - previous.wattHours),
    runs: previous.runs + 1,
  };
}

/**
 * An app's estimate from each worker's own (learnAppEnergy over that worker's receipts): the median
 * of the workers' run times and of their energies. A worker's receipts move only its own estimate,
 * so a liar, however many receipts it sends, moves the app's figure no further than the honest
 * workers' range once they are the majority; a worker that lies alone or with one honest peer is
 * bounded by learnAppEnergy's clip and step bounds only. runs: every receipt folded in.
 */
export function appEnergyAcrossWorkers(perWorker: readonly AppEnergy[]): AppEnergy | undefined {
  const learned = perWorker.filter((estimate) => estimate.runs > 0);
  if (learned.length === 0) return undefined;
  return {
    seconds: median(learned.map((estimate) => estimate.seconds)),
    wattHours: median(learned.map((estimate) => estimate.wattHours)),
    runs: learned.reduce((sum, estimate) => sum + estimate.runs, 0),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The task's energy for planning: the learned figures once there are any, else the declaration. */
export function taskEnergy(declaredSeconds: number, learned: AppEnergy | undefined): TaskEnergy {
  if (learned === undefined || learned.runs === 0 || learned.seconds <= 0) {
    return { seconds: declaredSeconds, watts: DEFAULT_BUSY_WATTS };
  }
  // A receipt's energy is the task's own metering of the board: its mean draw while it ran.
  const watts = learned.wattHours > 0 ? (learned.wattHours * 3600) / learned.seconds : DEFAULT_BUSY_WATTS;
  return { seconds: learned.seconds, watts: Math.min(100, Math.max(0.5, watts)) };
}

/** A worker that could run a task (platform, memory, cores), as the decline rule sees it. */
export interface HarvestCandidate {
  outlook?: EnergyOutlook;
  /** Its mains-power claim is believed (it is past probation). */
  provenMains: boolean;
  online: boolean;
  /** Since its last heartbeat (a sleeping solar worker said farewell with its outlook). */
  silentSeconds: number;
}

/** Outlooks older than this say nothing about the task (a forecast reaches 24 to 48 h). */
const FORECAST_TRUSTED_SECONDS = 24 * 3600;

/**
 * How many candidates were checked and none can finish the task on harvested energy before the
 * deadline; undefined when one can, or when an online one's outlook cannot tell (no forecast in it,
 * or proven mains power): the task must then wait. An offline worker heard from within a day with a
 * forecast is asleep as far as the pool knows: its forecast is read from now on, and its battery is
 * taken as it left it (asleep, a Pi draws next to nothing); other offline workers are not counted.
 * Zero means nobody was checked, which decides nothing either.
 */
export function workersUnableToFinish(
  candidates: Iterable<HarvestCandidate>,
  task: TaskEnergy,
  secondsLeft: number,
  policy: HarvestPolicy = DEFAULT_HARVEST_POLICY,
): number | undefined {
  let checked = 0;
  for (const candidate of candidates) {
    const forecast = forecastOf(candidate.outlook);
    if (candidate.online) {
      if (candidate.provenMains && candidate.outlook?.mainsPowered === true) return undefined;
      if (forecast === undefined) return undefined;
      if (earliestHarvestStart(forecast, task, secondsLeft, policy) !== undefined) return undefined;
    } else {
      if (forecast === undefined || candidate.silentSeconds > FORECAST_TRUSTED_SECONDS) continue;
      const hoursPast = Math.floor(candidate.silentSeconds / 3600);
      const shifted = {
        ...forecast,
        idleWatts: 0,
        pvForecastWatts: forecast.pvForecastWatts.slice(hoursPast),
        ...(forecast.endReservePct === undefined ? {} : { endReservePct: forecast.endReservePct.slice(hoursPast) }),
      };
      if (earliestHarvestStart(shifted, task, secondsLeft, policy) !== undefined) return undefined;
    }
    checked++;
  }
  return checked;
}
