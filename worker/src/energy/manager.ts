// The energy manager: the one place that turns board samples into decisions. It learns the
// panel's daily profile and the Pi's idle and busy draw from samples, and applies the policy
// (policy.ts) to them. A host without a battery (`board: none`) is "mains powered": it always
// works and says so in its outlook.
import type { Heartbeat } from "@sunpool/sdk";

import type { Board, ClockSync, PowerSample } from "../hardware/board.js";
import type { Journal } from "../journal/journal.js";
import { batteryHealthFloor } from "./batteryHealth.js";
import { PvForecast, slotOf } from "./forecast.js";
import { EnergyLedger, type EnergyTotals, type SavedEnergyLedgerState } from "./ledger.js";
import { EnergyMeter, type TaskEnergySplit } from "./meter.js";
import {
  awakeSeconds,
  endReserveByHour,
  decideIdle,
  decideStart,
  expectedTaskEnergy,
  type EnergyPolicyConfig,
  type IdleDecision,
  type StartDecision,
  type TaskEnergy,
} from "./policy.js";

export type Outlook = Heartbeat["outlook"];

const PROFILE_EVERY_MS = 60_000;
/** The Witty Pi's DC-DC efficiency (the ledger's default): the panel carries the Pi when panel watts × this ≥ its draw. */
const CONVERTER_EFFICIENCY = 0.9;
/** The accounts are saved to the journal at most this often (an SD card wears with every sync). */
const LEDGER_EVERY_MS = 5 * 60_000;
/** Journal meta key of the persisted accounts. */
export const LEDGER_META = "energyLedger";

/** The worker's energy accounts as reported (heartbeat, /metrics): the totals, the floor in force, the last task. */
export interface EnergyReport extends EnergyTotals {
  /** The state-of-charge floor the policy plans to now (battery health, §3.4 of docs/hardware.md), 0..1. */
  stateOfChargeFloor: number;
  lastTask?: TaskEnergySplit;
}
/** A typical task, for deciding whether an idle worker could still take one. */
const TYPICAL_TASK = { expectedSeconds: 600, cpuMillicores: 1000 };

