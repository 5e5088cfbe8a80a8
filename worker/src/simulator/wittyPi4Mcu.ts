// The Witty Pi 4's ATtiny841 firmware (Rev 7), modelled at register level from docs/hardware.md
// §1.2–1.4: read-triggered ADC sampling with the real quantisation, EEPROM-backed config, alarm
// matching on day/hour/minute/second, MCU-initiated shutdowns with the power-cut delay, low-voltage
// shutdown and recovery, the TXD power cut, action reasons, the LM75B and the PCF85063. Fault
// injection makes it fail the way the ATtiny slave does: transient EIO on reads, a write
// acknowledged but not stored.
//
// The register map and codes below are written from docs/hardware.md (UUGear's firmware source),
// never imported from the driver it checks (worker/src/hardware/wittyPi4.ts; lint enforces it): a
// driver that names a wrong register reads or writes the wrong byte here, and the tests notice.
//
// Not modelled: temperature actions (regs 43–46), guaranteed wake (49), dummy
// load and LED (20, 23), RTC offset/temperature compensation, the front-end offset the ADJ registers
// (24–26) correct (the simulated ADC reads true values before quantisation).
import { i2cError, type I2cDevice } from "./i2cBus.js";
import { SimulatedRtc, type RtcFields } from "./rtc.js";

/** The MCU's I²C address when register 16 holds its default (docs/hardware.md §1.1). */
export const MCU_ADDRESS = 0x08;

/**
 * Register numbers of firmware Rev 7 (docs/hardware.md §1.2). 0–15 read-only, 16–49 EEPROM-backed
 * configuration, 50 and up proxied to the LM75B (50–53) and the PCF85063 (54–71).
 */
export const MCU_REG = {
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
  RTC_SECOND_ALARM: 65,
  RTC_MINUTE_ALARM: 66,
  RTC_HOUR_ALARM: 67,
  RTC_DAY_ALARM: 68,
  RTC_WEEKDAY_ALARM: 69,
  RTC_TIMER_VALUE: 70,
  RTC_TIMER_MODE: 71,
} as const;

/** ACTION_REASON (reg 11) codes, Witty Pi 4 (docs/hardware.md §1.3). */
export const REASON = {
  ALARM1: 1,
  ALARM2: 2,
  BUTTON: 3,
  LOW_VOLTAGE: 4,
  VOLTAGE_RESTORED: 5,
  OVER_TEMPERATURE: 6,
  BELOW_TEMPERATURE: 7,
  ALARM1_DELAYED: 8,
  USB_5V_CONNECTED: 9,
  POWER_CONNECTED: 10,
  REBOOT: 11,
  GUARANTEED_WAKE: 12,
} as const;

/** A threshold register (19, 22) holding 255 is disabled (docs/hardware.md §1.2). */
const DISABLED = 255;
/** PCF85063 Control_2 bit 6, AF: an alarm fired (docs/hardware.md §1.2 reg 55). */
const CTRL2_ALARM_FLAG = 0x40;
/** CONF_MISC bit 0: do not defer an alarm1 that comes due while the Pi is on (docs/hardware.md §1.2 reg 48). */
const MISC_NO_ALARM1_DELAY = 0x01;

/** Vin/Vout ADC step: 57 × 1.1 V / 1023 (§1.2). */
export const VOLTS_PER_COUNT = (57 * 1.1) / 1023;
/** Iout step: 1.1 V / 1023 across 0.05 Ω (§1.2). */
export const AMPS_PER_COUNT = 1.1 / 1023 / 0.05;
/** LV protection stays off for this long after power-on (§1.4). */
export const LV_GRACE_MS = 180_000;

/** Inputs from the rest of the simulated board. */
export interface McuEnvironment {
  now(): number;
  /** Voltage at the Witty Pi's input terminals. */
  inputVolts(): number;
  /** 5 V rail (0 while the Pi is unpowered). */
  outputVolts(): number;
  /** Current into the Pi. */
  outputAmps(): number;
  temperatureC(): number;
}

