// The simulated solar Pi: panel → charge controller → battery → Witty Pi 4 → Raspberry Pi, with an
// INA2xx on the battery lead (and optionally one on the panel). It hands out the same I2cBus and
// GpioLines the real hardware gives, so the hardware drivers and the agent above them run unchanged.
//
// Physics is advanced by the simulated clock, never by the agent's accesses: before time moves, the
// board integrates the energy balance in steps of at most one second, runs the Witty Pi firmware once
// per second (and at its own deadlines), and stops the clock early whenever something observable
// happens (HALT pulled low, the Pi powered on or off), so listeners see the exact simulated instant.
import { Battery, type BatteryOptions, type Chemistry } from "./battery.js";
import { SimulatedClock, type ClockMode } from "./clock.js";
import { SimulatedGpioLine } from "./gpioLine.js";
import { SimulatedI2cBus } from "./i2cBus.js";
import { Ina2xxChipModel, type InaModel } from "./ina2xxChip.js";
import { Max17048ChipModel } from "./max17048Chip.js";
import { PowerEventListeners } from "./powerEvents.js";
import { electricalState, type ElectricalState } from "./powerPath.js";
import { loadTmy3, PvPanel, type ChargeControllerOptions, type PanelOptions, type SolarSource, type Tmy3 } from "./pvPanel.js";
import { MCU_ADDRESS, MCU_REG, WittyPi4Mcu, type McuOptions, type McuPowerEvent } from "./wittyPi4Mcu.js";

/** Pi 4 B figures from docs/hardware.md §6 (pidramble, headless): idle 2.7 W, `stress --cpu 4` 6.4 W, halted 0.023 A × 5 V. */
export const PI4_POWER = { idleWatts: 2.7, busyWatts: 6.4, haltedWatts: 0.115 } as const;

export type PiState = "off" | "running" | "halted";
export type PiLoad = "idle" | "busy" | number;

export interface SimulatedMonitorOptions {
  chip: InaModel;
  address: number;
  shuntOhms: number;
}

export interface SimulatedBoardOptions {
  /** Simulated start instant. */
  start: Date | number;
  /** Use this clock (e.g. shared with other simulated parts); otherwise one is made from mode/speed. */
  clock?: SimulatedClock;
  /** Default "auto" (discrete-event); "scaled" runs at `speed` × wall time. */
  mode?: ClockMode;
  speed?: number;
  /** A TMY3 file path or already-parsed data, or a clear-sky site. */
  solar: { tmy3: string | Tmy3 } | { latitude: number; longitude: number; cloudFactor?: number };
  panel?: Omit<PanelOptions, "ratedWatts"> & { ratedWatts?: number };
  controller?: ChargeControllerOptions;
  battery?: Partial<BatteryOptions> & { chemistry?: Chemistry };
  pi?: Partial<typeof PI4_POWER>;
  /** The Witty Pi's DC-DC converter efficiency (input power = Pi power / efficiency). Default 0.9. */
  converterEfficiency?: number;
  /** The Witty Pi's own draw from the battery, W (not in any public source, §7; a guess). Default 0.02 W. */
  standbyWatts?: number;
  /** Battery monitor, default INA226 at 0x40 with a 10 mΩ shunt. */
  monitor?: SimulatedMonitorOptions;
  /** Panel monitor, absent by default. */
  panelMonitor?: SimulatedMonitorOptions;
  /** A MAX17048 fuel gauge on the bus (meaningful for a 1S Li-ion pack), absent by default. */
  fuelGauge?: { address: number };
  /** Panel voltage at the maximum power point, for the panel monitor's bus voltage. Default 18 V. */
  panelMppVolts?: number;
  wittyPi?: Omit<McuOptions, "rtcTime"> & { rtc?: Date | "unset" };
  /** Board (LM75B) temperature; default the TMY air temperature + 10 °C, or 25 °C. */
  temperatureC?: number;
}

export interface PowerEvent {
  at: number;
  /** ACTION_REASON code (§1.3), 0 when the cut followed a Pi-side halt or a brown-out. */
  reason: number;
  cause: string;
}

