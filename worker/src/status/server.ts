// The worker's own status page, for an owner without a scheduler account: battery, sun, when the
// Pi would sleep and wake, the last tasks and the errors, on localhost or the LAN. Off unless the
// config has `status: { listen }`. Plain node:http and one server-rendered page that refreshes
// itself: no script, nothing to build, next to nothing in memory on a 1 GB Pi. Read-only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import type { EnergyManager } from "../energy/manager.js";
import type { Journal } from "../journal/journal.js";

export interface WorkerStatus {
  address: string;
  board: string;
  at: string;
  battery?: { stateOfChargePct: number; pvWatts: number; loadWatts: number; awakeSeconds: number };
  mainsPowered: boolean;
  /** What the energy policy says now: stay up, or sleep until `wakeAt` (and why). */
  sleep: { now: false } | { now: true; wakeAt: string; reason: string };
  tasks: { steps: Record<string, number>; open: TaskLine[]; recent: TaskLine[] };
  /** Tasks that failed or were given up, newest first, with the reason. */
  errors: { taskId: string; step: string; reason: string }[];
  /** Reports the scheduler has not taken yet (the journal's outbox), and the oldest of them. */
  reports: { queued: number; oldest?: { taskId: string; state: string; attempts: number; lastError?: string } };
}

interface TaskLine {
  taskId: string;
  step: string;
  reason?: string;
  energy?: { milliwattHours: number; solarShareBps: number };
}

export interface StatusSource {
  address: string;
  board: string;
  journal: Journal;
  energy: EnergyManager;
  /** Board time, ms. */
  now(): number;
}

export function readStatus(source: StatusSource): WorkerStatus {
  const { journal, energy } = source;
  const outlook = energy.outlook();
  const idle = energy.idle();
  const line = (task: ReturnType<Journal["recent"]>[number]): TaskLine => ({
    taskId: task.taskId,
    step: task.step,
    ...(task.reason === undefined ? {} : { reason: task.reason }),
    ...(task.energy === undefined ? {} : { energy: task.energy }),
  });
  const recent = journal.recent(20);
  const queued = journal.queuedReports();
  const oldest = queued[0];
  return {
    address: source.address,
    board: source.board,
    at: new Date(source.now()).toISOString(),
    ...(energy.last === undefined
      ? {}
      : {
          battery: {
            stateOfChargePct: outlook.stateOfChargePct,
            pvWatts: outlook.pvWatts,
            loadWatts: outlook.loadWatts,
            awakeSeconds: outlook.awakeSeconds,
          },
        }),
    mainsPowered: outlook.mainsPowered === true,
    sleep: idle.sleep ? { now: true, wakeAt: new Date(idle.wakeAtMs).toISOString(), reason: idle.reason } : { now: false },
    tasks: { steps: journal.counts(), open: journal.open().map(line), recent: recent.map(line) },
    errors: recent
      .filter((task) => (task.step === "failed" || task.step === "abandoned") && task.reason !== undefined)
      .map((task) => ({ taskId: task.taskId, step: task.step, reason: task.reason! })),
    reports: {
      queued: queued.length,
      ...(oldest === undefined
        ? {}
        : {
            oldest: {
              taskId: oldest.taskId,
              state: oldest.body.state,
              attempts: oldest.attempts,
              ...(oldest.lastError === undefined ? {} : { lastError: oldest.lastError }),
            },
          }),
    },
  };
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

export function renderStatus(status: WorkerStatus): string {
  const battery = status.battery;
  const rows = (tasks: TaskLine[]) =>
    tasks
      .map(
        (task) =>
          `<tr><th scope="row"><code>${escape(task.taskId)}</code></th><td>${escape(task.step)}</td><td>${
            task.energy
              ? `${task.energy.milliwattHours.toString()} mWh, ${(task.energy.solarShareBps / 100).toFixed(0)} % solar`
              : ""
          }</td><td>${escape(task.reason ?? "")}</td></tr>`,
      )
      .join("");
  const table = (caption: string, tasks: TaskLine[]) =>
    tasks.length === 0
      ? `<p>${escape(caption)}: none.</p>`
      : `<table><caption>${escape(caption)}</caption><thead><tr><th scope="col">Task</th><th scope="col">Step</th><th scope="col">Energy</th><th scope="col">Reason</th></tr></thead><tbody>${rows(tasks)}</tbody></table>`;
  const sleep = status.sleep.now
    ? `would sleep now until <time datetime="${status.sleep.wakeAt}">${status.sleep.wakeAt}</time> (${escape(status.sleep.reason)})`
    : "stays awake: it can take work";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15"><title>Sunpool worker ${escape(status.address)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem;line-height:1.45}table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;border-top:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}caption{text-align:left;font-weight:600}code{overflow-wrap:anywhere}dt{font-weight:600}dd{margin:0 0 .5rem}</style>
</head><body><main>
<h1>Sunpool worker</h1>
<dl>
<dt>Address</dt><dd><code>${escape(status.address)}</code></dd>
<dt>Board</dt><dd>${escape(status.board)}</dd>
<dt>Battery</dt><dd id="battery">${status.mainsPowered ? "mains powered" : battery ? `${battery.stateOfChargePct.toFixed(0)} %` : "not read yet"}</dd>
<dt>Solar now</dt><dd id="solar">${battery ? `${battery.pvWatts.toFixed(1)} W (load ${battery.loadWatts.toFixed(1)} W)` : "—"}</dd>
<dt>Next sleep and wake</dt><dd id="sleep">${sleep}</dd>
<dt>Reports not yet taken by the scheduler</dt><dd id="reports">${reportsLine(status.reports)}</dd>
<dt>Board time</dt><dd>${escape(status.at)}</dd>
</dl>
${table("Open tasks", status.tasks.open)}
${table("Last tasks", status.tasks.recent)}
<h2>Errors</h2>
${status.errors.length === 0 ? "<p>None.</p>" : `<ul>${status.errors.map((e) => `<li><code>${escape(e.taskId)}</code> ${escape(e.step)}: ${escape(e.reason)}</li>`).join("")}</ul>`}
<p>JSON: <a href="/status.json">/status.json</a>. This page refreshes every 15 s.</p>
</main></body></html>
`;
}

function reportsLine({ queued, oldest }: WorkerStatus["reports"]): string {
  if (oldest === undefined) return "none";
  const error = oldest.lastError === undefined ? "" : `; last error: ${escape(oldest.lastError)}`;
  return `${queued.toString()}, the oldest <code>${escape(oldest.state)}</code> for <code>${escape(oldest.taskId)}</code> after ${oldest.attempts.toString()} attempts${error}`;
}

export async function serveStatus(
  source: StatusSource,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" || (path !== "/" && path !== "/status.json")) {
      response.writeHead(404, { "content-type": "text/plain" }).end("only GET / and GET /status.json are served here\n");
      return;
    }
    try {
      const status = readStatus(source);
      if (path === "/status.json") response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(status));
      else
        response
          .writeHead(200, {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
          })
          .end(renderStatus(status));
    } catch (error) {
      response.writeHead(500, { "content-type": "text/plain" }).end(`the status could not be read: ${String(error)}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound.toString()}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