export interface McuOptions {
  firmwareId?: number;
  revision?: number;
  /** Whether the Pi is powered at the start (as if the supply had just been connected with default-on). */
  poweredOn?: boolean;
  /** Register overrides applied after the firmware defaults (e.g. `{ 19: 116 }`). */
  registers?: Readonly<Record<number, number>>;
  /** RTC time at the start; undefined = lost its backup power ("bad time"). */
  rtcTime?: number;
  /**
   * Whether the CR2032 sits in its holder (UUGear ships one, §1.11): it keeps the RTC counting while
   * every supply is gone. Without it a full power loss resets the RTC. Default true.
   */
  rtcBackupCell?: boolean;
}

export interface McuPowerEvent {
  at: number;
  poweredOn: boolean;
  /** ACTION_REASON code (§1.3) for power-on and MCU-initiated cuts; 0 for a cut after a Pi-side halt or a brown-out. */
  reason: number;
  /** What happened, for logs: "alarm1", "low-voltage", "halt", "brown-out"… */
  cause: string;
}

const RTC_FIELDS: readonly (keyof RtcFields)[] = ["second", "minute", "hour", "day", "weekday", "month", "year"];
const bcd = (n: number): number => Math.floor(n / 10) * 16 + (n % 10);
const unbcd = (b: number): number => (b >> 4) * 10 + (b & 0x0f);

export class WittyPi4Mcu implements I2cDevice {
  /** Register file; 16–49 stand for the EEPROM (the MCU stays powered from Vin and its state persists). */
  readonly registers = new Uint8Array(256);
  /** How many EEPROM bytes actually changed (EEPROM.update skips equal bytes, §1.4). */
  eepromWrites = 0;

  private readonly env: McuEnvironment;
  private readonly rtc: SimulatedRtc;
  private on: boolean;
  private poweredOnAt: number;
  private sysUp = false;
  private sysUpRisingEdges = 0;
  private turningOff = false;
  private cutAt: number | undefined;
  private cutReason = 0;
  private cutCause = "";
  private haltLowUntil: number | undefined;
  private piHoldsHaltLow = false;
  private txdHigh: boolean;
  private alarm1Deferred = false;
  private powerOnAt: { at: number; reason: number } | undefined;
  private lastAlarmFire: [number, number] = [-Infinity, -Infinity];
  private lm75b = { thyst: 0x4b00, tos: 0x5000, conf: 0 };
  private readFailures = 0;
  private lostWrites: (number | undefined)[] = [];
  private listeners: ((event: McuPowerEvent) => void)[] = [];
  private haltListeners: (() => void)[] = [];
  /** While tick() runs, the instant being simulated (the clock has not moved there yet). */
  private ticking: number | undefined;
  /** Whether the MCU has a supply (the battery, or the panel through the controller). */
  private supply = true;
  private readonly rtcBackupCell: boolean;

  constructor(env: McuEnvironment, options: McuOptions = {}) {
    this.env = env;
    const now = env.now();
    this.initializeRegisters(options.firmwareId ?? 0x26, options.revision ?? 0x07);
    for (const [reg, value] of Object.entries(options.registers ?? {})) this.registers[Number(reg)] = value;
    this.rtc = new SimulatedRtc(now, options.rtcTime);
    this.rtcBackupCell = options.rtcBackupCell ?? true;
    this.on = options.poweredOn ?? true;
    this.poweredOnAt = now;
    this.txdHigh = this.on;
    if (this.on) this.registers[MCU_REG.ACTION_REASON] = REASON.POWER_CONNECTED;
  }