export interface EnergyManager {
  /** Reads the board now (and learns from it). */
  sample(): Promise<PowerSample | undefined>;
  outlook(): Outlook;
  mayStart(appId: string, needs: { expectedSeconds: number; cpuMillicores: number }): StartDecision;
  idle(): IdleDecision;
  /** Records a finished task's measured energy and duration. */
  learnTask(appId: string, wattHours: number, seconds: number): void;
  /** Notes whether the Pi is running a task, so samples teach idle vs busy draw (and meter the task). */
  setBusy(busy: boolean): void;
  /** The energy accounts (undefined without a board: a mains host meters nothing). */
  report(): EnergyReport | undefined;
  /**
   * Hands the board a trusted time for a reset RTC (docs/hardware.md §1.11): the agent passes the
   * chain's latest block time. Absent without a board.
   */
  syncClock?(reference: () => Promise<number | undefined>): Promise<ClockSync>;
  readonly last: PowerSample | undefined;
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Hours of panel forecast a heartbeat carries (the API's limit). */
const FORECAST_HOURS = 48;

/** The accounts as a heartbeat carries them (api/scheduler.openapi.yaml WorkerEnergyMetrics). */
export function heartbeatEnergy(report: EnergyReport): NonNullable<Heartbeat["energy"]> {
  return {
    hours: round(report.hours, 3),
    availability: Math.min(1, Math.max(0, round(report.availability, 4))),
    pvWh: round(report.pvWh, 2),
    batteryChargeWh: round(report.batteryChargeWh, 2),
    batteryDischargeWh: round(report.batteryDischargeWh, 2),
    mainsWh: round(report.mainsWh, 2),
    loadWh: round(report.loadWh, 2),
    brownOuts: report.brownOuts,
    deepDischargeHours: round(report.deepDischargeHours, 3),
    equivalentFullCycles: round(report.equivalentFullCycles, 3),
    tasks: report.tasks,
    tasksOnHarvest: report.tasksOnHarvest,
    stateOfChargeFloorPct: round(report.stateOfChargeFloor * 100, 1),
  };
}

export function createMainsEnergyManager(): EnergyManager {
  return {
    sample: () => Promise.resolve(undefined),
    outlook: () => ({ stateOfChargePct: 100, pvWatts: 0, loadWatts: 0, awakeSeconds: 31_536_000, mainsPowered: true }),
    mayStart: () => ({ start: true, troughSoc: 1, endSoc: 1, reserveSoc: 0 }),
    idle: () => ({ sleep: false }),
    learnTask: () => undefined,
    setBusy: () => undefined,
    report: () => undefined,
    last: undefined,
  };
}

export function createBoardEnergyManager(
  board: Board,
  journal: Journal,
  config: EnergyPolicyConfig,
  onBusy?: (busy: boolean) => void,
): EnergyManager {
  let last: PowerSample | undefined;
  let lastProfileAt = 0;
  let busy = false;
  // The Pi's own draw, learned (exponential averages), starting from the configured figures.
  const draw = { idle: config.idleWatts, busy: config.busyWatts };
  const saved = journal.getMeta(LEDGER_META);
  const ledger = new EnergyLedger(
    { chemistry: board.chemistry, batteryWattHours: config.batteryWattHours },
    saved === undefined ? undefined : (JSON.parse(saved) as SavedEnergyLedgerState),
  );
  let lastLedgerSave = Number.NEGATIVE_INFINITY;
  let startCounted = false;
  let task: EnergyMeter | undefined;
  let lastTask: TaskEnergySplit | undefined;

  /** The floor in force: the configured one, raised by the pack's health (temperature, cycles). */
  const floor = (): number =>
    Math.max(
      config.floor,
      batteryHealthFloor({
        chemistry: board.chemistry,
        ...(last?.temperatureC === undefined ? {} : { temperatureC: last.temperatureC }),
        equivalentFullCycles: ledger.totals().equivalentFullCycles,
      }),
    );
  const policy = (): EnergyPolicyConfig => ({
    ...config,
    floor: floor(),
    // An owner's fixed reserve is never below the floor in force; without one, it is forecast (policy.ts).
    ...(config.nightReserve === undefined ? {} : { nightReserve: Math.max(config.nightReserve, floor()) }),
    idleWatts: draw.idle,
    busyWatts: Math.max(draw.busy, draw.idle),
  });
  const state = () => {
    if (last === undefined) throw new Error("no board sample yet: call sample() first");
    return { nowMs: last.at, stateOfCharge: last.stateOfCharge, pvWatts: last.pvWatts };
  };
  const forecast = () => new PvForecast(journal.pvProfile(), state().nowMs, state().pvWatts);
  const typical = (): TaskEnergy => expectedTaskEnergy(policy(), TYPICAL_TASK);

  const account = (sample: PowerSample): void => {
    // A start after the low-voltage cut, or after the whole supply had gone (reason 10, §1.3, on a
    // worker that had kept accounts before: on a new one it is the first plug-in), ended the last
    // life without a planned shutdown: a brown-out in the accounts.
    const started = board.started;
    if (!startCounted && started !== undefined) {
      startCounted = true;
      const reconnected = started.reasonCode === 10 && ledger.state().last !== undefined;
      if (started.lowVoltageShutdown || started.reasonCode === 4 || reconnected) ledger.brownOut();
    }
    const available = busy || decideStart(policy(), state(), forecast(), typical()).start;
    // The daylight-plus-battery hours: the panel carries the idle Pi, or the battery holds charge above the floor.
    const daylightOrBattery = sample.pvWatts * CONVERTER_EFFICIENCY >= draw.idle || sample.stateOfCharge > floor();
    ledger.add({
      at: sample.at,
      pvWatts: sample.pvWatts,
      batteryWatts: sample.batteryVolts * sample.batteryAmps,
      mainsWatts: sample.mainsWatts ?? 0,
      loadWatts: sample.loadWatts,
      stateOfCharge: sample.stateOfCharge,
      available,
      daylightOrBattery,
    });
    task?.add(sample.at, sample.loadWatts, sample.pvWatts, sample.mainsWatts ?? 0);
    if (sample.at - lastLedgerSave >= LEDGER_EVERY_MS) {
      journal.setMeta(LEDGER_META, JSON.stringify(ledger.state()));
      lastLedgerSave = sample.at;
    }
  };

  return {
    get last() {
      return last;
    },
    async sample() {
      last = await board.sample();
      if (last.at - lastProfileAt >= PROFILE_EVERY_MS) {
        journal.recordPv(slotOf(last.at), last.pvWatts);
        lastProfileAt = last.at;
      }
      if (busy) draw.busy = 0.9 * draw.busy + 0.1 * last.loadWatts;
      else draw.idle = 0.9 * draw.idle + 0.1 * last.loadWatts;
      account(last);
      return last;
    },
    outlook() {
      const s = state();
      const plan = policy();
      const panel = forecast();
      return {
        stateOfChargePct: Math.round(s.stateOfCharge * 1000) / 10,
        pvWatts: Math.max(0, Math.round(s.pvWatts * 100) / 100),
        loadWatts: Math.max(0, Math.round((last?.loadWatts ?? 0) * 100) / 100),
        awakeSeconds: Math.round(awakeSeconds(plan, s, panel)),
        // What the scheduler's forecast-driven admission plans with (scheduler/src/dispatch/harvest.ts):
        // the pack, the floor in force (health included), the learned idle draw, and the panel's
        // expected mean watts for each of the next hours.
        batteryWattHours: round(plan.batteryWattHours, 1),
        floorPct: round(plan.floor * 100, 1),
        idleWatts: round(plan.idleWatts, 2),
        pvForecastWatts: Array.from({ length: FORECAST_HOURS }, (_, hour) =>
          Math.max(0, round(panel.wattHours(s.nowMs + hour * 3_600_000, 3600), 2)),
        ),
        // Rule 2 as this worker applies it, so the scheduler never counts on a start it would refuse.
        endReservePct: endReserveByHour(plan, s.nowMs, panel, FORECAST_HOURS).map((soc) => Math.ceil(soc * 1000) / 10),
      };
    },
    mayStart(appId, needs) {
      const task = expectedTaskEnergy(policy(), needs, journal.appEnergy(appId));
      return decideStart(policy(), state(), forecast(), task);
    },
    idle() {
      return decideIdle(policy(), state(), forecast(), typical());
    },
    learnTask(appId, wattHours, seconds) {
      journal.recordAppRun(appId, wattHours, seconds);
    },
    setBusy(value) {
      if (value !== busy) onBusy?.(value);
      if (value && !busy && last !== undefined) {
        task = new EnergyMeter(last.at);
        task.add(last.at, last.loadWatts, last.pvWatts, last.mainsWatts ?? 0);
      } else if (!value && busy && task !== undefined) {
        task.extendTo(board.clock.now());
        lastTask = task.split();
        ledger.taskFinished(lastTask.mainsWh);
        task = undefined;
        journal.setMeta(LEDGER_META, JSON.stringify(ledger.state()));
      }
      busy = value;
    },
    report() {
      return { ...ledger.totals(), stateOfChargeFloor: floor(), ...(lastTask === undefined ? {} : { lastTask }) };
    },
    syncClock: (reference) => board.syncClock(reference),
  };
}
