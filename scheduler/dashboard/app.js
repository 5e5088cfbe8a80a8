/* global document, location, fetch, setTimeout, clearTimeout, window, CSS, FormData */
// The Sunpool dashboard: plain ES modules, no build step and no framework. Three views chosen by
// the URL's hash (#/, #/workers/<address>, #/tasks/<request hash | deal id | task id>), each read
// from the scheduler's read-only JSON and refreshed by polling while the tab is visible.
import { lineChart } from "./charts.js";

const POLL_MS = 3000;
const COLORS = { battery: "#2f81f7", sun: "#d4a017", tasks: "#3fb950", energy: "#bf5af2" };
/** @typedef {import("./types.js").PoolData} PoolData */
/** @typedef {import("./types.js").WorkerData} WorkerData */
/** @typedef {import("./types.js").LookupData} LookupData */
/** @typedef {import("./types.js").Task} Task */
/** @typedef {import("./types.js").Problem} Problem */
/** @typedef {Node | string | undefined | null | false | ChildList} Child */
/** @typedef {Child[]} ChildList */
/**
 * @template T
 * @typedef {{ label: string; num?: boolean; cell: (row: T) => Child }} Column
 */

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const updated = /** @type {HTMLElement} */ (document.getElementById("updated"));

/**
 * Creates an element: h("td", { class: "num" }, "3", child, …).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | undefined>} [attributes]
 * @param {Child[]} children
 * @returns {HTMLElement}
 */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of flatten(children)) element.append(child);
  return element;
}

/**
 * @param {Child[]} children
 * @returns {(Node | string)[]}
 */
function flatten(children) {
  return children.flatMap((child) =>
    Array.isArray(child) ? flatten(child) : child === undefined || child === null || child === false ? [] : [child],
  );
}

