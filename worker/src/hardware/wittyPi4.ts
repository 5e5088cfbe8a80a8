// Witty Pi 4 (UUGear) power-management HAT: an ATtiny841 at 0x08 with an LM75B and a PCF85063 RTC
// behind it (docs/hardware.md §1.1–1.2). This driver replaces UUGear's daemon.sh: it owns GPIO4 (HALT)
// and GPIO17 (SYS_UP), and must not run alongside that daemon (§4.4).
import type { I2cBus } from "./bus.js";
import { describeCause, HardwareError, hex } from "./errors.js";
import type { GpioLine } from "./gpio.js";
import { defaultRetryPolicy, withRetries, type RetryPolicy } from "./retry.js";

export const WITTY_PI_ADDRESS = 0x08;

/** Register numbers, firmware Rev 7 (§1.2). */
export const REG = {
  ID: 0,
  VOLTAGE_IN_I: 1,
  VOLTAGE_IN_D: 2,
  VOLTAGE_OUT_I: 3,
  VOLTAGE_OUT_D: 4,
  CURRENT_OUT_I: 5,
  CURRENT_OUT_D: 6,
  POWER_MODE: 7,
  LV_SHUTDOWN: 8,
  ALARM1_TRIGGERED: 9,
  ALARM2_TRIGGERED: 10,
  ACTION_REASON: 11,
  FW_REVISION: 12,
  CONF_ADDRESS: 16,
  CONF_DEFAULT_ON: 17,
  CONF_PULSE_INTERVAL: 18,
  CONF_LOW_VOLTAGE: 19,
  CONF_BLINK_LED: 20,
  CONF_POWER_CUT_DELAY: 21,
  CONF_RECOVERY_VOLTAGE: 22,
  CONF_DUMMY_LOAD: 23,
  CONF_ADJ_VIN: 24,
  CONF_ADJ_VOUT: 25,
  CONF_ADJ_IOUT: 26,
  CONF_SECOND_ALARM1: 27,
  CONF_MINUTE_ALARM1: 28,
  CONF_HOUR_ALARM1: 29,
  CONF_DAY_ALARM1: 30,
  CONF_WEEKDAY_ALARM1: 31,
  CONF_SECOND_ALARM2: 32,
  CONF_MINUTE_ALARM2: 33,
  CONF_HOUR_ALARM2: 34,
  CONF_DAY_ALARM2: 35,
  CONF_WEEKDAY_ALARM2: 36,
  CONF_RTC_OFFSET: 37,
  CONF_RTC_ENABLE_TC: 38,
  CONF_FLAG_ALARM1: 39,
  CONF_FLAG_ALARM2: 40,
  CONF_IGNORE_POWER_MODE: 41,
  CONF_IGNORE_LV_SHUTDOWN: 42,
  CONF_BELOW_TEMP_ACTION: 43,
  CONF_BELOW_TEMP_POINT: 44,
  CONF_OVER_TEMP_ACTION: 45,
  CONF_OVER_TEMP_POINT: 46,
  CONF_DEFAULT_ON_DELAY: 47,
  CONF_MISC: 48,
  CONF_GUARANTEED_WAKE: 49,
  LM75B_TEMPERATURE: 50,
  LM75B_CONF: 51,
  LM75B_THYST: 52,
  LM75B_TOS: 53,
  RTC_CTRL1: 54,
  RTC_CTRL2: 55,
  RTC_OFFSET: 56,
  RTC_RAM_BYTE: 57,
  RTC_SECONDS: 58,
  RTC_MINUTES: 59,
  RTC_HOURS: 60,
  RTC_DAYS: 61,
  RTC_WEEKDAYS: 62,
  RTC_MONTHS: 63,
  RTC_YEARS: 64,
} as const;

const REG_NAMES = new Map<number, string>(Object.entries(REG).map(([name, reg]) => [reg, name]));
export const registerName = (reg: number): string => REG_NAMES.get(reg) ?? `reg${reg}`;

