// What the panel will give over the next hours. The worker learns its own panel: a profile of
// typical power per 15-minute slot of the (UTC) day, folded from every sample it takes. A forecast
// blends that profile with persistence (the weather now tends to last the next hour), so a cloudy
// morning lowers the afternoon's estimate without forgetting that the sun sets.

export const SLOT_SECONDS = 15 * 60;
export const SLOTS_PER_DAY = 96;

export function slotOf(atMs: number): number {
  return Math.floor(((atMs / 1000) % 86_400) / SLOT_SECONDS);
}

export class PvForecast {
  readonly #profile: Map<number, number>;
  readonly #nowWatts: number;
  readonly #nowMs: number;

  /** `profile`: learned watts by slot (missing slots: unknown). */
  constructor(profile: ReadonlyMap<number, number>, nowMs: number, nowWatts: number) {
    this.#profile = new Map(profile);
    this.#nowMs = nowMs;
    this.#nowWatts = nowWatts;
  }

  /**
   * Expected panel watts at `atMs`. Within the first hour persistence dominates; after that the
   * profile, scaled by how today compares with it (clipped to 0.3…1.5 so one reading can't
   * promise a sunny night or write off a day). Without a profile: persistence for an hour, then 0
   * (a worker that has not learned its panel yet plans only on what it sees).
   */
  wattsAt(atMs: number): number {
    const ahead = Math.max(0, atMs - this.#nowMs) / 1000;
    const typical = this.#profile.get(slotOf(atMs));
    const typicalNow = this.#profile.get(slotOf(this.#nowMs));
    if (typical === undefined) return ahead <= 3600 ? this.#nowWatts : 0;
    const ratio = typicalNow === undefined || typicalNow < 0.5 ? 1 : Math.min(1.5, Math.max(0.3, this.#nowWatts / typicalNow));
    const blend = Math.min(1, ahead / 3600);
    return (1 - blend) * this.#nowWatts * (typical > 0.05 ? 1 : 0) + blend * typical * ratio;
  }

  /** Energy (Wh) expected between `fromMs` and `fromMs + seconds`, integrated in 5-minute steps. */
  wattHours(fromMs: number, seconds: number): number {
    let total = 0;
    for (let t = 0; t < seconds; t += 300) {
      const step = Math.min(300, seconds - t);
      total += (this.wattsAt(fromMs + (t + step / 2) * 1000) * step) / 3600;
    }
    return total;
  }

  /**
   * The first time after `fromMs` (within `horizonSeconds`) the panel is expected to give `watts`,
   * or whose slot nothing has been learned about yet (worth waking for, to learn it).
   */
  nextTimeAbove(fromMs: number, watts: number, horizonSeconds: number): number | undefined {
    for (let t = SLOT_SECONDS; t <= horizonSeconds; t += SLOT_SECONDS) {
      const at = fromMs + t * 1000;
      if (this.wattsAt(at) >= watts || (this.#profile.size > 0 && !this.#profile.has(slotOf(at)))) return at;
    }
    return undefined;
  }

  /**
   * The first instant from `fromMs` (within `horizonSeconds`) at which the forecast reaches `watts`,
   * or undefined. Five-minute steps through the first hour, where persistence blends in; after it
   * the forecast is constant within a slot, so only slot starts are looked at.
   */
  firstTimeAtLeast(fromMs: number, watts: number, horizonSeconds: number): number | undefined {
    for (let t = 0; t <= horizonSeconds;) {
      const at = fromMs + t * 1000;
      if (this.wattsAt(at) >= watts) return at;
      const intoSlot = (at / 1000) % SLOT_SECONDS;
      t = at - this.#nowMs < 3_600_000 ? t + 300 : t + SLOT_SECONDS - intoSlot;
    }
    return undefined;
  }

  /** The time of the highest expected panel power within `horizonSeconds` (solar noon, roughly). */
  peakTime(fromMs: number, horizonSeconds: number): { atMs: number; watts: number } {
    let best = { atMs: fromMs, watts: 0 };
    for (let t = SLOT_SECONDS; t <= horizonSeconds; t += SLOT_SECONDS) {
      const watts = this.wattsAt(fromMs + t * 1000);
      if (watts > best.watts) best = { atMs: fromMs + t * 1000, watts };
    }
    return best;
  }
}
