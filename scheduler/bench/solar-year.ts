// A solar year of a pool: the devnet's ten boards at each TMY3 site (NREL hourly irradiance,
// worker/data/solar), a mix of three apps arriving round the clock, and three policies on the same
// weather and the same arrivals:
//   - "admission": energy-aware dispatch with forecast-driven admission (run times learned from
//     receipts, early declines: scheduler/src/dispatch/harvest.ts), and the worker's energy manager;
//   - "aware": energy-aware dispatch on declared run times, no declines, the worker's energy manager;
//   - "blind": least-loaded dispatch; workers start whatever they are offered and never sleep (the
//     Witty Pi's low-voltage cut-off is the only protection).
//   npm run bench:solar-year -- [tasksPerHour=6] [days=365] [--idle-watts W]
// --idle-watts: the Pi's idle draw (default the simulator's 2.7 W, pidramble 2019); the published
// figures for a Pi 4 B range 1.6-3.0 W (docs/hardware.md section 6), and availability at the small
// boards depends on it more than on anything the policy does (docs/benchmarks.md).
//
// What is reused, not rewritten: the scheduler's Dispatcher and admission rules; the worker's energy
// policy (decideStart, decideIdle, awakeSeconds, wakeTime) over its learned PvForecast; the
// simulator's physics (PvPanel on TMY3 with transposition and temperature, the Battery's OCV curves,
// internal resistance and charge taper, the MPPT controller, the Pi 4's measured draw). What is
// simplified, to run two sites x three policies x a year of ten boards in about three minutes:
// one-minute steps instead of the simulator's one-second physics and register-level drivers
// (bench:solar-week runs those, one board a week); the worker reads its true state of charge instead of its driver's estimate; the Witty Pi
// cuts at the per-cell cut-off voltage (boardFactory.ts) and boots at the recovery voltage with no
// grace period; the scheduler is in memory (no chain, no SQLite); a task's energy is metered
// from the simulated load (what the worker's EnergyMeter would integrate), so these figures do not
// depend on the worker's per-task metrics. Off-grid boards: mains energy is zero by construction,
// so "finished on harvested energy" means finished before its deadline without a brown-out.
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { WORKER_BOARDS } from "../../devnet/workers.js";
import { cellVolts } from "../../worker/src/boardFactory.js";
import { PvForecast, slotOf } from "../../worker/src/energy/forecast.js";
import {
  awakeSeconds,
  endReserveByHour,
  decideIdle,
  decideStart,
  DEFAULT_ENERGY_POLICY,
  expectedTaskEnergy,
  type EnergyPolicyConfig,
} from "../../worker/src/energy/policy.js";
import { batteryWattHours } from "../../worker/src/runtime.js";
import { Battery } from "../../worker/src/simulator/battery.js";
import { PI4_POWER as PI4_MEASURED } from "../../worker/src/simulator/board.js";
import { chargeControllerOutput, loadTmy3, PvPanel } from "../../worker/src/simulator/pvPanel.js";
import { DEFAULT_POLICY, Dispatcher, type DispatchPolicy, type WorkerState } from "../src/dispatch/dispatcher.js";
import {
  DEFAULT_HARVEST_POLICY,
  learnAppEnergy,
  taskEnergy,
  workersUnableToFinish,
  type AppEnergy,
} from "../src/dispatch/harvest.js";

const USAGE = "npm run bench:solar-year -- [tasksPerHour > 0] [days 1-365] [--idle-watts W, 0.5-6]";
const { values: flags, positionals } = (() => {
  try {
    return parseArgs({ options: { "idle-watts": { type: "string" } }, allowPositionals: true });
  } catch (error) {
    throw new Error(`${(error as Error).message}. Usage: ${USAGE}`);
  }
})();
const tasksPerHour = Number(positionals[0] ?? 6);
const days = Number(positionals[1] ?? 365);
const idleWatts = Number(flags["idle-watts"] ?? PI4_MEASURED.idleWatts);
if (!(tasksPerHour > 0) || !Number.isInteger(days) || days < 1 || days > 365 || !(idleWatts >= 0.5 && idleWatts <= 6)) {
  throw new Error(
    `usage: ${USAGE}; got '${String(positionals[0])}' '${String(positionals[1])}' --idle-watts '${String(flags["idle-watts"])}'`,
  );
}
/** The Pi's draw: the simulator's measured figures, the idle one as chosen. */
const PI4_POWER = { ...PI4_MEASURED, idleWatts };
const SOLAR_DIR = process.env.SUNPOOL_SOLAR_DIR ?? fileURLToPath(new URL("../../worker/data/solar", import.meta.url));
const IMAGES = fileURLToPath(new URL("../../docs/images", import.meta.url));

