// When to work, when to sleep. The rules, in the order they bind:
// 1. Never start a task whose planned state-of-charge trough falls below `floor` (kept above the
//    Witty Pi's low-voltage cutoff, so a task is never cut by a brown-out).
// 2. A task that ends after the panel stops covering the idle load must leave the night reserve in
//    the battery: the Pi has to shut down cleanly and sleep until the panel covers its load again.
//    The reserve is forecast (`nightReserve()`): the floor plus the sleeping Pi's draw until the
//    forecast's sunrise, so a long winter night holds more back than a summer one and a morning
//    task holds back nothing beyond the floor. An owner may fix it instead (`nightReserve`).
// 3. Idle, not charging, and unable to take a typical task: shut down and let the Witty Pi wake
//    the Pi when the forecast panel carries it again (or at the battery's recovery voltage).
// Plans are pessimistic on purpose: the task's energy is inflated and the sun's discounted.
import type { PvForecast } from "./forecast.js";

export interface EnergyPolicyConfig {
  /** Usable battery energy between empty and full, Wh. */
  batteryWattHours: number;
  /** The lowest state of charge a plan may reach (0..1). */
  floor: number;
  /**
   * What a task ending in the dark must leave (0..1), if the owner fixes it. Absent (the default):
   * forecast, `nightReserve()`.
   */
  nightReserve?: number;
  /**
   * What the board draws from the battery while the Pi sleeps, W: the halted Pi through the Witty
   * Pi's converter and the Witty Pi's own standby (docs/hardware.md §6, §7).
   */
  sleepWatts: number;
  /** The Pi's draw idle and under full load (measured by the agent once it has samples), W. */
  idleWatts: number;
  busyWatts: number;
  /** Charge controller and battery round-trip efficiency (0..1). */
  chargeEfficiency: number;
  /** Shortest and longest sleep, seconds: booting costs energy; a long sleep misses clearings. */
  minSleepSeconds: number;
  maxSleepSeconds: number;
}

export const DEFAULT_ENERGY_POLICY: Omit<EnergyPolicyConfig, "batteryWattHours"> = {
  floor: 0.2,
  // 0.023 A × 5 V halted Pi 4 (docs/hardware.md §6) / 0.9 converter + 0.02 W Witty Pi standby (a guess, §7), rounded up.
  sleepWatts: 0.15,
  idleWatts: 2.7,
  busyWatts: 6.4,
  chargeEfficiency: 0.9,
  minSleepSeconds: 15 * 60,
  maxSleepSeconds: 20 * 3600,
};

/**
 * The state of charge to start counting from after a planned sleep: the one persisted before it,
 * plus half of what the learned panel profile says was charged meanwhile (the charge controller
 * keeps charging while the Pi is off, but the INA cannot count it; half, to stay on the safe side).
 * After a sleep longer than an hour, undefined: the battery monitor starts from the voltage, which
 * knows about the unseen charge (and sags under the Pi's load, which errs on the safe side).
 */
export function restoredStateOfCharge(
  config: Pick<EnergyPolicyConfig, "batteryWattHours" | "chargeEfficiency">,
  persisted: { stateOfCharge: number; atMs: number },
  forecast: PvForecast,
  nowMs: number,
): number | undefined {
  const asleepSeconds = Math.max(0, (nowMs - persisted.atMs) / 1000);
  if (asleepSeconds > STALE_CHARGE_SECONDS) return undefined;
  const charged = (forecast.wattHours(persisted.atMs, asleepSeconds) * config.chargeEfficiency * 0.5) / config.batteryWattHours;
  return Math.min(1, persisted.stateOfCharge + charged);
}

/**
 * After a sleep too long for `restoredStateOfCharge`, the most the battery can hold: the charge saved
 * before it plus all the learned panel profile says the panel gave meanwhile (at most full). The
 * battery monitor starts from the voltage but never above this: read while the panel charges, a
 * flat LiFePO4 or Li-ion curve turns the current's rise in voltage into tens of percent that are not
 * there (docs/hardware.md §3.1). A grey day or a slot not learned yet lowers the bound: the safe side.
 */
export function chargeCeilingAfterSleep(
  config: Pick<EnergyPolicyConfig, "batteryWattHours" | "chargeEfficiency">,
  persisted: { stateOfCharge: number; atMs: number },
  forecast: PvForecast,
  nowMs: number,
): number {
  const asleepSeconds = Math.max(0, (nowMs - persisted.atMs) / 1000);
  const charged = (forecast.wattHours(persisted.atMs, asleepSeconds) * config.chargeEfficiency) / config.batteryWattHours;
  return Math.min(1, persisted.stateOfCharge + charged);
}

