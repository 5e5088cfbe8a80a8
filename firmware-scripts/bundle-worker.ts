// Packs the worker for the image: one ES module bundle of the built worker and everything it imports
// (esbuild, tree-shaken: a few MB instead of the ~470 MB production node_modules that Helia's optional
// WebRTC stack drags in, and a start-up ~5x faster on an SD card), plus the native addons, copied
// from the lockfile-installed node_modules for build-worker.sh to cross-compile. Also writes the
// manifest of every npm package in the image: name, version, license.
//
//   node firmware-scripts/bundle-worker.ts <stage dir>
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { build, type Plugin } from "esbuild";

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

/**
 * Built-in modules the agent needs late or never, as CommonJS modules whose members load on first
 * use: each costs resident memory at load (its code and state) whether it is used or not. Only
 * modules that export a plain object can be stood in for this way.
 * - http: Node's ES module facade of a built-in reads every export, and node:http's include lazy
 *   getters (WebSocket, EventSource...) that load undici: ~12 MiB for ethers' `import http`.
 * - https: TLS, ~6 MiB, for a worker whose URLs are all http.
 * - zlib, worker_threads, child_process: imported at load by dockerode, pino and commander for
 *   features the agent uses late (a task's disk checks) or never.
 */
const LAZY_BUILTINS = ["http", "https", "zlib", "worker_threads", "child_process"];
const lazyBuiltins: Plugin = {
  name: "lazy-builtins",
  setup(bundle) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join("|")})$`);
    bundle.onResolve({ filter }, (args) =>
      // The stand-in's own require of the real module stays a plain (external) require.
      args.namespace === "lazy-builtins" ? undefined : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtins" },
    );
    bundle.onLoad({ filter: /.*/, namespace: "lazy-builtins" }, async (args) => {
      const names = Object.keys((await import(`node:${args.path}`)) as object).filter((name) => name !== "default");
      return {
        loader: "js",
        contents: [
          "let loaded;",
          `const load = () => (loaded ??= require("node:${args.path}"));`,
          // A setter too: docker-modem derives objects from node:http and assigns `request` on them.
          `for (const name of ${JSON.stringify(names)}) Object.defineProperty(module.exports, name, {`,
          "  enumerable: true, configurable: true, get: () => load()[name],",
          "  set(value) { Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true }); },",
          "});",
        ].join("\n"),
      };
    });
  },
};

/**
 * Parts of dependencies the agent never uses, loaded with them: docker-modem's ssh2 (and its
 * crypto) for ssh:// engines, where the worker talks to a local socket (config
 * `docker.socketPath`); dockerode's gRPC and protobuf stack of BuildKit builds, where the worker
 * never builds an image (it follows pulls with docker.modem.followProgress); pino's worker
 * threads for transports, where the agent logs to stdout. ~1 MB of code compiled at start. The
 * stubs say so if one is ever reached.
 */
const unused: Plugin = {
  name: "unused",
  setup(bundle) {
    const refuse = (what: string) => `() => { throw new Error(${JSON.stringify(what)}); }`;
    const stubs: Record<string, string> = {
      ssh2: `module.exports.Client = class { constructor() { (${refuse("the worker reaches Docker through its socket (docker.socketPath), not ssh://")})(); } };`,
      session: `module.exports = ${refuse("the worker does not build images (BuildKit is left out of its bundle)")};`,
      buildkit: `module.exports.followProgress = ${refuse("the worker follows pulls with docker.modem.followProgress (BuildKit is left out of its bundle)")};`,
      "thread-stream": `module.exports = class { constructor() { (${refuse("the worker logs to stdout (pino transports are left out of its bundle)")})(); } };`,
    };
    bundle.onResolve({ filter: /^(ssh2|thread-stream)$/ }, (args) => ({ path: args.path, namespace: "unused" }));
    bundle.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (args) =>
      /dockerode[\\/]lib$/.test(args.resolveDir) ? { path: args.path.slice(2), namespace: "unused" } : undefined,
    );
    bundle.onLoad({ filter: /.*/, namespace: "unused" }, (args) => ({ loader: "js", contents: stubs[args.path] }));
  },
};

const result = await build({
  entryPoints: [join(ROOT, "worker/dist/cli.js")],
  outdir: join(app, "worker/dist"),
  // Modules imported with import() (the Helia node of `ipfs.mode: "node"`) go to chunks of their
  // own, read from disk only when imported: a worker in pool mode never loads libp2p's code.
  splitting: true,
  entryNames: "[name]",
  // Next to cli.js: code that finds files relative to its module (the simulator's irradiance
  // data, ../data from dist/) finds them from a chunk too.
  chunkNames: "[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  mainFields: ["module", "main"],
  plugins: [lazyBuiltins, unused],
  // cpu-features is tried and skipped at run time; the worker's own addons are loaded from node_modules.
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
  // V8 keeps each script's source in memory for as long as its functions live. Without comments
  // (one with a "—" makes V8 store the whole script two bytes per character) and whitespace, that
  // is 2 MB instead of 5.6 MiB; names stay, so stack traces still read.
  minifyWhitespace: true,
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
// All the code, and the part `start` loads (cli.js and the chunks it imports statically).
const outputs = result.metafile.outputs;
const scripts = Object.keys(outputs).filter((path) => path.endsWith(".js"));
const loaded = new Set<string>();
const pending = scripts.filter((path) => path.endsWith("/cli.js"));
for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
  if (loaded.has(path)) continue;
  loaded.add(path);
  pending.push(
    ...outputs[path]!.imports.filter((entry) => entry.kind === "import-statement" && entry.path in outputs).map(
      (entry) => entry.path,
    ),
  );
}
const sum = (paths: Iterable<string>) => [...paths].reduce((total, path) => total + outputs[path]!.bytes, 0);
console.log(
  JSON.stringify({
    bundleBytes: sum(scripts),
    loadedAtStartBytes: sum(loaded),
    npmPackages: rows.length,
    nativeAddons: [...copied].filter((name) => name !== "nan"),
  }),
);
