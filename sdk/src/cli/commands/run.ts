// sunpool run, task show|watch, result get
import { type Command } from "commander";
import type { Signer } from "ethers";
import { join, resolve } from "node:path";

import { getResult, type VerifiedResult } from "../../actions/results.js";
import { run, type RunProgress, waitForRequest } from "../../actions/run.js";
import { getTask, type TaskConsensus, type TaskLocator, type TaskView } from "../../actions/tasks.js";
import type { SunpoolClient } from "../../client.js";
import { formatSun } from "../../errors/account.js";
import { isSunpoolError } from "../../errors/base.js";
import { InvalidInputError } from "../../errors/input.js";
import { SchedulerRejectedError } from "../../errors/market.js";
import { writeResultFolder } from "../../node/files.js";
import { keystoreAddress } from "../../node/keystore.js";
import { saveRequest } from "../../node/requests.js";
import { bytes32 } from "../../orders/build.js";
import { deriveResultKey } from "../../results/encryption.js";
import type { TaskParams } from "../../results/params.js";
import { getOrder } from "../../scheduler/client.js";
import { getPoolTask, type PoolTask } from "../../scheduler/tasks.js";
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

/** What the workerpool's scheduler says of a task (`pool`), or why it could not be asked (`poolError`). */
interface PoolReport {
  pool?: PoolTask;
  poolError?: string;
}

/** The pool's view of a task, signed by `signer` (the requester's wallet) when given. */
async function poolReport(ctx: Context, taskId: string, signer?: Signer): Promise<PoolReport> {
  try {
    return { pool: await getPoolTask(await ctx.scheduler(), { taskId, ...(signer === undefined ? {} : { signer }) }) };
  } catch (error) {
    if (!isSunpoolError(error)) throw error;
    return { poolError: error.shortMessage };
  }
}

/**
 * The pool's view for whoever runs the command: asked unsigned first, and again signed by the
 * wallet only when log tails were withheld and the wallet is the deal's requester, so the
 * password is asked only when it brings something.
 */
async function poolReportForWallet(ctx: Context, taskId: string, known?: PoolTask): Promise<PoolReport> {
  const first = known === undefined ? await poolReport(ctx, taskId) : { pool: known };
  if (first.pool === undefined || !first.pool.logTailsWithheld) return first;
  const wallet = await keystoreAddress((await ctx.settings()).keystorePath).catch(() => undefined);
  if (wallet !== first.pool.requester) return first;
  let signer: Signer;
  try {
    signer = await ctx.wallet();
  } catch (error) {
    if (!isSunpoolError(error)) throw error;
    return { ...first, poolError: `log tails not fetched: ${error.shortMessage}` };
  }
  const signed = await poolReport(ctx, taskId, signer);
  return signed.pool === undefined ? { ...first, ...signed } : signed;
}

// A worker's reason and log tail are its own words (and the app's output): control characters
// could drive the requester's terminal, so they are shown as replacement characters.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const printable = (text: string) => text.replace(CONTROL, "\ufffd");

/** The workers a task went to, their reasons and log tails, indented by `indent`. */
function describePool(report: PoolReport, indent: string): string[] {
  if (report.pool === undefined) {
    return report.poolError === undefined ? [] : [`${indent}the pool's reports are unavailable: ${report.poolError}`];
  }
  const { pool } = report;
  const lines: string[] = [];
  if (pool.replicas.length > 0) {
    lines.push(`${indent}workers (the pool ends a task as app-failed once ${pool.failAfter} of them report the app failing):`);
  }
  for (const replica of pool.replicas) {
    // Workers' reasons usually begin with the state already ("failed: exited with code 1").
    const reason = replica.reason === undefined ? undefined : printable(replica.reason);
    const what = reason === undefined ? replica.state : reason.startsWith(replica.state) ? reason : `${replica.state}: ${reason}`;
    lines.push(`${indent}  ${replica.worker} ${what}`);
    if (replica.energySplit !== undefined) lines.push(`${indent}    ${describeSplit(replica.energySplit)}`);
    if (replica.logTail === undefined) continue;
    const tail = printable(replica.logTail.replace(/\n+$/, "")).split("\n");
    lines.push(`${indent}    log tail:`, ...tail.map((line) => `${indent}    | ${line}`));
  }
  if (pool.logTailsWithheld && pool.hint !== undefined) lines.push(`${indent}log tails withheld: ${pool.hint}`);
  if (report.poolError !== undefined) lines.push(`${indent}${report.poolError}`);
  return lines;
}