  /** Firmware defaults, WP4-FW initializeRegisters() (§1.2). */
  private initializeRegisters(id: number, revision: number): void {
    const r = this.registers;
    r[MCU_REG.ID] = id;
    r[MCU_REG.FW_REVISION] = revision;
    r[MCU_REG.CONF_ADDRESS] = MCU_ADDRESS;
    r[MCU_REG.CONF_DEFAULT_ON] = 0;
    r[MCU_REG.CONF_PULSE_INTERVAL] = 4;
    r[MCU_REG.CONF_LOW_VOLTAGE] = DISABLED;
    r[MCU_REG.CONF_BLINK_LED] = 100;
    r[MCU_REG.CONF_POWER_CUT_DELAY] = 70;
    r[MCU_REG.CONF_RECOVERY_VOLTAGE] = DISABLED;
    r[MCU_REG.CONF_DUMMY_LOAD] = 0;
    r[MCU_REG.CONF_ADJ_VIN] = 20;
    r[MCU_REG.CONF_ADJ_VOUT] = 20;
    r[MCU_REG.CONF_ADJ_IOUT] = 0;
    r[MCU_REG.CONF_RTC_ENABLE_TC] = 1;
    r[MCU_REG.CONF_BELOW_TEMP_POINT] = 0x4b;
    r[MCU_REG.CONF_OVER_TEMP_POINT] = 0x50;
  }

  // ---- what the board sees ------------------------------------------------------------------------

  get poweredOn(): boolean {
    return this.on;
  }

  /** Whether the MCU itself is powered (false after a full power loss, until the supply returns). */
  get supplied(): boolean {
    return this.supply;
  }

  get sysUpReceived(): boolean {
    return this.sysUp;
  }

  /** Whether the MCU currently pulls HALT (GPIO4) low (an emulated button click). */
  get pullsHaltLow(): boolean {
    return this.haltLowUntil !== undefined;
  }

