// The board a config names: none (a mains-powered host), a Witty Pi 4 with its battery monitor on
// the Pi's I2C bus, or the register-level simulator (the same drivers over a simulated bus).
import { fileURLToPath } from "node:url";

import type { WorkerConfig } from "./config.js";
import { createBoard, linuxSystemClock, systemClock, type Board, type BoardConfig, type Clock } from "./hardware/board.js";
import { openI2cBus } from "./hardware/bus.js";
import { openGpioLine } from "./hardware/gpio.js";
import { createSimulatedBoard, type SimulatedBoard } from "./simulator/board.js";

/** Per-cell cut-off and recovery voltages: the Witty Pi cuts at the first and wakes at the second. */
const CELL_VOLTS = { lifepo4: { cutoff: 2.9, recovery: 3.2 }, "li-ion": { cutoff: 3.3, recovery: 3.7 } } as const;

export function cellVolts(chemistry: keyof typeof CELL_VOLTS): { cutoff: number; recovery: number } {
  return CELL_VOLTS[chemistry];
}
const SITES = {
  albuquerque: { file: "albuquerque-nm-tmy3.csv" },
  greensboro: { file: "greensboro-nc-tmy3.csv" },
} as const;
const DEFAULT_MONITOR = { chip: "ina226", address: 0x40, shuntOhms: 0.01, maxAmps: 5 } as const;

export interface BoardSource {
  /**
   * Opens the board for one life of the agent (after a simulated power-on, a new one), from a known
   * state of charge or, without one, from the battery's voltage, counted as at most `maxInitialStateOfCharge`.
   */
  open(initialStateOfCharge?: number, maxInitialStateOfCharge?: number): Promise<Board>;
  /** The board's clock (simulated time on a simulated board), known before the board is open. */
  clock: Clock;
  /** The simulator behind the board, when the config asks for one. */
  simulator?: SimulatedBoard;
}

/** The `startWorker` options for a board source: the source, and on a simulator the Pi's load. */
export function boardOptions(source: BoardSource | undefined): {
  boardSource?: BoardSource;
  simulatedLoad?: (busy: boolean) => void;
} {
  if (source === undefined) return {};
  const simulator = source.simulator;
  return simulator === undefined
    ? { boardSource: source }
    : { boardSource: source, simulatedLoad: (busy) => simulator.setLoad(busy ? "busy" : "idle") };
}

export function createBoardSource(config: WorkerConfig): BoardSource | undefined {
  const board = config.board;
  switch (board.kind) {
    case "none":
      return undefined;
    case "witty-pi-4": {
      const boardConfig: BoardConfig = {
        battery: board.battery,
        lowVoltageCutoff: board.lowVoltageCutoff,
        recoveryVoltage: board.recoveryVoltage,
        powerCutDelaySeconds: board.powerCutDelaySeconds,
        monitor: board.monitor,
        ...(board.panelMonitor === undefined ? {} : { panelMonitor: board.panelMonitor }),
      };
      return {
        clock: systemClock,
        async open(initialStateOfCharge, maxInitialStateOfCharge) {
          const bus = await openI2cBus(board.i2cBus);
          const gpio = { sysUp: await openGpioLine(17, "in"), halt: await openGpioLine(4, "in", "falling") };
          const battery = {
            ...boardConfig.battery,
            ...(initialStateOfCharge === undefined ? {} : { initialStateOfCharge }),
            ...(maxInitialStateOfCharge === undefined ? {} : { maxInitialStateOfCharge }),
          };
          return createBoard(bus, gpio, systemClock, { ...boardConfig, battery }, { systemClock: linuxSystemClock });
        },
      };
    }
    case "simulated": {
      const volts = cellVolts(board.battery.chemistry);
      const solar =
        board.site !== undefined
          ? { tmy3: fileURLToPath(new URL(`../data/solar/${SITES[board.site].file}`, import.meta.url)) }
          : { latitude: board.latitude ?? 35.04, longitude: board.longitude ?? -106.62 };
      const simulator = createSimulatedBoard({
        start: board.startTime === undefined ? Date.now() : Date.parse(board.startTime),
        mode: "scaled",
        speed: board.speed,
        solar,
        panel: { ratedWatts: board.panelWatts },
        battery: { ...board.battery, stateOfCharge: board.initialStateOfCharge },
        monitor: DEFAULT_MONITOR,
      });
      const boardConfig: BoardConfig = {
        battery: board.battery,
        lowVoltageCutoff: volts.cutoff * board.battery.cells,
        recoveryVoltage: volts.recovery * board.battery.cells,
        powerCutDelaySeconds: 25,
        monitor: DEFAULT_MONITOR,
      };
      return {
        simulator,
        clock: simulator.clock,
        open: (initialStateOfCharge, maxInitialStateOfCharge) =>
          Promise.resolve(
            createBoard(
              simulator.openBus(),
              simulator.gpio,
              simulator.clock,
              {
                ...boardConfig,
                // The first life starts from the configured charge; after a long sleep, from the voltage as a Pi's would.
                battery:
                  initialStateOfCharge === undefined && maxInitialStateOfCharge !== undefined
                    ? { ...boardConfig.battery, maxInitialStateOfCharge }
                    : { ...boardConfig.battery, initialStateOfCharge: initialStateOfCharge ?? board.initialStateOfCharge },
              },
              {
                kind: "simulated",
                powerOff: () => {
                  simulator.halt();
                  return Promise.resolve();
                },
              },
            ),
          ),
      };
    }
  }
}
