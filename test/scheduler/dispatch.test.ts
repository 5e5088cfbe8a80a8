// The dispatch decision on its own: eligibility (platform, resources, energy outlook, distinct
// workers per replica) and preference (least loaded relative to capacity, solar surplus, this
// pool's record of the worker, the longest-idle worker on ties).
import { expect } from "chai";

import { DEFAULT_POLICY, Dispatcher, type TaskNeeds, type WorkerState } from "../../scheduler/src/dispatch/dispatcher.js";
import { initialReplicas } from "../../scheduler/src/tasks/pool.js";
import { ranges } from "../../scheduler/src/tasks/settlement.js";

const NOW = 1_000_000;
const ARM = 2;
const AMD = 1;

function worker(address: string, overrides: Partial<WorkerState> = {}): WorkerState {
  return {
    address,
    platforms: ARM,
    cores: 4,
    memoryMiB: 4096,
    slots: 1,
    active: 0,
    lastSeenMs: NOW,
    outlook: { stateOfChargePct: 80, pvWatts: 2, loadWatts: 4, awakeSeconds: 7200 },
    good: 0,
    bad: 0,
    lastAssignedMs: 0,
    ...overrides,
  };
}

const needs = (overrides: Partial<TaskNeeds> = {}): TaskNeeds => ({
  platforms: ARM,
  memoryMiB: 256,
  cpuMillicores: 1000,
  expectedSeconds: 600,
  exclude: new Set(),
  ...overrides,
});

function pool(...workers: WorkerState[]): Dispatcher {
  const dispatcher = new Dispatcher(DEFAULT_POLICY);
  for (const w of workers) dispatcher.upsert(w);
  return dispatcher;
}