  onPower(listener: (event: McuPowerEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Called when the MCU changes the HALT line. */
  onHaltChange(listener: () => void): void {
    this.haltListeners.push(listener);
  }

  // ---- fault injection ----------------------------------------------------------------------------

  /** The next `count` read transactions fail with EIO, as a busy ATtiny slave does (§5.1). */
  injectReadFailures(count: number): void {
    this.readFailures += count;
  }

  /** The next write (to `register`, or to any register) is acknowledged but not stored. */
  injectLostWrite(register?: number): void {
    this.lostWrites.push(register);
  }

  // ---- I²C ----------------------------------------------------------------------------------------

  readByte(register: number): number {
    this.failIfInjected("readByte");
    return this.read(register);
  }

  readBlock(register: number, length: number): number[] {
    this.failIfInjected("readI2cBlock");
    // The LM75B registers are 16-bit and come MSB first (§1.2 reg 50, 52, 53).
    const wide = this.wideRegister(register);
    if (wide !== undefined) return [wide >> 8, wide & 0xff, ...Array<number>(Math.max(0, length - 2)).fill(0)].slice(0, length);
    const out: number[] = [];
    for (let i = 0; i < length; i++) out.push(this.read(register + i));
    return out;
  }

  writeByte(register: number, value: number): void {
    const lost = this.lostWrites.findIndex((r) => r === undefined || r === register);
    if (lost >= 0) {
      this.lostWrites.splice(lost, 1);
      return;
    }
    this.write(register, value);
  }

  writeBlock(register: number, bytes: readonly number[]): void {
    const wide = this.wideRegister(register);
    if (wide !== undefined && bytes.length >= 2) {
      const v = (bytes[0]! << 8) | bytes[1]!;
      if (register === MCU_REG.LM75B_THYST) this.lm75b.thyst = v;
      if (register === MCU_REG.LM75B_TOS) this.lm75b.tos = v;
      return;
    }
    bytes.forEach((b, i) => this.writeByte(register + i, b));
  }

  private failIfInjected(syscall: string): void {
    if (this.readFailures > 0) {
      this.readFailures--;
      throw i2cError("EIO", syscall, "Input/output error (simulated ATtiny NACK)");
    }
  }

  private read(register: number): number {
    const r = this.registers;
    const now = this.now();
    switch (register) {
      // Reading the integer register samples the ADC and rewrites both bytes (§1.2).
      case MCU_REG.VOLTAGE_IN_I:
        this.storePair(MCU_REG.VOLTAGE_IN_I, this.measuredInputVolts());
        break;
      case MCU_REG.VOLTAGE_OUT_I:
        this.storePair(MCU_REG.VOLTAGE_OUT_I, quantize(this.env.outputVolts(), VOLTS_PER_COUNT));
        break;
      case MCU_REG.CURRENT_OUT_I:
        this.storePair(MCU_REG.CURRENT_OUT_I, quantize(this.env.outputAmps(), AMPS_PER_COUNT));
        break;
      case MCU_REG.POWER_MODE:
        r[MCU_REG.POWER_MODE] = this.powerMode();
        break;
      case MCU_REG.LM75B_TEMPERATURE:
        return this.temperatureRaw() >> 8;
      case MCU_REG.LM75B_CONF:
        return this.lm75b.conf;
      case MCU_REG.LM75B_THYST:
        return this.lm75b.thyst >> 8;
      case MCU_REG.LM75B_TOS:
        return this.lm75b.tos >> 8;
      default:
        if (register >= MCU_REG.RTC_SECONDS && register <= MCU_REG.RTC_YEARS) {
          const f = this.rtc.fields(now);
          const value = bcd(f[RTC_FIELDS[register - MCU_REG.RTC_SECONDS]!]);
          // Seconds bit 7 is the PCF85063's oscillator-stop flag (§1.2 reg 58).
          return register === MCU_REG.RTC_SECONDS && this.rtc.oscillatorStopped ? value | 0x80 : value;
        }
    }
    return r[register] ?? 0;
  }

  private write(register: number, value: number): void {
    const now = this.now();
    if (register < MCU_REG.CONF_ADDRESS) return; // 0–15 are read-only: the firmware ignores the write
    if (register <= MCU_REG.CONF_GUARANTEED_WAKE) {
      if (this.registers[register] !== value) this.eepromWrites++;
      this.registers[register] = value;
      // Writing any register of an alarm clears its "triggered" flag (§1.2 regs 9/10).
      if (register >= MCU_REG.CONF_SECOND_ALARM1 && register <= MCU_REG.CONF_WEEKDAY_ALARM1)
        this.registers[MCU_REG.ALARM1_TRIGGERED] = 0;
      if (register >= MCU_REG.CONF_SECOND_ALARM2 && register <= MCU_REG.CONF_WEEKDAY_ALARM2)
        this.registers[MCU_REG.ALARM2_TRIGGERED] = 0;
      if (register === MCU_REG.CONF_RTC_OFFSET) this.registers[MCU_REG.RTC_OFFSET] = value;
      return;
    }
    if (register === MCU_REG.LM75B_CONF) this.lm75b.conf = value;
    else if (register >= MCU_REG.RTC_SECONDS && register <= MCU_REG.RTC_YEARS) {
      const field = RTC_FIELDS[register - MCU_REG.RTC_SECONDS]!;
      const masks: Record<keyof RtcFields, number> = {
        second: 0x7f,
        minute: 0x7f,
        hour: 0x3f,
        day: 0x3f,
        weekday: 0x07,
        month: 0x1f,
        year: 0xff,
      };
      this.rtc.setField(field, unbcd(value & masks[field]), now);
      if (field === "second") this.rtc.setOscillatorStopped((value & 0x80) !== 0);
    } else this.registers[register] = value;
  }

  private storePair(intRegister: number, value: number): void {
    const i = Math.floor(value);
    this.registers[intRegister] = i;
    // (byte)((v − int(v)) × 100): truncation, as the firmware does (§1.2).
    this.registers[intRegister + 1] = Math.floor((value - i) * 100);
  }

  private measuredInputVolts(): number {
    return quantize(this.env.inputVolts(), VOLTS_PER_COUNT);
  }

  private powerMode(): number {
    return this.measuredInputVolts() > 5.25 ? 1 : 0;
  }

  private temperatureRaw(): number {
    const counts = Math.round(this.env.temperatureC() / 0.125);
    return (counts & 0x7ff) << 5;
  }

  private wideRegister(register: number): number | undefined {
    if (register === MCU_REG.LM75B_TEMPERATURE) return this.temperatureRaw();
    if (register === MCU_REG.LM75B_THYST) return this.lm75b.thyst;
    if (register === MCU_REG.LM75B_TOS) return this.lm75b.tos;
    return undefined;
  }

  // ---- GPIO and TXD from the Pi -------------------------------------------------------------------

  /** GPIO17 level driven by the Pi. Two rising edges (the 1/0/1/0 pulse train) = SYS_UP (§1.4). */
  sysUpLevel(level: 0 | 1, previous: 0 | 1): void {
    if (!this.on || level !== 1 || previous !== 0) return;
    if (++this.sysUpRisingEdges >= 2 && !this.sysUp) {
      this.sysUp = true;
      this.registers[MCU_REG.LV_SHUTDOWN] = 0; // cleared when SYS_UP arrives (§1.2 reg 8)
    }
  }

  /** The Pi drives HALT low (or releases it): the MCU sees a button press (§1.4, schedules/README). */
  piHaltLevel(low: boolean): void {
    const pressed = low && !this.piHoldsHaltLow;
    this.piHoldsHaltLow = low;
    if (pressed && this.on && !this.turningOff) this.startShutdown(REASON.BUTTON, "button");
  }

  /** The Pi's UART TX: high while Linux runs, low once it has halted (§1.1 TXD sense). */
  txdLevel(high: boolean): void {
    const now = this.now();
    const wasHigh = this.txdHigh;
    this.txdHigh = high;
    if (!this.on || !this.sysUp) return;
    if (wasHigh && !high && !this.turningOff) {
      this.cutAt = now + this.powerCutDelayMs();
      this.cutReason = 0;
      this.cutCause = "halt";
    } else if (!wasHigh && high && !this.turningOff && this.cutAt !== undefined) {
      // TXD came back before the cut: the Pi rebooted (reason 11).
      this.cutAt = undefined;
      this.registers[MCU_REG.ACTION_REASON] = REASON.REBOOT;
    }
  }

  // ---- time ---------------------------------------------------------------------------------------

  /** The next instant (> now) at which the MCU will act on its own, besides its once-a-second checks. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const t of [this.cutAt, this.haltLowUntil, this.powerOnAt?.at])
      if (t !== undefined && (next === undefined || t < next)) next = t;
    return next;
  }

  /**
   * Run the firmware up to `now`: timed actions that are due, then, on a whole second, the checks
   * the firmware runs once per second. Returns whether something observable happened (power or HALT).
   */
  tick(now: number): boolean {
    this.ticking = now;
    try {
      return this.runTick(now);
    } finally {
      this.ticking = undefined;
    }
  }

  private now(): number {
    return this.ticking ?? this.env.now();
  }

  private runTick(now: number): boolean {
    if (!this.supply) return false;
    let changed = false;
    if (this.haltLowUntil !== undefined && now >= this.haltLowUntil) {
      this.haltLowUntil = undefined;
      this.emitHalt();
      changed = true;
    }
    if (this.on && this.cutAt !== undefined && now >= this.cutAt) {
      this.powerOff(now, this.cutReason, this.cutCause);
      changed = true;
    }
    if (!this.on && this.powerOnAt !== undefined && now >= this.powerOnAt.at) {
      const { reason } = this.powerOnAt;
      this.powerOnAt = undefined;
      this.powerOn(now, reason);
      changed = true;
    }
    if (now % 1000 === 0) changed = this.everySecond(now) || changed;
    return changed;
  }

  /** The supply collapsed (battery empty): the Pi loses power without any shutdown. */
  brownOut(now: number): void {
    this.ticking = now;
    if (this.on) this.powerOff(now, 0, "brown-out");
    this.ticking = undefined;
  }

  /**
   * Every supply is gone (battery disconnected, its BMS open with no sun): the Pi loses power at
   * once and the MCU stops. The RTC keeps counting only on its CR2032 (§1.11).
   */
  supplyLost(now: number): void {
    if (!this.supply) return;
    this.brownOut(now);
    this.supply = false;
  }

  /**
   * The supply is back: the MCU restarts. Its EEPROM (16–49) is kept; the status registers
   * (1–11) restart at 0 (an assumption: the firmware computes them, §1.11); without its backup
   * cell the RTC restarts from its reset values. With CONF_DEFAULT_ON the Pi is powered after
   * CONF_DEFAULT_ON_DELAY seconds, reason 10 (§1.2 regs 17, 47; §1.3).
   */
  supplyRestored(now: number): void {
    if (this.supply) return;
    this.supply = true;
    if (!this.rtcBackupCell) this.rtc.powerOnReset(now);
    for (let reg = MCU_REG.VOLTAGE_IN_I; reg <= MCU_REG.ACTION_REASON; reg++) this.registers[reg] = 0;
    this.sysUp = false;
    this.sysUpRisingEdges = 0;
    this.turningOff = false;
    this.cutAt = undefined;
    this.haltLowUntil = undefined;
    this.alarm1Deferred = false;
    this.powerOnAt = undefined;
    this.poweredOnAt = now;
    if (this.registers[MCU_REG.CONF_DEFAULT_ON] === 1) {
      this.powerOnAt = { at: now + (this.registers[MCU_REG.CONF_DEFAULT_ON_DELAY] ?? 0) * 1000, reason: REASON.POWER_CONNECTED };
    }
  }

  private everySecond(now: number): boolean {
    const r = this.registers;
    let changed = false;
    const alarm1 = this.alarmDue(MCU_REG.CONF_SECOND_ALARM1, 0, now);
    const alarm2 = this.alarmDue(MCU_REG.CONF_SECOND_ALARM2, 1, now);
    if (alarm1 || alarm2) this.registers[MCU_REG.RTC_CTRL2] = (this.registers[MCU_REG.RTC_CTRL2] ?? 0) | CTRL2_ALARM_FLAG;
    if (alarm1) {
      r[MCU_REG.ALARM1_TRIGGERED] = 1;
      r[MCU_REG.CONF_FLAG_ALARM1] = 1;
      if (!this.on && this.canTriggerAlarm()) {
        this.powerOn(now, REASON.ALARM1);
        changed = true;
      } else if (this.on && (r[MCU_REG.CONF_MISC]! & MISC_NO_ALARM1_DELAY) === 0) {
        // Due while the Pi is still on: fire ~3 s after the next power cut instead (§1.3 reason 8).
        this.alarm1Deferred = true;
      }
    }
    if (alarm2) {
      r[MCU_REG.ALARM2_TRIGGERED] = 1;
      r[MCU_REG.CONF_FLAG_ALARM2] = 1;
      if (this.on && !this.turningOff) {
        this.startShutdown(REASON.ALARM2, "alarm2");
        changed = true;
      }
    }
    if (this.on) changed = this.checkLowVoltage(now) || changed;
    else if (now % (Math.max(1, r[MCU_REG.CONF_PULSE_INTERVAL]!) * 1000) === 0) changed = this.checkRecovery(now) || changed;
    return changed;
  }

  /** Alarm matching on day-of-month/hour/minute/second, 0 <= now − alarm < 2 s; all zero = disabled (§1.4). */
  private alarmDue(secondRegister: number, index: 0 | 1, now: number): boolean {
    const r = this.registers;
    const s = unbcd(r[secondRegister]!);
    const m = unbcd(r[secondRegister + 1]!);
    const h = unbcd(r[secondRegister + 2]!);
    const d = unbcd(r[secondRegister + 3]!);
    if (s === 0 && m === 0 && h === 0 && d === 0) return false;
    const f = this.rtc.fields(now);
    const diff = f.day * 86400 + f.hour * 3600 + f.minute * 60 + f.second - (d * 86400 + h * 3600 + m * 60 + s);
    // The window is 2 s wide and checked every second: fire once per match.
    if (diff < 0 || diff >= 2 || now - this.lastAlarmFire[index] < 2000) return false;
    this.lastAlarmFire[index] = now;
    return true;
  }

  /**
   * Approximation of the firmware's canTriggerAlarm(): after a low-voltage shutdown, a startup alarm
   * does not power the Pi on while the input is still below the recovery voltage.
   */
  private canTriggerAlarm(): boolean {
    const r = this.registers;
    if (r[MCU_REG.LV_SHUTDOWN] !== 1 || r[MCU_REG.CONF_RECOVERY_VOLTAGE] === DISABLED) return true;
    return this.measuredInputVolts() >= r[MCU_REG.CONF_RECOVERY_VOLTAGE]! / 10;
  }

  private checkLowVoltage(now: number): boolean {
    const r = this.registers;
    const armed =
      this.sysUp &&
      !this.turningOff &&
      (this.powerMode() === 1 || r[MCU_REG.CONF_IGNORE_POWER_MODE] === 1) &&
      (r[MCU_REG.LV_SHUTDOWN] === 0 || r[MCU_REG.CONF_IGNORE_LV_SHUTDOWN] === 1) &&
      r[MCU_REG.CONF_LOW_VOLTAGE] !== DISABLED &&
      now - this.poweredOnAt >= LV_GRACE_MS;
    if (!armed || this.measuredInputVolts() >= r[MCU_REG.CONF_LOW_VOLTAGE]! / 10) return false;
    r[MCU_REG.LV_SHUTDOWN] = 1;
    this.startShutdown(REASON.LOW_VOLTAGE, "low-voltage");
    return true;
  }

  private checkRecovery(now: number): boolean {
    const r = this.registers;
    const eligible =
      (this.powerMode() === 1 || r[MCU_REG.CONF_IGNORE_POWER_MODE] === 1) &&
      (r[MCU_REG.LV_SHUTDOWN] === 1 || r[MCU_REG.CONF_LOW_VOLTAGE] === DISABLED || r[MCU_REG.CONF_IGNORE_LV_SHUTDOWN] === 1) &&
      r[MCU_REG.CONF_RECOVERY_VOLTAGE] !== DISABLED &&
      this.powerOnAt === undefined;
    if (!eligible || this.measuredInputVolts() < r[MCU_REG.CONF_RECOVERY_VOLTAGE]! / 10) return false;
    this.powerOn(now, REASON.VOLTAGE_RESTORED);
    return true;
  }

  /** An MCU-initiated shutdown: emulated click on HALT, reason, and the 5 V cut reg21/10 s later regardless (§1.4). */
  private startShutdown(reason: number, cause: string): void {
    const now = this.now();
    this.registers[MCU_REG.ACTION_REASON] = reason;
    this.turningOff = true;
    this.cutAt = now + this.powerCutDelayMs();
    this.cutReason = reason;
    this.cutCause = cause;
    this.haltLowUntil = now + 1000;
    this.emitHalt();
  }

  private powerCutDelayMs(): number {
    return this.registers[MCU_REG.CONF_POWER_CUT_DELAY]! * 100;
  }

  private powerOn(now: number, reason: number): void {
    this.on = true;
    this.poweredOnAt = now;
    this.sysUp = false;
    this.sysUpRisingEdges = 0;
    this.turningOff = false;
    this.cutAt = undefined;
    this.txdHigh = true;
    this.registers[MCU_REG.ACTION_REASON] = reason;
    for (const l of this.listeners) l({ at: now, poweredOn: true, reason, cause: reasonCause(reason) });
  }

  private powerOff(now: number, reason: number, cause: string): void {
    this.on = false;
    this.turningOff = false;
    this.cutAt = undefined;
    this.sysUp = false;
    this.txdHigh = false;
    this.piHoldsHaltLow = false;
    if (this.haltLowUntil !== undefined) {
      this.haltLowUntil = undefined;
      this.emitHalt();
    }
    if (this.alarm1Deferred) {
      this.alarm1Deferred = false;
      this.powerOnAt = { at: now + 3000, reason: REASON.ALARM1_DELAYED };
    }
    for (const l of this.listeners) l({ at: now, poweredOn: false, reason, cause });
  }

  private emitHalt(): void {
    for (const l of this.haltListeners) l();
  }
}

/** Round to the nearest ADC count and back to volts/amps. */
export function quantize(value: number, step: number): number {
  return Math.max(0, Math.round(value / step)) * step;
}

const REASON_CAUSES: Readonly<Record<number, string>> = {
  [REASON.ALARM1]: "alarm1",
  [REASON.VOLTAGE_RESTORED]: "voltage-restored",
  [REASON.ALARM1_DELAYED]: "alarm1-delayed",
  [REASON.POWER_CONNECTED]: "power-connected",
  [REASON.REBOOT]: "reboot",
};
const reasonCause = (reason: number): string => REASON_CAUSES[reason] ?? `reason-${reason}`;