/** @param {string} id */
const short = (id) => (id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
/** @type {(href: string, id: string, label?: string) => HTMLElement} */
const idLink = (href, id, label) => h("a", { href, class: "id", title: id }, label ?? short(id));
/** @param {string} address */
const workerLink = (address) => idLink(`#/workers/${address}`, address);
/** @param {string} taskId */
const taskLink = (taskId) => idLink(`#/tasks/${taskId}`, taskId);
/** @param {string} iso */
const when = (iso) => h("time", { datetime: iso }, new Date(iso).toLocaleString());
/** @param {string} state */
const stateBadge = (state) => h("span", { class: `state state-${state}` }, state);
/** @param {number | undefined} value */
const pct = (value) => (value === undefined ? "—" : `${Math.round(value)} %`);
/** @param {number | undefined} value */
const watts = (value) => (value === undefined ? "—" : `${value.toFixed(1)} W`);
/** @param {number | undefined} seconds */
const duration = (seconds) => {
  if (seconds === undefined) return "—";
  if (seconds >= 86_400) return `${(seconds / 3600).toFixed(0)} h`;
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 60)} min`;
};
/** @param {number} mwh */
const energy = (mwh) => (mwh >= 1000 ? `${(mwh / 1000).toFixed(3)} Wh` : `${mwh} mWh`);

/**
 * A worker's own account of a task's energy by source (unverified: the receipt on-chain is what counts).
 * @param {{ pvWh: number; batteryWh: number; mainsWh: number } | undefined} split
 */
const energySplit = (split) =>
  split === undefined ? "—" : [split.pvWh, split.batteryWh, split.mainsWh].map(splitWattHours).join(" / ");
/**
 * The split is in Wh, not whole mWh as receipts are: a short task's few tenths of a mWh would
 * otherwise read "0 mWh" from every source (the CLI prints it the same way).
 * @param {number} wh
 */
const splitWattHours = (wh) => (wh >= 1 ? `${wh.toFixed(3)} Wh` : `${(wh * 1000).toFixed(1)} mWh`);

/**
 * A table with a caption, column headers and one header cell per row.
 * @template T
 * @param {string} caption
 * @param {Column<T>[]} columns
 * @param {T[]} rows
 * @param {string} empty
 */
function table(caption, columns, rows, empty) {
  if (rows.length === 0) return h("p", {}, empty);
  return h(
    "div",
    { class: "scroll", role: "region", "aria-label": caption, tabindex: 0 },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          columns.map((column) => h("th", { scope: "col", class: column.num ? "num" : undefined }, column.label)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            columns.map((column, index) =>
              h(
                index === 0 ? "th" : "td",
                { scope: index === 0 ? "row" : undefined, class: column.num ? "num" : undefined },
                column.cell(row),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** @param {[string, Child][]} entries */
function facts(entries) {
  return h(
    "dl",
    { class: "facts" },
    entries
      .filter(([, value]) => value !== undefined)
      .map(([term, value]) => h("div", { class: "pair" }, h("dt", {}, term), h("dd", {}, value))),
  );
}

/** @param {[string, string | number][]} entries */
function cards(entries) {
  return h(
    "dl",
    { class: "cards" },
    entries.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, String(value)))),
  );
}

// ---- views

/**
 * @param {PoolData} data
 * @returns {Child[]}
 */
function poolView(data) {
  const window = { from: Date.parse(data.window.from), to: Date.parse(data.generatedAt) };
  const solar = data.workers
    .filter((w) => w.state !== "offline" && w.state !== "sleeping")
    .reduce((sum, w) => sum + (w.pvWatts ?? 0), 0);
  const ended = Object.entries(data.tasks).filter(([key]) => !["waiting", "active", "revealing"].includes(key));
  return [
    h("h1", {}, "Pool"),
    h("p", {}, "Workerpool ", h("code", {}, data.pool.workerpool), " · scheduler ", h("code", {}, data.pool.scheduler)),
    h("section", { "aria-labelledby": "at-a-glance" }, [
      h("h2", { id: "at-a-glance" }, "At a glance"),
      cards([
        ["Working", data.workerStates.working],
        ["Idle", data.workerStates.idle],
        ["Sleeping", data.workerStates.sleeping],
        ["Offline", data.workerStates.offline],
        ["Solar now", `${solar.toFixed(1)} W`],
        ["Tasks waiting", data.tasks.waiting ?? 0],
        ["Tasks running", (data.tasks.active ?? 0) + (data.tasks.revealing ?? 0)],
        ...ended.map(([outcome, n]) => /** @type {[string, number]} */ ([`Ended: ${outcome}`, n])),
      ]),
    ]),
    h("section", { "aria-labelledby": "workers" }, [
      h("h2", { id: "workers" }, "Workers"),
      table(
        "Workers of this pool, by address",
        [
          { label: "Worker", cell: (w) => workerLink(w.address) },
          { label: "State", cell: (w) => stateBadge(w.state) },
          { label: "Battery", num: true, cell: (w) => (w.mainsPowered ? "mains" : pct(w.stateOfChargePct)) },
          { label: "Solar now", num: true, cell: (w) => watts(w.pvWatts) },
          { label: "Outlook (awake)", num: true, cell: (w) => duration(w.awakeSeconds) },
          { label: "Tasks in flight", num: true, cell: (w) => String(w.tasksInFlight) },
          { label: "Completed", num: true, cell: (w) => String(w.completed) },
          { label: "Failed", num: true, cell: (w) => String(w.failed) },
          { label: "Last seen", cell: (w) => when(w.lastSeen) },
        ],
        data.workers,
        "No worker has registered with this pool yet.",
      ),
    ]),
    h("section", { "aria-labelledby": "charts" }, [
      h("h2", { id: "charts" }, "Over time"),
      h("div", { class: "charts" }, [
        lineChart({
          title: "Throughput: tasks completed",
          ...window,
          series: [
            {
              name: "completed",
              unit: `tasks per ${duration(data.window.bucketSeconds)}`,
              color: COLORS.tasks,
              points: data.throughput.map((p) => [Date.parse(p.at), p.completed]),
            },
          ],
        }),
        lineChart({
          title: "Energy per task",
          ...window,
          series: [
            {
              name: "mean receipt",
              unit: "mWh",
              color: COLORS.energy,
              points: data.energyPerTask.map((p) => [Date.parse(p.at), p.milliwattHours]),
            },
            {
              name: "solar share",
              unit: "%",
              color: COLORS.sun,
              max: 100,
              points: data.energyPerTask.map((p) => [Date.parse(p.at), p.solarSharePct]),
            },
          ],
        }),
      ]),
    ]),
    h("section", { "aria-labelledby": "failures" }, [
      h("h2", { id: "failures" }, "Recent failures"),
      table(
        "Replicas that failed, were declined, lost, silent or wrong, newest first",
        [
          { label: "Task", cell: (f) => taskLink(f.taskId) },
          { label: "Worker", cell: (f) => workerLink(f.worker) },
          { label: "What", cell: (f) => f.state },
          { label: "Reason", cell: (f) => h("span", { class: "reason" }, f.reason ?? "—") },
          { label: "Task ended", cell: (f) => f.taskOutcome ?? "not yet" },
          { label: "When", cell: (f) => when(f.at) },
        ],
        data.failures,
        "No failures recorded.",
      ),
    ]),
  ];
}

/**
 * @param {WorkerData} data
 * @returns {Child[]}
 */
function workerView(data) {
  const w = data.worker;
  const window = { from: Date.parse(data.window.from), to: Date.parse(data.generatedAt) };
  const chain = data.chain;
  return [
    h("h1", {}, "Worker ", h("span", { class: "id" }, w.address)),
    h("section", { "aria-labelledby": "now" }, [
      h("h2", { id: "now" }, "Now"),
      facts([
        ["State", stateBadge(w.state)],
        ["Battery", w.mainsPowered ? "mains powered" : pct(w.stateOfChargePct)],
        ["Solar now", watts(w.pvWatts)],
        ["Load", watts(w.loadWatts)],
        ["Outlook", `awake for ${duration(w.awakeSeconds)} under load`],
        ["Tasks in flight", String(w.tasksInFlight)],
        ["Board", w.board ?? "—"],
        ["Last seen", when(w.lastSeen)],
        ["Stake (escrow)", chain ? `${chain.stake} SUN` : undefined],
        ["Locked for tasks", chain ? `${chain.locked} SUN` : undefined],
        ["Earnings", chain ? `${chain.earnings} SUN` : undefined],
        ["Reputation with this pool", chain ? chain.reputation : undefined],
        ["Chain", data.chainError ? h("span", { class: "error" }, `not read: ${data.chainError}`) : undefined],
        ["Tasks with this pool", `${w.completed} completed, ${w.failed} failed or lost`],
        [
          "Energy receipts",
          `${data.energy.receipts}, ${energy(data.energy.milliwattHours)} in all, ${data.energy.solarSharePct} % solar`,
        ],
      ]),
    ]),
    h("section", { "aria-labelledby": "battery" }, [
      h("h2", { id: "battery" }, "Battery and sun"),
      h("div", { class: "charts" }, [
        lineChart({
          title: "Battery and solar power",
          ...window,
          series: [
            {
              name: "battery",
              unit: "%",
              color: COLORS.battery,
              max: 100,
              points: data.samples.flatMap((s) =>
                s.stateOfChargePct === undefined
                  ? []
                  : [/** @type {[number, number]} */ ([Date.parse(s.at), s.stateOfChargePct])],
              ),
            },
            {
              name: "solar",
              unit: "W",
              color: COLORS.sun,
              points: data.samples.flatMap((s) =>
                s.pvWatts === undefined ? [] : [/** @type {[number, number]} */ ([Date.parse(s.at), s.pvWatts])],
              ),
            },
          ],
        }),
      ]),
    ]),
    h("section", { "aria-labelledby": "timeline" }, [
      h("h2", { id: "timeline" }, "Sleep and wake"),
      data.timeline.length === 0
        ? h("p", {}, "No change of state in this window.")
        : h(
            "ol",
            { class: "timeline", "aria-label": "Changes of state, oldest first (the last 50)" },
            data.timeline.slice(-50).map((t) => h("li", {}, when(t.at), " ", stateBadge(t.state))),
          ),
    ]),
    h("section", { "aria-labelledby": "tasks" }, [
      h("h2", { id: "tasks" }, "Tasks"),
      table(
        "Tasks offered to this worker, newest first",
        [
          { label: "Task", cell: (t) => taskLink(t.taskId) },
          { label: "Its part", cell: (t) => t.state },
          { label: "Reason", cell: (t) => (t.reason ? h("span", { class: "reason" }, t.reason) : "—") },
          { label: "Task ended", cell: (t) => t.taskOutcome ?? "not yet" },
          { label: "Offered", cell: (t) => when(t.offeredAt) },
        ],
        data.tasks,
        "No task was offered to this worker yet.",
      ),
    ]),
    h("section", { "aria-labelledby": "receipts" }, [
      h("h2", { id: "receipts" }, "Energy receipts"),
      table(
        "Energy the worker measured per task (on-chain), newest first",
        [
          { label: "Task", cell: (r) => taskLink(r.taskId) },
          { label: "Energy", num: true, cell: (r) => energy(r.milliwattHours) },
          { label: "Solar share", num: true, cell: (r) => `${r.solarSharePct} %` },
          { label: "When", cell: (r) => when(r.at) },
        ],
        data.receipts,
        "No energy receipt yet.",
      ),
    ]),
  ];
}

/**
 * @param {Task} task
 * @param {boolean} current
 */
function taskSection(task, current) {
  const chain = task.chain;
  const outcome = chain?.outcome && chain.outcome !== "none" ? chain.outcome : task.outcome;
  const location = chain?.resultLocation ?? task.result?.locations?.[0];
  return h("section", { class: "task", "aria-current": current ? "true" : undefined, "aria-labelledby": `task-${task.taskId}` }, [
    h("h3", { id: `task-${task.taskId}` }, `Task ${task.index} `, h("span", { class: "id" }, task.taskId)),
    facts([
      ["Status", chain?.status ?? task.status],
      ["Outcome", outcome ?? "not ended yet"],
      ["Why", chain?.failure ? h("span", { class: "reason" }, chain.failure.reason) : undefined],
      ["What to do", chain?.failure ? chain.failure.hints.join(" ") : undefined],
      ["Round", String(task.round)],
      ["Contributions", String(task.contributions)],
      [
        "Consensus",
        chain?.consensus
          ? `${chain.consensus.reveals} revealed of ${chain.consensus.contributors}${chain.consensus.decided ? ", decided" : ""}`
          : undefined,
      ],
      ["Result digest", chain?.resultDigest ?? task.result?.digest],
      ["Result location", location ? h("code", {}, location) : undefined],
      ["Chain", task.chainError ? h("span", { class: "error" }, `not read: ${task.chainError}`) : undefined],
    ]),
    table(
      `Workers task ${task.index} went to, in the order it was offered`,
      [
        { label: "Worker", cell: (r) => workerLink(r.worker) },
        { label: "Its part", cell: (r) => r.state },
        { label: "Reason", cell: (r) => (r.reason ? h("span", { class: "reason" }, r.reason) : "—") },
        { label: "Energy: panel / battery / mains (its report)", num: true, cell: (r) => energySplit(r.energySplit) },
        { label: "Offered", cell: (r) => when(r.offeredAt) },
        { label: "Last change", cell: (r) => when(r.updatedAt) },
      ],
      task.replicas,
      "Not offered to any worker yet.",
    ),
    chain && chain.energy.length > 0
      ? table(
          `Energy receipts of task ${task.index}`,
          [
            { label: "Worker", cell: (r) => workerLink(r.worker) },
            { label: "Energy", num: true, cell: (r) => energy(r.milliwattHours) },
            { label: "Solar share", num: true, cell: (r) => `${Math.round(r.solarShareBps / 100)} %` },
          ],
          chain.energy,
          "",
        )
      : undefined,
  ]);
}

/**
 * @param {LookupData} data
 * @returns {Child[]}
 */
function lookupView(data) {
  const title = { task: "Task", deal: "Deal", request: "Request" }[data.kind];
  return [
    h("h1", {}, `${title} `, h("span", { class: "id" }, data.id)),
    data.deals.length === 0
      ? h("p", {}, `The request is in the book (${data.requestStatus ?? "open"}); no deal yet.`)
      : undefined,
    data.deals.map((deal) =>
      h("section", { "aria-labelledby": `deal-${deal.dealId}` }, [
        h("h2", { id: `deal-${deal.dealId}` }, "Deal ", h("span", { class: "id" }, deal.dealId)),
        facts([
          ["Request", idLink(`#/tasks/${deal.requestHash}`, deal.requestHash, deal.requestHash)],
          ["Deal", idLink(`#/tasks/${deal.dealId}`, deal.dealId, deal.dealId)],
          ["Requester", h("span", { class: "id" }, deal.requester)],
          ["App", `${deal.app.name} (${short(deal.app.id)})`],
          ["Dataset", deal.dataset ? `${deal.dataset.name} (${short(deal.dataset.id)})` : undefined],
          ["Trust", String(deal.trust)],
          ["Tasks", String(deal.volume)],
        ]),
        deal.tasks.map((task) => taskSection(task, data.kind === "task" && task.taskId === data.id)),
      ]),
    ),
  ];
}

