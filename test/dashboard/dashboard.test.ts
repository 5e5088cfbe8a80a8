// The dashboard as a person sees it: `npm run devnet` as a real process, the page it serves at `/`
// loaded in Debian's headless Chromium (playwright-core, never a downloaded browser), and the
// `sunpool` CLI driving the market meanwhile. One devnet and one browser for the whole file.
// Screenshots of each view go to a temporary folder, or to SUNPOOL_DASHBOARD_SCREENSHOTS
// (docs/images when the docs are refreshed).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { expect } from "chai";
import { Wallet } from "ethers";
import { chromium, type BrowserContext, type Page } from "playwright-core";

import { writeKeystore } from "../../sdk/src/node/keystore.js";
import {
  readPid,
  freeDevnetPorts,
  REPO_ROOT,
  startDevnet,
  sunpool,
  waitFor,
  waitForDevnet,
  type CliOutcome,
  type DevnetInfo,
  type RunningDevnet,
} from "../e2e/helpers.js";
import { until } from "../helpers/wait.js";

const { chainPort: CHAIN_PORT, schedulerPort: SCHEDULER_PORT } = await freeDevnetPorts();
const SHOTS = resolve(process.env.SUNPOOL_DASHBOARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), "sunpool-dashboard-shots-")));

/** Chromium as the brief of docs/dashboard.md says: Debian's build, headless, nothing reaching out. */
export async function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "sunpool-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
}

function json<T>(outcome: CliOutcome): T {
  expect(outcome.code, `${outcome.stderr}\n${outcome.stdout}`).to.equal(0);
  return JSON.parse(outcome.stdout) as T;
}

interface EnergySplit {
  pvWh: number;
  batteryWh: number;
  mainsWh: number;
}

/** How the CLI and the page print a split's Wh, written out here rather than imported from what is checked. */
const cliWattHours = (wh: number) => (wh >= 1 ? `${wh.toFixed(3)} Wh` : `${(wh * 1000).toFixed(1)} mWh`);

interface RunJson {
  requestHash: string;
  tasks: {
    taskId: string;
    dealId: string;
    index: number;
    outcome: string;
    resultLocation?: string;
    energy?: { worker: string; milliwattHours: number }[];
  }[];
}

