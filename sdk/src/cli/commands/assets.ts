// sunpool app deploy|show|list, sunpool dataset deploy|show, sunpool workerpool register|show
import { type Command, Option } from "commander";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";

import {
  type App,
  getApp,
  getDataset,
  getWorkerpool,
  listApps,
  type Platform,
  PLATFORM_BITS,
  registerApp,
  registerDataset,
  registerWorkerpool,
} from "../../actions/assets.js";
import { InvalidInputError } from "../../errors/input.js";
import { sha256File } from "../../node/files.js";
import type { Context } from "../context.js";

const int = (value: string) => Number.parseInt(value, 10);

function describeApp(app: App): string[] {
  const r = app.resources;
  return [
    `App ${app.id}`,
    `  name       ${app.name} (owner ${app.owner})`,
    `  image      ${app.image}@${app.imageDigest}`,
    `  platforms  ${app.platforms.join(", ")}`,
    `  replicable ${app.deterministic ? "yes (deterministic: any trust level)" : "no (non-deterministic: trust 1 only)"}`,
    `  resources  ${r.memoryMiB} MiB, ${r.cpuMillicores} mCPU, ~${r.expectedSeconds} s, output <= ${r.maxOutputMiB} MiB, network ${r.network ? "on" : "off"}`,
  ];
}

