// The Witty Pi's start-up steps that set what the board relies on while the Pi is down: the
// clocks (§1.10 step 3, §1.11), which every wake-up alarm is computed from, and the low-voltage
// protection (§1.10 step 6), without which a drained pack is never cut off and a cut Pi never comes
// back. Section numbers (§) refer to docs/hardware.md.
import type { BoardConfig, BoardHooks, ClockSync } from "./board.js";
import type { Clock } from "./clock.js";
import { HardwareError } from "./errors.js";
import { RTC_PLAUSIBLE_FROM, storedThreshold, type RtcStatus, type WittyPi4 } from "./wittyPi4.js";

type SystemClock = BoardHooks["systemClock"];
type Reference = (() => Promise<number | undefined>) | undefined;

/**
 * Step 3: the board clock is the reference once NTP has set it; the RTC (UTC, see
 * WittyPi4.readRtc) is rewritten when it lost its time or drifted, since alarms match on it.
 * Before NTP, a kept RTC is the better clock: it sets the system's. A reset RTC (§1.11) with no
 * NTP is set from the reference (the chain) or left untrusted: no alarm is ever computed from it.
 */
export async function syncClocksAtStart(
  witty: WittyPi4,
  clock: Clock,
  systemClock: SystemClock,
  reference: Reference,
): Promise<{ rtcStatus: RtcStatus; rtcDriftMs: number | undefined; clock: ClockSync }> {
  const rtcStatus = await witty.readRtcStatus();
  const rtc = rtcStatus.reset ? undefined : rtcStatus.time;
  const now = clock.now();
  const rtcDriftMs = rtc === undefined ? undefined : rtc.getTime() - Math.floor(now / 1000) * 1000;
  if (rtc !== undefined && systemClock !== undefined && !systemClock.synchronized()) {
    if (Math.abs(rtcDriftMs!) > 2000) await systemClock.set(rtc);
    return { rtcStatus, rtcDriftMs, clock: { trusted: true, source: "rtc" } };
  }
  if (rtc !== undefined) {
    if (Math.abs(rtcDriftMs!) > 2000) await witty.writeRtc(new Date(now));
    return { rtcStatus, rtcDriftMs, clock: { trusted: true, source: "system" } };
  }
  return { rtcStatus, rtcDriftMs, clock: await resyncRtc(witty, clock, systemClock, reference) };
}

/**
 * The RTC lost its time (§1.11): set it from the system clock once NTP has synchronised it (a
 * board without a system-clock hook is its own reference: the simulator), else from the reference
 * (the chain's latest block time, which a chain never dates in the future), setting the system
 * clock too. Without either, the clock stays untrusted and sleepUntil refuses to arm an alarm.
 */
export async function resyncRtc(
  witty: WittyPi4,
  clock: Clock,
  systemClock: SystemClock,
  reference: Reference,
): Promise<ClockSync> {
  if (systemClock === undefined || systemClock.synchronized()) {
    await witty.writeRtc(new Date(clock.now()));
    return { trusted: true, source: "system" };
  }
  const at = await reference?.().catch(() => undefined);
  if (at === undefined || !(at >= RTC_PLAUSIBLE_FROM)) return { trusted: false, source: "none" };
  await systemClock.set(new Date(at));
  await witty.writeRtc(new Date(at));
  return { trusted: true, source: "chain" };
}

/**
 * Step 6: the low-voltage cut-off and the recovery voltage, written only when they differ (EEPROM,
 * §1.4), then read back; anything else refuses to start (HW_PROTECTION_NOT_SET) with what to do.
 */
export async function programProtection(
  witty: WittyPi4,
  config: Pick<BoardConfig, "lowVoltageCutoff" | "recoveryVoltage">,
): Promise<{ lowVoltageCutoff: number; recoveryVoltage: number }> {
  const refuse = (what: string, register: number, wanted: number, found: number | undefined, cause?: unknown): never => {
    throw new HardwareError(
      "HW_PROTECTION_NOT_SET",
      `the Witty Pi's ${what} (register ${register}) reads ${found === undefined ? "disabled/unknown" : `${found} V`} after writing ${wanted} V`,
      {
        device: "witty-pi-4",
        register,
        hint: "Stop UUGear's wittypi daemon if it runs (it rewrites the thresholds), power-cycle the Witty Pi (unplug the battery for 10 s) and restart the worker; if it persists the MCU's EEPROM is worn: replace the board. The worker does not run without this protection",
        ...(cause === undefined ? {} : { cause }),
      },
    );
  };
  const cutoff = storedThreshold(config.lowVoltageCutoff);
  const recovery = storedThreshold(config.recoveryVoltage);
  try {
    await witty.setLowVoltageThreshold(config.lowVoltageCutoff);
  } catch (error) {
    if (error instanceof HardwareError && error.code === "HW_INVALID_ARGUMENT") throw error;
    refuse("low-voltage cut-off", 19, cutoff, undefined, error);
  }
  try {
    await witty.setRecoveryThreshold(config.recoveryVoltage);
  } catch (error) {
    if (error instanceof HardwareError && error.code === "HW_INVALID_ARGUMENT") throw error;
    refuse("recovery voltage", 22, recovery, undefined, error);
  }
  const readCutoff = await witty.lowVoltageThreshold();
  if (readCutoff !== cutoff) refuse("low-voltage cut-off", 19, cutoff, readCutoff);
  const readRecovery = await witty.recoveryThreshold();
  if (readRecovery !== recovery) refuse("recovery voltage", 22, recovery, readRecovery);
  return { lowVoltageCutoff: cutoff, recoveryVoltage: recovery };
}