/** Firmware IDs in reg 0 (§1.1): Witty Pi 4 and Witty Pi 4 L3V7. */
export const WITTY_PI_IDS: Readonly<Record<number, string>> = { 0x26: "Witty Pi 4", 0x37: "Witty Pi 4 L3V7" };

/** ACTION_REASON codes (§1.3, WP4 column). */
export const ACTION_REASONS: Readonly<Record<number, string>> = {
  1: "alarm1",
  2: "alarm2",
  3: "button",
  4: "low-voltage",
  5: "voltage-restored",
  6: "over-temperature",
  7: "below-temperature",
  8: "alarm1-delayed",
  9: "usb-5v-connected",
  10: "power-connected",
  11: "reboot",
  12: "guaranteed-wake",
};
export const actionReasonName = (code: number): string => ACTION_REASONS[code] ?? `unknown(${hex(code)})`;

/** 255 in a threshold register means "disabled" (§1.2 regs 19, 22). */
const DISABLED = 255;
/** The shell's accepted threshold range (§1.2 reg 19, WP4-SH). */
export const THRESHOLD_RANGE = { min: 2.0, max: 25.0 } as const;
/**
 * Alarms match on day-of-month/hour/minute/second only (§1.4): a day-of-month recurs after 28 days at
 * the earliest (February), so anything 28 days or more ahead could fire a month early.
 */
export const MAX_ALARM_AHEAD_MS = 28 * 86_400_000;

export interface AlarmTime {
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface WittyPi4Options {
  address?: number;
  /** GPIO17, SYS_UP (output pulses). */
  sysUp?: GpioLine;
  /** GPIO4, HALT (input with pull-up, falling edge = shutdown request; output low = request one). */
  halt?: GpioLine;
  /** Wait used between retries and for the SYS_UP pulses (inject the board clock's sleep). */
  sleep: (ms: number) => Promise<void>;
  /** Override UUGear's 3 retries, 1 s apart (§1.5). */
  retry?: Partial<Omit<RetryPolicy, "sleep">>;
}

export interface WittyPi4Identity {
  id: number;
  model: string;
  revision: number;
}

export class WittyPi4 {
  readonly address: number;
  private readonly bus: I2cBus;
  private readonly sysUp: GpioLine | undefined;
  private readonly halt: GpioLine | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retry: RetryPolicy;
  private firmwareId: number | undefined;

  constructor(bus: I2cBus, options: WittyPi4Options) {
    this.bus = bus;
    this.address = options.address ?? WITTY_PI_ADDRESS;
    this.sysUp = options.sysUp;
    this.halt = options.halt;
    this.sleep = options.sleep;
    this.retry = { ...defaultRetryPolicy(options.sleep), ...options.retry };
  }

  // ---- register access ---------------------------------------------------------------------------

  /** One register byte, retried (§1.5). */
  readRegister(reg: number): Promise<number> {
    return withRetries(
      this.retry,
      () => this.bus.readByte(this.address, reg),
      (cause) =>
        new HardwareError(
          "HW_READ_FAILED",
          `Witty Pi ${hex(this.address)}: reading register ${reg} (${registerName(reg)}) failed ${this.retry.retries + 1} times (${describeCause(cause)})`,
          {
            device: "witty-pi-4",
            register: reg,
            registerName: registerName(reg),
            hint: "Check the HAT is seated, `i2cdetect -y 1` shows 0x08, and nothing else (UUGear's daemon) is using the bus",
            cause,
          },
        ),
    );
  }

