// The simulated clock: timers fire in deadline order at their own instants, aborts reject, and the
// three modes (manual, auto, scaled) move time as documented.
import { expect } from "chai";

import { SimulatedClock } from "../../../worker/src/simulator/clock.js";
import { rejection } from "./fixtures.js";

describe("SimulatedClock", () => {
  it("manual: fires timers in deadline order, each seeing its own instant", async () => {
    const clock = new SimulatedClock({ start: 1000, mode: "manual" });
    const seen: [string, number][] = [];
    const wait = (name: string, ms: number): Promise<void> => clock.sleep(ms).then(() => void seen.push([name, clock.now()]));
    const all = Promise.all([wait("c", 300), wait("a", 100), wait("b", 200), wait("b2", 200)]);
    await clock.advance(250);
    expect(seen).to.deep.equal([
      ["a", 1100],
      ["b", 1200],
      ["b2", 1200],
    ]);
    expect(clock.now()).to.equal(1250);
    await clock.advance(1000);
    await all;
    expect(seen.at(-1)).to.deep.equal(["c", 1300]);
  });

  it("manual: a sleep started by a timer's continuation fires within the same advance", async () => {
    const clock = new SimulatedClock({ start: 0, mode: "manual" });
    const times: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(10);
        times.push(clock.now());
      }
    })();
    await clock.advance(100);
    await loop;
    expect(times).to.deep.equal([10, 20, 30, 40, 50]);
  });

  it("rejects an aborted sleep with an AbortError and forgets the timer", async () => {
    const clock = new SimulatedClock({ start: 0, mode: "manual" });
    const abort = new AbortController();
    const p = clock.sleep(1000, abort.signal);
    abort.abort("stop");
    const err = await rejection(p);
    expect(err.name).to.equal("AbortError");
    expect(err.cause).to.equal("stop");
    expect(clock.pendingTimers).to.equal(0);
  });

  it("auto: jumps to the next deadline, so a simulated day of minute sleeps costs no waiting", async () => {
    const clock = new SimulatedClock({ start: 0, mode: "auto" });
    const t0 = performance.now();
    for (let i = 0; i < 1440; i++) await clock.sleep(60_000);
    expect(clock.now()).to.equal(86_400_000);
    // A real minute per sleep would take a day; even a loaded machine does this in well under 30 s.
    expect(performance.now() - t0).to.be.lessThan(30_000);
  });

  it("scaled: runs at speed × wall time", async () => {
    const clock = new SimulatedClock({ start: 0, mode: "scaled", speed: 1000, tickMs: 2 });
    const t0 = performance.now();
    await clock.sleep(200_000);
    const wall = performance.now() - t0;
    clock.stop();
    expect(clock.now()).to.be.at.least(200_000);
    // 200 s of simulated time: 0.2 s of wall time at speed 1000, never the 200 s of real time.
    expect(wall).to.be.within(150, 20_000);
  });
});
