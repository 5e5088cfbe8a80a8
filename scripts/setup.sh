#!/usr/bin/env bash
# One setup path for a new machine and for CI: provides npm when the machine has none, installs the
# project's dependencies, and builds native addons against the project's Node 24 (the `node`
# devDependency, which npm scripts put first on PATH) rather than the machine's Node.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: installing Debian's nodejs and npm to bootstrap (the project then runs on Node 24)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "[setup] error: npm is missing and this is not root; install Node.js >= 18 with npm, then rerun." >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

log "installing dependencies"
# Not `npm ci`: the registry these machines reach lacks some platform builds that optional
# dependencies name (e.g. @nomicfoundation/edr-darwin-arm64), so the lock cannot list them and
# `npm ci` refuses it. `npm install` honours the versions the lock pins and skips what is absent.
npm install --no-audit --no-fund

node24=$(find node_modules/node/node_modules -maxdepth 1 -name 'node-linux-*' 2>/dev/null | head -n 1 || true)
if [ -z "$node24" ] && [ -d node_modules/node ]; then
  # Run again over an existing tree, npm prunes the runtime package (binary and headers) nested in
  # `node`: install `node` afresh, so the headers the addons build against are there.
  log "reinstalling the Node 24 runtime package (npm pruned it on this second install)"
  rm -rf node_modules/node
  npm install --no-audit --no-fund
  node24=$(find node_modules/node/node_modules -maxdepth 1 -name 'node-linux-*' 2>/dev/null | head -n 1 || true)
fi
if [ -z "$node24" ] || [ ! -x node_modules/.bin/node ]; then
  echo "[setup] error: the Node 24 runtime (npm package 'node') did not install; check npm's output above." >&2
  exit 1
fi
# Native addons must match the runtime that loads them, whatever npm config (e.g. nodedir) says.
if find node_modules -name binding.gyp -not -path '*/node-gyp/*' -print -quit | grep -q .; then
  log "rebuilding native addons for $(node_modules/.bin/node --version)"
  PATH="$PWD/node_modules/.bin:$PATH" npm_config_nodedir="$PWD/$node24" npm rebuild --no-audit --no-fund
fi
bash scripts/docker.sh ensure # Docker engine + local registry for the worker executor and its tests
# Debian's Chromium for the dashboard's browser tests (playwright-core drives it; no browser is
# downloaded). Without root, only those tests cannot run.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing Debian's chromium (apt) for the dashboard's browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
  else
    log "warning: /usr/bin/chromium is missing; install it as root (sudo apt-get install -y chromium) for test/dashboard"
  fi
fi
# Debian's PostgreSQL for the scheduler's PostgreSQL store and its tests (they start a private
# server with scripts/postgres.sh ensure). Without root, only those tests cannot run.
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/postgres.sh install
elif ! bash scripts/postgres.sh install 2>/dev/null; then
  log "warning: PostgreSQL is missing; install it as root (sudo bash scripts/postgres.sh install) for the scheduler's store tests"
fi
# The Pi image's build tools (mmdebstrap, the aarch64 cross compiler, mtools, shellcheck for lint).
bash firmware-scripts/host-tools.sh || log "warning: the firmware image cannot be built on this machine (see above)"
log "building the contracts, the SDK and the sunpool CLI"
npm run build
# npm links a workspace's bin only when its target exists, so the `sunpool` link needs a second,
# offline pass now that sdk/dist is built.
npm install --no-audit --no-fund --prefer-offline >/dev/null
log "ready: Node $(node_modules/.bin/node --version) for npm scripts; run 'npm test' (CLI: npx sunpool --help)"
