// The board facade the energy manager uses: one sample of the power system, the Witty Pi boot routine,
// and "sleep until T". It is the same code on a Pi and against the board simulator; only the bus, the
// GPIO lines, the clock and the power-off action differ. Section numbers (§) refer to docs/hardware.md.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

import type { I2cBus } from "./bus.js";
import type { Clock } from "./clock.js";
import type { GpioLine } from "./gpio.js";
import { Ina2xx } from "./ina2xx.js";
import { CoulombCounter, type Chemistry } from "./stateOfCharge.js";
import { HardwareError } from "./errors.js";
import { WittyPi4 } from "./wittyPi4.js";
import { programProtection, resyncRtc, syncClocksAtStart } from "./wittyPiStartup.js";

export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";

export interface PowerSample {
  /** Board clock, ms since epoch. */
  at: number;
  batteryVolts: number;
  /** + charging, − discharging. */
  batteryAmps: number;
  /** 0..1, coulomb counted, OCV-corrected. */
  stateOfCharge: number;
  /** Panel power: the panel INA if fitted, else estimated as battery power + load / converter efficiency. */
  pvWatts: number;
  /** The Pi's draw: Witty Pi Vout × Iout. */
  loadWatts: number;
  atRest: boolean;
  /** Whether the panel figure was measured (panel INA) or estimated. */
  pvMeasured: boolean;
  /**
   * Power from a 5 V supply (mains adapter) instead of the battery: the Witty Pi reports POWER_MODE 0
   * when its input is not above 5.25 V (§1.2 reg 7), and then the Pi's whole draw comes from it.
   */
  mainsWatts?: number;
  /** Board temperature (the Witty Pi's LM75B, next to the battery in a solar box), °C. */
  temperatureC?: number;
}

/** Where the board's time came from at start (§1.10 step 3, §1.11). */
export type ClockSource = "rtc" | "system" | "chain" | "none";

export interface ClockSync {
  /** Whether the board clock and the RTC agree with a trusted time: only then are alarms set. */
  trusted: boolean;
  source: ClockSource;
}

export interface Board {
  readonly clock: Clock;
  /** The pack's chemistry (its health floor depends on it, worker/src/energy/batteryHealth.ts). */
  readonly chemistry: Chemistry;
  readonly kind: "witty-pi-4" | "simulated";
  sample(): Promise<PowerSample>;
  /** Boot routine (§1.10 steps 1-6): probe, log+clear reason, RTC sync, SYS_UP, thresholds, power-cut delay. Returns why we are up. */
  start(): Promise<BoardStart>;
  /**
   * Program the startup alarm for `at` and request a clean power-off (the caller has already stopped
   * work). Refuses (HW_CLOCK_UNTRUSTED) while the RTC holds a reset time no trusted source has fixed.
   */
  sleepUntil(at: Date): Promise<void>;
  /**
   * Give the board a time reference for a reset RTC when the system clock is not NTP-synchronised
   * (the agent passes the chain's latest block time); resyncs now if the clock is not trusted.
   */
  syncClock(reference: () => Promise<number | undefined>): Promise<ClockSync>;
  /** What the last start() found, once it ran. */
  readonly started: BoardStart | undefined;
  /**
   * Halt Linux without an alarm of the agent's (the MCU asked: button, shutdown alarm, low voltage).
   * The Witty Pi cuts the power once the Pi has halted; the image's power-off hook arms the wake-up.
   */
  powerOff(): Promise<void>;
  onShutdownRequest(listener: () => void): void;
  close(): Promise<void>;
}

export type BoardStart = { reason: string; lowVoltageShutdown: boolean } & StartDetails;

