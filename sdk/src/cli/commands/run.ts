// sunpool run, task show|watch, result get
import { type Command } from "commander";
import { join, resolve } from "node:path";

import { getResult, type VerifiedResult } from "../../actions/results.js";
import { run, type RunProgress, waitForRequest } from "../../actions/run.js";
import { getTask, type TaskConsensus, type TaskLocator, type TaskView } from "../../actions/tasks.js";
import type { SunpoolClient } from "../../client.js";
import { formatSun } from "../../errors/account.js";
import { InvalidInputError } from "../../errors/input.js";
import { writeResultFolder } from "../../node/files.js";
import { saveRequest } from "../../node/requests.js";
import { deriveResultKey } from "../../results/encryption.js";
import type { TaskParams } from "../../results/params.js";
import { getOrder } from "../../scheduler/client.js";
import type { Context } from "../context.js";
import { EXIT_CODES } from "../exitCodes.js";
import type { Output } from "../output.js";
import { parseSun } from "./account.js";

interface RunOptions {
  dataset?: string;
  volume: string;
  trust: string;
  category: string;
  arg: string[];
  env: string[];
  encrypt?: boolean;
  out: string;
  maxAppPrice?: string;
  maxDatasetPrice?: string;
  maxWorkerpoolPrice?: string;
  timeout?: string;
}

function describeTask(task: TaskView): string {
  const energy = task.energy.map(
    (e) =>
      `${e.milliwattHours >= 1000 ? `${(e.milliwattHours / 1000).toFixed(3)} Wh` : `${e.milliwattHours.toString()} mWh`} ` +
      `(${(e.solarShareBps / 100).toFixed(0)}% solar) by ${e.worker}`,
  );
  return `task ${task.index} of deal ${task.dealId.slice(0, 10)}…: ${task.outcome}${energy.length > 0 ? `; energy ${energy.join(", ")}` : ""}`;
}

/** Where a replicated task's hidden votes stand, in one line. */
function describeConsensus(consensus: TaskConsensus): string {
  const parts = [
    `round ${consensus.round}`,
    `${consensus.contributors} contribution(s)`,
    `${consensus.reveals} revealed`,
    `${consensus.pending} pending`,
  ];
  if (consensus.revealDeadline !== undefined) {
    parts.push(`reveals until ${new Date(consensus.revealDeadline * 1000).toISOString()}`);
  }
  if (consensus.leadingDigest !== undefined) {
    parts.push(`${consensus.decided ? "consensus" : "leading"} ${consensus.leadingDigest}`);
  }
  return `consensus ${parts.join(", ")}`;
}

/** What to do about each kind of failure among `tasks`, once per outcome. */
function failureHints(tasks: readonly TaskView[]): string[] {
  const seen = new Map<string, readonly string[]>();
  for (const task of tasks) if (task.failure !== undefined) seen.set(task.failure.outcome, task.failure.hints);
  return [...seen].flatMap(([outcome, hints]) => ["", `What to do (${outcome}):`, ...hints.map((hint) => `  ${hint}`)]);
}

function reportProgress(output: Output) {
  return (event: RunProgress) => {
    switch (event.type) {
      case "quoted":
        output.progress(`Quoted ${formatSun(event.taskPrice)} per task, ${formatSun(event.total)} in all`);
        break;
      case "published":
        // In full: after Ctrl-C or a crash, this is what `sunpool task watch --request` needs.
        output.progress(`Request ${event.requestHash} handed to the scheduler; waiting for a deal`);
        break;
      case "deal":
        output.progress(`Deal ${event.dealId.slice(0, 10)}… created for ${event.volume} task(s); waiting for results`);
        break;
      case "task":
        output.progress(`${event.ended}/${event.total} tasks ended — ${describeTask(event.task)}`);
        break;
      case "refund-claimed":
        output.progress(`Refunded ${event.indices.length} task(s) that never started (deal ${event.dealId.slice(0, 10)}…)`);
        break;
      case "retrying":
        output.progress(
          `Chain unreachable, retrying: ${event.error instanceof Error ? event.error.message.split("\n")[0] : String(event.error)}`,
        );
        break;
    }
  };
}

/** Fetches, verifies and unpacks one task's result into `out`. */
async function download(
  ctx: Context,
  client: SunpoolClient,
  task: TaskLocator,
  out: string,
  decryptionKey: string | undefined,
): Promise<VerifiedResult & { folder: string }> {
  const result = await getResult(client, {
    ...task,
    reader: await ctx.reader(),
    ...(decryptionKey === undefined ? {} : { decryptionKey }),
  });
  const folder = resolve(out);
  await writeResultFolder(folder, result.files);
  return { ...result, folder };
}

