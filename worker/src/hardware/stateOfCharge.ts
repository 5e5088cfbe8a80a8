// State of charge: open-circuit-voltage tables (docs/hardware.md §3.1) and a coulomb counter that is
// re-synchronised to the OCV only where the curve is steep enough for a voltage to mean something.

export type Chemistry = "lifepo4" | "li-ion";

/** [state of charge 0..1, rest voltage per cell], ascending. */
export type OcvTable = readonly (readonly [number, number])[];

/**
 * LiFePO4: the A123 table (§3.1, source A123), which has the most points in the flat middle. It
 * stops at 1 %; the 0 % point is the usual 2.50 V LiFePO4 discharge cut-off.
 * Li-ion: the kernel `simple-battery` example, 20 °C (§3.1, source K-OCV).
 */
export const OCV_TABLES: Readonly<Record<Chemistry, OcvTable>> = {
  lifepo4: [
    [0, 2.5],
    [0.01, 2.9],
    [0.054, 3.12],
    [0.096, 3.17],
    [0.182, 3.2],
    [0.269, 3.23],
    [0.356, 3.25],
    [0.441, 3.266],
    [0.527, 3.272],
    [0.613, 3.276],
    [0.699, 3.28],
    [0.785, 3.304],
    [0.871, 3.313],
    [0.957, 3.32],
    [1, 3.59],
  ],
  "li-ion": [
    [0, 3.4],
    [0.05, 3.605],
    [0.1, 3.68],
    [0.15, 3.724],
    [0.2, 3.752],
    [0.25, 3.765],
    [0.3, 3.77],
    [0.35, 3.773],
    [0.4, 3.777],
    [0.45, 3.787],
    [0.5, 3.805],
    [0.55, 3.835],
    [0.6, 3.864],
    [0.65, 3.889],
    [0.7, 3.917],
    [0.75, 3.949],
    [0.8, 3.983],
    [0.85, 4.022],
    [0.9, 4.066],
    [0.95, 4.113],
    [1, 4.185],
  ],
};

/**
 * The steepest-curve rule for trusting a rest voltage, in volts per cell per unit of SoC (4 mV per %).
 * After 30 min of rest a cell still carries some ±10–20 mV of polarisation, and the INA2xx reads the
 * pack to a few mV; at 4 mV/% that is a ±5 % SoC error at worst. In LiFePO4's plateau (10 %–95 %) the
 * A123 curve climbs less than 2 mV/%: a 20 mV error there is a 10–40 % SoC error, so only the steep
 * ends (nearly empty, nearly full) re-sync the counter. Li-ion has a similar flat stretch at 20–50 %.
 */
export const MIN_TRUSTED_OCV_SLOPE = 0.4;

export function cellOcv(chemistry: Chemistry, soc: number): number {
  const table = OCV_TABLES[chemistry];
  const s = clamp01(soc);
  for (let i = 1; i < table.length; i++) {
    const [s1, v1] = table[i]!;
    if (s <= s1) {
      const [s0, v0] = table[i - 1]!;
      return v0 + ((v1 - v0) * (s - s0)) / (s1 - s0);
    }
  }
  return table[table.length - 1]![1];
}

export function socFromCellOcv(chemistry: Chemistry, volts: number): number {
  const table = OCV_TABLES[chemistry];
  if (volts <= table[0]![1]) return 0;
  for (let i = 1; i < table.length; i++) {
    const [s1, v1] = table[i]!;
    if (volts <= v1) {
      const [s0, v0] = table[i - 1]!;
      return s0 + ((s1 - s0) * (volts - v0)) / (v1 - v0);
    }
  }
  return 1;
}

export const packOcv = (chemistry: Chemistry, cells: number, soc: number): number => cells * cellOcv(chemistry, soc);
export const socFromPackOcv = (chemistry: Chemistry, cells: number, volts: number): number =>
  socFromCellOcv(chemistry, volts / cells);

/** Slope of the OCV curve (V per cell per unit SoC) of the table segment containing `soc`. */
export function ocvSlope(chemistry: Chemistry, soc: number): number {
  const table = OCV_TABLES[chemistry];
  const s = clamp01(soc);
  for (let i = 1; i < table.length; i++) {
    const [s1, v1] = table[i]!;
    if (s <= s1) {
      const [s0, v0] = table[i - 1]!;
      return (v1 - v0) / (s1 - s0);
    }
  }
  return 0;
}