const wattHours = (wh: number) => (wh >= 1 ? `${wh.toFixed(3)} Wh` : `${(wh * 1000).toFixed(1)} mWh`);

/** A worker's own account of where a task's energy came from: shown as its word, not the receipt's. */
function describeSplit(split: NonNullable<PoolTask["replicas"][number]["energySplit"]>): string {
  return (
    `energy by source (the worker's report, unverified): ${wattHours(split.pvWh)} panel, ` +
    `${wattHours(split.batteryWh)} battery, ${wattHours(split.mainsWh)} mains`
  );
}

/** For a completed task: the energy splits its workers reported, one line each (none if none did). */
function describeSplits(report: PoolReport, indent: string): string[] {
  const replicas = (report.pool?.replicas ?? []).filter((replica) => replica.energySplit !== undefined);
  return replicas.map((replica) => `${indent}${replica.worker} ${describeSplit(replica.energySplit!)}`);
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
    // The IPFS node starts only when there is a result to read: a task that ended without one is
    // told from the chain alone.
    reader: { readFiles: async (location, options) => (await ctx.reader()).readFiles(location, options) },
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
          // Why the app failed is known to the pool only (its workers' reports); we are the requester.
          results.push({ ...task, folder: undefined, ...(await poolReport(ctx, task.taskId, wallet)) });
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
        ...results.flatMap((r) =>
          r.folder === undefined
            ? [
                `  ${describeTask(r)}`,
                `    no result: ${r.failure?.reason ?? r.outcome}; your payment was refunded`,
                ...describePool(r, "    "),
              ]
            : [`  ${describeTask(r)}`, `    verified result (digest ${r.resultDigest}) in ${r.folder}`],
        ),
        ...failureHints(results),
      ]);
      // Documented in docs/sdk.md: some task ended without a result.
      if (failed > 0) process.exitCode = EXIT_CODES.TASK_FAILED;
    });

  const task = program.command("task").description("Tasks on-chain");
  task
    .command("show <task> [index]")
    .description(
      "Show a task (by deal id and index, or by task id): status, consensus, outcome, result digest, energy receipts and the energy by source (panel, battery, mains) each worker reported; for one that did not complete, the workers it went to, why each failed, and for its requester the app's last log lines (exit code 8 if it ended without a result)",
    )
    .addHelpText(
      "after",
      `
A task id alone is looked up at the scheduler (the deal's workerpool). Log tails go to the deal's
requester only: when the wallet is the requester, the request to the scheduler is signed with it
(the password is asked, or read from SUNPOOL_PASSWORD).

Examples:
  $ sunpool task show 0x9f3b... 0
  $ sunpool task show 0x51c0...
  $ sunpool task show 0x9f3b... 0 --json`,
    )
    .action(async (first: string, index: string | undefined) => {
      const ctx = context();
      let locator: TaskLocator;
      let known: PoolTask | undefined;
      if (index === undefined) {
        const taskId = bytes32("task id", first);
        known = await getPoolTask(await ctx.scheduler(), { taskId }).catch((error: unknown) => {
          // A deal id given without its index looks like an unknown task id.
          if (error instanceof SchedulerRejectedError && error.status === 404) {
            throw new InvalidInputError("task", first, "a task id this pool knows, or a deal id followed by the task's index");
          }
          throw error;
        });
        locator = { dealId: known.dealId, index: known.index };
      } else {
        locator = { dealId: first, index: positiveInt("index", index, 0) };
      }
      const view = await getTask(await ctx.client(), locator);
      // A completed task needs no log tails (no password asked): the pool's view only adds its
      // workers' energy splits, and is left out quietly when the scheduler cannot be reached.
      const completed = view.outcome === "completed";
      const report: PoolReport = completed
        ? known === undefined
          ? await poolReport(ctx, view.taskId)
          : { pool: known }
        : await poolReportForWallet(ctx, view.taskId, known);
      ctx.output.result({ ...view, ...report }, [
        `Task ${view.taskId}`,
        `  ${describeTask(view)}`,
        `  status ${view.status}`,
        ...(view.consensus === undefined ? [] : [`  ${describeConsensus(view.consensus)}`]),
        ...(view.resultDigest ? [`  result ${view.resultLocation} (digest ${view.resultDigest})`] : []),
        ...(view.failure === undefined
          ? []
          : [`  no result: ${view.failure.reason}; your payment was refunded`, ...view.failure.hints.map((hint) => `  ${hint}`)]),
        ...(completed ? describeSplits(report, "  ") : describePool(report, "  ")),
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