describe("scheduler: dispatch decision", function () {
  it("only picks workers that can run the task: platform, memory, cores, free slot, online", function () {
    const dispatcher = pool(
      worker("amd64-only", { platforms: AMD }),
      worker("small", { memoryMiB: 128 }),
      worker("one-core", { cores: 1 }),
      worker("busy", { active: 1 }),
      worker("silent", { lastSeenMs: NOW - DEFAULT_POLICY.offlineAfterMs - 1 }),
      worker("fit"),
    );
    expect(dispatcher.select(needs({ memoryMiB: 512, cpuMillicores: 2000 }), NOW)?.address).to.equal("fit");
    dispatcher.remove("fit");
    expect(dispatcher.select(needs({ memoryMiB: 512, cpuMillicores: 2000 }), NOW)).to.equal(undefined);
  });

  it("never gives two replicas of a task to one worker", function () {
    const dispatcher = pool(worker("a", { slots: 4 }), worker("b", { slots: 4 }));
    const task = needs({ exclude: new Set(["a"]) });
    expect(dispatcher.select(task, NOW)?.address).to.equal("b");
    expect(dispatcher.select(needs({ exclude: new Set(["a", "b"]) }), NOW)).to.equal(undefined);
  });

  it("skips a worker whose outlook says it will not stay awake for the task, unless it is on mains", function () {
    const dispatcher = pool(
      worker("dusk", { outlook: { stateOfChargePct: 30, pvWatts: 0, loadWatts: 4, awakeSeconds: 800 } }),
      worker("mains", {
        outlook: { stateOfChargePct: 0, pvWatts: 0, loadWatts: 4, awakeSeconds: 0, mainsPowered: true },
        cores: 1,
      }),
    );
    // 600 s expected x 1.5 margin = 900 s needed; "dusk" has 800 s.
    expect(dispatcher.select(needs({ cpuMillicores: 1000 }), NOW)?.address).to.equal("mains");
    // A short task fits in dusk's window, and dusk has more cores.
    expect(dispatcher.select(needs({ expectedSeconds: 60 }), NOW)?.address).to.equal("dusk");
    // Energy-blind dispatch (the benchmark's baseline) would have sent the long task to dusk.
    const blind = new Dispatcher({ ...DEFAULT_POLICY, energyBlind: true });
    for (const w of dispatcher.workers.values()) blind.upsert({ ...w });
    expect(blind.select(needs(), NOW)?.address).to.equal("dusk");
  });

  it("prefers the least loaded, then solar surplus, then the better record, then the longest idle", function () {
    const loaded = pool(worker("half-busy", { slots: 2, active: 1 }), worker("idle", { slots: 2 }));
    expect(loaded.select(needs(), NOW)?.address).to.equal("idle");

    const sunny = pool(
      worker("grid", { lastAssignedMs: 0 }),
      worker("sunny", { outlook: { stateOfChargePct: 60, pvWatts: 9, loadWatts: 4, awakeSeconds: 7200 }, lastAssignedMs: 5 }),
    );
    expect(sunny.select(needs(), NOW)?.address).to.equal("sunny");

    const record = pool(worker("flaky", { good: 10, bad: 3 }), worker("steady", { good: 10, bad: 0 }));
    expect(record.select(needs(), NOW)?.address).to.equal("steady");

    const ties = pool(worker("recent", { lastAssignedMs: 50 }), worker("longest-idle", { lastAssignedMs: 10 }));
    expect(ties.select(needs(), NOW)?.address).to.equal("longest-idle");
  });

  it("assignments count against capacity until released", function () {
    const dispatcher = pool(worker("a"), worker("b"));
    const first = dispatcher.select(needs(), NOW)!;
    dispatcher.assign(first, NOW);
    const second = dispatcher.select(needs(), NOW)!;
    expect(second.address).to.not.equal(first.address);
    dispatcher.assign(second, NOW);
    expect(dispatcher.select(needs(), NOW)).to.equal(undefined);
    dispatcher.release(first.address);
    expect(dispatcher.select(needs(), NOW)?.address).to.equal(first.address);
  });

  it("the column scan decides exactly as the reference rules, through assignments and releases", function () {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const workers = Array.from({ length: 300 }, (_, i) =>
      worker(`w${i.toString()}`, {
        platforms: random() < 0.7 ? ARM : AMD,
        cores: random() < 0.5 ? 4 : 1,
        memoryMiB: random() < 0.3 ? 128 : 2048,
        slots: random() < 0.5 ? 1 : 3,
        lastSeenMs: NOW - Math.floor(random() * 60_000),
        outlook:
          random() < 0.1
            ? undefined
            : { stateOfChargePct: 50, pvWatts: 8 * random(), loadWatts: 4, awakeSeconds: Math.floor(3000 * random()) },
        good: Math.floor(10 * random()),
        bad: Math.floor(2 * random()),
        lastAssignedMs: Math.floor(10 * random()),
        unproven: random() < 0.2,
      }),
    );
    for (const w of workers) if (w.outlook !== undefined && random() < 0.1) w.outlook.mainsPowered = true;
    const dispatcher = pool(...workers);
    // The rules as docs/scheduler.md ("Dispatch") states them, written out here rather than taken
    // from the module: a wrong rule in dispatcher.ts must disagree with this, not agree with itself.
    const awakeFor = (w: WorkerState) =>
      w.outlook === undefined ? 60 : w.outlook.mainsPowered === true && w.unproven !== true ? Infinity : w.outlook.awakeSeconds;
    const eligible = (w: WorkerState, task: TaskNeeds) =>
      NOW - w.lastSeenMs <= 45_000 &&
      w.active < w.slots &&
      (w.platforms & task.platforms) !== 0 &&
      w.memoryMiB >= task.memoryMiB &&
      w.cores * 1000 >= task.cpuMillicores &&
      !task.exclude.has(w.address) &&
      awakeFor(w) >= 1.5 * task.expectedSeconds;
    const score = (w: WorkerState) => {
      const sunny = w.unproven !== true && w.outlook !== undefined && w.outlook.pvWatts >= w.outlook.loadWatts;
      const capacity = Math.sqrt(w.cores) * ((1 + w.good) / (1 + w.good + 3 * w.bad)) * (sunny ? 1.5 : 1);
      return (w.active + 1) / w.slots / capacity;
    };
    const reference = (task: TaskNeeds) =>
      workers.filter((w) => eligible(w, task)).sort((a, b) => score(a) - score(b) || a.lastAssignedMs - b.lastAssignedMs)[0];
    const held: string[] = [];
    for (let round = 0; round < 500; round++) {
      const task = needs({
        platforms: random() < 0.5 ? ARM : ARM | AMD,
        memoryMiB: random() < 0.5 ? 256 : 1024,
        cpuMillicores: random() < 0.8 ? 1000 : 2000,
        expectedSeconds: Math.floor(1500 * random()),
        exclude: new Set(held.slice(-3)),
      });
      const expected = reference(task);
      const chosen = dispatcher.select(task, NOW);
      expect(chosen?.address, `round ${round.toString()}`).to.equal(expected?.address);
      if (chosen !== undefined && random() < 0.7) {
        dispatcher.assign(chosen, NOW - 1000 + round);
        held.push(chosen.address);
      } else if (held.length > 0) {
        dispatcher.release(held.splice(Math.floor(random() * held.length), 1)[0]!);
      }
    }
  });

  it("starts enough replicas for the trust level from new workers, and batches refunds by range", function () {
    // Consensus math (docs/protocol.md): k new workers (weight 2 each) agree when 2^k t > (1 + 2^k)(t - 1).
    expect([1, 2, 3, 5, 10, 20].map(initialReplicas)).to.deep.equal([1, 1, 2, 3, 4, 5]);
    expect(ranges([4, 0, 1, 2, 7, 8])).to.deep.equal([
      [0, 3],
      [4, 1],
      [7, 2],
    ]);
  });
});