  /** Write a byte and read it back; retried on an I/O error or a mismatch (§1.5). */
  async writeRegister(reg: number, value: number): Promise<void> {
    let lastRead: number | undefined;
    await withRetries(
      this.retry,
      async () => {
        await this.bus.writeByte(this.address, reg, value);
        lastRead = await this.bus.readByte(this.address, reg);
        if (lastRead !== value) throw new Error(`read back ${hex(lastRead)}`);
      },
      (cause) =>
        new HardwareError(
          "HW_WRITE_FAILED",
          `Witty Pi ${hex(this.address)}: writing ${hex(value)} to register ${reg} (${registerName(reg)}) did not stick after ${this.retry.retries + 1} attempts (${lastRead === undefined ? describeCause(cause) : `last read back ${hex(lastRead)}`})`,
          {
            device: "witty-pi-4",
            register: reg,
            registerName: registerName(reg),
            expected: value,
            ...(lastRead === undefined ? {} : { actual: lastRead }),
            hint: "The MCU may be busy or its EEPROM worn; power-cycle the Witty Pi and retry",
            cause,
          },
        ),
    );
  }

  /**
   * Write a configuration register (16–49, EEPROM-backed §1.2) only if it differs: the firmware's
   * EEPROM.update already skips equal bytes, but skipping saves the bus traffic and the read-back.
   * Returns whether a write happened.
   */
  async writeConfig(reg: number, value: number): Promise<boolean> {
    if ((await this.readRegister(reg)) === value) return false;
    await this.writeRegister(reg, value);
    return true;
  }

  // ---- identity and measurements ----------------------------------------------------------------

  /** §1.10 step 1: firmware ID (reg 0) and revision (reg 12). Throws HW_NOT_FOUND on another device. */
  async probe(): Promise<WittyPi4Identity> {
    const id = await this.readRegister(REG.ID);
    const model = WITTY_PI_IDS[id];
    if (model === undefined) {
      throw new HardwareError(
        "HW_NOT_FOUND",
        `device at ${hex(this.address)} reports firmware ID ${hex(id)}, not a Witty Pi 4 (0x26) or L3V7 (0x37)`,
        {
          device: "witty-pi-4",
          register: REG.ID,
          actual: id,
          hint: "Witty Pi 3 (0x69) and Witty Pi 5 (0x51) have different register maps and are not supported",
        },
      );
    }
    this.firmwareId = id;
    return { id, model, revision: await this.readRegister(REG.FW_REVISION) };
  }

  /** Read an I + D/100 pair; reading the integer register first makes the MCU sample the ADC (§1.2). */
  private async readPair(intReg: number): Promise<number> {
    const i = await this.readRegister(intReg);
    const d = await this.readRegister(intReg + 1);
    return i + d / 100;
  }

  /** Input (battery) voltage. Resolution is the MCU's ADC step, ≈0.0613 V (§1.2). */
  inputVolts(): Promise<number> {
    return this.readPair(REG.VOLTAGE_IN_I);
  }

  /** 5 V output voltage. */
  outputVolts(): Promise<number> {
    return this.readPair(REG.VOLTAGE_OUT_I);
  }

  /** Current drawn by the Pi on the 5 V output, ≈21.5 mA steps (§1.2). */
  outputAmps(): Promise<number> {
    return this.readPair(REG.CURRENT_OUT_I);
  }

  /** 1 = DC input through the converter (Vin > 5.25 V), 0 = 5 V input (§1.2 reg 7). */
  powerMode(): Promise<number> {
    return this.readRegister(REG.POWER_MODE);
  }

  /** LM75B board temperature: 11-bit two's complement in the top bits of a big-endian word, 0.125 °C (§1.2 reg 50). */
  async temperatureC(): Promise<number> {
    const buf = Buffer.alloc(2);
    await withRetries(
      this.retry,
      async () => {
        const { bytesRead } = await this.bus.readI2cBlock(this.address, REG.LM75B_TEMPERATURE, 2, buf);
        if (bytesRead !== 2) throw new Error(`short read: ${bytesRead} of 2 bytes`);
      },
      (cause) =>
        new HardwareError(
          "HW_READ_FAILED",
          `Witty Pi: reading the LM75B temperature (register 50) failed (${describeCause(cause)})`,
          {
            device: "witty-pi-4",
            register: REG.LM75B_TEMPERATURE,
            cause,
          },
        ),
    );
    return decodeLm75b(buf.readUInt16BE(0));
  }