/** The true electrical state, for assertions (the agent must only see it through the drivers). */
export interface SimulatedState {
  at: number;
  piState: PiState;
  piWatts: number;
  batteryVolts: number;
  batteryAmps: number;
  stateOfCharge: number;
  /** What the panel could give at its maximum power point. */
  pvAvailableWatts: number;
  /** What the panel actually gives (less when the battery is full and nothing uses it). */
  pvWatts: number;
  wittyInputVolts: number;
}

export interface EnergyTotals {
  pvAvailableWh: number;
  pvWh: number;
  piWh: number;
  batteryInWh: number;
  batteryOutWh: number;
}

export interface SimulatedBoard {
  readonly clock: SimulatedClock;
  /** The first handle on the simulated /dev/i2c-1; `openBus()` gives the next agent life its own. */
  readonly bus: SimulatedI2cBus;
  /** A fresh bus handle (a restarted agent's `openI2cBus(1)`); the previous agent's `close()` does not affect it. */
  openBus(): SimulatedI2cBus;
  readonly gpio: { sysUp: SimulatedGpioLine; halt: SimulatedGpioLine };
  readonly mcu: WittyPi4Mcu;
  readonly battery: Battery;
  readonly panel: PvPanel;
  readonly batteryMonitor: Ina2xxChipModel;
  readonly panelMonitor: Ina2xxChipModel | undefined;
  readonly poweredOn: boolean;
  readonly piState: PiState;
  readonly totals: Readonly<EnergyTotals>;
  /** What the Pi draws while running: "idle", "busy" (§6 figures) or watts. */
  setLoad(load: PiLoad): void;
  setTemperature(celsius: number): void;
  /** The simulator's power-off action: Linux finished `systemctl poweroff` and TXD went low. */
  halt(): void;
  /**
   * Unplug the battery (and with it every supply: the charge controller cannot feed the board
   * alone): a full power loss. Without its CR2032 (`wittyPi.rtcBackupCell: false`) the RTC resets.
   */
  disconnectBattery(): void;
  connectBattery(): void;
  onPowerOn(listener: (event: PowerEvent) => void): () => void;
  onPowerOff(listener: (event: PowerEvent) => void): () => void;
  /** Resolves with the next power-on, or undefined if none came within `timeoutMs` of simulated time. */
  waitForPowerOn(timeoutMs: number): Promise<PowerEvent | undefined>;
  waitForPowerOff(timeoutMs: number): Promise<PowerEvent | undefined>;
  truth(): SimulatedState;
  /** Detach from the clock (and stop a clock this board created). */
  close(): void;
}

