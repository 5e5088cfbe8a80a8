#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size --no-opt --no-maglev --no-sparkplug
// sunpool-worker: run the worker agent (`start`), look at its journal (`status`), and the device
// commands the Pi image runs around it (`provision`, `self-test`, `arm-wake`).
// --max-semi-space-size=1: a smaller young generation keeps start-up (module loading) from
// growing the heap to ~350 MiB on a 1 GB Pi; idle CPU drops too (bench:footprint).
// --optimize-for-size: V8 trades speed for a smaller heap (~1 MiB less at idle).
// --no-opt --no-maglev --no-sparkplug: JavaScript runs in V8's interpreter only. The compilers
// cost ~12 MiB of resident memory (their code paged in, their output kept) and buy nothing here:
// the agent waits on the network, Docker and the chain, its hashing and scrypt are native, and a
// signature takes 3 ms instead of 1.6 (docs/benchmarks.md, "Worker footprint"). WebAssembly keeps
// its own compilers.
import { rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { isSunpoolError } from "@sunpool/sdk";
import { keystoreAddress, readKeystore, readKeystorePassword } from "@sunpool/sdk/node";
import { Command } from "commander";
import { pino } from "pino";

import { boardOptions, createBoardSource } from "./boardFactory.js";
import { loadConfig, SetupError, type WorkerConfig } from "./config.js";
import { BOOT_FILES } from "./device/bootFiles.js";
import { armWakeAlarm } from "./device/wakeAlarm.js";
import { openI2cBus } from "./hardware/bus.js";
import { systemClock } from "./hardware/clock.js";
import { WittyPi4 } from "./hardware/wittyPi4.js";
import { Journal } from "./journal/journal.js";
import { startWorker } from "./runtime.js";
// Provisioning and the self-test are imported by their commands: `start`, which runs all day,
// does not keep their code (YAML, the owner file's schema) in memory.

const program = new Command("sunpool-worker")
  .description("The Sunpool worker agent: energy-aware Docker tasks for a workerpool, on a solar Pi or any Linux host.")
  .showHelpAfterError();

program
  .command("start")
  .description("Start the worker described by a config file (runs until SIGINT/SIGTERM, or until the Pi goes to sleep)")
  .option("-c, --config <file>", "config file", "worker.config.json")
  .addHelpText(
    "after",
    "\nThe keystore password comes from SUNPOOL_WORKER_PASSWORD or the file named by keystorePasswordFile.\n\nExample:\n  $ SUNPOOL_WORKER_PASSWORD=... sunpool-worker start --config worker.config.json",
  )
  .action(async (options: { config: string }) => {
    // Signals are handled from the first instant: a stop during start-up is a clean stop too.
    let stopping = false;
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    const shutdown = () => {
      stopping = true;
      void (worker?.stop() ?? Promise.resolve()).then(() => process.exit(0));
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    const config = await loadConfig(options.config);
    const logger = pino({ level: config.logLevel });
    const wallet = await openWallet(config);
    const source = createBoardSource(config);
    // One pass per power cycle. On a real Pi a sleep ends the process (the Witty Pi cuts power and
    // boots it again later); a simulated board lives in this process, so the loop waits for its
    // simulated power-on and starts the agent again, as a reboot would.
    for (;;) {
      if (stopping) return;
      worker = await startWorker({
        config,
        wallet,
        ...boardOptions(source),
        logger,
      });
      logger.info({ address: wallet.address, metrics: worker.metricsUrl }, "worker started");
      const exit = await worker.agent.exited;
      if (stopping || exit.reason !== "sleep") return;
      logger.info({ wakeAt: new Date(exit.wakeAtMs).toISOString(), why: exit.why }, "asleep until the wake-up alarm");
      await worker.stop();
      if (source?.simulator === undefined) process.exit(0);
      const woke = await source.simulator.waitForPowerOn(7 * 24 * 3600 * 1000);
      if (woke === undefined) throw new SetupError("the simulated board did not power on again within a simulated week");
      logger.info({ reason: woke.reason }, "simulated power-on");
    }
  });

program
  .command("status")
  .description("Print what the worker's journal says: tasks by step, open tasks, recent outcomes")
  .option("-c, --config <file>", "config file (for its dataDir)", "worker.config.json")
  .option("--json", "machine-readable output")
  .action(async (options: { config: string; json?: boolean }) => {
    const config = await loadConfig(options.config);
    const path = join(config.dataDir, "journal.sqlite");
    if (!existsSync(path)) throw new SetupError(`No journal at ${path}: this worker has not started yet (sunpool-worker start).`);
    const journal = new Journal(path);
    try {
      const summary = {
        address: await keystoreAddress(config.keystore).catch(() => undefined),
        steps: journal.counts(),
        open: journal.open().map((task) => ({ taskId: task.taskId, step: task.step, deadline: task.deadline })),
        recent: journal.recent(10).map((task) => ({
          taskId: task.taskId,
          step: task.step,
          ...(task.reason === undefined ? {} : { reason: task.reason }),
          ...(task.energy === undefined ? {} : { energy: task.energy }),
        })),
      };
      if (options.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      console.log(`worker ${summary.address ?? "(no keystore yet)"}`);
      console.log(
        `tasks by step: ${
          Object.entries(summary.steps)
            .map(([step, n]) => `${step} ${n.toString()}`)
            .join(", ") || "none"
        }`,
      );
      for (const task of summary.open)
        console.log(`  open ${task.taskId} ${task.step} (deadline ${new Date(task.deadline * 1000).toISOString()})`);
      for (const task of summary.recent) {
        const energy = task.energy
          ? ` ${(task.energy.milliwattHours / 1000).toFixed(3)} Wh, ${(task.energy.solarShareBps / 100).toFixed(0)} % solar`
          : "";
        console.log(`  ${task.taskId} ${task.step}${energy}${task.reason ? ` — ${task.reason}` : ""}`);
      }
    } finally {
      journal.close();
    }
  });

program
  .command("provision")
  .description(
    "Apply the owner's sunpool.yaml from the boot partition: wallet (created once), worker config, Wi-Fi, hostname, SSH keys",
  )
  .option("--boot <dir>", "the boot partition", "/boot/firmware")
  .option("--root <dir>", "the root file system to write into", "/")
  .option("--json", "machine-readable output")
  .option("--env", "key=value lines, for the boot script to read without another process")
  .addHelpText(
    "after",
    `\nRun at every boot by sunpool-provision.service; safe to run again. A problem is also written to ${BOOT_FILES.error} on the boot partition.`,
  )
  .action(async (options: { boot: string; root: string; json?: boolean; env?: boolean }) => {
    const { provision } = await import("./device/provision.js");
    const errorFile = join(options.boot, BOOT_FILES.error);
    try {
      const result = await provision({ bootDir: options.boot, root: options.root });
      await rm(errorFile, { force: true });
      if (options.json) console.log(JSON.stringify(result));
      // Every value is shell-safe: a checksummed address, a validated hostname, booleans.
      else if (options.env)
        console.log(
          Object.entries(result)
            .map(([key, value]) => `${key}=${String(value)}`)
            .join("\n"),
        );
      else
        console.log(
          `Sunpool worker ${result.address}${result.createdWallet ? " (new wallet)" : ""}: fund its stake, then it joins the pool.`,
        );
    } catch (error) {
      // The owner may have no screen: leave the message where they will look, next to their file,
      // whatever went wrong (a full card or a damaged keystore as much as a typo).
      await writeFile(errorFile, `${error instanceof Error ? error.message : String(error)}\n`).catch(() => undefined);
      throw error;
    }
  });

program
  .command("self-test")
  .description("Check this worker can earn: Node, native addons, Docker, the board (or its simulation), and optionally one task")
  .option("-c, --config <file>", "config file", "worker.config.json")
  .option("--simulate", "simulate the configured battery and panel instead of reading the Witty Pi")
  .option("--task", "also start the agent and wait until it has finished one task from the pool")
  .option("--timeout <seconds>", "how long --task waits", "600")
  .option("--json", "machine-readable output")
  .action(async (options: { config: string; simulate?: boolean; task?: boolean; timeout: string; json?: boolean }) => {
    const config = await loadConfig(options.config);
    const timeoutMs = Number(options.timeout) * 1000;
    if (!(timeoutMs > 0)) throw new SetupError(`--timeout must be a number of seconds, not ${options.timeout}`);
    // The worker's warnings go to stderr: stdout carries only the report (`--json` is parsed by scripts).
    const logger = pino({ level: "warn" }, pino.destination(2));
    const task = options.task ? { wallet: await openWallet(config), timeoutMs, logger } : undefined;
    const { runSelfTest } = await import("./device/selfTest.js");
    const checks = await runSelfTest({
      config,
      simulate: options.simulate === true,
      ...(task === undefined ? {} : { task }),
      onCheck: (check) => {
        if (!options.json) console.log(`${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.detail}`);
      },
    });
    if (options.json) console.log(JSON.stringify({ ok: checks.every((check) => check.ok), checks }));
    process.exitCode = checks.every((check) => check.ok) ? 0 : 1;
  });

program
  .command("arm-wake")
  .description("Make sure the Witty Pi will power the Pi on again (the power-off hook runs it)")
  .option("-c, --config <file>", "config file", "worker.config.json")
  .action(async (options: { config: string }) => {
    const config = await loadConfig(options.config);
    if (config.board.kind !== "witty-pi-4") {
      console.log(`board ${config.board.kind}: no wake-up alarm to arm`);
      return;
    }
    const bus = await openI2cBus(config.board.i2cBus);
    const journalPath = join(config.dataDir, "journal.sqlite");
    const journal = existsSync(journalPath) ? new Journal(journalPath) : undefined;
    try {
      // No GPIO here: the Pi is shutting down, and SYS_UP/HALT belong to the agent's boot routine.
      const witty = new WittyPi4(bus, { sleep: (ms) => systemClock.sleep(ms) });
      const result = await armWakeAlarm({
        witty,
        nowMs: Date.now(),
        pvProfile: journal?.pvProfile() ?? new Map(),
        policy: { idleWatts: config.energy.idleWatts },
      });
      console.log(`${result.action === "kept" ? "kept the agent's" : "set a"} wake-up alarm for ${result.wakeAt.toISOString()}`);
    } finally {
      journal?.close();
      await bus.close();
    }
  });

async function openWallet(config: WorkerConfig) {
  return readKeystore(
    config.keystore,
    await readKeystorePassword("SUNPOOL_WORKER_PASSWORD", config.keystorePasswordFile, {
      service: "worker",
      docs: "docs/worker.md",
    }),
  );
}

program.parseAsync().catch((error: unknown) => {
  // Owner mistakes (config, keystore, unreachable RPC or Docker) get their message only.
  const known =
    error instanceof SetupError || (error instanceof Error && error.name === "ProvisionError") || isSunpoolError(error);
  console.error(`sunpool-worker: ${error instanceof Error ? error.message : String(error)}`);
  if (!known && process.env.SUNPOOL_SHOW_STACK === "1") console.error(error);
  process.exit(known ? 3 : 1);
});