  /** Why the MCU last switched the Pi on or off (§1.3). */
  async actionReason(): Promise<{ code: number; name: string }> {
    const code = await this.readRegister(REG.ACTION_REASON);
    return { code, name: actionReasonName(code) };
  }

  /** Reg 8: the last shutdown was a low-voltage one (cleared by the MCU when SYS_UP arrives). */
  async lowVoltageShutdown(): Promise<boolean> {
    return (await this.readRegister(REG.LV_SHUTDOWN)) === 1;
  }

  // ---- thresholds and delays ----------------------------------------------------------------------

  /** Low-voltage cut-off in volts, or undefined when disabled (reg 19). */
  async lowVoltageThreshold(): Promise<number | undefined> {
    return decodeThreshold(await this.readRegister(REG.CONF_LOW_VOLTAGE));
  }

  /** Set (or, with undefined, disable) the low-voltage cut-off. Stored as floor(V×10) like UUGear's shell (§1.5). */
  async setLowVoltageThreshold(volts: number | undefined): Promise<void> {
    await this.writeConfig(REG.CONF_LOW_VOLTAGE, encodeThreshold("low-voltage threshold", volts));
  }

  /** Recovery voltage in volts, or undefined when disabled (reg 22). */
  async recoveryThreshold(): Promise<number | undefined> {
    return decodeThreshold(await this.readRegister(REG.CONF_RECOVERY_VOLTAGE));
  }

  /** Set (or disable) the voltage at which the MCU powers the Pi back on after a low-voltage cut (§1.4). */
  async setRecoveryThreshold(volts: number | undefined): Promise<void> {
    await this.writeConfig(REG.CONF_RECOVERY_VOLTAGE, encodeThreshold("recovery threshold", volts));
  }

  /** Seconds between an MCU-initiated shutdown (or the Pi's TXD going low) and the 5 V cut (§1.4, reg 21). */
  async powerCutDelaySeconds(): Promise<number> {
    return (await this.readRegister(REG.CONF_POWER_CUT_DELAY)) / 10;
  }

  async setPowerCutDelay(seconds: number): Promise<void> {
    const max = await this.maxPowerCutDelay();
    if (!(seconds >= 0 && seconds <= max)) {
      throw new HardwareError("HW_INVALID_ARGUMENT", `power-cut delay ${seconds} s is outside 0–${max} s`, {
        register: REG.CONF_POWER_CUT_DELAY,
        hint: `Use at most ${max} s (UUGear's limit for this firmware, §1.2 reg 21)`,
      });
    }
    await this.writeConfig(REG.CONF_POWER_CUT_DELAY, Math.round(seconds * 10));
  }

  /**
   * Make the power-cut delay at least `seconds` (clamped to the firmware limit), never shorten it: an
   * MCU-initiated shutdown (alarm2, low voltage, button) cuts 5 V after this delay whether or not
   * Linux has halted (§1.4), and running containers need the time to stop. Returns the delay in force.
   */
  async raisePowerCutDelay(seconds: number): Promise<number> {
    const current = await this.powerCutDelaySeconds();
    const target = Math.min(seconds, await this.maxPowerCutDelay());
    if (target <= current) return current;
    await this.setPowerCutDelay(target);
    return target;
  }

  /** 25.0 s for firmware ID ≥ 38 (all Witty Pi 4s), else 8.0 s (§1.2 reg 21, WP4-SH). */
  private async maxPowerCutDelay(): Promise<number> {
    const id = this.firmwareId ?? (await this.readRegister(REG.ID));
    return id >= 38 ? 25 : 8;
  }