const MINUTE = 60_000;
const YEAR_START = Date.UTC(2026, 0, 1);
const HEARTBEAT_MINUTES = 10;
/** The simulator board's figures (simulator/board.ts defaults): converter efficiency and the Witty Pi's standby draw. */
const CONVERTER = 0.9;
const STANDBY_WATTS = 0.02;
const MPPT = { kind: "mppt" } as const;
/** A state of charge below this is a deep discharge (both chemistries age fast there). */
const DEEP_DISCHARGE = 0.1;
/**
 * Availability is the issue's: minutes a board could accept work over its daylight-plus-battery
 * minutes, those in which the panel carries the idle Pi through the converter or the battery holds
 * charge above the energy-aware worker's floor (what the worker's ledger counts, ledger.ts).
 */
const FLOOR = DEFAULT_ENERGY_POLICY.floor;
/** What an idle energy-aware worker asks itself (rule 3) and what "could accept work" means here: a wordcount. */
const TYPICAL_NEEDS = { expectedSeconds: 900, cpuMillicores: 2000 };

interface App {
  id: string;
  /** What the owner declares (the scheduler plans with it until receipts teach it better). */
  declaredSeconds: number;
  /** The mean of the real run time (each task draws within ±30 %). */
  seconds: number;
  cores: number;
  /** Start window: 10 x the category's time reference (50 min, 200 min, 10 h). */
  windowSeconds: number;
  share: number;
}

/** A realistic mix: many short jobs, fewer long batch ones; owners declare generously. */
const APPS: App[] = [
  { id: "primes", declaredSeconds: 300, seconds: 180, cores: 1, windowSeconds: 3000, share: 0.5 },
  { id: "wordcount", declaredSeconds: 900, seconds: 720, cores: 2, windowSeconds: 12_000, share: 0.35 },
  { id: "render", declaredSeconds: 3600, seconds: 2400, cores: 4, windowSeconds: 36_000, share: 0.15 },
];

const appWatts = (app: App) => PI4_POWER.idleWatts + ((PI4_POWER.busyWatts - PI4_POWER.idleWatts) * app.cores) / 4;

interface Task {
  id: number;
  app: App;
  seconds: number;
  arrivedMs: number;
  deadlineMs: number;
  exclude: Set<string>;
  touched: boolean;
  checkedMs: number;
}

type Power = "on" | "asleep" | "off";

interface SimWorker {
  state: WorkerState;
  battery: Battery;
  panelWatts: number;
  capacityAh: number;
  cutoffVolts: number;
  recoveryVolts: number;
  policy: EnergyPolicyConfig;
  power: Power;
  wakeAtMs: number;
  task?: { task: Task; endsAtMs: number; startedMs: number; wattHours: number };
  profile: Map<number, number>;
  profiledSlot: number;
  history: Map<string, { runs: number; wattHours: number; seconds: number }>;
  pvUsed: number;
  /** The worker's last answer to "would I start a typical task now?" (asked at heartbeats, after a task, on waking). */
  canAccept: boolean;
  recheck: boolean;
}

interface PolicyDef {
  name: "admission" | "aware" | "blind";
  dispatch: DispatchPolicy;
  aware: boolean;
  admission: boolean;
}

const POLICIES: PolicyDef[] = [
  { name: "admission", dispatch: DEFAULT_POLICY, aware: true, admission: true },
  { name: "aware", dispatch: DEFAULT_POLICY, aware: true, admission: false },
  { name: "blind", dispatch: { ...DEFAULT_POLICY, energyBlind: true }, aware: false, admission: false },
];

interface Figures {
  arrived: number;
  declined: number;
  finished: number;
  late: number;
  expired: number;
  brownOutLosses: number;
  brownOuts: number;
  workerDeclines: number;
  availableMinutes: number;
  couldMinutes: number;
  /** Per board (devnet/workers.ts order): daylight-plus-battery minutes, of them available, asleep or cut, awake but refusing. */
  boards: { could: number; available: number; asleep: number; refusing: number }[];
  deepDischargeMinutes: number;
  dischargedAh: number;
  capacityAh: number;
  panelToLoadWh: number;
  batteryToLoadWh: number;
  panelToBatteryWh: number;
  mainsWh: number;
  socByDay: number[];
  tasksByDay: number[];
  minSoc: number;
}

