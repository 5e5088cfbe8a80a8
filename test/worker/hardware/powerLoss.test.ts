// Power loss on a solar Pi, through the real drivers over the register-level simulator: the RTC reset
// after a full power loss (no CR2032) and its resync from NTP or the chain's block time, and the
// low-voltage cut with recovery once the panel has charged the battery (docs/hardware.md §1.4, §1.11).
import { expect } from "chai";

import { createBoard, type BoardHooks } from "../../../worker/src/hardware/board.js";
import { HardwareError } from "../../../worker/src/hardware/errors.js";
import { decodeRtc, toBcd, WittyPi4 } from "../../../worker/src/hardware/wittyPi4.js";
import type { SimulatedBoard } from "../../../worker/src/simulator/board.js";
import { MCU_REG } from "../../../worker/src/simulator/wittyPi4Mcu.js";
import { BOARD_CONFIG, boardOn, NIGHT, simulate } from "../simulator/fixtures.js";

/** A Pi's Linux clock without NTP: it resumed from its last shutdown, `behindMs` late; `set` moves it. */
function linuxClock(sim: SimulatedBoard, behindMs: number) {
  let offset = -behindMs;
  const sets: number[] = [];
  return {
    sets,
    clock: { now: () => sim.clock.now() + offset, sleep: (ms: number) => sim.clock.sleep(ms) },
    hooks: (synchronized: () => boolean, referenceTime?: () => Promise<number | undefined>): BoardHooks => ({
      kind: "simulated",
      retryDelayMs: 10,
      powerOff: () => {
        sim.halt();
        return Promise.resolve();
      },
      systemClock: {
        synchronized,
        set: (at: Date) => {
          sets.push(at.getTime());
          offset = at.getTime() - sim.clock.now();
          return Promise.resolve();
        },
      },
      ...(referenceTime === undefined ? {} : { referenceTime }),
    }),
  };
}

/** Unplug the battery of a Witty Pi without its CR2032 for `ms`, then plug it back (default-on brings the Pi up). */
async function fullPowerLoss(sim: SimulatedBoard, ms: number): Promise<void> {
  sim.disconnectBattery();
  const off = await sim.waitForPowerOff(5000);
  expect(off?.cause).to.equal("brown-out");
  await sim.clock.sleep(ms);
  const on = sim.waitForPowerOn(60_000);
  sim.connectBattery();
  expect((await on)?.reason).to.equal(10); // supply connected with default-on (§1.3)
}

const DAY = 86_400_000;

