// The worker's energy accounts, computed from the board's meter samples alone (a pure class: the
// agent feeds it live samples, the year benchmark simulated ones): where the energy came from (panel,
// battery, mains), where it went (the load, the battery's charge), availability, brown-outs,
// deep-discharge hours and battery cycles. See docs/worker.md "Energy accounts".
//
// The balance is kept at the battery's DC bus: panel + battery discharge + mains = bus load +
// battery charge + unaccounted, where the bus load is the Pi's draw divided by the Witty Pi's
// converter efficiency, and `unaccounted` collects the meters' error and the controller's losses.
import { BATTERY_HEALTH } from "./batteryHealth.js";
import type { Chemistry } from "../hardware/stateOfCharge.js";

export interface MeterSample {
  /** ms since the epoch. */
  at: number;
  /** Panel power into the battery bus, W. */
  pvWatts: number;
  /** Battery power, W: + charging, − discharging. */
  batteryWatts: number;
  /** Power from a mains supply, W (0 off-grid). */
  mainsWatts?: number;
  /** The Pi's draw (the Witty Pi's 5 V output), W. */
  loadWatts: number;
  /** 0..1. */
  stateOfCharge: number;
  /** Whether the worker could accept work at this instant (awake, and the policy would start a typical task). */
  available: boolean;
  /**
   * Whether the sun or the battery could run the Pi at this instant: the panel covers its idle draw
   * through the converter, or the charge is above the floor in force. Availability counts only
   * these ("daylight-plus-battery") hours. Absent: true.
   */
  daylightOrBattery?: boolean;
}

export interface EnergyLedgerOptions {
  chemistry: Chemistry;
  /** Nominal pack energy, Wh (cells × nominal cell volts × Ah): one equivalent full cycle. */
  batteryWattHours: number;
  /** The Witty Pi's DC-DC efficiency (the board's default 0.9): the bus load is loadWatts / this. */
  converterEfficiency?: number;
  /**
   * Samples further apart than this are not integrated: the Pi was off (asleep or cut) and the meter
   * saw nothing. The time still counts as elapsed and unavailable. Default 5 min.
   */
  maxGapMs?: number;
}

/** The accounts so far; every energy in Wh. */
export interface EnergyTotals {
  /** Time covered since the first sample, h. */
  hours: number;
  /** Of which the panel covered the Pi's idle draw or the battery was above the floor, h (asleep too). */
  daylightOrBatteryHours: number;
  /** Of those, hours the worker could accept work, h. */
  availableHours: number;
  /** availableHours / daylightOrBatteryHours (1 before any such hour). */
  availability: number;
  pvWh: number;
  batteryChargeWh: number;
  batteryDischargeWh: number;
  mainsWh: number;
  /** The Pi's own draw. */
  loadWh: number;
  /** What the load took from the battery bus (through the converter). */
  busLoadWh: number;
  /** Sources minus uses: the meters' error and the conversion losses not modelled. */
  unaccountedWh: number;
  /** Unplanned losses of power while running (the battery collapsed, or the low-voltage cut fired). */
  brownOuts: number;
  /** Hours spent below the chemistry's deep-discharge state of charge (worker/src/energy/batteryHealth.ts). */
  deepDischargeHours: number;
  /** Battery discharge / nominal pack energy. */
  equivalentFullCycles: number;
  tasks: number;
  /** Tasks finished without mains energy: on the panel and the battery the panel charged. */
  tasksOnHarvest: number;
  /** tasksOnHarvest / tasks (1 with no task). */
  harvestedTaskShare: number;
}

/** What the ledger keeps between samples; JSON-safe, so the agent persists it across sleeps. */
export interface EnergyLedgerState {
  totals: Omit<EnergyTotals, "availability" | "harvestedTaskShare" | "equivalentFullCycles" | "unaccountedWh">;
  last?: MeterSample;
}

/** A saved state as older workers wrote it. */
export type SavedEnergyLedgerState = Omit<EnergyLedgerState, "totals"> & {
  totals: Omit<EnergyLedgerState["totals"], "daylightOrBatteryHours"> & { daylightOrBatteryHours?: number };
};

const HOUR_MS = 3_600_000;

export class EnergyLedger {
  readonly #options: Required<EnergyLedgerOptions>;
  #totals: EnergyLedgerState["totals"];
  #last: MeterSample | undefined;

