/* global document */
// Time-series charts as inline SVG: a few lines of code instead of a charting library, since the
// dashboard draws at most a few hundred points per chart. Each chart is a <figure> whose SVG has a
// text alternative (the latest values) for screen readers.
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 180;
const PAD = { left: 44, right: 44, top: 10, bottom: 22 };

/**
 * @param {string} name
 * @param {Record<string, string | number>} [attributes]
 * @param {string} [text]
 */
function node(name, attributes = {}, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** @param {number} value */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * @param {number} ms
 * @param {number} span
 */
function clock(ms, span) {
  const date = new Date(ms);
  if (span > 2 * 86_400_000) return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return date.toLocaleTimeString(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    ...(span < 600_000 ? { second: "2-digit" } : {}),
  });
}

/**
 * @typedef {object} Series
 * @property {string} name
 * @property {string} unit
 * @property {string} color
 * @property {[number, number][]} points [ms, value]
 * @property {number} [max] the axis' top (default: a round number above the largest value)
 */

/**
 * A line chart of one or two series over time; the second series gets its own axis on the right.
 * @param {{ title: string; series: Series[]; from: number; to: number }} chart
 * @returns {HTMLElement}
 */
export function lineChart({ title, series, from, to }) {
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const latest = series
    .map((s) => {
      const last = s.points.at(-1);
      return last === undefined ? `${s.name}: no data` : `${s.name} ${format(last[1])} ${s.unit} (latest)`;
    })
    .join("; ");
  const svg = node("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": `${title}. ${latest}` });
  // The axis starts at the first point (a young pool's history would be a dot at the right edge
  // of a day), at least a minute before `to`, never before `from`.
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const x0 = xs.length === 0 ? from : Math.max(from, Math.min(...xs, to - 60_000));
  const x1 = Math.max(to, x0 + 1);
  const sx = (/** @type {number} */ x) => PAD.left + ((x - x0) / (x1 - x0)) * (WIDTH - PAD.left - PAD.right);
  svg.append(
    node("line", {
      x1: PAD.left,
      x2: WIDTH - PAD.right,
      y1: HEIGHT - PAD.bottom,
      y2: HEIGHT - PAD.bottom,
      stroke: "currentColor",
      "stroke-opacity": 0.3,
    }),
  );
  for (const fraction of [0, 0.5, 1]) {
    const x = x0 + fraction * (x1 - x0);
    const anchor = fraction === 0 ? "start" : fraction === 1 ? "end" : "middle";
    svg.append(
      node("text", { x: sx(x), y: HEIGHT - 6, "font-size": 11, "text-anchor": anchor, fill: "currentColor" }, clock(x, x1 - x0)),
    );
  }
  series.forEach((s, index) => {
    const max = s.max ?? niceMax(Math.max(0, ...s.points.map((p) => p[1])));
    const sy = (/** @type {number} */ y) =>
      HEIGHT - PAD.bottom - (Math.max(0, Math.min(max, y)) / max) * (HEIGHT - PAD.top - PAD.bottom);
    const axisX = index === 0 ? PAD.left - 4 : WIDTH - PAD.right + 4;
    const anchor = index === 0 ? "end" : "start";
    for (const value of [0, max / 2, max]) {
      svg.append(
        node("text", { x: axisX, y: sy(value) + 4, "font-size": 11, "text-anchor": anchor, fill: s.color }, `${format(value)}`),
      );
    }
    if (s.points.length === 1) {
      const [[x, y]] = s.points;
      svg.append(node("circle", { cx: sx(x), cy: sy(y), r: 3, fill: s.color }));
    } else if (s.points.length > 1) {
      const d = s.points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      svg.append(node("path", { d, fill: "none", stroke: s.color, "stroke-width": 2, "stroke-linejoin": "round" }));
    }
  });
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const s of series) {
    const item = document.createElement("li");
    item.style.color = s.color;
    item.textContent = `— ${s.name} (${s.unit})`;
    legend.append(item);
  }
  figure.append(caption, svg, legend);
  return figure;
}

/** @param {number} value */
function format(value) {
  return Math.abs(value) >= 100 || Number.isInteger(value) ? Math.round(value).toString() : value.toFixed(1);
}