export function registerAssetCommands(program: Command, context: () => Context): void {
  const app = program.command("app").description("Apps: container images pinned by digest");
  app
    .command("deploy")
    .description("Register an app (image reference + manifest digest) owned by your wallet")
    .requiredOption("--name <name>", "unique among your apps; with your address it makes the id")
    .requiredOption("--image <ref>", "image reference without digest, e.g. 127.0.0.1:5000/wordcount")
    .requiredOption("--digest <sha256:hex>", "manifest digest the workers must pull (docker images --digests)")
    .addOption(
      new Option("--platform <platform...>", "platforms the image is built for")
        .choices(Object.keys(PLATFORM_BITS))
        .default(["linux/amd64"]),
    )
    .option("--memory <MiB>", "memory limit", int)
    .option("--cpu <millicores>", "CPU limit", int)
    .option("--expected-seconds <s>", "expected run time on a Raspberry Pi 4 core", int)
    .option("--max-output <MiB>", "largest output accepted", int)
    .option("--network", "the app needs network access (denied by default)")
    .option(
      "--non-deterministic",
      "the same inputs may give different outputs (timestamps, random numbers): the app then runs with trust 1 only",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ sunpool app deploy --name wordcount --image 127.0.0.1:5000/wordcount --digest sha256:3f1c... \\\n      --platform linux/amd64 linux/arm64 --memory 128 --expected-seconds 20\n  $ sunpool app deploy --name dice --image 127.0.0.1:5000/dice --digest sha256:9a2b... --non-deterministic",
    )
    .action(
      async (options: {
        name: string;
        image: string;
        digest: string;
        platform: Platform[];
        memory?: number;
        cpu?: number;
        expectedSeconds?: number;
        maxOutput?: number;
        network?: boolean;
        nonDeterministic?: boolean;
      }) => {
        const ctx = context();
        const client = await ctx.client(true);
        const resources = {
          ...(options.memory === undefined ? {} : { memoryMiB: options.memory }),
          ...(options.cpu === undefined ? {} : { cpuMillicores: options.cpu }),
          ...(options.expectedSeconds === undefined ? {} : { expectedSeconds: options.expectedSeconds }),
          ...(options.maxOutput === undefined ? {} : { maxOutputMiB: options.maxOutput }),
          network: options.network ?? false,
        };
        const { id, transactionHash } = await registerApp(client, {
          name: options.name,
          image: options.image,
          imageDigest: options.digest,
          platforms: options.platform,
          deterministic: options.nonDeterministic !== true,
          resources,
        });
        ctx.output.result({ id, transactionHash }, [
          `App ${id} registered (tx ${transactionHash})`,
          "",
          `Next: sunpool order publish --kind app --app ${id} --price <SUN>`,
        ]);
      },
    );
  app
    .command("show <id>")
    .description("Show a registered app")
    .addHelpText("after", "\nExamples:\n  $ sunpool app show 0x5b1e...")
    .action(async (id: string) => {
      const ctx = context();
      const found = await getApp(await ctx.client(), id);
      ctx.output.result(found, describeApp(found));
    });
  app
    .command("list")
    .description("List registered apps")
    .option("--owner <address>", "only this owner's apps")
    .addHelpText("after", "\nExamples:\n  $ sunpool app list\n  $ sunpool app list --owner 0xabc... --json")
    .action(async (options: { owner?: string }) => {
      const ctx = context();
      const apps = await listApps(await ctx.client(), options.owner === undefined ? {} : { owner: options.owner });
      ctx.output.result(
        apps,
        apps.length === 0
          ? ["No apps registered."]
          : apps.map(
              (a) => `${a.id}  ${a.name}  ${a.image}  (${a.platforms.join(", ")}${a.deterministic ? "" : "; non-deterministic"})`,
            ),
      );
    });

  const dataset = program.command("dataset").description("Datasets: content on IPFS with a checksum");
  dataset
    .command("deploy")
    .description("Register a dataset; with --file, computes its CID and checksum (and adds it to --kubo if given)")
    .requiredOption("--name <name>", "unique among your datasets")
    .option("--file <path>", "the dataset file")
    .option("--cid <cid>", "CID of content already on IPFS (with --checksum)")
    .option("--checksum <0xsha256>", "sha256 of the content (with --cid)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ sunpool dataset deploy --name corpus --file ./corpus.txt --kubo http://127.0.0.1:5001\n  $ sunpool dataset deploy --name corpus --cid bafy... --checksum 0x9f86...",
    )
    .action(async (options: { name: string; file?: string; cid?: string; checksum?: string }) => {
      const ctx = context();
      let { cid, checksum } = options;
      if (options.file !== undefined) {
        checksum = await sha256File(options.file);
        const node = await ctx.ipfsNode();
        const folder = await node.addFiles([{ path: basename(options.file), content: await readFile(options.file) }]);
        cid = folder;
      }
      if (cid === undefined || checksum === undefined) {
        throw new InvalidInputError(
          "dataset",
          "no --file and no --cid/--checksum",
          "--file <path>, or both --cid and --checksum",
        );
      }
      const client = await ctx.client(true);
      const { id, transactionHash } = await registerDataset(client, { name: options.name, cid, checksum });
      ctx.output.result({ id, cid, checksum, transactionHash }, [
        `Dataset ${id} registered (tx ${transactionHash})`,
        `  cid       ${cid}`,
        `  checksum  ${checksum}`,
        "Keep the content available on IPFS (pin it on an always-on node) so workers can fetch it.",
      ]);
    });
  dataset
    .command("show <id>")
    .description("Show a registered dataset")
    .addHelpText("after", "\nExamples:\n  $ sunpool dataset show 0x77aa...")
    .action(async (id: string) => {
      const ctx = context();
      const found = await getDataset(await ctx.client(), id);
      ctx.output.result(found, [
        `Dataset ${found.id}`,
        `  name      ${found.name} (owner ${found.owner})`,
        `  cid       ${found.cid}`,
        `  checksum  ${found.checksum}`,
      ]);
    });

  const workerpool = program.command("workerpool").description("Workerpools: what a scheduler operator runs");
  workerpool
    .command("register")
    .description("Register a workerpool owned by your wallet (the scheduler signs with this key)")
    .requiredOption("--name <name>", "unique among your workerpools")
    .option("--worker-stake <percent>", "share of the workerpool price a worker stakes per contribution", int, 30)
    .option("--scheduler-reward <percent>", "share of the workerpool price the scheduler keeps", int, 10)
    .addHelpText(
      "after",
      "\nExamples:\n  $ sunpool workerpool register --name solar-pool\n  $ sunpool workerpool register --name strict-pool --worker-stake 50 --scheduler-reward 5",
    )
    .action(async (options: { name: string; workerStake: number; schedulerReward: number }) => {
      const ctx = context();
      const client = await ctx.client(true);
      const { id, transactionHash } = await registerWorkerpool(client, {
        name: options.name,
        workerStakeRatio: options.workerStake,
        schedulerRewardRatio: options.schedulerReward,
      });
      ctx.output.result({ id, transactionHash }, [
        `Workerpool ${id} registered (tx ${transactionHash})`,
        "",
        `Next: put "workerpool": "${id}" in scheduler.config.json, deposit the scheduler's stake`,
        "(sunpool account deposit <SUN>), start sunpool-scheduler, then publish the pool's orders:",
        `  sunpool order publish --kind workerpool --workerpool ${id} --price <SUN> --volume <tasks> --scheduler <url>`,
      ]);
    });
  workerpool
    .command("show <id>")
    .description("Show a registered workerpool")
    .addHelpText("after", "\nExamples:\n  $ sunpool workerpool show 0x9c0d...")
    .action(async (id: string) => {
      const ctx = context();
      const found = await getWorkerpool(await ctx.client(), id);
      ctx.output.result(found, [
        `Workerpool ${found.id}`,
        `  name              ${found.name} (owner ${found.owner})`,
        `  worker stake      ${found.workerStakeRatio.toString()} % of the price per contribution`,
        `  scheduler reward  ${found.schedulerRewardRatio.toString()} % of the price`,
      ]);
    });
}
