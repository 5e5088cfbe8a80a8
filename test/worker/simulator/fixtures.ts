// Shared set-ups for the hardware-layer tests: a simulated solar Pi, and the real drivers on top of it.
import { fileURLToPath } from "node:url";

import { createBoard, type Board, type BoardConfig } from "../../../worker/src/hardware/board.js";
import { createSimulatedBoard, type SimulatedBoard, type SimulatedBoardOptions } from "../../../worker/src/simulator/board.js";

// The TMY3 files ship in worker/data/solar (a copy of shared/data/solar); SUNPOOL_SOLAR_DIR points elsewhere.
export const SOLAR_DIR = process.env.SUNPOOL_SOLAR_DIR ?? fileURLToPath(new URL("../../../worker/data/solar/", import.meta.url));
export const ALBUQUERQUE = `${SOLAR_DIR}albuquerque-nm-tmy3.csv`;
export const GREENSBORO = `${SOLAR_DIR}greensboro-nc-tmy3.csv`;

/** 21 June 2026, 02:00 local standard time in Albuquerque (UTC−7): dark for another three hours. */
export const NIGHT = Date.UTC(2026, 5, 21, 9, 0, 0);
/** 21 June 2026, 12:00 local standard time in Albuquerque. */
export const NOON = Date.UTC(2026, 5, 21, 19, 0, 0);

export function simulate(overrides: Partial<SimulatedBoardOptions> = {}): SimulatedBoard {
  return createSimulatedBoard({
    start: NIGHT,
    solar: { latitude: 35.04, longitude: -106.62 },
    panel: { ratedWatts: 30 },
    battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.6 },
    ...overrides,
  });
}

export const BOARD_CONFIG: BoardConfig = {
  battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6 },
  lowVoltageCutoff: 11.6,
  recoveryVoltage: 12.8,
  powerCutDelaySeconds: 20,
  monitor: { chip: "ina226", address: 0x40, shuntOhms: 0.01, maxAmps: 5 },
};

/** The production board facade over a simulated board, with its own bus handle as each agent life opens one; "power off" tells the simulator Linux halted. */
export function boardOn(sim: SimulatedBoard, config: Partial<BoardConfig> = {}): Board {
  return createBoard(
    sim.openBus(),
    sim.gpio,
    sim.clock,
    { ...BOARD_CONFIG, ...config },
    {
      kind: "simulated",
      powerOff: () => {
        sim.halt();
        return Promise.resolve();
      },
    },
  );
}

/** Sleeps that only count, for driver tests that check the retry policy without waiting. */
export function countingSleep(): { sleep: (ms: number) => Promise<void>; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    sleep: (ms: number) => {
      calls.push(ms);
      return Promise.resolve();
    },
  };
}

/** Expect `promise` to reject; returns the error for further checks. */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