/** Panel power per minute of the year for a 1 W panel at the site (the model is linear in its rating). */
function panelYear(file: string): Float64Array {
  const panel = new PvPanel({ kind: "tmy3", data: loadTmy3(join(SOLAR_DIR, file)) }, { ratedWatts: 1 });
  const minutes = new Float64Array(days * 1440 + 1);
  for (let m = 0; m < minutes.length; m++) minutes[m] = panel.exactPowerAt(YEAR_START + m * MINUTE);
  return minutes;
}

function simulate(pv: Float64Array, def: PolicyDef): Figures {
  let seed = 2026;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const workers: SimWorker[] = WORKER_BOARDS.map(({ board }, i) => {
    const battery = new Battery({ ...board.battery, stateOfCharge: board.initialStateOfCharge });
    const volts = cellVolts(board.battery.chemistry);
    return {
      state: {
        address: `w${i.toString()}`,
        platforms: 2,
        cores: 4,
        memoryMiB: 4096,
        slots: 1,
        active: 0,
        lastSeenMs: YEAR_START,
        good: 10,
        bad: 0,
        lastAssignedMs: 0,
      },
      battery,
      panelWatts: board.panelWatts,
      capacityAh: board.battery.capacityAh,
      cutoffVolts: volts.cutoff * board.battery.cells,
      recoveryVolts: volts.recovery * board.battery.cells,
      // The worker starts from the configured idle draw, as an owner would set it (the agent then learns its own).
      policy: { ...DEFAULT_ENERGY_POLICY, idleWatts, batteryWattHours: batteryWattHours(board.battery) },
      power: "on",
      wakeAtMs: 0,
      profile: new Map(),
      profiledSlot: -1,
      history: new Map(),
      pvUsed: 0,
      canAccept: true,
      recheck: true,
    };
  });
  const dispatcher = new Dispatcher({ ...def.dispatch, offlineAfterMs: 3 * HEARTBEAT_MINUTES * MINUTE });
  for (const worker of workers) dispatcher.upsert(worker.state);
  const byAddress = new Map(workers.map((worker) => [worker.state.address, worker]));
  const learned = new Map<string, AppEnergy>();
  const figures: Figures = {
    arrived: 0,
    declined: 0,
    finished: 0,
    late: 0,
    expired: 0,
    brownOutLosses: 0,
    brownOuts: 0,
    workerDeclines: 0,
    availableMinutes: 0,
    couldMinutes: 0,
    boards: workers.map(() => ({ could: 0, available: 0, asleep: 0, refusing: 0 })),
    deepDischargeMinutes: 0,
    dischargedAh: 0,
    capacityAh: workers.reduce((sum, worker) => sum + worker.capacityAh, 0),
    panelToLoadWh: 0,
    batteryToLoadWh: 0,
    panelToBatteryWh: 0,
    mainsWh: 0,
    socByDay: [],
    tasksByDay: [],
    minSoc: 1,
  };
  let queue: Task[] = [];
  let nextId = 0;
  let arrivals = 0;
  let daySoc = 0;
  let dayTasks = 0;

  const release = (worker: SimWorker) => {
    worker.task = undefined;
    worker.recheck = true;
    dispatcher.release(worker.state.address);
  };

  const typicalTask = (worker: SimWorker) => expectedTaskEnergy(worker.policy, TYPICAL_NEEDS, worker.history.get("wordcount"));

  const outlookOf = (worker: SimWorker, nowMs: number): NonNullable<WorkerState["outlook"]> => {
    const soc = worker.battery.stateOfCharge;
    const loadWatts = worker.task === undefined ? PI4_POWER.idleWatts : appWatts(worker.task.task.app);
    // The blind policy reads no outlook: skip the forecast's cost.
    if (!def.aware) return { stateOfChargePct: soc * 100, pvWatts: worker.pvUsed, loadWatts, awakeSeconds: 86_400 };
    const state = { nowMs, stateOfCharge: soc, pvWatts: worker.pvUsed };
    const forecast = new PvForecast(worker.profile, nowMs, worker.pvUsed);
    const hourly = Array.from({ length: 24 }, (_, h) => forecast.wattHours(nowMs + h * 3_600_000, 3600));
    return {
      stateOfChargePct: soc * 100,
      pvWatts: worker.pvUsed,
      loadWatts,
      awakeSeconds: Math.round(awakeSeconds(worker.policy, state, forecast)),
      batteryWattHours: worker.policy.batteryWattHours,
      floorPct: worker.policy.floor * 100,
      idleWatts: worker.policy.idleWatts,
      pvForecastWatts: hourly,
      endReservePct: endReserveByHour(worker.policy, nowMs, forecast, 24).map((reserve) => reserve * 100),
    };
  };

  const end = days * 1440;
  for (let minute = 0; minute < end; minute++) {
    const nowMs = YEAR_START + minute * MINUTE;
    // Arrivals: a steady rate, the app drawn from the mix.
    for (arrivals += tasksPerHour / 60; arrivals >= 1; arrivals--) {
      const r = random();
      const app = r < APPS[0]!.share ? APPS[0]! : r < APPS[0]!.share + APPS[1]!.share ? APPS[1]! : APPS[2]!;
      queue.push({
        id: nextId++,
        app,
        seconds: app.seconds * (0.7 + 0.6 * random()),
        arrivedMs: nowMs,
        deadlineMs: nowMs + app.windowSeconds * 1000,
        exclude: new Set(),
        touched: false,
        checkedMs: -Infinity,
      });
      figures.arrived++;
    }

    // Physics, one minute per board.
    for (const [index, worker] of workers.entries()) {
      const running = worker.task;
      // Asleep, the Pi has halted and the Witty Pi has cut its 5 V (after a few seconds, neglected
      // here): only the Witty Pi's standby draws, as in the register-level simulator.
      const piWatts = worker.power !== "on" ? 0 : running === undefined ? PI4_POWER.idleWatts : appWatts(running.task.app);
      const loadIn = piWatts / CONVERTER + STANDBY_WATTS;
      const available = pv[minute]! * worker.panelWatts;
      const battery = worker.battery;
      const charge = chargeControllerOutput(MPPT, available, battery.openCircuitVolts());
      const amps = battery.currentForPower(charge - loadIn);
      const volts = battery.terminalVolts(amps);
      const used = Math.min(charge, Math.max(0, amps * volts + loadIn));
      battery.step(amps, 60);
      worker.pvUsed = used;
      const fromPanel = Math.min(used, loadIn);
      figures.panelToLoadWh += fromPanel / 60;
      figures.batteryToLoadWh += Math.max(0, loadIn - fromPanel) / 60;
      figures.panelToBatteryWh += Math.max(0, used - fromPanel) / 60;
      if (amps < 0) figures.dischargedAh += (-amps * 60) / 3600;
      if (running !== undefined) running.wattHours += piWatts / 60;
      const soc = battery.stateOfCharge;
      figures.minSoc = Math.min(figures.minSoc, soc);
      daySoc += soc;
      if (soc < DEEP_DISCHARGE) figures.deepDischargeMinutes++;
      if (available * CONVERTER >= PI4_POWER.idleWatts || soc > FLOOR) {
        // Could it accept work? The blind worker takes whatever comes while it is up; an energy-aware
        // one is busy or would start a typical task.
        const board = figures.boards[index]!;
        figures.couldMinutes++;
        board.could++;
        if (worker.power !== "on") board.asleep++;
        else if (!def.aware || running !== undefined || worker.canAccept) {
          figures.availableMinutes++;
          board.available++;
        } else board.refusing++;
      }
      // The Witty Pi: cut at the low-voltage threshold, boot again at the recovery voltage.
      if (worker.power === "on" && (volts < worker.cutoffVolts || battery.empty)) {
        worker.power = "off";
        figures.brownOuts++;
        if (running !== undefined) {
          figures.brownOutLosses++;
          running.task.exclude.add(worker.state.address);
          queue.push(running.task);
          release(worker);
        }
        worker.state.lastSeenMs = nowMs - dispatcher.policy.offlineAfterMs - 1;
        dispatcher.upsert(worker.state);
      } else if (worker.power === "off" && battery.terminalVolts(0) >= worker.recoveryVolts) {
        worker.power = "on";
        worker.recheck = true;
      } else if (worker.power === "asleep" && nowMs >= worker.wakeAtMs) {
        worker.power = "on";
        worker.recheck = true;
      }
      if (worker.power !== "on") continue;
      // What the agent learns from its samples: the panel's profile, one reading per slot.
      const slot = slotOf(nowMs);
      if (slot !== worker.profiledSlot) {
        worker.profiledSlot = slot;
        const previous = worker.profile.get(slot);
        worker.profile.set(slot, previous === undefined ? used : 0.8 * previous + 0.2 * used);
      }
      if (running !== undefined && nowMs >= running.endsAtMs) {
        const seconds = (nowMs - running.startedMs) / 1000;
        const app = running.task.app;
        const history = worker.history.get(app.id);
        worker.history.set(
          app.id,
          history === undefined
            ? { runs: 1, wattHours: running.wattHours, seconds }
            : {
                runs: history.runs + 1,
                wattHours: 0.7 * history.wattHours + 0.3 * running.wattHours,
                seconds: 0.7 * history.seconds + 0.3 * seconds,
              },
        );
        learned.set(app.id, learnAppEnergy(learned.get(app.id), { seconds, wattHours: running.wattHours }));
        if (nowMs <= running.task.deadlineMs) {
          figures.finished++;
          dayTasks++;
        } else {
          figures.late++;
        }
        release(worker);
      }
      if (def.aware && worker.task === undefined && worker.recheck && minute % HEARTBEAT_MINUTES !== 0) {
        const state = { nowMs, stateOfCharge: soc, pvWatts: used };
        worker.canAccept = decideStart(
          worker.policy,
          state,
          new PvForecast(worker.profile, nowMs, used),
          typicalTask(worker),
        ).start;
        worker.recheck = false;
      }
      if (minute % HEARTBEAT_MINUTES === 0) {
        worker.state.lastSeenMs = nowMs;
        worker.state.outlook = outlookOf(worker, nowMs);
        if (def.aware && worker.task === undefined) {
          const state = { nowMs, stateOfCharge: soc, pvWatts: used };
          const forecast = new PvForecast(worker.profile, nowMs, used);
          const typical = typicalTask(worker);
          worker.canAccept = decideStart(worker.policy, state, forecast, typical).start;
          worker.recheck = false;
          const idle = decideIdle(worker.policy, state, forecast, typical);
          if (idle.sleep) {
            // The farewell heartbeat: offline now, with the outlook it went to sleep with.
            worker.power = "asleep";
            worker.wakeAtMs = idle.wakeAtMs;
            worker.state.outlook = { ...worker.state.outlook, awakeSeconds: 0 };
            worker.state.lastSeenMs = nowMs - dispatcher.policy.offlineAfterMs - 1;
          }
        }
        dispatcher.upsert(worker.state);
      }
    }
    if ((minute + 1) % 1440 === 0) {
      figures.socByDay.push(daySoc / 1440 / workers.length);
      figures.tasksByDay.push(dayTasks);
      daySoc = 0;
      dayTasks = 0;
    }

    // The scheduling pass: earliest deadline first.
    queue.sort((a, b) => a.deadlineMs - b.deadlineMs);
    const kept: Task[] = [];
    for (const task of queue) {
      if (nowMs >= task.deadlineMs) {
        figures.expired++;
        continue;
      }
      const energy = taskEnergy(task.app.declaredSeconds, def.admission ? learned.get(task.app.id) : undefined);
      const secondsLeft = (task.deadlineMs - nowMs) / 1000;
      const tooLate = energy.seconds * dispatcher.policy.awakeMargin > secondsLeft;
      if (def.admission && !task.touched && tooLate) {
        figures.declined++;
        continue;
      }
      const needs = {
        platforms: 2,
        memoryMiB: 256,
        cpuMillicores: task.app.cores * 1000,
        expectedSeconds: energy.seconds,
        exclude: task.exclude,
      };
      let placed = false;
      for (let attempt = 0; attempt < 3 && !placed; attempt++) {
        const chosen = dispatcher.select(needs, nowMs);
        if (chosen === undefined) break;
        const worker = byAddress.get(chosen.address)!;
        const decision = def.aware
          ? decideStart(
              worker.policy,
              { nowMs, stateOfCharge: worker.battery.stateOfCharge, pvWatts: worker.pvUsed },
              new PvForecast(worker.profile, nowMs, worker.pvUsed),
              expectedTaskEnergy(
                worker.policy,
                { expectedSeconds: task.app.declaredSeconds, cpuMillicores: task.app.cores * 1000 },
                worker.history.get(task.app.id),
              ),
            )
          : { start: true };
        task.exclude.add(chosen.address);
        if (!decision.start) {
          figures.workerDeclines++;
          continue;
        }
        dispatcher.assign(chosen, nowMs);
        worker.task = { task, startedMs: nowMs, endsAtMs: nowMs + task.seconds * 1000, wattHours: 0 };
        task.touched = true;
        placed = true;
      }
      if (placed) continue;
      if (def.admission && !task.touched && nowMs - task.checkedMs >= 15 * MINUTE) {
        task.checkedMs = nowMs;
        const candidates = workers
          .filter((worker) => !task.exclude.has(worker.state.address))
          .map((worker) => ({
            ...(worker.state.outlook === undefined ? {} : { outlook: worker.state.outlook }),
            provenMains: true,
            online: dispatcher.isOnline(worker.state.address, nowMs),
            silentSeconds: (nowMs - worker.state.lastSeenMs) / 1000,
          }));
        const unable = workersUnableToFinish(candidates, energy, secondsLeft, {
          ...DEFAULT_HARVEST_POLICY,
          margin: dispatcher.policy.awakeMargin,
        });
        if (unable !== undefined && unable > 0) {
          figures.declined++;
          continue;
        }
      }
      kept.push(task);
    }
    queue = kept;
  }
  // Whatever is still queued or running at the end is neither finished nor lost.
  figures.arrived -= queue.length + workers.filter((worker) => worker.task !== undefined).length;
  return figures;
}

