// A simulated week of one solar Pi, with an accelerated clock: the real Witty Pi 4 and INA226
// drivers over the register-level simulator (TMY3 irradiance), the real energy manager deciding
// when to start a task and when to sleep, and a steady queue of tasks (a task is the Pi's busy
// draw for its duration; Docker is not involved). Prints what the energy policy achieved, against
// an energy-blind worker that starts every task it can and never sleeps.
//   node worker/bench/solar-week.ts [site=albuquerque|greensboro|both] [startDayOfYear=172] [days=7]
// Needs `npm run build` (it runs the compiled worker).
import { fileURLToPath } from "node:url";

import { createBoardEnergyManager, type EnergyManager } from "../dist/energy/manager.js";
import { PvForecast } from "../dist/energy/forecast.js";
import { chargeCeilingAfterSleep, DEFAULT_ENERGY_POLICY, restoredStateOfCharge } from "../dist/energy/policy.js";
import { createBoard, type Board, type BoardConfig } from "../dist/hardware/board.js";
import { Journal } from "../dist/journal/journal.js";
import { batteryWattHours } from "../dist/runtime.js";
import { createSimulatedBoard } from "../dist/simulator/board.js";

export interface WeekOptions {
  site: "albuquerque" | "greensboro";
  startDay: number;
  days: number;
  /** Tasks arriving per hour, round the clock. */
  tasksPerHour: number;
  taskMinutes: number;
  /** A task waiting longer than this is dropped (its deadline passed). */
  maxWaitMinutes: number;
  policy: "energy-aware" | "energy-blind";
  panelWatts: number;
  capacityAh: number;
}

export interface WeekResult {
  tasksDone: number;
  tasksDropped: number;
  /** Tasks cut by a brown-out or low-voltage shutdown while running. */
  tasksCut: number;
  /** Tasks started although the plan's trough was below the floor (must be 0 when energy-aware). */
  startsBelowFloor: number;
  piWattHours: number;
  pvWattHours: number;
  minStateOfCharge: number;
  minStateOfChargeWhileBusy: number;
  /** Share of task minutes run while the panel covered the Pi's draw. */
  solarMinutesShare: number;
  sleeps: number;
  lowVoltageShutdowns: number;
  tasksByHour: number[];
}

const SITE_FILES = { albuquerque: "albuquerque-nm-tmy3.csv", greensboro: "greensboro-nc-tmy3.csv" } as const;
const SITE_UTC_OFFSET = { albuquerque: -7, greensboro: -5 } as const;
const STEP_MS = 60_000;
const NEEDS = { cpuMillicores: 4000 };

