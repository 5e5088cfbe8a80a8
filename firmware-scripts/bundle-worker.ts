// Packs the worker for the image: one ES module bundle of the built worker and everything it imports
// (esbuild, tree-shaken: ~7 MB instead of the ~470 MB production node_modules that Helia's optional
// WebRTC stack drags in, and a start-up ~5x faster on an SD card), plus the native addons, copied
// from the lockfile-installed node_modules for build-worker.sh to cross-compile. Also writes the
// manifest of every npm package in the image: name, version, license.
//
//   node firmware-scripts/bundle-worker.ts <stage dir>
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
/** Loaded at run time from /opt/sunpool/node_modules: compiled code cannot be bundled. */
const NATIVE = ["i2c-bus", "onoff"];

const [stageArgument] = process.argv.slice(2);
if (stageArgument === undefined) {
  console.error("usage: node firmware-scripts/bundle-worker.ts <stage dir>");
  process.exit(2);
}
const stage = resolve(stageArgument);
const app = join(stage, "opt/sunpool");

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  /** The pre-SPDX form some packages (ssh2) still use. */
  licenses?: { type: string }[];
  dependencies?: Record<string, string>;
}
const readJson = async <T>(path: string) => JSON.parse(await readFile(path, "utf8")) as T;

const result = await build({
  entryPoints: [join(ROOT, "worker/dist/cli.js")],
  outfile: join(app, "worker/dist/cli.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  mainFields: ["module", "main"],
  // ssh2's optional crypto addon and cpu-features are tried and skipped at run time (dockerode
  // only needs them for ssh:// engines); the worker's own addons are loaded from node_modules.
  external: [...NATIVE, "cpu-features", "*.node"],
  // CommonJS dependencies inside an ES module bundle still call require and use __dirname.
  banner: {
    js: [
      "import { createRequire as __sunpoolCreateRequire } from 'node:module';",
      "const require = __sunpoolCreateRequire(import.meta.url);",
      "const __filename = import.meta.filename;",
      "const __dirname = import.meta.dirname;",
    ].join(" "),
  },
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});

const worker = await readJson<PackageJson>(join(ROOT, "worker/package.json"));
await writeFile(
  join(app, "worker/package.json"),
  `${JSON.stringify({ name: worker.name, version: worker.version, private: true, type: "module" }, null, 2)}\n`,
);
// The simulated boards' irradiance data (self-test --simulate), found relative to the bundle.
await cp(join(ROOT, "worker/data"), join(app, "worker/data"), { recursive: true });

// The native addons and their dependency closure, at the versions the lockfile installed.
const copied = new Set<string>();
async function copyWithDependencies(name: string): Promise<void> {
  if (copied.has(name)) return;
  copied.add(name);
  const from = join(ROOT, "node_modules", name);
  await cp(from, join(app, "node_modules", name), {
    recursive: true,
    filter: (source) => !/\/build(\/|$)/.test(source.slice(from.length)),
  });
  const manifest = await readJson<PackageJson>(join(from, "package.json"));
  for (const dependency of Object.keys(manifest.dependencies ?? {})) await copyWithDependencies(dependency);
}
for (const name of NATIVE) await copyWithDependencies(name);
await writeFile(
  join(app, "package.json"),
  `${JSON.stringify(
    {
      name: "sunpool-image",
      private: true,
      dependencies: Object.fromEntries(
        await Promise.all(
          NATIVE.map(async (name): Promise<[string, string]> => [
            name,
            (await readJson<PackageJson>(join(app, "node_modules", name, "package.json"))).version,
          ]),
        ),
      ),
    },
    null,
    2,
  )}\n`,
);

// Every npm package whose code is in the image: those with a file in the bundle, and the addons.
const packages = new Map<string, string>();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match?.[1] !== undefined) packages.set(match[1], join(ROOT, input.slice(0, match.index + match[0].length)));
}
for (const name of copied) packages.set(name, join(ROOT, "node_modules", name));
packages.set("@sunpool/sdk", join(ROOT, "sdk"));
packages.set("@sunpool/worker", join(ROOT, "worker"));
const rows: string[] = [];
for (const [, dir] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
  const manifest = await readJson<PackageJson>(join(dir, "package.json"));
  rows.push(
    [
      manifest.name,
      manifest.version,
      manifest.license ?? manifest.licenses?.map((entry) => entry.type).join(" OR ") ?? "UNKNOWN",
    ].join("\t"),
  );
}
await mkdir(join(stage, "manifest"), { recursive: true });
await writeFile(join(stage, "manifest/npm-packages.tsv"), `name\tversion\tlicense\n${rows.join("\n")}\n`);
const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((path) => path.endsWith("cli.js"))!]!.bytes;
console.log(
  JSON.stringify({ bundleBytes: bytes, npmPackages: rows.length, nativeAddons: [...copied].filter((name) => name !== "nan") }),
);