const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)} %`;
const kwh = (wh: number) => `${(wh / 1000).toFixed(1)} kWh`;

function row(name: string, f: Figures): string {
  const accepted = f.arrived - f.declined;
  const cells = [
    name,
    f.arrived.toLocaleString("en-US"),
    f.declined.toLocaleString("en-US"),
    f.finished.toLocaleString("en-US"),
    pct(f.finished / Math.max(1, accepted), 2),
    f.brownOutLosses.toString(),
    (f.expired + f.late).toLocaleString("en-US"),
    pct(f.availableMinutes / Math.max(1, f.couldMinutes)),
    (f.deepDischargeMinutes / 60).toFixed(0),
    (f.dischargedAh / f.capacityAh).toFixed(0),
    `${kwh(f.panelToLoadWh)} / ${kwh(f.batteryToLoadWh)} / ${kwh(f.mainsWh)}`,
    pct(f.minSoc, 0),
  ];
  return `| ${cells.join(" | ")} |`;
}

const COLORS = { admission: "#1b7837", aware: "#2166ac", blind: "#b2182b" } as const;

/** SoC and tasks per day over the year, one line per policy: a plain SVG, no plotting library. */
function plot(site: string, results: [PolicyDef["name"], Figures][]): string {
  const width = 960;
  const panel = 200;
  const left = 56;
  const right = 150;
  const top = 40;
  const gap = 50;
  const plotWidth = width - left - right;
  const x = (day: number) => left + (day / Math.max(1, days - 1)) * plotWidth;
  const maxTasks = Math.max(1, ...results.flatMap(([, f]) => f.tasksByDay));
  const tasksTop = Math.ceil(maxTasks / 20) * 20;
  const ySoc = (soc: number) => top + panel - soc * panel;
  const yTasks = (n: number) => top + 2 * panel + gap - (n / tasksTop) * panel;
  const line = (values: number[], y: (v: number) => number) =>
    values.map((v, day) => `${day === 0 ? "M" : "L"}${x(day).toFixed(1)},${y(v).toFixed(1)}`).join("");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width.toString()}" height="${(top + 2 * panel + gap + 40).toString()}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left.toString()}" y="20" font-size="14">${site}: fleet mean state of charge (daily mean) and tasks finished per day, ${tasksPerHour.toString()} tasks/h</text>`,
  ];
  for (const [label, y0, y1, ticks] of [
    ["state of charge", top, top + panel, [0, 0.25, 0.5, 0.75, 1].map((v) => [ySoc(v), pct(v, 0)] as const)],
    [
      "tasks per day",
      top + panel + gap,
      top + 2 * panel + gap,
      [0, 0.5, 1].map((v) => [yTasks(v * tasksTop), (v * tasksTop).toFixed(0)] as const),
    ],
  ] as const) {
    parts.push(
      `<rect x="${left.toString()}" y="${y0.toString()}" width="${plotWidth.toString()}" height="${(y1 - y0).toString()}" fill="none" stroke="#999"/>`,
    );
    parts.push(
      `<text x="12" y="${((y0 + y1) / 2).toString()}" transform="rotate(-90 12 ${((y0 + y1) / 2).toString()})" text-anchor="middle">${label}</text>`,
    );
    for (const [y, text] of ticks) {
      parts.push(
        `<line x1="${left.toString()}" x2="${(left + plotWidth).toString()}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`,
      );
      parts.push(`<text x="${(left - 6).toString()}" y="${(y + 4).toFixed(1)}" text-anchor="end">${text}</text>`);
    }
  }
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  months.forEach((name, month) => {
    const day = (Date.UTC(2026, month, 1) - YEAR_START) / 86_400_000;
    if (day >= days) return;
    parts.push(`<text x="${x(day).toFixed(1)}" y="${(top + 2 * panel + gap + 16).toString()}">${name}</text>`);
  });
  results.forEach(([name, f], i) => {
    parts.push(`<path d="${line(f.socByDay, ySoc)}" fill="none" stroke="${COLORS[name]}" stroke-width="1.2"/>`);
    parts.push(`<path d="${line(f.tasksByDay, yTasks)}" fill="none" stroke="${COLORS[name]}" stroke-width="1.2"/>`);
    const ly = top + 14 + i * 18;
    parts.push(
      `<line x1="${(width - right + 12).toString()}" x2="${(width - right + 36).toString()}" y1="${ly.toString()}" y2="${ly.toString()}" stroke="${COLORS[name]}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${(width - right + 42).toString()}" y="${(ly + 4).toString()}">${name}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

const SITES = [
  { name: "albuquerque", label: "Albuquerque, NM", file: "albuquerque-nm-tmy3.csv" },
  { name: "greensboro", label: "Greensboro, NC", file: "greensboro-nc-tmy3.csv" },
] as const;

const started = performance.now();
console.log(
  `The devnet's ${WORKER_BOARDS.length.toString()} boards at each site, ${days.toString()} days of TMY3 weather, ${tasksPerHour.toString()} tasks/h ` +
    `(${APPS.map((app) => `${pct(app.share, 0)} ${app.id} ~${(app.seconds / 60).toFixed(0)} min, window ${(app.windowSeconds / 60).toFixed(0)} min`).join("; ")}), ` +
    `the Pi idle at ${idleWatts.toString()} W:`,
);
// The plots in docs/ are the default run's; another idle draw's go to the temporary folder.
const plots = idleWatts === PI4_MEASURED.idleWatts ? IMAGES : join(tmpdir(), "sunpool-solar-year");
mkdirSync(plots, { recursive: true });
for (const site of SITES) {
  const pv = panelYear(site.file);
  const results = POLICIES.map((def) => [def.name, simulate(pv, def)] as [PolicyDef["name"], Figures]);
  console.log(`\n${site.label}`);
  console.log(
    "| policy | tasks | declined early | finished | finished / accepted | lost to brown-outs | expired or late | availability | deep-discharge h | cycles | panel / battery / mains → load | min SoC |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
  for (const [name, figures] of results) console.log(row(name, figures));
  const admission = results.find(([name]) => name === "admission")![1];
  console.log(
    "\nadmission, by board: availability (unavailable daylight-plus-battery hours: asleep / awake refusing a typical task)",
  );
  WORKER_BOARDS.forEach(({ label }, i) => {
    const board = admission.boards[i]!;
    console.log(
      `  board ${i.toString()}, ${label.replace(/^\S+( \([^)]*\))? /, "")}: ${pct(board.available / Math.max(1, board.could))} (${(board.asleep / 60).toFixed(0)} h / ${(board.refusing / 60).toFixed(0)} h)`,
    );
  });
  const file = join(plots, `solar-year-${site.name}.svg`);
  writeFileSync(file, `${plot(site.label, results)}\n`);
  console.log(`plot: ${file}`);
}
console.log(`\n(simulated in ${((performance.now() - started) / 1000).toFixed(0)} s)`);