  // ---- alarms ------------------------------------------------------------------------------------

  /**
   * Program the startup alarm (alarm1, regs 27–30) so the MCU powers the Pi on at `at` (§1.10 step 7).
   * The RTC runs on UTC (see writeRtc), so the alarm fields are `at`'s UTC day/hour/minute/second,
   * rounded up to the next whole second so the Pi never wakes early. `now` is the board clock.
   */
  setStartupAlarm(at: Date, now: Date): Promise<AlarmTime> {
    return this.setAlarm(REG.CONF_SECOND_ALARM1, "startup", at, now);
  }

  /** Program the shutdown alarm (alarm2, regs 32–35): at `at` the MCU emulates a button click (§1.4). */
  setShutdownAlarm(at: Date, now: Date): Promise<AlarmTime> {
    return this.setAlarm(REG.CONF_SECOND_ALARM2, "shutdown", at, now);
  }

  clearStartupAlarm(): Promise<void> {
    return this.clearAlarm(REG.CONF_SECOND_ALARM1);
  }

  clearShutdownAlarm(): Promise<void> {
    return this.clearAlarm(REG.CONF_SECOND_ALARM2);
  }

  /** The programmed startup alarm, or undefined when disabled (all four bytes 0, §1.4). */
  readStartupAlarm(): Promise<AlarmTime | undefined> {
    return this.readAlarm(REG.CONF_SECOND_ALARM1);
  }

  readShutdownAlarm(): Promise<AlarmTime | undefined> {
    return this.readAlarm(REG.CONF_SECOND_ALARM2);
  }

  /** Alarm flags (regs 39/40): which alarm fired since they were last cleared. */
  async alarmFlags(): Promise<{ alarm1: boolean; alarm2: boolean }> {
    return {
      alarm1: (await this.readRegister(REG.CONF_FLAG_ALARM1)) !== 0,
      alarm2: (await this.readRegister(REG.CONF_FLAG_ALARM2)) !== 0,
    };
  }

  /** UUGear's clear_alarm_flags (§1.5, §1.10 step 2): RTC CTRL2 alarm flag (bit 6) and regs 39/40. */
  async clearAlarmFlags(): Promise<void> {
    const ctrl2 = await this.readRegister(REG.RTC_CTRL2);
    if ((ctrl2 & 0x40) !== 0) await this.writeRegister(REG.RTC_CTRL2, ctrl2 & 0xbf);
    await this.writeConfig(REG.CONF_FLAG_ALARM1, 0);
    await this.writeConfig(REG.CONF_FLAG_ALARM2, 0);
  }

