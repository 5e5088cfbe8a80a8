// The power-off hook: whatever shuts the Pi down (the owner's `poweroff`, a Witty Pi button press,
// an update), the Witty Pi must have a startup alarm, or the Pi stays off until someone replugs it.
// The agent sets its own alarm before it sleeps; the hook keeps that one and otherwise arms one by
// the same rule the agent uses (energy/policy.ts `wakeTime`), from the panel profile it learned.
import { DEFAULT_ENERGY_POLICY, wakeTime, type EnergyPolicyConfig } from "../energy/policy.js";
import { PvForecast } from "../energy/forecast.js";
import { MAX_ALARM_AHEAD_MS, type AlarmTime, type WittyPi4 } from "../hardware/wittyPi4.js";

export type WakeAlarmResult =
  { action: "kept"; wakeAt: Date; alarm: AlarmTime } | { action: "set"; wakeAt: Date; alarm: AlarmTime; replaced?: AlarmTime };

export interface ArmWakeAlarmOptions {
  witty: Pick<WittyPi4, "readStartupAlarm" | "setStartupAlarm">;
  nowMs: number;
  /** The learned panel profile (watts by 15-minute UTC slot); empty when the worker never ran. */
  pvProfile: ReadonlyMap<number, number>;
  policy?: Partial<Pick<EnergyPolicyConfig, "idleWatts" | "minSleepSeconds" | "maxSleepSeconds">>;
}

/** Keeps a pending startup alarm due within the longest sleep; otherwise programs one. */
export async function armWakeAlarm(options: ArmWakeAlarmOptions): Promise<WakeAlarmResult> {
  const policy = { ...DEFAULT_ENERGY_POLICY, ...options.policy };
  const existing = await options.witty.readStartupAlarm();
  if (existing !== undefined) {
    const due = nextOccurrence(existing, options.nowMs);
    // An alarm whose time has passed only matches again next month: that one is replaced.
    if (due !== undefined && due - options.nowMs <= policy.maxSleepSeconds * 1000) {
      return { action: "kept", wakeAt: new Date(due), alarm: existing };
    }
  }
  // Nothing is known about the sky now: the Pi is going down, so plan from the profile alone.
  const forecast = new PvForecast(options.pvProfile, options.nowMs, 0);
  const wakeAt = new Date(wakeTime(policy, options.nowMs, forecast));
  const alarm = await options.witty.setStartupAlarm(wakeAt, new Date(options.nowMs));
  return { action: "set", wakeAt, alarm, ...(existing === undefined ? {} : { replaced: existing }) };
}

/**
 * The next instant after `nowMs` at which the firmware would match `alarm` (UTC day of month, hour,
 * minute, second; §1.4), or undefined if that is further than an alarm may be trusted.
 */
export function nextOccurrence(alarm: AlarmTime, nowMs: number): number | undefined {
  const now = new Date(nowMs);
  for (let months = 0; months <= 2; months++) {
    const year = now.getUTCFullYear();
    const month = now.getUTCMonth() + months;
    const at = Date.UTC(year, month, alarm.day, alarm.hour, alarm.minute, alarm.second);
    // Date.UTC rolls 31 February into March: such a day does not exist in that month.
    if (new Date(at).getUTCDate() !== alarm.day) continue;
    if (at > nowMs) return at - nowMs < MAX_ALARM_AHEAD_MS ? at : undefined;
  }
  return undefined;
}