const TASK_ENERGY_MARGIN = 1.25;
const UNKNOWN_SKY_SLEEP_SECONDS = 2 * 3600;
/** After a longer sleep, the charge the controller added unseen outweighs the saved figure. */
const STALE_CHARGE_SECONDS = 3600;
const SUN_DISCOUNT = 0.8;
const STEP_SECONDS = 300;
/** The sleep draw is a guess (the Witty Pi's standby is unpublished): the reserve plans with half as much again. */
const SLEEP_MARGIN = 1.5;

export interface EnergyState {
  nowMs: number;
  stateOfCharge: number;
  pvWatts: number;
}

export interface TaskEnergy {
  seconds: number;
  wattHours: number;
}

/** `reserveSoc`: what the task had to leave at its end (the floor, or the night reserve if it ends in the dark). */
export type StartDecision =
  | { start: true; troughSoc: number; endSoc: number; reserveSoc: number }
  | { start: false; troughSoc: number; endSoc: number; reserveSoc: number; reason: string };

/** Expected energy of a task: this worker's history of the app if any, else its declared needs. */
export function expectedTaskEnergy(
  config: EnergyPolicyConfig,
  needs: { expectedSeconds: number; cpuMillicores: number },
  history?: { runs: number; wattHours: number; seconds: number },
): TaskEnergy {
  if (history !== undefined && history.runs > 0) return { seconds: history.seconds, wattHours: history.wattHours };
  // A Pi 4 reaches busyWatts with 4 cores loaded; a 1-core app adds a quarter of the difference.
  const cores = Math.min(4, Math.max(0.25, needs.cpuMillicores / 1000));
  const watts = config.idleWatts + ((config.busyWatts - config.idleWatts) * cores) / 4;
  return { seconds: needs.expectedSeconds, wattHours: (watts * needs.expectedSeconds) / 3600 };
}

/** Walks the state of charge forward under a constant draw; returns the trough and the end. */
export function planCharge(
  config: EnergyPolicyConfig,
  state: EnergyState,
  forecast: PvForecast,
  drawWatts: number,
  seconds: number,
): { troughSoc: number; endSoc: number } {
  let soc = state.stateOfCharge;
  let trough = soc;
  for (let t = 0; t < seconds; t += STEP_SECONDS) {
    const step = Math.min(STEP_SECONDS, seconds - t);
    const pv = forecast.wattsAt(state.nowMs + (t + step / 2) * 1000) * SUN_DISCOUNT;
    const net = pv >= drawWatts ? (pv - drawWatts) * config.chargeEfficiency : pv - drawWatts;
    soc = Math.min(1, soc + (net * step) / 3600 / config.batteryWattHours);
    trough = Math.min(trough, soc);
  }
  return { troughSoc: trough, endSoc: soc };
}

/** Rules 1 and 2: may this worker start a task with this energy now? */
export function decideStart(
  config: EnergyPolicyConfig,
  state: EnergyState,
  forecast: PvForecast,
  task: TaskEnergy,
): StartDecision {
  const seconds = Math.max(1, task.seconds * TASK_ENERGY_MARGIN);
  const draw = (task.wattHours * TASK_ENERGY_MARGIN * 3600) / seconds;
  const { troughSoc, endSoc } = planCharge(config, state, forecast, draw, seconds);
  if (troughSoc < config.floor) {
    return {
      start: false,
      troughSoc,
      endSoc,
      reserveSoc: config.floor,
      reason: `the battery would fall to ${pct(troughSoc)} during the task (floor ${pct(config.floor)})`,
    };
  }
  const reserveSoc = reserveAtEnd(config, state.nowMs + seconds * 1000, forecast);
  if (endSoc < reserveSoc) {
    return {
      start: false,
      troughSoc,
      endSoc,
      reserveSoc,
      reason: `the task ends after sunset with ${pct(endSoc)} left (night reserve ${pct(reserveSoc)})`,
    };
  }
  return { start: true, troughSoc, endSoc, reserveSoc };
}

/** What a task ending at `atMs` must leave (0..1): the floor while the panel carries the idle Pi, else rule 2's reserve. */
export function reserveAtEnd(config: EnergyPolicyConfig, atMs: number, forecast: PvForecast): number {
  return forecast.wattsAt(atMs) < config.idleWatts ? nightReserve(config, atMs, forecast) : config.floor;
}