  private async setAlarm(secondReg: number, kind: string, at: Date, now: Date): Promise<AlarmTime> {
    const when = Math.ceil(at.getTime() / 1000) * 1000;
    if (!Number.isFinite(when)) throw new HardwareError("HW_INVALID_ARGUMENT", `${kind} time is not a valid date`);
    const ahead = when - now.getTime();
    if (ahead <= 0) {
      throw new HardwareError(
        "HW_INVALID_ARGUMENT",
        `${kind} time ${new Date(when).toISOString()} is not after the board time ${now.toISOString()}`,
        {
          hint: "An alarm in the past never fires; the firmware only matches a future day/hour/minute/second",
        },
      );
    }
    if (ahead >= MAX_ALARM_AHEAD_MS) {
      throw new HardwareError(
        "HW_INVALID_ARGUMENT",
        `${kind} time ${new Date(when).toISOString()} is ${(ahead / 86_400_000).toFixed(1)} days ahead; the Witty Pi matches only day-of-month, hour, minute and second (§1.4), so it could fire a month early`,
        { hint: "Schedule less than 28 days ahead, and re-arm the alarm after waking" },
      );
    }
    // The firmware matches the alarm against the RTC (§1.4): on a reset RTC (§1.11) it would fire
    // at a time unrelated to `at`, up to a month away. Whoever arms it must set the RTC first.
    const rtc = await this.readRtcStatus();
    if (rtc.reset) {
      throw new HardwareError(
        "HW_CLOCK_UNTRUSTED",
        `not setting the ${kind} alarm: the RTC was reset (${rtc.why ?? "no valid time"})`,
        {
          device: "witty-pi-4",
          register: REG.RTC_SECONDS,
          hint: "Set the RTC from a trusted time first (the worker does it at start from NTP or the chain's block time)",
        },
      );
    }
    const d = new Date(when);
    const alarm: AlarmTime = { day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
    // Second, minute, hour, then day, like UUGear's set_startup_time (§1.5). While a disabled alarm
    // is being written its day stays 0, which matches no day of month, so a half-written alarm cannot fire.
    await this.writeConfig(secondReg, toBcd(alarm.second));
    await this.writeConfig(secondReg + 1, toBcd(alarm.minute));
    await this.writeConfig(secondReg + 2, toBcd(alarm.hour));
    await this.writeConfig(secondReg + 3, toBcd(alarm.day));
    return alarm;
  }

  private async clearAlarm(secondReg: number): Promise<void> {
    // Day first: day 0 disables matching at once (§1.4).
    for (const offset of [3, 2, 1, 0]) await this.writeConfig(secondReg + offset, 0);
  }

  private async readAlarm(secondReg: number): Promise<AlarmTime | undefined> {
    const second = fromBcd(await this.readRegister(secondReg));
    const minute = fromBcd(await this.readRegister(secondReg + 1));
    const hour = fromBcd(await this.readRegister(secondReg + 2));
    const day = fromBcd(await this.readRegister(secondReg + 3));
    return second === 0 && minute === 0 && hour === 0 && day === 0 ? undefined : { day, hour, minute, second };
  }

  // ---- RTC ---------------------------------------------------------------------------------------

  /**
   * The PCF85063 time (regs 58–64, BCD), or undefined when the RTC was reset (see readRtcStatus). The
   * RTC holds **UTC**: Witty Pi 3 does this (§1.2) and it makes alarms independent of the Pi's time
   * zone and DST, unlike UUGear's WP4 shell (local time).
   */
  async readRtc(): Promise<Date | undefined> {
    const status = await this.readRtcStatus();
    return status.reset ? undefined : status.time;
  }

  /**
   * The RTC's time and whether it can be trusted (§1.11): after losing every supply (no CR2032) the
   * PCF85063 restarts at 2000-01-01 with its oscillator-stop flag (seconds bit 7) set. Any of these
   * marks a reset clock: the flag, year 0 (UUGear's "bad time"), a field that is not a valid BCD date,
   * or a date before RTC_PLAUSIBLE_FROM (no Sunpool worker ran then).
   */
  async readRtcStatus(): Promise<RtcStatus> {
    for (let attempt = 0; ; attempt++) {
      const f: number[] = [];
      for (let reg = REG.RTC_SECONDS; reg <= REG.RTC_YEARS; reg++) f.push(await this.readRegister(reg));
      const secondsAgain = await this.readRegister(REG.RTC_SECONDS);
      // The registers are read one by one: if the seconds wrapped meanwhile, the minute (or more) may
      // have carried between reads; read again.
      if ((secondsAgain & 0x7f) < (f[0]! & 0x7f) && attempt < 2) continue;
      return decodeRtc(f as [number, number, number, number, number, number, number]);
    }
  }

  /** Set the RTC to `time` (UTC, whole seconds). Verified by reading it back within 2 s. */
  async writeRtc(time: Date): Promise<void> {
    const year = time.getUTCFullYear();
    if (year < 2001 || year > 2099) {
      throw new HardwareError(
        "HW_INVALID_ARGUMENT",
        `cannot store year ${year} in the RTC (2001–2099; year 2000 reads as "bad time")`,
        {
          hint: "Fix the system clock (NTP) before syncing the RTC",
        },
      );
    }
    const fields = [
      time.getUTCSeconds(),
      time.getUTCMinutes(),
      time.getUTCHours(),
      time.getUTCDate(),
      time.getUTCDay(), // PCF85063 weekday 0–6, Sunday = 0 (not `date +%u`, §1.2)
      time.getUTCMonth() + 1,
      year - 2000,
    ];
    let readBack: Date | undefined;
    await withRetries(
      this.retry,
      async () => {
        // The seconds register keeps counting, so no per-register read-back: compare the whole time.
        for (let i = 0; i < fields.length; i++) await this.bus.writeByte(this.address, REG.RTC_SECONDS + i, toBcd(fields[i]!));
        readBack = await this.readRtc();
        if (readBack === undefined || Math.abs(readBack.getTime() - Math.floor(time.getTime() / 1000) * 1000) > 2000) {
          throw new Error(`RTC reads ${readBack?.toISOString() ?? "bad time"}`);
        }
      },
      (cause) =>
        new HardwareError(
          "HW_WRITE_FAILED",
          `Witty Pi: setting the RTC to ${time.toISOString()} failed (${describeCause(cause)})`,
          {
            device: "witty-pi-4",
            register: REG.RTC_SECONDS,
            hint: "Check the RTC backup battery; retry after a power cycle",
            cause,
          },
        ),
    );
  }

  // ---- GPIO --------------------------------------------------------------------------------------

  /**
   * Tell the MCU the Pi is up (§1.4, §1.10 step 5): GPIO17 high/low/high/low, 100 ms each, then back to
   * input. Until the MCU sees this, low-voltage protection and the TXD power cut stay disarmed.
   */
  async sendSysUp(): Promise<void> {
    const line = this.requireLine(this.sysUp, "SYS_UP (GPIO17)");
    line.setDirection("out");
    for (const level of [1, 0, 1, 0] as const) {
      await line.write(level);
      await this.sleep(100);
    }
    line.setDirection("in");
  }

  /** HALT (GPIO4) level: 1 = idle (pulled up), 0 = shutdown requested (§1.1). */
  async haltLevel(): Promise<0 | 1> {
    return this.requireLine(this.halt, "HALT (GPIO4)").read();
  }

  /**
   * Wait until HALT has read 1 for `stableMs` (UUGear's daemon waits 5 s, §1.5): a line still low at
   * boot is a leftover click, and arming the falling-edge watch then would shut down at once.
   * Resolves false if it did not settle within `timeoutMs`.
   */
  async waitForHaltReleased(stableMs = 5000, timeoutMs = 60_000, pollMs = 1000): Promise<boolean> {
    let stable = 0;
    for (let waited = 0; waited <= timeoutMs; waited += pollMs) {
      stable = (await this.haltLevel()) === 1 ? stable + pollMs : 0;
      if (stable >= stableMs) return true;
      await this.sleep(pollMs);
    }
    return false;
  }

  /** Call `listener` when the MCU pulls HALT low (alarm2, button, low voltage, temperature, §1.4). Returns an unsubscribe. */
  onShutdownRequest(listener: () => void): () => void {
    const line = this.requireLine(this.halt, "HALT (GPIO4)");
    const watcher = (err: Error | null | undefined, value: 0 | 1): void => {
      if (err == null && value === 0) listener();
    };
    line.watch(watcher);
    return () => line.unwatch(watcher);
  }

  /** Ask the MCU for a managed shutdown by driving HALT low, like the button (schedules/README, §1.6). */
  requestShutdown(): void {
    this.requireLine(this.halt, "HALT (GPIO4)").setDirection("low");
  }

  private requireLine(line: GpioLine | undefined, name: string): GpioLine {
    if (line === undefined) {
      throw new HardwareError("HW_GPIO_UNAVAILABLE", `the Witty Pi driver was created without the ${name} line`, {
        hint: "Pass the GPIO lines from openGpioLine (or the simulator's) to createBoard",
      });
    }
    return line;
  }
}

// ---- encodings -----------------------------------------------------------------------------------

/** An RTC reading before this instant is a reset clock, not a time (§1.11): no worker ran before 2025. */
export const RTC_PLAUSIBLE_FROM = Date.UTC(2025, 0, 1);

export interface RtcStatus {
  /** The time the registers hold, when they hold a valid date. */
  time: Date | undefined;
  /** The RTC lost its time: it must be set before an alarm is computed from it. */
  reset: boolean;
  /** Why it counts as reset, for logs. */
  why?: string;
}

const validBcd = (b: number): boolean => (b & 0x0f) <= 9 && b >> 4 <= 9;

/** Registers 58–64 as read (§1.2 table of masks) → a time, or why it is a reset clock (§1.11). */
export function decodeRtc(raw: readonly [number, number, number, number, number, number, number]): RtcStatus {
  const [sec, min, hour, day, , month, year] = raw;
  if ((sec & 0x80) !== 0) return { time: undefined, reset: true, why: "oscillator-stop flag set (the RTC lost power)" };
  if (year === 0) return { time: undefined, reset: true, why: 'year 0 ("bad time")' };
  const fields = [sec & 0x7f, min & 0x7f, hour & 0x3f, day & 0x3f, month & 0x1f, year];
  if (!fields.every(validBcd)) return { time: undefined, reset: true, why: "a time register holds no valid BCD digit" };
  const [s, m, h, d, mo, y] = fields.map(fromBcd) as [number, number, number, number, number, number];
  const time = new Date(Date.UTC(2000 + y, mo - 1, d, h, m, s));
  const impossible =
    s > 59 || m > 59 || h > 23 || mo < 1 || mo > 12 || d < 1 || time.getUTCDate() !== d || time.getUTCMonth() !== mo - 1;
  if (impossible)
    return { time: undefined, reset: true, why: `impossible date 20${y.toString().padStart(2, "0")}-${mo}-${d} ${h}:${m}:${s}` };
  if (time.getTime() < RTC_PLAUSIBLE_FROM) return { time, reset: true, why: `${time.toISOString()} is before any worker ran` };
  return { time, reset: false };
}

/** What registers 19 and 22 hold for `volts` (⌊V × 10⌋, §1.5), as volts again: what a read-back must show. */
export const storedThreshold = (volts: number): number => Math.floor(volts * 10 + 1e-9) / 10;

export const toBcd = (n: number): number => Math.floor(n / 10) * 16 + (n % 10);
export const fromBcd = (b: number): number => (b >> 4) * 10 + (b & 0x0f);

/** LM75B: T = (raw16 >> 5) as 11-bit two's complement × 0.125 °C (§1.2 reg 50). */
export function decodeLm75b(raw16: number): number {
  const v = raw16 >> 5;
  return (v & 0x400 ? v - 0x800 : v) * 0.125;
}

const decodeThreshold = (raw: number): number | undefined => (raw === DISABLED ? undefined : raw / 10);

function encodeThreshold(what: string, volts: number | undefined): number {
  if (volts === undefined) return DISABLED;
  if (!(volts >= THRESHOLD_RANGE.min && volts <= THRESHOLD_RANGE.max)) {
    throw new HardwareError(
      "HW_INVALID_ARGUMENT",
      `${what} ${volts} V is outside ${THRESHOLD_RANGE.min}–${THRESHOLD_RANGE.max} V`,
      {
        hint: "Use the battery's cut-off voltage (e.g. 11.6 V for a 4S LiFePO4 pack), or undefined to disable",
      },
    );
  }
  // Round down to 0.1 V like UUGear's set_low_voltage_threshold; the epsilon keeps 11.6 from flooring to 11.5.
  return Math.floor(volts * 10 + 1e-9);
}