describe("the dashboard in headless Chromium, on a running devnet", function () {
  this.timeout(300_000);
  let devnet: RunningDevnet;
  let info: DevnetInfo;
  let browser: BrowserContext;
  let page: Page;
  let project: string;
  let completed: RunJson;
  const stops: (() => Promise<void>)[] = [];

  before(async function () {
    devnet = startDevnet({ chainPort: CHAIN_PORT, schedulerPort: SCHEDULER_PORT, args: ["--workers", "2"] });
    [browser] = await Promise.all([launchChromium(), waitForDevnet(devnet)]);
    info = devnet.info();
    project = mkdtempSync(join(tmpdir(), "sunpool-dashboard-"));
    page = await browser.newPage();
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async function () {
    for (const stop of stops) await stop();
    await browser?.close();
    if (devnet === undefined) return;
    devnet.child.kill("SIGINT");
    expect(await devnet.exited, devnet.output()).to.equal(0);
  });

  it("npm run devnet prints the dashboard's address", function () {
    expect(devnet.output()).to.include(`dashboard   ${info.schedulerUrl}/`);
  });

  it("the pool view lists every worker with its state, battery and sun, in accessible markup", async function () {
    await page.goto(`${info.schedulerUrl}/`);
    await page.getByRole("heading", { level: 1, name: "Pool" }).waitFor();
    const api = (await (await fetch(`${info.schedulerUrl}/v1/dashboard/pool`)).json()) as {
      workers: { address: string; stateOfChargePct: number }[];
    };
    const workers = page.getByRole("region", { name: "Workers of this pool, by address" });
    for (const address of info.accounts.workers) {
      const row = workers.getByRole("row").filter({ has: page.locator(`a[href="#/workers/${address}"]`) });
      expect(await row.count(), address).to.equal(1);
      const cells = await row.locator("td").allInnerTexts();
      expect(cells[0]).to.match(/idle|working/);
      const charge = api.workers.find((worker) => worker.address === address)!.stateOfChargePct;
      expect(cells[1]).to.equal(`${Math.round(charge).toString()} %`);
      expect(cells[2]).to.match(/^\d+\.\d W$/);
    }
    // Landmarks, a labelled search, column headers; the first Tab reaches the skip link.
    for (const role of ["banner", "navigation", "main", "search", "contentinfo"] as const)
      expect(await page.getByRole(role).count(), role).to.equal(1);
    expect(await page.getByLabel("Request hash, deal id or task id").count()).to.equal(1);
    expect(await workers.getByRole("columnheader").allInnerTexts()).to.include.members([
      "Worker",
      "State",
      "Battery",
      "Solar now",
    ]);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal("Skip to content");
    // On a phone: nothing wider than the screen but the tables, which scroll inside their region.
    await page.setViewportSize({ width: 360, height: 740 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(360);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("follows a task from sunpool run to its result: request, deal and task ids, receipt, the worker's page", async function () {
    const app = info.apps.wordcount!;
    completed = json<RunJson>(
      await sunpool(info, project, ["run", app.id, "--dataset", app.datasetId!, "--arg", "1", "--out", "words", "--json"]),
    );
    const [task] = completed.tasks;
    expect(task!.outcome).to.equal("completed");

    // The id the CLI printed, typed into the search form and submitted with the keyboard.
    await page.getByLabel("Request hash, deal id or task id").fill(completed.requestHash);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: `Request ${completed.requestHash}` }).waitFor();
    const section = page.locator("section.task");
    expect(await section.count()).to.equal(1);
    const text = await section.innerText();
    expect(text).to.include("completed");
    expect(text).to.include(task!.resultLocation!);
    expect(text).to.match(/Energy receipts of task 0/);
    const receipt = task!.energy![0]!;
    expect(text).to.include(
      receipt.milliwattHours >= 1000
        ? `${(receipt.milliwattHours / 1000).toFixed(3)} Wh`
        : `${receipt.milliwattHours.toString()} mWh`,
    );

    // The deal's link, then the task id: the same task, marked as the one asked for.
    await page.getByRole("link", { name: task!.dealId }).first().click();
    await page.getByRole("heading", { level: 1, name: `Deal ${task!.dealId}` }).waitFor();
    await page.goto(`${info.schedulerUrl}/#/tasks/${task!.taskId}`);
    await page.getByRole("heading", { level: 1, name: `Task ${task!.taskId}` }).waitFor();
    expect(await page.locator('section.task[aria-current="true"]').count()).to.equal(1);

    // The worker's split of the energy by source follows its submission (a report of its own): once
    // the pool has it, the CLI prints it and the replicas table shows it, the same figures.
    const split = await until("the worker's energy split in the pool's task view", async () => {
      const shown = json<{ pool?: { replicas: { worker: string; energySplit?: EnergySplit }[] } }>(
        await sunpool(info, project, ["task", "show", task!.taskId, "--json"]),
      );
      return shown.pool?.replicas.find((replica) => replica.energySplit !== undefined);
    });
    const { pvWh, batteryWh, mainsWh } = split.energySplit!;
    // A simulated board has no 5 V supply: its energy is the panel's and the battery's.
    expect(mainsWh).to.equal(0);
    expect(pvWh + batteryWh).to.be.above(0);
    const shownText = await sunpool(info, project, ["task", "show", task!.taskId]);
    expect(shownText.code, shownText.stderr).to.equal(0);
    expect(shownText.stdout).to.include(
      `${split.worker} energy by source (the worker's report, unverified): ${cliWattHours(pvWh)} panel, ${cliWattHours(batteryWh)} battery, ${cliWattHours(0)} mains`,
    );
    await page.reload();
    const replicas = page.getByRole("region", {
      name: `Workers task ${task!.index.toString()} went to, in the order it was offered`,
    });
    await replicas.waitFor();
    // The page shortens addresses; the worker's link holds it whole.
    const row = replicas.getByRole("row").filter({ has: page.locator(`a[href="#/workers/${split.worker}" i]`) });
    expect(await row.count(), await replicas.innerText()).to.equal(1);
    // To the tenth of a mWh, as the CLI prints it: a short task's split is well under 1 mWh.
    expect(await row.innerText()).to.include([pvWh, batteryWh, mainsWh].map(cliWattHours).join(" / "));
    await page.screenshot({ path: join(SHOTS, "dashboard-task.png"), fullPage: true });

    // The worker that did it: the task done, its receipt, and what the chain says it earned.
    await page.locator(`section.task a[href="#/workers/${receipt.worker}"]`).first().click();
    await page.getByRole("heading", { level: 1, name: `Worker ${receipt.worker}` }).waitFor();
    const tasks = page.getByRole("region", { name: "Tasks offered to this worker, newest first" });
    await tasks.getByRole("row").filter({ hasText: "done" }).first().waitFor();
    const receipts = page.getByRole("region", { name: /Energy the worker measured per task/ });
    await receipts.locator(`a[href="#/tasks/${task!.taskId}"]`).waitFor({ timeout: 30_000 });
    const earnings = await page.locator("dt:text-is('Earnings') + dd").innerText();
    expect(Number(earnings.replace(" SUN", "")), earnings).to.be.greaterThan(0);
    expect(await page.locator("dt:text-is('Stake (escrow)') + dd").innerText()).to.match(/^\d+(\.\d+)? SUN$/);
    await page.screenshot({ path: join(SHOTS, "dashboard-worker.png"), fullPage: true });
  });

  it("shows a failed task's reason, and never the app's log tail", async function () {
    const refusal = "primes: arguments are [limit] [parts], positive integers; got 'zero'";
    const ran = await sunpool(info, project, ["run", info.apps.primes!.id, "--arg", "zero", "--out", "zero"]);
    expect(ran.code, ran.stderr).to.equal(8);
    const requestHash = /^Request (0x[0-9a-f]{64})$/m.exec(ran.stdout)![1]!;
    await page.goto(`${info.schedulerUrl}/#/tasks/${requestHash}`);
    await page.getByRole("heading", { level: 1, name: `Request ${requestHash}` }).waitFor();
    const text = await page.locator("section.task").innerText();
    expect(text).to.include("app-failed");
    expect(text).to.include("the app failed on several workers, or its inputs are invalid");
    expect(text).to.match(/exited with code 2/);
    expect(await page.content()).to.not.include(refusal);
    await page.screenshot({ path: join(SHOTS, "dashboard-failed.png"), fullPage: true });

    await page.goto(`${info.schedulerUrl}/#/`);
    const failures = page.getByRole("region", { name: /Replicas that failed/ });
    await failures.getByRole("row").filter({ hasText: "exited with code 2" }).first().waitFor();
  });

  it("watches a simulated worker go to sleep at night and wake at its alarm", async function () {
    // A worker brought to the devnet on a board whose clock runs 600x: 23:00 in Albuquerque, 24 %
    // charge (under the night reserve: on a first night, with no panel learned, the 20 % floor plus
    // 20 hours of sleep, 26 %), so it powers off until its wake-up alarm (two simulated hours on a
    // first night: 12 s here), wakes, finds it still dark, and sleeps again.
    const folder = mkdtempSync(join(tmpdir(), "sunpool-sleepy-"));
    const wallet = Wallet.createRandom();
    const keystore = join(folder, "keystore.json");
    await writeKeystore({ path: keystore, password: info.password, privateKey: wallet.privateKey });
    await new Promise<void>((done, fail) => {
      const fund = spawn(process.execPath, [join(REPO_ROOT, "devnet/fund.ts"), wallet.address], {
        cwd: REPO_ROOT,
        env: { ...process.env, SUNPOOL_DEVNET_STATE: devnet.state },
        stdio: "ignore",
        timeout: 60_000,
      });
      fund.once("exit", (code) => (code === 0 ? done() : fail(new Error(`devnet:fund exited ${String(code)}`))));
    });
    const base = JSON.parse(readFileSync(join(devnet.state, "run/worker-1/worker.config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const config = join(folder, "worker.config.json");
    writeFileSync(
      config,
      JSON.stringify({
        ...base,
        keystore,
        dataDir: join(folder, "data"),
        board: {
          kind: "simulated",
          site: "albuquerque",
          panelWatts: 20,
          battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6 },
          initialStateOfCharge: 0.24,
          speed: 600,
          startTime: "2026-06-22T05:00:00Z",
        },
      }),
    );
    const worker = spawn(process.execPath, [join(REPO_ROOT, "worker/dist/cli.js"), "start", "--config", config], {
      env: { ...process.env, SUNPOOL_WORKER_PASSWORD: info.password },
      stdio: "ignore",
      timeout: 240_000,
    });
    const exited = new Promise((done) => worker.once("exit", done));
    stops.push(async () => {
      worker.kill("SIGTERM");
      await exited;
    });

    await page.goto(`${info.schedulerUrl}/#/`);
    const row = page
      .getByRole("region", { name: "Workers of this pool, by address" })
      .getByRole("row")
      .filter({ has: page.locator(`a[href="#/workers/${wallet.address}"]`) });
    await row.filter({ hasText: "sleeping" }).waitFor({ timeout: 90_000 });
    // The pool by now: a task done, a failure with its reason, a worker asleep.
    await page.screenshot({ path: join(SHOTS, "dashboard-pool.png"), fullPage: true });

    await page.goto(`${info.schedulerUrl}/#/workers/${wallet.address}`);
    await page.getByRole("heading", { level: 1, name: `Worker ${wallet.address}` }).waitFor();
    // Asleep, then awake again (the board powered the Pi on at its alarm), in that order.
    await page.waitForFunction(
      () => {
        const states = Array.from(document.querySelectorAll(".timeline li .state"), (item) => item.textContent);
        const asleep = states.indexOf("sleeping");
        return asleep >= 0 && states.slice(asleep + 1).some((state) => state === "idle" || state === "working");
      },
      undefined,
      { timeout: 120_000, polling: 500 },
    );
    await page.screenshot({ path: join(SHOTS, "dashboard-sleep.png"), fullPage: true });

    // The history is in the scheduler's database: killed and restarted, it shows the same past.
    const before = (await (await fetch(`${info.schedulerUrl}/v1/dashboard/workers/${wallet.address}`)).json()) as {
      timeline: unknown[];
    };
    process.kill(readPid(devnet, "scheduler"), "SIGKILL");
    let after: { timeline: unknown[] } | undefined;
    await waitFor(
      () => after !== undefined,
      60_000,
      "the restarted scheduler",
      async () => {
        after = await fetch(`${info.schedulerUrl}/v1/dashboard/workers/${wallet.address}`)
          .then((response) => (response.ok ? (response.json() as Promise<{ timeline: unknown[] }>) : undefined))
          .catch(() => undefined);
      },
    );
    expect(after!.timeline.slice(0, before.timeline.length)).to.deep.equal(before.timeline);
  });
});