export interface StartDetails {
  /** ACTION_REASON code (§1.3). */
  reasonCode: number;
  firmwareId: number;
  firmwareRevision: number;
  /** Which alarms had fired (regs 39/40) before they were cleared. */
  alarmFlags: { alarm1: boolean; alarm2: boolean };
  /** The RTC minus the board clock before the sync, ms; undefined if the RTC had lost its time. */
  rtcDriftMs: number | undefined;
  /** Whether SYS_UP was sent (it cannot be without the GPIO lines; then LV protection stays disarmed). */
  sysUpSent: boolean;
  /** The power-cut delay in force after start. */
  powerCutDelaySeconds: number;
  /** The RTC had lost its time (§1.11), and why. */
  rtcReset: boolean;
  rtcResetWhy?: string;
  /** Whether the clock is trusted after start, and from what it was set. */
  clock: ClockSync;
  /** The low-voltage cut-off and recovery voltage read back from the MCU after writing them (§1.10 step 6). */
  protection: { lowVoltageCutoff: number; recoveryVoltage: number };
}

export interface MonitorConfig {
  chip: "ina219" | "ina226";
  address: number;
  shuntOhms: number;
  maxAmps: number;
  /** -1 if the shunt is wired so that charging reads negative. */
  polarity?: 1 | -1;
}

export interface BoardConfig {
  battery: {
    chemistry: "lifepo4" | "li-ion";
    cells: number;
    capacityAh: number;
    /** SoC persisted before the last power-off; without it the counter starts from the first voltage read. */
    initialStateOfCharge?: number;
    /** Without `initialStateOfCharge`, the most the first voltage read may stand for (stateOfCharge.ts). */
    maxInitialStateOfCharge?: number;
    coulombicEfficiency?: number;
  };
  /** Witty Pi low-voltage cut-off, V (reg 19). */
  lowVoltageCutoff: number;
  /** Witty Pi recovery voltage, V (reg 22). */
  recoveryVoltage: number;
  /** Minimum power-cut delay, s (reg 21, ≤ 25): time for containers to stop after an MCU-initiated shutdown. */
  powerCutDelaySeconds: number;
  monitor: MonitorConfig;
  panelMonitor?: MonitorConfig;
  /** Witty Pi DC-DC efficiency, for estimating PV power without a panel monitor. Default 0.9. */
  converterEfficiency?: number;
  /** Witty Pi I²C address (reg 16). Default 0x08. */
  wittyPiAddress?: number;
}

export interface BoardHooks {
  /** How to power the Pi off once the alarm is set. Default `systemctl poweroff`. */
  powerOff?: () => Promise<void>;
  kind?: Board["kind"];
  /** Retry delay for I²C (UUGear: 1 s). */
  retryDelayMs?: number;
  /**
   * The Linux clock, on a real Pi. A Pi has no clock of its own: without network time it resumes
   * from its last shutdown, while the Witty Pi's RTC kept counting. Given this, start() sets the
   * system clock from the RTC until NTP has synchronised it (UUGear's rtc_to_system), instead of
   * overwriting a good RTC with a stale time (and with it every alarm).
   */
  systemClock?: { synchronized(): boolean; set(at: Date): Promise<void> };
  /** A trusted time, ms, for a reset RTC before NTP (the chain's latest block); see Board.syncClock. */
  referenceTime?: () => Promise<number | undefined>;
}

/** The real Linux clock: systemd-timesyncd's flag file, and `date` (the agent runs as root on the image). */
export const linuxSystemClock: NonNullable<BoardHooks["systemClock"]> = {
  synchronized: () => existsSync("/run/systemd/timesync/synchronized"),
  async set(at: Date) {
    await execFileAsync("date", ["-u", "-s", `@${Math.floor(at.getTime() / 1000).toString()}`]);
  },
};

const execFileAsync = promisify(execFile);

const systemctlPowerOff = async (): Promise<void> => {
  await execFileAsync("systemctl", ["poweroff"]);
};

