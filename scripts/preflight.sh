#!/usr/bin/env bash
# Checks, in seconds, what `npm test` needs from the machine, so a missing piece fails now with what
# to do rather than forty minutes into the tests: the project's Node 24, a Docker engine that
# answers, the local registry, Chromium, PostgreSQL, arm64 emulation (qemu in binfmt_misc) and the
# image build tools.
#
#   bash scripts/preflight.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

problems=0
fail() {
  printf '[preflight] missing: %s\n' "$1" >&2
  printf '[preflight]   fix: %s\n' "$2" >&2
  problems=$((problems + 1))
}

node=node_modules/.bin/node
if [ ! -x "$node" ] || [[ "$("$node" --version 2>/dev/null)" != v24.* ]]; then
  fail "the project's Node 24 (node_modules/.bin/node)" "bash scripts/setup.sh"
fi
if ! timeout 20 docker info >/dev/null 2>&1; then
  fail "a Docker engine that answers (docker info)" "bash scripts/docker.sh ensure (as root the first time)"
fi
registry=${SUNPOOL_REGISTRY:-127.0.0.1:5000}
if ! timeout 10 bash -c "exec 3<>/dev/tcp/${registry%:*}/${registry##*:}" 2>/dev/null; then
  fail "the local image registry at $registry" "bash scripts/docker.sh ensure"
fi
entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
if ! { [ -r "$entry" ] && grep -q '^enabled' "$entry"; }; then
  fail "arm64 emulation (qemu-aarch64 in binfmt_misc)" "bash firmware-scripts/host-tools.sh"
fi
if [ ! -x /usr/bin/chromium ]; then
  fail "Debian's Chromium (/usr/bin/chromium) for the dashboard's browser tests" "sudo apt-get install -y chromium (scripts/setup.sh does it as root)"
fi
if ! find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -name initdb -path '*/bin/*' 2>/dev/null | grep -q .; then
  fail "Debian's PostgreSQL server for the scheduler's store tests (test:postgres)" "sudo bash scripts/postgres.sh install (scripts/setup.sh does it as root)"
fi
for tool in mmdebstrap mcopy sfdisk debugfs fdtget shellcheck; do
  command -v "$tool" >/dev/null 2>&1 || fail "the image build tool '$tool'" "bash firmware-scripts/host-tools.sh"
done

if [ "$problems" -gt 0 ]; then
  printf '[preflight] %d problem(s): npm test would fail on them; fix them first.\n' "$problems" >&2
  exit 1
fi
echo "[preflight] ready: Node $("$node" --version), Docker, registry $registry, Chromium, PostgreSQL, arm64 emulation, image tools"