  /** `saved`: a `state()` from before, possibly from a version that kept no daylight-plus-battery hours. */
  constructor(options: EnergyLedgerOptions, saved?: SavedEnergyLedgerState) {
    if (!(options.batteryWattHours > 0)) throw new RangeError(`batteryWattHours must be > 0, got ${options.batteryWattHours}`);
    this.#options = { converterEfficiency: 0.9, maxGapMs: 5 * 60_000, ...options };
    this.#totals = saved?.totals
      ? // Accounts saved before daylight-plus-battery hours were kept counted every hour.
        { ...saved.totals, daylightOrBatteryHours: saved.totals.daylightOrBatteryHours ?? saved.totals.hours }
      : {
          hours: 0,
          daylightOrBatteryHours: 0,
          availableHours: 0,
          pvWh: 0,
          batteryChargeWh: 0,
          batteryDischargeWh: 0,
          mainsWh: 0,
          loadWh: 0,
          busLoadWh: 0,
          brownOuts: 0,
          deepDischargeHours: 0,
          tasks: 0,
          tasksOnHarvest: 0,
        };
    this.#last = saved?.last;
  }

  /** Adds a sample: the interval since the previous one is integrated with the trapezoid rule. */
  add(sample: MeterSample): void {
    const last = this.#last;
    if (last !== undefined && sample.at > last.at) {
      const dtMs = sample.at - last.at;
      const h = dtMs / HOUR_MS;
      const t = this.#totals;
      t.hours += h;
      // The trapezoid on yes/no: an interval whose ends disagree counts half. Across a gap (the Pi
      // asleep) the ends still say whether the battery held charge above the floor meanwhile.
      const both = (f: (s: MeterSample) => boolean): number => (f(last) ? 0.5 : 0) + (f(sample) ? 0.5 : 0);
      const powered = (s: MeterSample): boolean => s.daylightOrBattery ?? true;
      t.daylightOrBatteryHours += both(powered) * h;
      if (dtMs <= this.#options.maxGapMs) {
        const mean = (f: (s: MeterSample) => number): number => (f(last) + f(sample)) / 2;
        const eta = this.#options.converterEfficiency;
        t.pvWh += mean((s) => Math.max(0, s.pvWatts)) * h;
        t.batteryChargeWh += mean((s) => Math.max(0, s.batteryWatts)) * h;
        t.batteryDischargeWh += mean((s) => Math.max(0, -s.batteryWatts)) * h;
        t.mainsWh += mean((s) => s.mainsWatts ?? 0) * h;
        t.loadWh += mean((s) => s.loadWatts) * h;
        // Mains feeds the Pi's 5 V side directly; the rest comes through the converter (§1.2 reg 7).
        t.busLoadWh += mean((s) => (s.mainsWatts ?? 0) + Math.max(0, s.loadWatts - (s.mainsWatts ?? 0)) / eta) * h;
        t.availableHours += both((s) => s.available && powered(s)) * h;
        const deep = BATTERY_HEALTH[this.#options.chemistry].deepDischargeSoc;
        if (last.stateOfCharge < deep && sample.stateOfCharge < deep) t.deepDischargeHours += h;
        else if (last.stateOfCharge < deep || sample.stateOfCharge < deep) t.deepDischargeHours += h / 2;
      }
    }
    if (last === undefined || sample.at >= last.at) this.#last = sample;
  }

  /** The Pi lost power without a planned shutdown (a collapse, or the Witty Pi's low-voltage cut). */
  brownOut(): void {
    this.#totals.brownOuts += 1;
  }

  /** A task finished; `mainsWattHours` > 0 means it did not run on harvested energy alone. */
  taskFinished(mainsWattHours: number): void {
    this.#totals.tasks += 1;
    if (!(mainsWattHours > 0)) this.#totals.tasksOnHarvest += 1;
  }

  totals(): EnergyTotals {
    const t = this.#totals;
    return {
      ...t,
      availability: t.daylightOrBatteryHours > 0 ? t.availableHours / t.daylightOrBatteryHours : 1,
      unaccountedWh: t.pvWh + t.batteryDischargeWh + t.mainsWh - t.busLoadWh - t.batteryChargeWh,
      equivalentFullCycles: t.batteryDischargeWh / this.#options.batteryWattHours,
      harvestedTaskShare: t.tasks > 0 ? t.tasksOnHarvest / t.tasks : 1,
    };
  }

  state(): EnergyLedgerState {
    return { totals: { ...this.#totals }, ...(this.#last === undefined ? {} : { last: { ...this.#last } }) };
  }
}