export function createBoard(
  bus: I2cBus,
  gpio: { sysUp: GpioLine; halt: GpioLine } | undefined,
  clock: Clock,
  config: BoardConfig,
  hooks: BoardHooks = {},
): Board {
  if (!(config.recoveryVoltage > config.lowVoltageCutoff)) {
    throw new RangeError(
      `recoveryVoltage ${config.recoveryVoltage} V must be above lowVoltageCutoff ${config.lowVoltageCutoff} V, or the Pi would power on into another low-voltage cut`,
    );
  }
  const sleep = (ms: number): Promise<void> => clock.sleep(ms);
  const retry = hooks.retryDelayMs === undefined ? {} : { retry: { delayMs: hooks.retryDelayMs } };
  const witty = new WittyPi4(bus, {
    sleep,
    ...retry,
    ...(config.wittyPiAddress === undefined ? {} : { address: config.wittyPiAddress }),
    ...(gpio === undefined ? {} : { sysUp: gpio.sysUp, halt: gpio.halt }),
  });
  const monitor = new Ina2xx(bus, { ...config.monitor, sleep, ...retry });
  const panelMonitor =
    config.panelMonitor === undefined ? undefined : new Ina2xx(bus, { ...config.panelMonitor, sleep, ...retry });
  const chemistry: Chemistry = config.battery.chemistry;
  const counter = new CoulombCounter({
    chemistry,
    cells: config.battery.cells,
    capacityAh: config.battery.capacityAh,
    ...(config.battery.initialStateOfCharge === undefined ? {} : { initialStateOfCharge: config.battery.initialStateOfCharge }),
    ...(config.battery.maxInitialStateOfCharge === undefined
      ? {}
      : { maxInitialStateOfCharge: config.battery.maxInitialStateOfCharge }),
    ...(config.battery.coulombicEfficiency === undefined ? {} : { coulombicEfficiency: config.battery.coulombicEfficiency }),
  });
  const efficiency = config.converterEfficiency ?? 0.9;
  const powerOff = hooks.powerOff ?? systemctlPowerOff;
  const shutdownListeners: (() => void)[] = [];
  let unwatch: (() => void) | undefined;
  let monitorsReady: Promise<void> | undefined;

  const initMonitors = (): Promise<void> =>
    (monitorsReady ??= Promise.all([monitor.init(), panelMonitor?.init()]).then(
      () => undefined,
      (err: unknown) => {
        monitorsReady = undefined;
        throw err;
      },
    ));

  let clockState: ClockSync = { trusted: false, source: "none" };
  let reference: (() => Promise<number | undefined>) | undefined = hooks.referenceTime;
  let startDetails: BoardStart | undefined;

  const resyncResetRtc = () => resyncRtc(witty, clock, hooks.systemClock, reference);

  function watchHalt(): void {
    if (gpio === undefined || unwatch !== undefined) return;
    unwatch = witty.onShutdownRequest(() => {
      for (const l of [...shutdownListeners]) l();
    });
  }

  return {
    clock,
    chemistry,
    kind: hooks.kind ?? "witty-pi-4",

    async start() {
      // §1.10 step 1: is this a Witty Pi 4?
      const identity = await witty.probe();
      // Step 2: why are we up; then clear the flags so the next boot reports its own reason.
      const reason = await witty.actionReason();
      const lowVoltageShutdown = await witty.lowVoltageShutdown();
      const alarmFlags = await witty.alarmFlags();
      await witty.clearAlarmFlags();
      // A startup alarm that just fired would match again next month, and a shutdown alarm left by
      // an earlier schedule (or UUGear's scripts) would cut a later run short: this board sets its
      // alarms only right before sleeping. Skipped when already clear (EEPROM, §1.4).
      await witty.clearStartupAlarm();
      await witty.clearShutdownAlarm();
      // Step 3: the clocks (wittyPiStartup.ts).
      const { rtcStatus, rtcDriftMs, clock: synced } = await syncClocksAtStart(witty, clock, hooks.systemClock, reference);
      clockState = synced;
      // Steps 4–5: HALT must be released before the falling-edge watch is armed; then SYS_UP, which
      // arms the MCU's low-voltage protection and TXD power cut (§1.4).
      let sysUpSent = false;
      if (gpio !== undefined) {
        await witty.waitForHaltReleased();
        watchHalt();
        await witty.sendSysUp();
        sysUpSent = true;
      }
      // Step 6: protection, written only when it differs (EEPROM, §1.4), then read back: without
      // it a drained pack is never cut off, and without the recovery voltage a cut Pi never
      // comes back on its own (§1.4).
      const protection = await programProtection(witty, config);
      const powerCutDelaySeconds = await witty.raisePowerCutDelay(config.powerCutDelaySeconds);
      await initMonitors();
      return (startDetails = {
        rtcReset: rtcStatus.reset,
        ...(rtcStatus.why === undefined ? {} : { rtcResetWhy: rtcStatus.why }),
        clock: clockState,
        protection,
        reason: reason.name,
        reasonCode: reason.code,
        lowVoltageShutdown,
        firmwareId: identity.id,
        firmwareRevision: identity.revision,
        alarmFlags,
        rtcDriftMs,
        sysUpSent,
        powerCutDelaySeconds,
      });
    },

    get started() {
      return startDetails;
    },

    async syncClock(source) {
      reference = source;
      if (!clockState.trusted) clockState = await resyncResetRtc();
      return clockState;
    },

    async sample() {
      await initMonitors();
      const battery = await monitor.read();
      const loadWatts = (await witty.outputVolts()) * (await witty.outputAmps());
      // POWER_MODE 0: the Witty Pi runs from a 5 V supply, not through its converter (§1.2 reg 7).
      const mainsWatts = (await witty.powerMode()) === 0 ? loadWatts : 0;
      const temperatureC = await witty.temperatureC();
      const at = clock.now();
      const soc = counter.update(at, battery.amps, battery.busVolts);
      const batteryWatts = battery.busVolts * battery.amps;
      let pvWatts: number;
      let pvMeasured = false;
      if (panelMonitor !== undefined) {
        const panel = await panelMonitor.read();
        pvWatts = Math.max(0, panel.busVolts * panel.amps);
        pvMeasured = true;
      } else {
        // Whatever the battery does not supply, the panel does: P_pv ≈ P_batt + P_load / η (charge
        // controller losses ignored). Clamped at 0: a negative value is measurement noise at night.
        pvWatts = Math.max(0, batteryWatts + (loadWatts - mainsWatts) / efficiency);
      }
      return {
        at,
        batteryVolts: battery.busVolts,
        batteryAmps: battery.amps,
        stateOfCharge: soc.stateOfCharge,
        pvWatts,
        loadWatts,
        atRest: soc.atRest,
        pvMeasured,
        mainsWatts,
        temperatureC,
      };
    },

    async sleepUntil(at: Date) {
      if (!clockState.trusted) clockState = await resyncResetRtc();
      if (!clockState.trusted) {
        throw new HardwareError(
          "HW_CLOCK_UNTRUSTED",
          `not arming a wake-up for ${at.toISOString()}: the Witty Pi's RTC was reset and neither network time nor the chain gave the time`,
          {
            device: "witty-pi-4",
            hint: "Give the Pi network access (NTP or the chain's RPC endpoint); the worker stays up meanwhile and the Witty Pi's low-voltage cut-off still protects the battery",
          },
        );
      }
      await witty.setStartupAlarm(at, new Date(clock.now()));
      await powerOff();
    },

    async powerOff() {
      await powerOff();
    },

    onShutdownRequest(listener: () => void) {
      shutdownListeners.push(listener);
      watchHalt();
    },

    async close() {
      unwatch?.();
      unwatch = undefined;
      shutdownListeners.length = 0;
      gpio?.sysUp.unexport();
      gpio?.halt.unexport();
      await bus.close();
    },
  };
}
