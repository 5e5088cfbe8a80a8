#!/usr/bin/env node
// sunpool-scheduler: run a workerpool's scheduler (`start`) and look at one (`status`).
import { readFile } from "node:fs/promises";

import { isSunpoolError, parseDeployment } from "@sunpool/sdk";
import { readKeystore, readKeystorePassword } from "@sunpool/sdk/node";
import { Command } from "commander";
import { pino } from "pino";

import { loadConfig, minWorkerStake } from "./config.js";
import { SetupError } from "./errors.js";
import { startScheduler } from "./service.js";

const program = new Command("sunpool-scheduler")
  .description("The Sunpool workerpool scheduler: order book, matching, energy-aware dispatch, settlement.")
  .showHelpAfterError();

program
  .command("start")
  .description("Start the scheduler described by a config file (runs until SIGINT/SIGTERM)")
  .option("-c, --config <file>", "config file", "scheduler.config.json")
  .addHelpText(
    "after",
    "\nThe keystore password comes from SUNPOOL_SCHEDULER_PASSWORD or the file named by keystorePasswordFile.\n\nExample:\n  $ SUNPOOL_SCHEDULER_PASSWORD=... sunpool-scheduler start --config scheduler.config.json",
  )
  .action(async (options: { config: string }) => {
    const config = await loadConfig(options.config);
    const logger = pino({ level: config.logLevel });
    const password = await readKeystorePassword("SUNPOOL_SCHEDULER_PASSWORD", config.keystorePasswordFile, {
      service: "scheduler",
      docs: "docs/scheduler.md",
    });
    const signer = await readKeystore(config.keystore, password);
    const deployment = parseDeployment(JSON.parse(await readFile(config.deployment, "utf8")) as unknown);
    const scheduler = await startScheduler({
      deployment,
      rpcUrl: config.rpcUrl,
      signer,
      workerpool: config.workerpool,
      dataDir: config.dataDir,
      ...(config.store === undefined ? {} : { store: config.store }),
      ...(config.replica === undefined ? {} : { replica: config.replica }),
      host: config.listen.host,
      port: config.listen.port,
      ...(config.ipfs.listen === undefined ? {} : { ipfsListen: config.ipfs.listen }),
      ipfsDialPrivate: config.ipfs.dialPrivate,
      maxPinBytes: config.ipfs.maxPinMiB * 1024 * 1024,
      pinTimeoutSeconds: config.ipfs.pinTimeoutSeconds,
      heartbeatSeconds: config.workers.heartbeatSeconds,
      leaseHeartbeats: config.workers.leaseHeartbeats,
      ...(config.workers.allow === undefined ? {} : { allowedWorkers: config.workers.allow }),
      ...(minWorkerStake(config) === undefined ? {} : { minWorkerStake: minWorkerStake(config)! }),
      stakeRefreshSeconds: config.workers.stakeRefreshSeconds,
      probation: config.workers.probation,
      failAfter: config.tasks.failAfter,
      maxOpenOrdersPerSigner: config.book.maxOpenOrdersPerSigner,
      confirmations: config.chain.confirmations,
      reorgWindow: config.chain.reorgWindow,
      pollSeconds: config.chain.pollSeconds,
      logsChunk: config.chain.logsChunk,
      rateLimitPerMinute: config.rateLimitPerMinute,
      pauseMatching: config.pauseMatching,
      logger,
    });
    const shutdown = (signal: string) => {
      logger.info({ signal }, "stopping");
      void scheduler.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });

program
  .command("status")
  .description("Print a running scheduler's pool status")
  .option("--url <url>", "the scheduler's URL", "http://127.0.0.1:7300")
  .action(async (options: { url: string }) => {
    const response = await fetch(`${options.url.replace(/\/$/, "")}/v1/status`).catch((error: unknown) => {
      throw new SetupError(`No scheduler answers at ${options.url} (${(error as Error).message}). Is it running? Check --url.`);
    });
    console.log(JSON.stringify(await response.json(), null, 2));
  });

program.parseAsync().catch((error: unknown) => {
  // Operator mistakes (config, keystore, unreachable RPC, wrong key) get their message only.
  const known = error instanceof SetupError || isSunpoolError(error);
  console.error(`sunpool-scheduler: ${error instanceof Error ? error.message : String(error)}`);
  if (!known && process.env.SUNPOOL_SHOW_STACK === "1") console.error(error);
  process.exit(known ? 3 : 1);
});