/**
 * Rule 2 hour by hour, as the worker tells the scheduler (the outlook's `endReservePct`): what a
 * task ending within each of the next `hours` hours must leave, the larger of the hour's two ends.
 */
export function endReserveByHour(config: EnergyPolicyConfig, nowMs: number, forecast: PvForecast, hours: number): number[] {
  const bounds = Array.from({ length: hours + 1 }, (_, hour) => reserveAtEnd(config, nowMs + hour * 3_600_000, forecast));
  return bounds.slice(0, hours).map((reserve, hour) => Math.max(reserve, bounds[hour + 1]!));
}

/**
 * Rule 2's reserve for a task ending at `atMs` (0..1): the owner's `nightReserve` if set (never
 * below the floor); else the floor plus what the sleeping Pi draws (`sleepWatts`, with a margin)
 * from `atMs` until the forecast's discounted panel covers the idle draw again, counted over at
 * most `maxSleepSeconds` (a grey day or a panel not learned yet: the longest sleep). The Pi that
 * cannot take more work sleeps (rule 3) and wakes on the panel, so that is all the night asks.
 */
export function nightReserve(
  config: Pick<
    EnergyPolicyConfig,
    "batteryWattHours" | "floor" | "nightReserve" | "sleepWatts" | "idleWatts" | "maxSleepSeconds"
  >,
  atMs: number,
  forecast: PvForecast,
): number {
  if (config.nightReserve !== undefined) return Math.max(config.floor, config.nightReserve);
  const covered = forecast.firstTimeAtLeast(atMs, config.idleWatts / SUN_DISCOUNT, config.maxSleepSeconds);
  const dark = covered === undefined ? config.maxSleepSeconds : (covered - atMs) / 1000;
  return config.floor + (config.sleepWatts * SLEEP_MARGIN * dark) / 3600 / config.batteryWattHours;
}

/** How long this worker can stay up running tasks back to back before reaching the floor. */
export function awakeSeconds(config: EnergyPolicyConfig, state: EnergyState, forecast: PvForecast): number {
  const horizon = 24 * 3600;
  let soc = state.stateOfCharge;
  for (let t = 0; t < horizon; t += STEP_SECONDS) {
    const pv = forecast.wattsAt(state.nowMs + (t + STEP_SECONDS / 2) * 1000) * SUN_DISCOUNT;
    const net = pv >= config.busyWatts ? (pv - config.busyWatts) * config.chargeEfficiency : pv - config.busyWatts;
    soc = Math.min(1, soc + (net * STEP_SECONDS) / 3600 / config.batteryWattHours);
    if (soc < config.floor) return t;
  }
  return horizon;
}

export type IdleDecision = { sleep: false } | { sleep: true; wakeAtMs: number; reason: string };

/** Rule 3: idle with nothing to do that the battery allows — sleep until when? */
export function decideIdle(
  config: EnergyPolicyConfig,
  state: EnergyState,
  forecast: PvForecast,
  typicalTask: TaskEnergy,
): IdleDecision {
  if (state.pvWatts >= config.idleWatts) return { sleep: false };
  const decision = decideStart(config, state, forecast, typicalTask);
  if (decision.start) return { sleep: false };
  return { sleep: true, wakeAtMs: wakeTime(config, state.nowMs, forecast), reason: decision.reason };
}

/**
 * When a sleeping Pi should wake: when the panel, discounted like every plan, should carry the idle
 * Pi (the instant the night reserve is released, so the battery the night left can serve work at
 * once, with the sun covering the idle draw); on a grey day that never
 * comes, at the day's brightest hour (charging went on while asleep, and that is when work is
 * likeliest to fit); with nothing learned about the panel yet (a first night), in two hours.
 * Always within [minSleepSeconds, maxSleepSeconds]. The power-off hook uses it too.
 */
export function wakeTime(
  config: Pick<EnergyPolicyConfig, "idleWatts" | "minSleepSeconds" | "maxSleepSeconds">,
  nowMs: number,
  forecast: PvForecast,
): number {
  const sunrise = forecast.nextTimeAbove(nowMs, config.idleWatts / SUN_DISCOUNT, config.maxSleepSeconds);
  const peak = forecast.peakTime(nowMs, config.maxSleepSeconds);
  const target = sunrise ?? (peak.watts > 0.5 ? peak.atMs : nowMs + UNKNOWN_SKY_SLEEP_SECONDS * 1000);
  return Math.min(nowMs + config.maxSleepSeconds * 1000, Math.max(nowMs + config.minSleepSeconds * 1000, target));
}

function pct(value: number): string {
  return `${(value * 100).toFixed(0)} %`;
}
