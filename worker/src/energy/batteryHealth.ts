// The lowest state of charge the energy policy may plan to, per chemistry, raised in the cold and as
// the pack ages. The counted state of charge is a fraction of the nameplate capacity: a cold pack
// cannot deliver its bottom part (its resistance sags the voltage to the cut-off first), and an aged
// one no longer has it. Planning to the nameplate's bottom in either case is a deep discharge or a
// low-voltage cut. Figures and their sources: docs/hardware.md §3.4.
import type { Chemistry } from "../hardware/stateOfCharge.js";

export interface BatteryHealthParameters {
  /** Below this counted SoC the cell is deeply discharged: the knee of its OCV curve (§3.1, §3.4). */
  deepDischargeSoc: number;
  /** Fraction of capacity the pack cannot deliver, by cell temperature (°C), interpolated linearly. */
  coldLoss: readonly (readonly [celsius: number, lost: number])[];
  /** Equivalent full cycles after which the pack holds 80 % of its nameplate (end of life). */
  cyclesTo80Percent: number;
}

export const BATTERY_HEALTH: Readonly<Record<Chemistry, BatteryHealthParameters>> = {
  lifepo4: {
    deepDischargeSoc: 0.1,
    coldLoss: [
      [-20, 0.35],
      [0, 0.15],
      [20, 0],
    ],
    cyclesTo80Percent: 2000,
  },
  "li-ion": {
    deepDischargeSoc: 0.15,
    coldLoss: [
      [-20, 0.4],
      [0, 0.2],
      [20, 0],
    ],
    cyclesTo80Percent: 500,
  },
};

/** The floor never rises above this: a pack that needs more is at its end of life (§3.4). */
export const MAX_HEALTH_FLOOR = 0.6;

export interface BatteryCondition {
  chemistry: Chemistry;
  /** Cell temperature, °C (the Witty Pi's LM75B sits beside the pack in a solar box). Unknown: 20 °C. */
  temperatureC?: number;
  /** Equivalent full cycles so far (energy discharged / nominal pack energy). */
  equivalentFullCycles?: number;
}

/** Fraction of the nameplate the pack has lost to cycling: linear to 20 % at `cyclesTo80Percent`. */
export function capacityFade(chemistry: Chemistry, equivalentFullCycles: number): number {
  return (0.2 * Math.max(0, equivalentFullCycles)) / BATTERY_HEALTH[chemistry].cyclesTo80Percent;
}

/** Fraction of the nameplate a pack at `celsius` cannot deliver (0 at 20 °C and above). */
export function coldCapacityLoss(chemistry: Chemistry, celsius: number): number {
  const table = BATTERY_HEALTH[chemistry].coldLoss;
  const first = table[0]!;
  if (celsius <= first[0]) return first[1];
  for (let i = 1; i < table.length; i++) {
    const [t1, l1] = table[i]!;
    if (celsius <= t1) {
      const [t0, l0] = table[i - 1]!;
      return l0 + ((l1 - l0) * (celsius - t0)) / (t1 - t0);
    }
  }
  return table[table.length - 1]![1];
}

/**
 * The state-of-charge floor for this pack now: the chemistry's deep-discharge knee, plus the bottom
 * of the nameplate that the cold and the pack's age have taken away; at most MAX_HEALTH_FLOOR.
 */
export function batteryHealthFloor(condition: BatteryCondition): number {
  const { chemistry } = condition;
  if (condition.temperatureC !== undefined && !Number.isFinite(condition.temperatureC)) {
    throw new RangeError(`battery temperature must be a number of °C, got ${condition.temperatureC}`);
  }
  const floor =
    BATTERY_HEALTH[chemistry].deepDischargeSoc +
    coldCapacityLoss(chemistry, condition.temperatureC ?? 20) +
    capacityFade(chemistry, condition.equivalentFullCycles ?? 0);
  return Math.min(MAX_HEALTH_FLOOR, floor);
}