export function createSimulatedBoard(options: SimulatedBoardOptions): SimulatedBoard {
  const start = typeof options.start === "number" ? options.start : options.start.getTime();
  const ownsClock = options.clock === undefined;
  const clock =
    options.clock ??
    new SimulatedClock({ start, mode: options.mode ?? "auto", ...(options.speed === undefined ? {} : { speed: options.speed }) });
  const source = solarSource(options.solar);
  const panel = new PvPanel(source, { ratedWatts: 20, ...options.panel });
  const battery = new Battery({ chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.8, ...options.battery });
  const controller: ChargeControllerOptions = options.controller ?? { kind: "mppt" };
  const pi = { ...PI4_POWER, ...options.pi };
  const efficiency = options.converterEfficiency ?? 0.9;
  const standbyWatts = options.standbyWatts ?? 0.02;

  let piState: PiState = options.wittyPi?.poweredOn === false ? "off" : "running";
  let load: PiLoad = "idle";
  let temperature = options.temperatureC;
  let last = start;
  let batteryConnected = true;
  // Instantaneous electrical state, recomputed whenever an input changes.
  let state: ElectricalState = { batteryAmps: 0, batteryVolts: 0, piWatts: 0, pvAvailable: 0, pvWatts: 0, vin: 0 };
  const totals: EnergyTotals = { pvAvailableWh: 0, pvWh: 0, piWh: 0, batteryInWh: 0, batteryOutWh: 0 };

  const piWatts = (): number =>
    piState === "off"
      ? 0
      : piState === "halted"
        ? pi.haltedWatts
        : load === "idle"
          ? pi.idleWatts
          : load === "busy"
            ? pi.busyWatts
            : load;
  const outputVolts = (): number => (piState === "off" ? 0 : 5.1 - 0.05 * (piWatts() / 5.1));

  function recompute(at: number): void {
    state = electricalState(battery, {
      pvAvailable: panel.powerAt(at),
      piWatts: piWatts(),
      batteryConnected,
      controller,
      converterEfficiency: efficiency,
      standbyWatts,
    });
  }

  const mcu = new WittyPi4Mcu(
    {
      now: () => clock.now(),
      inputVolts: () => state.vin,
      outputVolts,
      outputAmps: () => (piState === "off" ? 0 : piWatts() / outputVolts()),
      temperatureC: () => temperature ?? (source.kind === "tmy3" ? panel.irradianceAt(clock.now()).airC + 10 : 25),
    },
    {
      ...options.wittyPi,
      ...(options.wittyPi?.rtc === "unset" ? {} : { rtcTime: options.wittyPi?.rtc?.getTime() ?? start }),
    },
  );

  const bus = new SimulatedI2cBus(() => piState !== "off");
  // The firmware answers at register 16's address (docs/hardware.md §1.1).
  bus.attach(options.wittyPi?.registers?.[MCU_REG.CONF_ADDRESS] ?? MCU_ADDRESS, mcu);
  const { batteryMonitor, panelMonitor } = attachSensors(bus, options, () => state, battery);
  const lines = wittyPiLines(mcu);
  const { sysUp, halt } = lines;

  const powerOn = new PowerEventListeners<PowerEvent>();
  const powerOff = new PowerEventListeners<PowerEvent>();
  mcu.onPower((e: McuPowerEvent) => {
    if (e.poweredOn) {
      piState = "running";
      load = "idle";
    } else {
      piState = "off";
      lines.powerLoss();
    }
    recompute(e.at);
    // Delivered once the clock stands at the event's instant (the physics hook stops it there).
    (e.poweredOn ? powerOn : powerOff).emit({ at: e.at, reason: e.reason, cause: e.cause });
  });

  recompute(start);

  /** Integrate from `last` to `to` (at most 1 s), then run the firmware at `to`. Returns whether something observable happened. */
  function step(to: number): boolean {
    const dt = (to - last) / 1000;
    if (dt > 0) {
      const { batteryAmps, batteryVolts, piWatts: pw, pvAvailable, pvWatts } = state;
      battery.step(batteryAmps, dt);
      const h = dt / 3600;
      totals.pvAvailableWh += pvAvailable * h;
      totals.pvWh += pvWatts * h;
      totals.piWh += pw * h;
      if (batteryAmps > 0) totals.batteryInWh += batteryAmps * batteryVolts * h;
      else totals.batteryOutWh -= batteryAmps * batteryVolts * h;
      last = to;
      recompute(to);
    }
    let changed = false;
    if (state.vin === 0 && mcu.supplied) {
      changed = mcu.poweredOn;
      mcu.supplyLost(to);
    } else if (state.vin > 0 && !mcu.supplied) {
      mcu.supplyRestored(to);
    }
    return mcu.tick(to) || changed;
  }

  const removeHook = clock.addHook({
    advance(from: number, to: number): number {
      let t = Math.max(from, last);
      while (t < to) {
        const nextSecond = (Math.floor(t / 1000) + 1) * 1000;
        const deadline = mcu.nextDeadline();
        let next = Math.min(to, nextSecond);
        if (deadline !== undefined && deadline > t && deadline < next) next = deadline;
        if (step(next)) return next;
        t = next;
      }
      return to;
    },
  });

  return {
    clock,
    bus,
    gpio: { sysUp, halt },
    openBus: () => bus.open(),
    mcu,
    battery,
    panel,
    batteryMonitor,
    panelMonitor,
    get poweredOn() {
      return piState !== "off";
    },
    get piState() {
      return piState;
    },
    totals,
    setLoad(next: PiLoad) {
      load = next;
      recompute(clock.now());
    },
    setTemperature(celsius: number) {
      temperature = celsius;
    },
    halt() {
      if (piState !== "running") return;
      piState = "halted";
      recompute(clock.now());
      mcu.txdLevel(false);
    },
    disconnectBattery() {
      batteryConnected = false;
      recompute(clock.now());
    },
    connectBattery() {
      batteryConnected = true;
      recompute(clock.now());
    },
    onPowerOn: (l) => powerOn.subscribe(l),
    onPowerOff: (l) => powerOff.subscribe(l),
    waitForPowerOn: (timeoutMs) => powerOn.next(clock, timeoutMs),
    waitForPowerOff: (timeoutMs) => powerOff.next(clock, timeoutMs),
    truth(): SimulatedState {
      return {
        at: clock.now(),
        piState,
        piWatts: state.piWatts,
        batteryVolts: state.batteryVolts,
        batteryAmps: state.batteryAmps,
        stateOfCharge: battery.stateOfCharge,
        pvAvailableWatts: state.pvAvailable,
        pvWatts: state.pvWatts,
        wittyInputVolts: state.vin,
      };
    },
    close() {
      removeHook();
      if (ownsClock) clock.stop();
    },
  };
}

