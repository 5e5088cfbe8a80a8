// The dashboard's page weight and time to first render, in Debian's headless Chromium against a
// running scheduler (start `npm run devnet` first):
//   npm run bench:dashboard -- [url=http://127.0.0.1:7300] [loads=5]
// Each load is a cold one (a new browser profile, nothing cached). Bytes are what crossed the
// network (the page, its scripts and style, and the first JSON); "first paint" is Chromium's
// first-contentful-paint; "workers shown" is when the pool's workers table is in the DOM.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { chromium } from "playwright-core";

const url = process.argv[2] ?? "http://127.0.0.1:7300";
const loads = Number(process.argv[3] ?? 5);
if (!(loads >= 1)) throw new Error(`loads must be a positive number, got ${process.argv[3] ?? ""}`);

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface Load {
  bytes: number;
  requests: number;
  firstPaintMs: number;
  workersShownMs: number;
}

async function coldLoad(): Promise<Load> {
  const profile = mkdtempSync(join(tmpdir(), "sunpool-bench-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.locator("table caption", { hasText: "Workers of this pool" }).waitFor({ timeout: 30_000 });
    // Measured in the page, from navigation start.
    return await page.evaluate(() => {
      const shown = performance.now();
      const entries = [
        ...performance.getEntriesByType("navigation"),
        ...performance.getEntriesByType("resource"),
      ] as PerformanceResourceTiming[];
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      return {
        bytes: entries.reduce((sum, entry) => sum + entry.transferSize, 0),
        requests: entries.length,
        firstPaintMs: paint?.startTime ?? Number.NaN,
        workersShownMs: shown,
      };
    });
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const results: Load[] = [];
for (let i = 0; i < loads; i++) results.push(await coldLoad());
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const summary = {
  url,
  loads,
  bytes: median(results.map((r) => r.bytes)),
  requests: median(results.map((r) => r.requests)),
  firstPaintMs: Math.round(median(results.map((r) => r.firstPaintMs))),
  workersShownMs: Math.round(median(results.map((r) => r.workersShownMs))),
};
console.log(
  `dashboard at ${url}, median of ${loads.toString()} cold loads: ${summary.bytes.toLocaleString("en")} bytes in ${summary.requests.toString()} requests, first paint ${summary.firstPaintMs.toString()} ms, workers shown ${summary.workersShownMs.toString()} ms`,
);
console.log(JSON.stringify(summary));
