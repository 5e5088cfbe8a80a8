// Energy-aware dispatch against energy-blind least-loaded dispatch on a simulated week of a mixed
// solar fleet, driven by real hourly irradiance (NREL TMY3, worker/data/solar or
// SUNPOOL_SOLAR_DIR). Both runs use the scheduler's own Dispatcher; only the policy differs.
//   node scheduler/bench/energy-week.ts [startDayOfYear=172] [days=7] [tasksPerHour=20]
//
// The model is deliberately simple and stated here so that the figures can be judged:
// - panel power = GHI / 1000 W/m2 x rated watts x 0.8 (temperature, dust, converter);
// - a Pi 4 draws 2.7 W idle and 6.4 W running a task (docs/hardware.md figures);
// - the battery's usable energy drains and fills minute by minute; at 0 the Pi browns out and
//   stays off until the Witty Pi's recovery threshold (25 % charge) wakes it;
// - each worker heartbeats every 5 minutes with an outlook: the seconds it can stay awake under
//   load, from its charge and its current panel power (no forecast: the worker issue adds one);
// - tasks arrive at a steady rate, run 15 to 45 minutes, and must finish within 10 x 20 min of
//   arrival (category S's start window); a task cut by a brown-out goes back to the queue.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { DEFAULT_POLICY, Dispatcher, type DispatchPolicy, type WorkerState } from "../dist/dispatch/dispatcher.js";

const startDay = Number(process.argv[2] ?? 172);
const days = Number(process.argv[3] ?? 7);
const tasksPerHour = Number(process.argv[4] ?? 20);
const solarDir = process.env.SUNPOOL_SOLAR_DIR ?? join(import.meta.dirname, "../../worker/data/solar");

const IDLE_W = 2.7;
const BUSY_W = 6.4;
const RECOVERY = 0.25;
const HEARTBEAT_MIN = 5;
const DEADLINE_MIN = 200;

function irradiance(file: string): number[] {
  return readFileSync(join(solarDir, file), "utf8")
    .split("\n")
    .filter((line) => /^\d/.test(line))
    .map((line) => Number(line.split(",")[3]));
}
const sites = { albuquerque: irradiance("albuquerque-nm-tmy3.csv"), greensboro: irradiance("greensboro-nc-tmy3.csv") };

interface SimWorker {
  state: WorkerState;
  site: number[];
  panelW: number;
  capacityWh: number;
  chargeWh: number;
  on: boolean;
  task?: { id: number; endsAt: number; deadline: number; minutes: number };
}

interface Figures {
  completed: number;
  lostToBrownOuts: number;
  deadlineMisses: number;
  brownOuts: number;
  taskWh: number;
  sunnyShare: number;
  minChargePct: number;
}