export async function simulateWeek(options: WeekOptions): Promise<WeekResult> {
  const start = Date.UTC(2026, 0, 1) + (options.startDay - 1) * 86_400_000;
  const end = start + options.days * 86_400_000;
  const battery = { chemistry: "lifepo4" as const, cells: 4, capacityAh: options.capacityAh };
  const sim = createSimulatedBoard({
    start,
    mode: "auto",
    solar: { tmy3: fileURLToPath(new URL(`../data/solar/${SITE_FILES[options.site]}`, import.meta.url)) },
    panel: { ratedWatts: options.panelWatts },
    battery: { ...battery, stateOfCharge: 0.6 },
  });
  const config: BoardConfig = {
    battery,
    lowVoltageCutoff: 11.6,
    recoveryVoltage: 12.8,
    powerCutDelaySeconds: 25,
    monitor: { chip: "ina226", address: 0x40, shuntOhms: 0.01, maxAmps: 5 },
  };
  const journal = new Journal(":memory:");
  const policy = { ...DEFAULT_ENERGY_POLICY, batteryWattHours: batteryWattHours(battery) };
  const result: WeekResult = {
    tasksDone: 0,
    tasksDropped: 0,
    tasksCut: 0,
    startsBelowFloor: 0,
    piWattHours: 0,
    pvWattHours: 0,
    minStateOfCharge: 1,
    minStateOfChargeWhileBusy: 1,
    solarMinutesShare: 0,
    sleeps: 0,
    lowVoltageShutdowns: 0,
    tasksByHour: Array.from({ length: 24 }, () => 0),
  };
  let busyMinutes = 0;
  let solarMinutes = 0;
  let queue: number[] = [];
  let nextArrival = start;
  let running: { endsAt: number } | undefined;
  sim.onPowerOff((event) => {
    if (running !== undefined) result.tasksCut++;
    running = undefined;
    if (event.reason === 4) result.lowVoltageShutdowns++; // ACTION_REASON 4: low voltage (hardware.md §1.3)
  });

  // What the agent persists before a planned sleep (runtime.ts does the same with its journal);
  // after an unplanned cut there is none, and the counter starts from the battery's voltage.
  let persisted: { stateOfCharge: number; pvWatts: number; atMs: number } | undefined = {
    stateOfCharge: 0.6,
    pvWatts: 0,
    atMs: start,
  };
  const boot = async (): Promise<{ board: Board; energy: EnergyManager }> => {
    const forecast = persisted && new PvForecast(journal.pvProfile(), persisted.atMs, persisted.pvWatts);
    const restored =
      persisted === undefined || forecast === undefined
        ? undefined
        : restoredStateOfCharge(policy, persisted, forecast, sim.clock.now());
    // After a long sleep the counter starts from the voltage, bounded as the runtime bounds it.
    const ceiling =
      persisted === undefined || forecast === undefined || restored !== undefined
        ? undefined
        : chargeCeilingAfterSleep(policy, persisted, forecast, sim.clock.now());
    const battery = {
      ...config.battery,
      ...(restored === undefined ? {} : { initialStateOfCharge: restored }),
      ...(ceiling === undefined ? {} : { maxInitialStateOfCharge: ceiling }),
    };
    persisted = undefined;
    const board = createBoard(
      sim.openBus(),
      sim.gpio,
      sim.clock,
      { ...config, battery },
      {
        kind: "simulated",
        retryDelayMs: 1000,
        powerOff: () => {
          sim.halt();
          return Promise.resolve();
        },
      },
    );
    await board.start();
    return { board, energy: createBoardEnergyManager(board, journal, policy) };
  };
  let life = await boot();

  while (sim.clock.now() < end) {
    const now = sim.clock.now();
    for (; nextArrival <= now; nextArrival += 3_600_000 / options.tasksPerHour) queue.push(nextArrival);
    const waiting = queue.length;
    queue = queue.filter((arrived) => now - arrived <= options.maxWaitMinutes * 60_000);
    result.tasksDropped += waiting - queue.length;

    if (!sim.poweredOn) {
      await life.board.close().catch(() => undefined);
      const woke = await sim.waitForPowerOn(end - now);
      if (woke === undefined) break;
      // Tasks that arrived while asleep are counted on the next pass.
      life = await boot();
      continue;
    }
    const sample = await life.energy.sample();
    const truth = sim.truth();
    result.minStateOfCharge = Math.min(result.minStateOfCharge, truth.stateOfCharge);
    if (running !== undefined) {
      busyMinutes++;
      if (truth.pvWatts >= truth.piWatts / 0.9) solarMinutes++;
      result.minStateOfChargeWhileBusy = Math.min(result.minStateOfChargeWhileBusy, truth.stateOfCharge);
      if (now >= running.endsAt) {
        running = undefined;
        result.tasksDone++;
        sim.setLoad("idle");
        life.energy.setBusy(false);
      }
    } else if (queue.length > 0) {
      const decision =
        options.policy === "energy-aware"
          ? life.energy.mayStart("bench-app", { ...NEEDS, expectedSeconds: options.taskMinutes * 60 })
          : { start: true as const, troughSoc: 1, endSoc: 1 };
      if (decision.start) {
        if (decision.troughSoc < policy.floor) result.startsBelowFloor++;
        queue.shift();
        running = { endsAt: now + options.taskMinutes * 60_000 };
        const localHour = (new Date(now).getUTCHours() + 24 + SITE_UTC_OFFSET[options.site]) % 24;
        result.tasksByHour[localHour]!++;
        sim.setLoad("busy");
        life.energy.setBusy(true);
      }
    }
    if (running === undefined && options.policy === "energy-aware" && sample !== undefined) {
      const idle = life.energy.idle();
      if (idle.sleep) {
        result.sleeps++;
        const last = life.energy.last;
        persisted = last && { stateOfCharge: last.stateOfCharge, pvWatts: last.pvWatts, atMs: last.at };
        await life.board.sleepUntil(new Date(idle.wakeAtMs));
        await sim.waitForPowerOff(120_000);
        continue;
      }
    }
    await sim.clock.sleep(STEP_MS);
  }
  result.piWattHours = sim.totals.piWh;
  result.pvWattHours = sim.totals.pvWh;
  result.solarMinutesShare = busyMinutes === 0 ? 0 : solarMinutes / busyMinutes;
  await life.board.close().catch(() => undefined);
  sim.close();
  journal.close();
  return result;
}

/** Share of task starts between 08:00 and 18:00 local time (arrivals are uniform: 42 %). */
export function daytimeShare(result: WeekResult): number {
  const total = result.tasksByHour.reduce((a, b) => a + b, 0);
  const day = result.tasksByHour.slice(8, 18).reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : day / total;
}

function describe(label: string, r: WeekResult): string {
  const pct = (value: number) => `${(value * 100).toFixed(0)} %`;
  return [
    `  ${label}: ${r.tasksDone.toString()} tasks done, ${r.tasksDropped.toString()} dropped (deadline), ${r.tasksCut.toString()} cut by a brown-out`,
    `    energy: Pi ${r.piWattHours.toFixed(0)} Wh, panel ${r.pvWattHours.toFixed(0)} Wh; min state of charge ${pct(r.minStateOfCharge)} (while busy ${pct(r.minStateOfChargeWhileBusy)})`,
    `    ${pct(r.solarMinutesShare)} of task minutes on sunshine, ${pct(daytimeShare(r))} of starts between 08:00 and 18:00; ${r.sleeps.toString()} sleeps, ${r.lowVoltageShutdowns.toString()} low-voltage shutdowns, ${r.startsBelowFloor.toString()} starts below the floor`,
  ].join("\n");
}

if (import.meta.main) {
  const sites =
    process.argv[2] === undefined || process.argv[2] === "both"
      ? (["albuquerque", "greensboro"] as const)
      : [process.argv[2] as WeekOptions["site"]];
  const startDay = Number(process.argv[3] ?? 172);
  const days = Number(process.argv[4] ?? 7);
  for (const site of sites) {
    const base = { site, startDay, days, tasksPerHour: 2, taskMinutes: 20, maxWaitMinutes: 240, panelWatts: 20, capacityAh: 6 };
    const started = performance.now();
    const aware = await simulateWeek({ ...base, policy: "energy-aware" });
    const blind = await simulateWeek({ ...base, policy: "energy-blind" });
    console.log(
      `${site}, day ${startDay.toString()} + ${days.toString()} days, 20 W panel, 6 Ah LiFePO4 4S, 2 tasks/h of 20 min at full load:`,
    );
    console.log(describe("energy-aware", aware));
    console.log(describe("energy-blind", blind));
    console.log(`  (simulated in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