describe("power loss: RTC reset and low-voltage recovery (simulator)", function () {
  this.timeout(60_000);

  it("decodes a reset RTC from its registers: oscillator-stop flag, year 0, impossible or implausible dates", () => {
    const at = (sec: number, day: number, month: number, year: number) =>
      decodeRtc([sec, toBcd(4), toBcd(5), toBcd(day), 0, toBcd(month), toBcd(year)]);
    expect(at(toBcd(7), 21, 6, 26)).to.deep.equal({ time: new Date("2026-06-21T05:04:07Z"), reset: false });
    expect(at(toBcd(7) | 0x80, 21, 6, 26)).to.include({ reset: true, why: "oscillator-stop flag set (the RTC lost power)" });
    expect(at(toBcd(7), 1, 1, 0)).to.include({ reset: true, why: 'year 0 ("bad time")' });
    expect(at(toBcd(7), 30, 2, 26).reset, "30 February").to.equal(true);
    expect(at(0x0a, 21, 6, 26).why).to.equal("a time register holds no valid BCD digit");
    expect(at(toBcd(7), 1, 1, 19).reset, "2019: before any worker ran").to.equal(true);
  });

  it("the simulated RTC restarts at 2000-01-01 with the OS flag after a full power loss without its CR2032, and keeps time with it", async () => {
    for (const backup of [false, true]) {
      const sim = simulate({ wittyPi: { rtcBackupCell: backup, registers: { [MCU_REG.CONF_DEFAULT_ON]: 1 } } });
      await fullPowerLoss(sim, 3_600_000);
      const raw = [];
      for (let reg = MCU_REG.RTC_SECONDS; reg <= MCU_REG.RTC_YEARS; reg++) raw.push(await sim.bus.readByte(0x08, reg));
      if (backup) {
        const status = decodeRtc(raw as [number, number, number, number, number, number, number]);
        expect(status.reset).to.equal(false);
        expect(Math.abs(status.time!.getTime() - sim.clock.now())).to.be.at.most(1000);
      } else {
        // PCF85063 reset values: seconds 0x80 (OS), 00:00, day 1, weekday 6, month 1, year 0.
        expect(raw[0]! & 0x80).to.equal(0x80);
        expect(raw.slice(2)).to.deep.equal([0, 1, 6, 1, 0]);
      }
      sim.close();
    }
  });

  it("after a full power loss without NTP the board sets the RTC and the Pi's clock from the chain's block time, then sleeps on it", async () => {
    const sim = simulate({ wittyPi: { rtcBackupCell: false, registers: { [MCU_REG.CONF_DEFAULT_ON]: 1 } } });
    await fullPowerLoss(sim, 6 * 3_600_000);
    // Linux resumed from the last shutdown: six hours late; the chain's latest block is 12 s old.
    const linux = linuxClock(sim, 6 * 3_600_000);
    const chainTime = () => Promise.resolve(sim.clock.now() - 12_000);
    const board = createBoard(
      sim.openBus(),
      sim.gpio,
      linux.clock,
      BOARD_CONFIG,
      linux.hooks(() => false, chainTime),
    );
    const started = await board.start();
    expect(started).to.deep.include({ rtcReset: true, rtcResetWhy: "oscillator-stop flag set (the RTC lost power)" });
    expect(started.clock).to.deep.equal({ trusted: true, source: "chain" });
    expect(linux.sets).to.have.length(1);
    expect(Math.abs(linux.clock.now() - sim.clock.now())).to.be.within(11_000, 13_000);
    const witty = new WittyPi4(sim.openBus(), { sleep: (ms) => sim.clock.sleep(ms) });
    expect(Math.abs((await witty.readRtc())!.getTime() - linux.clock.now())).to.be.at.most(1000);

    // The alarm is computed from the resynced clock: the Pi wakes an hour later in true time (±block age).
    const on = sim.waitForPowerOn(2 * 3_600_000);
    const asked = sim.clock.now();
    await board.sleepUntil(new Date(linux.clock.now() + 3_600_000));
    const woke = await on;
    expect(woke?.reason).to.equal(1);
    expect(woke!.at - asked).to.be.within(3_599_000, 3_602_000);
    sim.close();
  });

  it("with NTP the system clock sets a reset RTC; with neither NTP nor the chain no alarm is armed until a reference answers", async () => {
    const sim = simulate({ wittyPi: { rtcBackupCell: false, registers: { [MCU_REG.CONF_DEFAULT_ON]: 1 } } });
    await fullPowerLoss(sim, 3_600_000);
    const linux = linuxClock(sim, 0);
    const ntp = await createBoard(
      sim.openBus(),
      sim.gpio,
      linux.clock,
      BOARD_CONFIG,
      linux.hooks(() => true),
    ).start();
    expect(ntp).to.deep.include({ rtcReset: true, clock: { trusted: true, source: "system" } });
    expect(linux.sets).to.deep.equal([]);

    await fullPowerLoss(sim, 3_600_000);
    const stale = linuxClock(sim, 3_600_000);
    const board = createBoard(
      sim.openBus(),
      sim.gpio,
      stale.clock,
      BOARD_CONFIG,
      stale.hooks(() => false),
    );
    const started = await board.start();
    expect(started.clock).to.deep.equal({ trusted: false, source: "none" });
    let refused: unknown;
    await board.sleepUntil(new Date(stale.clock.now() + 3_600_000)).catch((error: unknown) => (refused = error));
    expect(refused).to.be.instanceOf(HardwareError).with.property("code", "HW_CLOCK_UNTRUSTED");
    expect(String((refused as Error).message)).to.include("the worker stays up meanwhile");
    const alarm = [27, 28, 29, 30].map((reg) => sim.mcu.registers[reg]);
    expect(alarm, "no startup alarm written").to.deep.equal([0, 0, 0, 0]);
    // The driver itself refuses too (the image's power-off hook arms alarms through it).
    const witty = new WittyPi4(sim.openBus(), { sleep: (ms) => sim.clock.sleep(ms) });
    let driverRefused: unknown;
    await witty
      .setStartupAlarm(new Date(sim.clock.now() + 3_600_000), new Date(sim.clock.now()))
      .catch((e: unknown) => (driverRefused = e));
    expect((driverRefused as HardwareError).message).to.match(
      /^not setting the startup alarm: the RTC was reset \(oscillator-stop flag set/,
    );
    expect(sim.piState).to.equal("running");

    // The chain answers later (the agent passes its provider's block time).
    expect(await board.syncClock(() => Promise.resolve(sim.clock.now()))).to.deep.equal({ trusted: true, source: "chain" });
    const on = sim.waitForPowerOn(2 * 3_600_000);
    const asked = sim.clock.now();
    await board.sleepUntil(new Date(stale.clock.now() + 3_600_000));
    // Rounded up to the next whole second, matched on the MCU's once-a-second check (§1.4).
    expect((await on)!.at - asked).to.be.within(3_599_000, 3_602_000);
    sim.close();
  });

  it("reads the low-voltage cut-off and recovery voltage back at start, and says what to do when they do not stick", async () => {
    const sim = simulate();
    const ok = await boardOn(sim).start();
    expect(ok.protection).to.deep.equal({ lowVoltageCutoff: 11.6, recoveryVoltage: 12.8 });

    const lossy = simulate();
    // The ATtiny acknowledges the recovery voltage but never stores it (every attempt of §1.5).
    for (let i = 0; i < 4; i++) lossy.mcu.injectLostWrite(MCU_REG.CONF_RECOVERY_VOLTAGE);
    const board = createBoard(lossy.openBus(), lossy.gpio, lossy.clock, BOARD_CONFIG, { kind: "simulated", retryDelayMs: 10 });
    let error: unknown;
    await board.start().catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(HardwareError).with.property("code", "HW_PROTECTION_NOT_SET");
    expect((error as Error).message).to.match(
      /^the Witty Pi's recovery voltage \(register 22\) reads disabled\/unknown after writing 12\.8 V\n\nStop UUGear's wittypi daemon/,
    );
    sim.close();
    lossy.close();
  });

  it("battery sags at night → low-voltage shutdown → the sun charges it → recovery powers the Pi back and the board starts again", async function () {
    // 21 June, 02:00 in Albuquerque, a nearly empty pack and a busy Pi: the cut comes before dawn.
    const sim = simulate({ battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6, stateOfCharge: 0.03 } });
    const board = boardOn(sim);
    board.onShutdownRequest(() => void board.powerOff());
    const first = await board.start();
    expect(first.sysUpSent).to.equal(true);
    sim.setLoad("busy");
    const off = await sim.waitForPowerOff(6 * 3_600_000);
    expect(off?.reason, "low voltage (§1.3)").to.equal(4);
    expect(off!.at).to.be.below(NIGHT + 3 * 3_600_000);
    expect(sim.mcu.registers[MCU_REG.LV_SHUTDOWN]).to.equal(1);
    expect(sim.truth().stateOfCharge, "cut before the BMS opens").to.be.above(0);
    await board.close();

    const on = await sim.waitForPowerOn(DAY);
    expect(on?.reason, "voltage restored (§1.3)").to.equal(5);
    const truth = sim.truth();
    expect(truth.pvAvailableWatts, "the sun is up").to.be.above(1);
    // The MCU decides on its ADC reading, within one count (0.0613 V, §1.2) of the true input.
    expect(truth.wittyInputVolts).to.be.at.least(12.8 - 0.0613);
    expect(truth.stateOfCharge).to.be.above(0.03);

    // The next life of the agent: the board reports why it is up, and samples again.
    const again = boardOn(sim);
    const second = await again.start();
    expect(second).to.deep.include({ reason: "voltage-restored", reasonCode: 5, lowVoltageShutdown: true });
    expect(sim.mcu.registers[MCU_REG.LV_SHUTDOWN], "cleared by SYS_UP (§1.2 reg 8)").to.equal(0);
    const sample = await again.sample();
    expect(sample.batteryAmps, "charging").to.be.above(0);
    await again.close();
    sim.close();
  });
});