export function registerRunCommands(program: Command, context: () => Context): void {
  program
    .command("run <app>")
    .description("Run an app: quote, sign the request, follow the deal, download and verify the results")
    .option("--dataset <id>", "dataset the app reads")
    .option("--volume <n>", "number of tasks (each sees SUNPOOL_TASK_INDEX)", "1")
    .option("--trust <n>", "1 = one worker; n >= 2 = replicated until agreement", "1")
    .option("--category <n>", "time budget class 0-4 (300, 1200, 3600, 10800, 36000 s)", "0")
    .option("--arg <value...>", "arguments passed to the app", [])
    .option("--env <NAME=value...>", "environment variables passed to the app", [])
    .option("--encrypt", "encrypt the results to your wallet's result key")
    .option("--out <dir>", "where verified results are written", "results")
    .option("--max-app-price <SUN>", "highest app price per task (default: the cheapest order's)")
    .option("--max-dataset-price <SUN>")
    .option("--max-workerpool-price <SUN>")
    .option("--timeout <seconds>", "stop waiting after this long (the deal keeps running)")
    .addHelpText(
      "after",
      `
Examples:
  $ sunpool run 0x5b1e... --arg hello
  $ sunpool run 0x5b1e... --dataset 0x77aa... --volume 10 --out ./counts
  $ sunpool run 0x5b1e... --trust 3 --encrypt --json`,
    )
    .action(async (app: string, options: RunOptions) => {
      const ctx = context();
      const client = await ctx.client(true);
      const wallet = await ctx.wallet();
      const resultKey = options.encrypt ? deriveResultKey(wallet.privateKey) : undefined;
      const params: TaskParams = { args: options.arg, env: parseEnv(options.env) };
      if (resultKey !== undefined)
        params.resultEncryption = { scheme: "ecdh-secp256k1-aes256gcm", publicKey: resultKey.publicKey };
      const maxPrice = {
        ...(options.maxAppPrice === undefined ? {} : { app: parseSun(options.maxAppPrice) }),
        ...(options.maxDatasetPrice === undefined ? {} : { dataset: parseSun(options.maxDatasetPrice) }),
        ...(options.maxWorkerpoolPrice === undefined ? {} : { workerpool: parseSun(options.maxWorkerpoolPrice) }),
      };
      const outcome = await run(client, {
        scheduler: await ctx.scheduler(),
        app,
        ...(options.dataset === undefined ? {} : { dataset: options.dataset }),
        volume: positiveInt("--volume", options.volume),
        trust: positiveInt("--trust", options.trust, 0),
        category: positiveInt("--category", options.category, 0),
        params,
        maxPrice,
        ...(options.timeout === undefined ? {} : { timeoutMs: positiveInt("--timeout", options.timeout) * 1000 }),
        onProgress: reportProgress(ctx.output),
        beforePublish: async (request, params) => void (await saveRequest(await ctx.requestsFolder(), request, params)),
      });
      ctx.output.done(true, `All ${outcome.tasks.length} task(s) ended`);
      const results = [];
      for (const task of outcome.tasks) {
        if (task.outcome !== "completed") {
          results.push({ ...task, folder: undefined });
          continue;
        }
        ctx.output.progress(`Downloading and verifying task ${task.index}`);
        const folder = outcome.tasks.length === 1 ? options.out : join(options.out, `${task.dealId.slice(2, 10)}-${task.index}`);
        const verified = await download(ctx, client, task, folder, resultKey?.privateKey);
        results.push({ ...task, folder: verified.folder, files: verified.files.map((f) => f.path) });
      }
      const failed = results.filter((r) => r.outcome !== "completed").length;
      if (failed < results.length) ctx.output.done(true, "Results verified against the on-chain digests");
      ctx.output.result({ requestHash: outcome.requestHash, deals: outcome.deals, tasks: results }, [
        `Request ${outcome.requestHash}`,
        ...results.map((r) =>
          r.folder === undefined
            ? `  ${describeTask(r)}\n    no result: ${r.failure?.reason ?? r.outcome}; your payment was refunded`
            : `  ${describeTask(r)}\n    verified result (digest ${r.resultDigest}) in ${r.folder}`,
        ),
        ...failureHints(results),
      ]);
      // Documented in docs/sdk.md: some task ended without a result.
      if (failed > 0) process.exitCode = EXIT_CODES.TASK_FAILED;
    });

  const task = program.command("task").description("Tasks on-chain");
  task
    .command("show <dealId> <index>")
    .description(
      "Show a task's status, consensus, outcome, result digest and energy receipts; why it failed if it ended without a result (exit code 8)",
    )
    .addHelpText("after", "\nExamples:\n  $ sunpool task show 0x9f3b... 0\n  $ sunpool task show 0x9f3b... 0 --json")
    .action(async (dealId: string, index: string) => {
      const ctx = context();
      const view = await getTask(await ctx.client(), { dealId, index: positiveInt("index", index, 0) });
      ctx.output.result(view, [
        `Task ${view.taskId}`,
        `  ${describeTask(view)}`,
        `  status ${view.status}`,
        ...(view.consensus === undefined ? [] : [`  ${describeConsensus(view.consensus)}`]),
        ...(view.resultDigest ? [`  result ${view.resultLocation} (digest ${view.resultDigest})`] : []),
        ...(view.failure === undefined
          ? []
          : [`  no result: ${view.failure.reason}; your payment was refunded`, ...view.failure.hints.map((hint) => `  ${hint}`)]),
      ]);
      if (view.failure !== undefined) process.exitCode = EXIT_CODES.TASK_FAILED;
    });
  task
    .command("watch")
    .description("Follow the deals and tasks of a published request until they end (exit code 8 if one ended without a result)")
    .requiredOption("--request <hash>", "the request order hash (sunpool run prints it)")
    .option("--timeout <seconds>", "stop waiting after this long", "3600")
    .addHelpText("after", "\nExamples:\n  $ sunpool task watch --request 0x1f2e...")
    .action(async (options: { request: string; timeout: string }) => {
      const ctx = context();
      const client = await ctx.client();
      const record = await getOrder(await ctx.scheduler(), options.request);
      if (record.kind !== "request") throw new InvalidInputError("--request", options.request, "the hash of a request order");
      const timeoutMs = positiveInt("--timeout", options.timeout) * 1000;
      const followed = await waitForRequest(client, {
        requestHash: record.hash,
        request: record.order as { requester: string; volume: bigint },
        fromBlock: client.deployment.deployedAtBlock,
        matchTimeoutMs: timeoutMs,
        timeoutMs,
        onProgress: reportProgress(ctx.output),
      });
      ctx.output.done(true);
      ctx.output.result(followed, [
        ...followed.tasks.map((t) =>
          t.failure === undefined
            ? describeTask(t)
            : `${describeTask(t)}\n  no result: ${t.failure.reason}; your payment was refunded`,
        ),
        ...failureHints(followed.tasks),
      ]);
      if (followed.tasks.some((t) => t.failure !== undefined)) process.exitCode = EXIT_CODES.TASK_FAILED;
    });

  const result = program.command("result").description("Task results");
  result
    .command("get <dealId> <index>")
    .description("Download a task's result, verify it against the on-chain digest, and unpack it")
    .option("--out <dir>", "destination folder", "results")
    .option("--encrypted", "the result was encrypted to your wallet's result key (asks for the password)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ sunpool result get 0x9f3b... 0 --out ./result\n  $ sunpool result get 0x9f3b... 0 --encrypted",
    )
    .action(async (dealId: string, index: string, options: { out: string; encrypted?: boolean }) => {
      const ctx = context();
      const key = options.encrypted ? deriveResultKey((await ctx.wallet()).privateKey).privateKey : undefined;
      const locator = { dealId, index: positiveInt("index", index, 0) };
      const verified = await download(ctx, await ctx.client(), locator, options.out, key);
      ctx.output.result(
        {
          taskId: verified.taskId,
          resultDigest: verified.resultDigest,
          resultLocation: verified.resultLocation,
          folder: verified.folder,
          files: verified.files.map((f) => f.path),
        },
        [
          `Verified result of task ${verified.taskId} (digest ${verified.resultDigest})`,
          `  written to ${verified.folder}: ${verified.files.map((f) => f.path).join(", ")}`,
        ],
      );
    });
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new InvalidInputError("--env", pair, "NAME=value");
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

function positiveInt(flag: string, text: string, min = 1): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidInputError(flag, text, `an integer >= ${min}`);
  return value;
}