// ---- routing and refresh

/**
 * @typedef {object} Route
 * @property {RegExp} pattern
 * @property {(match: RegExpExecArray) => string} url
 * @property {(body: any) => Child[]} render
 * @property {(match: RegExpExecArray) => string} title
 */

/** @type {Route[]} */
const routes = [
  { pattern: /^#?\/?$/, url: () => "/v1/dashboard/pool", render: poolView, title: () => "Pool" },
  {
    pattern: /^#\/workers\/(0x[0-9a-fA-F]{40})$/,
    url: (m) => `/v1/dashboard/workers/${m[1] ?? ""}`,
    render: workerView,
    title: (m) => `Worker ${short(m[1] ?? "")}`,
  },
  {
    pattern: /^#\/tasks\/(0x[0-9a-fA-F]{64})$/,
    url: (m) => `/v1/dashboard/lookup/${m[1] ?? ""}`,
    render: lookupView,
    title: (m) => `Task ${short(m[1] ?? "")}`,
  },
];

/**
 * @param {string} text
 * @returns {unknown}
 */
const parse = (text) => JSON.parse(text);

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let shown = "";
let generation = 0;

/** @param {boolean} moved the reader followed a link: focus goes to the new view (screen readers announce it) */
async function refresh(moved) {
  const hash = location.hash;
  const mine = ++generation;
  let route;
  let match;
  for (const candidate of routes) {
    match = candidate.pattern.exec(hash);
    if (match !== null) {
      route = candidate;
      break;
    }
  }
  if (route === undefined || match === null || match === undefined) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "No such view. ", h("a", { href: "#/" }, "Back to the pool.")));
    return;
  }
  document.title = `${route.title(match)} · Sunpool`;
  try {
    const response = await fetch(route.url(match), { headers: { accept: "application/json" } });
    const text = await response.text();
    if (mine !== generation) return;
    if (!response.ok) {
      const problem = /** @type {Problem} */ (parse(text));
      main.replaceChildren(
        ...flatten([
          h("h1", {}, problem.title ?? "Error"),
          h("p", { class: "error" }, problem.detail ?? ""),
          problem.hint ? h("p", {}, problem.hint) : undefined,
        ]),
      );
      shown = "";
      return;
    }
    // Redraw only when something changed, so that keyboard focus and scrolling stay put.
    const key = hash + text.replace(/"generatedAt":"[^"]*"/, "");
    if (key !== shown) {
      const active = document.activeElement?.getAttribute("href");
      main.replaceChildren(...flatten(route.render(parse(text))));
      shown = key;
      if (moved) main.focus({ preventScroll: true });
      else if (active)
        main
          .querySelector(`[href="${CSS.escape(active)}"]`)
          ?.closest("a")
          ?.focus({ preventScroll: true });
    }
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    updated.textContent = `Could not reach the scheduler (${error instanceof Error ? error.message : String(error)}); retrying.`;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    void (document.visibilityState === "visible" ? refresh(false) : Promise.resolve()).then(schedule);
  }, POLL_MS);
}

window.addEventListener("hashchange", () => {
  shown = "";
  void refresh(true).then(schedule);
});
const find = /** @type {HTMLFormElement} */ (document.getElementById("find"));
find.addEventListener("submit", (event) => {
  event.preventDefault();
  const value = new FormData(find).get("id");
  const id = typeof value === "string" ? value.trim() : "";
  location.hash = `#/tasks/${id}`;
});
void refresh(false).then(schedule);