function solarSource(solar: SimulatedBoardOptions["solar"]): SolarSource {
  if ("tmy3" in solar) return { kind: "tmy3", data: typeof solar.tmy3 === "string" ? loadTmy3(solar.tmy3) : solar.tmy3 };
  return {
    kind: "clear-sky",
    latitude: solar.latitude,
    longitude: solar.longitude,
    ...(solar.cloudFactor === undefined ? {} : { cloudFactor: solar.cloudFactor }),
  };
}

/**
 * The chips on the I2C bus besides the Witty Pi, reading the live electrical state: the battery's
 * INA2xx, and when configured the panel's INA2xx and a MAX17048 fuel gauge.
 */
function attachSensors(
  bus: SimulatedI2cBus,
  options: SimulatedBoardOptions,
  live: () => ElectricalState,
  battery: Battery,
): { batteryMonitor: Ina2xxChipModel; panelMonitor: Ina2xxChipModel | undefined } {
  const monitorOptions = options.monitor ?? { chip: "ina226", address: 0x40, shuntOhms: 0.01 };
  const batteryMonitor = new Ina2xxChipModel(monitorOptions.chip, monitorOptions.shuntOhms, {
    shuntAmps: () => live().batteryAmps,
    busVolts: () => live().batteryVolts,
  });
  bus.attach(monitorOptions.address, batteryMonitor);
  let panelMonitor: Ina2xxChipModel | undefined;
  if (options.panelMonitor !== undefined) {
    const mppVolts = options.panelMppVolts ?? 18;
    panelMonitor = new Ina2xxChipModel(options.panelMonitor.chip, options.panelMonitor.shuntOhms, {
      shuntAmps: () => (live().pvWatts > 0 ? live().pvWatts / mppVolts : 0),
      // Open-circuit voltage ≈ 1.2 × Vmp when lit and unloaded.
      busVolts: () => (live().pvWatts > 0 ? mppVolts : live().pvAvailable > 0 ? mppVolts * 1.2 : 0),
    });
    bus.attach(options.panelMonitor.address, panelMonitor);
  }
  if (options.fuelGauge !== undefined) {
    bus.attach(
      options.fuelGauge.address,
      new Max17048ChipModel({
        cellVolts: () => live().batteryVolts / battery.cells,
        stateOfCharge: () => battery.stateOfCharge,
        chargeRatePerHour: () => live().batteryAmps / battery.capacityAh,
      }),
    );
  }
  return { batteryMonitor, panelMonitor };
}

/** The Witty Pi's two GPIO lines to the Pi: SYS_UP (GPIO17, driven by the Pi) and HALT (GPIO4). */
function wittyPiLines(mcu: WittyPi4Mcu): { sysUp: SimulatedGpioLine; halt: SimulatedGpioLine; powerLoss(): void } {
  let sysUpLevel: 0 | 1 = 0;
  const sysUp = new SimulatedGpioLine(
    "GPIO17",
    "none",
    () => 1,
    (driven) => {
      const level = driven ?? 0;
      mcu.sysUpLevel(level, sysUpLevel);
      sysUpLevel = level;
    },
  );
  const halt = new SimulatedGpioLine(
    "GPIO4",
    "falling",
    () => (mcu.pullsHaltLow ? 0 : 1),
    (driven) => mcu.piHaltLevel(driven === 0),
  );
  mcu.onHaltChange(() => halt.refresh());
  return {
    sysUp,
    halt,
    powerLoss() {
      sysUpLevel = 0;
      sysUp.powerLoss();
      halt.powerLoss();
    },
  };
}
