// The energy manager: the one place that turns board samples into decisions. It learns the
// panel's daily profile and the Pi's idle and busy draw from samples, and applies the policy
// (policy.ts) to them. A host without a battery (`board: none`) is "mains powered": it always
// works and says so in its outlook.
import type { Heartbeat } from "@sunpool/sdk";

import type { Board, PowerSample } from "../hardware/board.js";
import type { Journal } from "../journal/journal.js";
import { PvForecast, slotOf } from "./forecast.js";
import {
  awakeSeconds,
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
  /** Notes whether the Pi is running a task, so samples teach idle vs busy draw. */
  setBusy(busy: boolean): void;
  readonly last: PowerSample | undefined;
}

export function createMainsEnergyManager(): EnergyManager {
  return {
    sample: () => Promise.resolve(undefined),
    outlook: () => ({ stateOfChargePct: 100, pvWatts: 0, loadWatts: 0, awakeSeconds: 31_536_000, mainsPowered: true }),
    mayStart: () => ({ start: true, troughSoc: 1, endSoc: 1 }),
    idle: () => ({ sleep: false }),
    learnTask: () => undefined,
    setBusy: () => undefined,
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

  const policy = (): EnergyPolicyConfig => ({ ...config, idleWatts: draw.idle, busyWatts: Math.max(draw.busy, draw.idle) });
  const state = () => {
    if (last === undefined) throw new Error("no board sample yet: call sample() first");
    return { nowMs: last.at, stateOfCharge: last.stateOfCharge, pvWatts: last.pvWatts };
  };
  const forecast = () => new PvForecast(journal.pvProfile(), state().nowMs, state().pvWatts);
  const typical = (): TaskEnergy => expectedTaskEnergy(policy(), TYPICAL_TASK);

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
      return last;
    },
    outlook() {
      const s = state();
      return {
        stateOfChargePct: Math.round(s.stateOfCharge * 1000) / 10,
        pvWatts: Math.max(0, Math.round(s.pvWatts * 100) / 100),
        loadWatts: Math.max(0, Math.round((last?.loadWatts ?? 0) * 100) / 100),
        awakeSeconds: Math.round(awakeSeconds(policy(), s, forecast())),
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
      busy = value;
    },
  };
}
