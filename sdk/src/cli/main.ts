#!/usr/bin/env node
// The sunpool CLI. Commands live in ./commands, one file per topic; this file wires the global
// options, and turns errors into a message and an exit code (docs/sdk.md, "Exit codes"): a user
// error never prints a stack trace unless --show-stack-traces is given.
import { Command, CommanderError, Option } from "commander";

import { isSunpoolError } from "../errors/base.js";
import { Context, type GlobalOptions } from "./context.js";
import { EXIT_CODES } from "./exitCodes.js";
import { createOutput } from "./output.js";
import { registerAccountCommands } from "./commands/account.js";
import { registerAssetCommands } from "./commands/assets.js";
import { registerOrderCommands } from "./commands/orders.js";
import { registerRunCommands } from "./commands/run.js";
import { registerSetupCommands } from "./commands/setup.js";

const program = new Command("sunpool")
  .description("Run Docker tasks on Sunpool's solar-powered workers and get verified results.")
  .version("0.1.0")
  .option("--config <file>", "config file (default ./sunpool.config.json, or SUNPOOL_CONFIG)")
  .option("--rpc <url>", "chain RPC endpoint (SUNPOOL_RPC_URL; default http://127.0.0.1:8545)")
  .option("--scheduler <url>", "scheduler API (SUNPOOL_SCHEDULER_URL; default http://127.0.0.1:7300)")
  .option("--keystore <file>", "encrypted wallet (SUNPOOL_KEYSTORE; default .sunpool/keystore.json)")
  .option("--deployment <file>", "deployment addresses (SUNPOOL_DEPLOYMENT; default: config, then deployments/<chainId>.json)")
  .option("--kubo <url>", "read IPFS through this Kubo daemon instead of an in-process node")
  .option("--ipfs-peer <multiaddr...>", "IPFS peers to fetch from (the scheduler's are added automatically)")
  .option("--json", "print one JSON document on stdout (for scripts)")
  .addOption(new Option("--show-stack-traces", "print stack traces of errors"))
  .showHelpAfterError("(add --help for usage)")
  .exitOverride();

let context: Context | undefined;
const getContext = () =>
  (context ??= new Context(program.opts<GlobalOptions>(), createOutput(program.opts<GlobalOptions>().json ?? false)));
registerSetupCommands(program, getContext);
registerAccountCommands(program, getContext);
registerAssetCommands(program, getContext);
registerOrderCommands(program, getContext);
registerRunCommands(program, getContext);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
} finally {
  await context?.close();
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version requests end here too, with exit code 0.
    return error.exitCode === 0 ? 0 : 2;
  }
  const options = program.opts<GlobalOptions & { showStackTraces?: boolean }>();
  context?.output.done(false);
  if (isSunpoolError(error)) {
    if (options.json)
      process.stdout.write(
        JSON.stringify({ error: { code: error.code, message: error.shortMessage, hints: error.hints } }) + "\n",
      );
    process.stderr.write(`Error ${error.code}: ${error.message}\n`);
    if (options.showStackTraces) process.stderr.write(`${error.stack ?? ""}\n`);
    return EXIT_CODES[error.code];
  }
  process.stderr.write(
    `Unexpected error (a bug in sunpool; please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}
