// sunpool init, wallet show, info: the project's config, its wallet, and who is on the other end.
import { type Command } from "commander";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { ConfigError } from "../../errors/input.js";
import { type ConfigFile, CONFIG_FILE, DEFAULTS, writeConfigFile } from "../../node/config.js";
import { keystoreAddress, writeKeystore } from "../../node/keystore.js";
import { deriveResultKey } from "../../results/encryption.js";
import { getSchedulerInfo } from "../../scheduler/client.js";
import type { Context } from "../context.js";

export function registerSetupCommands(program: Command, context: () => Context): void {
  program
    .command("init")
    .description("Create sunpool.config.json and an encrypted wallet (keystore); --deployment <file> is stored in the config")
    .option("--import-key", "import the private key in SUNPOOL_PRIVATE_KEY instead of generating one")
    .option("--force", "replace an existing keystore (back it up first)")
    .addHelpText(
      "after",
      `
Examples:
  $ sunpool init
  $ SUNPOOL_PASSWORD=... sunpool init --deployment ../sunpool/deployments/31337.json
  $ SUNPOOL_PRIVATE_KEY=0x... sunpool init --import-key

The private key is only ever written encrypted (scrypt keystore, mode 600).`,
    )
    .action(async (options: { importKey?: boolean; force?: boolean }) => {
      const ctx = context();
      const settings = await ctx.settings();
      const config: ConfigFile = {
        rpcUrl: settings.rpcUrl,
        schedulerUrl: settings.schedulerUrl,
        keystore: ctx.options.keystore ?? DEFAULTS.keystore,
        ipfs: { peers: settings.ipfsPeers },
      };
      if (ctx.options.deployment !== undefined) {
        config.deployment = JSON.parse(await readFile(resolve(ctx.options.deployment), "utf8")) as Record<string, unknown>;
      }
      const privateKey = options.importKey ? process.env.SUNPOOL_PRIVATE_KEY : undefined;
      if (options.importKey && privateKey === undefined) {
        throw new ConfigError("--import-key needs the key in SUNPOOL_PRIVATE_KEY.", [
          "Set it in the environment (not as a flag, so it stays out of shell history).",
        ]);
      }
      const { address } = await writeKeystore({
        path: settings.keystorePath,
        password: await ctx.password("New keystore password (8+ characters)"),
        ...(privateKey === undefined ? {} : { privateKey }),
        overwrite: options.force ?? false,
      });
      const configPath = ctx.options.config ?? CONFIG_FILE;
      await writeConfigFile(configPath, config);
      ctx.output.result({ address, keystore: settings.keystorePath, config: resolve(configPath) }, [
        `Wallet ${address}`,
        `  keystore  ${settings.keystorePath} (encrypted)`,
        `  config    ${resolve(configPath)}`,
        "",
        "Next: fund the wallet with SUN, then: sunpool account deposit <amount>",
      ]);
    });

  const wallet = program.command("wallet").description("The project's wallet");
  wallet
    .command("show")
    .description("Print the wallet address (and with --result-key, the public key results are encrypted to)")
    .option("--result-key", "also print the result encryption public key (asks for the password)")
    .addHelpText("after", "\nExamples:\n  $ sunpool wallet show\n  $ sunpool wallet show --result-key --json")
    .action(async (options: { resultKey?: boolean }) => {
      const ctx = context();
      const settings = await ctx.settings();
      const address = await keystoreAddress(settings.keystorePath);
      const data: Record<string, string> = { address, keystore: settings.keystorePath };
      if (options.resultKey) data.resultPublicKey = deriveResultKey((await ctx.wallet()).privateKey).publicKey;
      ctx.output.result(data, [
        `Wallet ${address}`,
        `  keystore  ${settings.keystorePath}`,
        ...(data.resultPublicKey ? [`  result key ${data.resultPublicKey}`] : []),
      ]);
    });

  program
    .command("info")
    .description("Show the chain, the deployment and the scheduler this project talks to")
    .addHelpText("after", "\nExamples:\n  $ sunpool info\n  $ sunpool info --scheduler http://pool.example:7300 --json")
    .action(async () => {
      const ctx = context();
      const client = await ctx.client();
      const scheduler = await getSchedulerInfo(await ctx.scheduler());
      const settings = await ctx.settings();
      const { deployment } = client;
      ctx.output.result({ rpcUrl: settings.rpcUrl, deployment, scheduler: { url: settings.schedulerUrl, ...scheduler } }, [
        `Chain ${deployment.chainId} at ${settings.rpcUrl}`,
        `  hub       ${deployment.hub}`,
        `  registry  ${deployment.registry}`,
        `  token     ${deployment.token}`,
        `Scheduler ${settings.schedulerUrl}`,
        `  workerpool ${scheduler.workerpool}`,
        `  address    ${scheduler.scheduler}`,
        `  ipfs       ${scheduler.ipfsPeers.join(", ") || "(none)"}`,
      ]);
    });
}
