// Line coverage per part against its floor (docs/engineering.md, "Tests and CI"). `npm test`
// runs it after the suites: the contracts' figure comes from `hardhat --coverage test`
// (coverage/lcov.info, test:contracts), the TypeScript parts' from V8's coverage of every process
// test:parts starts, tests and the CLIs, scheduler and agents they spawn
// (build/coverage/parts/coverage-summary.json, made by c8 with source maps back to src/).
// Raise a floor when a part's coverage rises; lower one only with the reason in the commit.
//
//   node scripts/coverage-floors.ts [--parts-only | --contracts-only]
import { existsSync, readFileSync } from "node:fs";

// Measured on a fresh-clone CI run (2026-12-07): contracts 99.27, sdk 91.14, scheduler 94.37, worker 92.56;
// the floors sit two points below, for the paths only a slow or a fast machine takes.
const FLOORS: Record<string, number> = { contracts: 97, sdk: 89, scheduler: 92, worker: 90 };

const CONTRACTS_LCOV = "coverage/lcov.info";
const PARTS_SUMMARY = "build/coverage/parts/coverage-summary.json";

interface Lines {
  covered: number;
  total: number;
}

/** Lines found and hit per source file of an lcov report, test doubles (contracts/mocks) left out. */
function contractLines(): Lines {
  const lines = { covered: 0, total: 0 };
  let counted = false;
  for (const line of readFileSync(CONTRACTS_LCOV, "utf8").split("\n")) {
    if (line.startsWith("SF:")) counted = !line.includes("contracts/mocks/");
    else if (counted && line.startsWith("LF:")) lines.total += Number(line.slice(3));
    else if (counted && line.startsWith("LH:")) lines.covered += Number(line.slice(3));
  }
  return lines;
}

/** c8's json-summary, summed per part (the first folder of each file's path). */
function partLines(): Map<string, Lines> {
  const summary = JSON.parse(readFileSync(PARTS_SUMMARY, "utf8")) as Record<string, { lines: Lines }>;
  const parts = new Map<string, Lines>();
  for (const [file, { lines }] of Object.entries(summary)) {
    if (file === "total") continue;
    const part = file.slice(process.cwd().length + 1).split("/")[0]!;
    const sum = parts.get(part) ?? { covered: 0, total: 0 };
    parts.set(part, { covered: sum.covered + lines.covered, total: sum.total + lines.total });
  }
  return parts;
}

const only = process.argv[2];
const measured = new Map<string, Lines>();
const missing: string[] = [];
if (only !== "--parts-only") {
  if (existsSync(CONTRACTS_LCOV)) measured.set("contracts", contractLines());
  else missing.push(`${CONTRACTS_LCOV} (run npm run test:contracts)`);
}
if (only !== "--contracts-only") {
  if (existsSync(PARTS_SUMMARY)) for (const [part, lines] of partLines()) measured.set(part, lines);
  else missing.push(`${PARTS_SUMMARY} (run npm test, which measures test:parts with c8)`);
}

let failed = missing.length > 0;
for (const file of missing) console.error(`coverage: no report at ${file}`);
for (const [part, floor] of Object.entries(FLOORS)) {
  const lines = measured.get(part);
  if (lines === undefined) continue;
  const pct = lines.total === 0 ? 0 : (100 * lines.covered) / lines.total;
  const verdict = pct + 1e-9 >= floor ? "ok" : "BELOW FLOOR";
  console.log(
    `coverage: ${part.padEnd(10)} ${pct.toFixed(2).padStart(6)} % of ${lines.total.toString()} lines (floor ${floor.toString()} %) ${verdict}`,
  );
  if (pct + 1e-9 < floor) {
    failed = true;
    console.error(
      `coverage: ${part} fell below its floor: add tests for the new code, or lower FLOORS.${part} in scripts/coverage-floors.ts with the reason in the commit`,
    );
  }
}
process.exitCode = failed ? 1 : 0;
