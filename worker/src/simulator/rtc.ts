// PCF85063 as the Witty Pi proxies it (regs 58–64, docs/hardware.md §1.2): broken-down BCD fields that
// tick with simulated time. Fields are kept as written until a second has passed, so a multi-register
// write (seconds … years) is not normalised half-way (writing day 31 before the month).
// A power-on reset (the supply and the CR2032 backup both gone, §1.11) restarts the chip at its reset
// values, 2000-01-01 00:00:00, a Saturday, with the oscillator-stop flag (seconds bit 7) set until
// software writes the seconds register.

export interface RtcFields {
  second: number;
  minute: number;
  hour: number;
  day: number;
  weekday: number;
  month: number;
  /** 0–99, meaning 2000 + year. */
  year: number;
}

const UNSET: RtcFields = { second: 0, minute: 0, hour: 0, day: 1, weekday: 6, month: 1, year: 0 };

function toFields(ms: number): RtcFields {
  const d = new Date(ms);
  return {
    second: d.getUTCSeconds(),
    minute: d.getUTCMinutes(),
    hour: d.getUTCHours(),
    day: d.getUTCDate(),
    weekday: d.getUTCDay(),
    month: d.getUTCMonth() + 1,
    year: d.getUTCFullYear() - 2000,
  };
}

const toMs = (f: RtcFields): number => Date.UTC(2000 + f.year, f.month - 1, f.day, f.hour, f.minute, f.second);

export class SimulatedRtc {
  private base: RtcFields;
  private baseAt: number;
  /** OS, seconds register bit 7: set by a power-on reset, cleared by writing the seconds (§1.2, §1.11). */
  private stopped: boolean;

  /** `time` undefined = the RTC lost its backup power: 2000-01-01, year 0 = "bad time" (§1.2). */
  constructor(now: number, time: number | undefined) {
    this.base = time === undefined ? { ...UNSET } : toFields(Math.floor(time / 1000) * 1000);
    this.baseAt = now;
    this.stopped = time === undefined;
  }

  get oscillatorStopped(): boolean {
    return this.stopped;
  }

  /** The chip lost every supply and starts again now from its reset values (§1.11). */
  powerOnReset(now: number): void {
    this.base = { ...UNSET };
    this.baseAt = now;
    this.stopped = true;
  }

  /** Software writes the OS bit with the seconds; writing 0 there clears it. */
  setOscillatorStopped(stopped: boolean): void {
    this.stopped = stopped;
  }

  fields(now: number): RtcFields {
    const elapsed = Math.floor((now - this.baseAt) / 1000);
    if (elapsed <= 0) return { ...this.base };
    const f = toFields(toMs(this.base) + elapsed * 1000);
    // Weekday is its own counter on the chip; keep what was written and advance it by whole days.
    const days = Math.floor((toMs(this.base) + elapsed * 1000) / 86_400_000) - Math.floor(toMs(this.base) / 86_400_000);
    return { ...f, weekday: (((this.base.weekday + days) % 7) + 7) % 7 };
  }

  /** The RTC's time as an instant (the fields read as UTC). */
  timeMs(now: number): number {
    return toMs(this.fields(now));
  }

  /** Write one field; the chip restarts its prescaler on a write, so the second begins now. */
  setField(field: keyof RtcFields, value: number, now: number): void {
    const f = this.fields(now);
    f[field] = value;
    this.base = f;
    this.baseAt = now;
  }
}