function simulate(policy: DispatchPolicy): Figures {
  let seed = 2026;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const fleet: SimWorker[] = Array.from({ length: 16 }, (_, i) => {
    const capacityWh = [20, 40, 60, 100][i % 4]!;
    return {
      state: {
        address: `w${i.toString()}`,
        platforms: 2,
        cores: 4,
        memoryMiB: 4096,
        slots: 1,
        active: 0,
        lastSeenMs: 0,
        good: 0,
        bad: 0,
        lastAssignedMs: 0,
      },
      site: i % 2 === 0 ? sites.albuquerque : sites.greensboro,
      panelW: [10, 20, 30][i % 3]!,
      capacityWh,
      chargeWh: capacityWh * 0.6,
      on: true,
    };
  });
  const dispatcher = new Dispatcher({ ...policy, offlineAfterMs: 3 * HEARTBEAT_MIN * 60_000 });
  for (const worker of fleet) dispatcher.upsert(worker.state);
  const queue: { id: number; arrived: number; deadline: number; minutes: number }[] = [];
  const figures: Figures = {
    completed: 0,
    lostToBrownOuts: 0,
    deadlineMisses: 0,
    brownOuts: 0,
    taskWh: 0,
    sunnyShare: 0,
    minChargePct: 100,
  };
  let sunnyTasks = 0;
  let nextId = 0;
  let arrivals = 0;
  const start = (startDay - 1) * 24 * 60;
  for (let minute = start; minute < start + days * 24 * 60; minute++) {
    const now = minute * 60_000;
    const hour = Math.floor(minute / 60) % 8760;
    arrivals += tasksPerHour / 60;
    for (; arrivals >= 1; arrivals--)
      queue.push({ id: nextId++, arrived: minute, deadline: minute + DEADLINE_MIN, minutes: 15 + Math.floor(30 * random()) });

    for (const worker of fleet) {
      const pvW = (worker.site[hour]! / 1000) * worker.panelW * 0.8;
      const loadW = worker.on ? (worker.task ? BUSY_W : IDLE_W) : 0.05;
      worker.chargeWh = Math.max(0, Math.min(worker.capacityWh, worker.chargeWh + (pvW - loadW) / 60));
      if (worker.task) figures.taskWh += (BUSY_W - IDLE_W) / 60;
      if (worker.on && worker.chargeWh <= 0) {
        worker.chargeWh = 0;
        worker.on = false;
        figures.brownOuts++;
        if (worker.task) {
          figures.lostToBrownOuts++;
          // Work is not checkpointed: the task starts over elsewhere.
          queue.push({ id: worker.task.id, arrived: minute, deadline: worker.task.deadline, minutes: worker.task.minutes });
          worker.task = undefined;
          dispatcher.release(worker.state.address);
        }
      } else if (!worker.on && worker.chargeWh >= RECOVERY * worker.capacityWh) {
        worker.on = true;
      }
      figures.minChargePct = Math.min(figures.minChargePct, (100 * worker.chargeWh) / worker.capacityWh);
      if (worker.task && minute >= worker.task.endsAt) {
        figures.completed++;
        worker.task = undefined;
        dispatcher.release(worker.state.address);
      }
      if (worker.on && minute % HEARTBEAT_MIN === 0) {
        const drainW = BUSY_W - pvW;
        worker.state.lastSeenMs = now;
        worker.state.outlook = {
          stateOfChargePct: (100 * worker.chargeWh) / worker.capacityWh,
          pvWatts: pvW,
          loadWatts: worker.task ? BUSY_W : IDLE_W,
          awakeSeconds: drainW <= 0 ? 12 * 3600 : Math.floor((worker.chargeWh / drainW) * 3600),
        };
        dispatcher.upsert(worker.state);
      }
    }

    queue.sort((a, b) => a.deadline - b.deadline);
    for (let i = 0; i < queue.length;) {
      const task = queue[i]!;
      if (minute + task.minutes > task.deadline) {
        figures.deadlineMisses++;
        queue.splice(i, 1);
        continue;
      }
      const chosen = dispatcher.select(
        { platforms: 2, memoryMiB: 256, cpuMillicores: 1000, expectedSeconds: task.minutes * 60, exclude: new Set() },
        now,
      );
      if (chosen === undefined) {
        i++;
        continue;
      }
      const worker = fleet.find((w) => w.state === chosen)!;
      dispatcher.assign(chosen, now);
      worker.task = { id: task.id, endsAt: minute + task.minutes, deadline: task.deadline, minutes: task.minutes };
      if (worker.site[hour]! > 200) sunnyTasks++;
      queue.splice(i, 1);
    }
  }
  figures.sunnyShare = sunnyTasks / Math.max(1, nextId);
  figures.deadlineMisses += queue.length;
  return figures;
}

const aware = simulate(DEFAULT_POLICY);
const blind = simulate({ ...DEFAULT_POLICY, energyBlind: true });
console.log(
  `16 solar Pis (Albuquerque and Greensboro TMY3), days ${startDay.toString()}-${(startDay + days - 1).toString()}, ${tasksPerHour.toString()} tasks/h of 15-45 min:`,
);
console.log(
  "| dispatch | completed | lost to brown-outs | deadline misses | brown-outs | task energy | started in sun | min charge |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const [name, f] of [
  ["energy-aware", aware],
  ["energy-blind", blind],
] as const) {
  console.log(
    `| ${name} | ${f.completed.toString()} | ${f.lostToBrownOuts.toString()} | ${f.deadlineMisses.toString()} | ${f.brownOuts.toString()} | ${f.taskWh.toFixed(0)} Wh | ${(100 * f.sunnyShare).toFixed(0)} % | ${f.minChargePct.toFixed(0)} % |`,
  );
}