/** Whether a rest voltage is precise enough at `soc` to override coulomb counting (see MIN_TRUSTED_OCV_SLOPE). */
export const ocvTrusted = (chemistry: Chemistry, soc: number): boolean => ocvSlope(chemistry, soc) >= MIN_TRUSTED_OCV_SLOPE;

export interface CoulombCounterOptions {
  chemistry: Chemistry;
  cells: number;
  capacityAh: number;
  /** Fraction of charge current that ends up stored (LiFePO4 ~0.99, Li-ion ~0.98). */
  coulombicEfficiency?: number;
  /** |current| below this counts as rest. Default C/100. */
  restAmps?: number;
  /** How long the battery must rest before its voltage is taken as OCV. Default 30 min. */
  restMs?: number;
  /**
   * Samples further apart than this are not integrated: the agent was not running (the Pi was off,
   * drawing only the Witty Pi's standby), so the current in between is unknown. Default 5 min.
   */
  maxGapMs?: number;
  /** Known SoC to start from (e.g. persisted before the last power-off); else the first voltage read. */
  initialStateOfCharge?: number;
  /**
   * Without a known SoC, the most the first voltage read may stand for: a voltage read while the
   * panel charges stands above the rest voltage by the current times the pack's resistance, which on
   * a flat curve (§3.1) reads as tens of percent too many. The caller knows an upper bound (the
   * charge saved before a sleep plus all the panel could have given meanwhile).
   */
  maxInitialStateOfCharge?: number;
}

export interface CoulombReading {
  stateOfCharge: number;
  atRest: boolean;
  /** True when this update replaced the counted SoC by the OCV estimate. */
  resynced: boolean;
}

/** Integrates battery current (trapezoid rule) into SoC; re-syncs to the OCV curve after a long rest. */
export class CoulombCounter {
  private soc: number | undefined;
  private lastAt: number | undefined;
  private lastAmps = 0;
  private restSince: number | undefined;
  private readonly efficiency: number;
  private readonly restAmps: number;
  private readonly restMs: number;
  private readonly maxGapMs: number;
  private readonly options: CoulombCounterOptions;

  constructor(options: CoulombCounterOptions) {
    this.options = options;
    if (!(options.capacityAh > 0)) throw new RangeError(`battery capacityAh must be > 0, got ${options.capacityAh}`);
    if (!(options.cells >= 1)) throw new RangeError(`battery cells must be >= 1, got ${options.cells}`);
    this.efficiency = options.coulombicEfficiency ?? 0.99;
    this.restAmps = options.restAmps ?? options.capacityAh / 100;
    this.restMs = options.restMs ?? 30 * 60_000;
    this.maxGapMs = options.maxGapMs ?? 5 * 60_000;
    this.soc = options.initialStateOfCharge === undefined ? undefined : clamp01(options.initialStateOfCharge);
  }

  get stateOfCharge(): number | undefined {
    return this.soc;
  }

  /** Override the counted SoC (e.g. restored from disk after a sleep). */
  restore(soc: number): void {
    this.soc = clamp01(soc);
  }

  /** Feed one sample: `amps` positive while charging, `packVolts` at the terminals. */
  update(at: number, amps: number, packVolts: number): CoulombReading {
    const { chemistry, cells, capacityAh } = this.options;
    const ocvSoc = socFromPackOcv(chemistry, cells, packVolts);
    // Only a charging current raises the voltage above the rest voltage; a discharge lowers it (safe side).
    let soc = this.soc ?? (amps > this.restAmps ? Math.min(ocvSoc, this.options.maxInitialStateOfCharge ?? 1) : ocvSoc);
    if (this.lastAt !== undefined && this.soc !== undefined) {
      const dt = at - this.lastAt;
      if (dt > 0 && dt <= this.maxGapMs) {
        const ah = (((this.lastAmps + amps) / 2) * dt) / 3_600_000;
        soc += (ah > 0 ? ah * this.efficiency : ah) / capacityAh;
      }
    }
    if (Math.abs(amps) < this.restAmps) this.restSince ??= at;
    else this.restSince = undefined;
    const atRest = this.restSince !== undefined && at - this.restSince >= this.restMs;
    const resynced = atRest && ocvTrusted(chemistry, ocvSoc);
    if (resynced) soc = ocvSoc;
    this.soc = clamp01(soc);
    this.lastAt = at;
    this.lastAmps = amps;
    return { stateOfCharge: this.soc, atRest, resynced };
  }
}

export const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
