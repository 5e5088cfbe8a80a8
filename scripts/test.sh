#!/usr/bin/env bash
# `npm test`: build, then three lanes side by side, then the coverage floors and the firmware image
# test (docs/engineering.md, "Tests and CI"):
#   engine     test:engine     everything that runs task containers or a devnet (one at a time: they
#                              share the Docker engine and the machine's ports)
#   parts      test:parts      SDK, scheduler and worker logic on in-process chains (no containers)
#   contracts  lint, gas:check, test:contracts (CPU: coverage on the in-process chain, own build
#              folders), then test:postgres: the scheduler's suites again on PostgreSQL
#              (scripts/postgres.sh starts the server), placed here to even out the lanes; not
#              test/scheduler/store/, whose suites choose their backends themselves
# The engine lane's output is shown as it runs; the others are held back and printed after it, whole.
# V8 records the engine's and parts' coverage in every process they start; each part's line coverage
# is then held to its floor. The firmware image test runs last: it waits for the Pi image's base,
# which .ci/run starts first. SUNPOOL_TEST_SERIAL=1 runs the lanes one after the other.
set -uo pipefail
cd "$(dirname "$0")/.." || exit

# Each step's time on stderr as "[test] <step>: N s" (docs/engineering.md records a fresh clone's).
timed() {
  local from=$SECONDS status=0
  "$@" || status=$?
  echo "[test] ${*: -1}: $((SECONDS - from)) s" >&2
  return "$status"
}
engine() { NODE_V8_COVERAGE="$PWD/build/coverage/v8" timed npm run test:engine; }
parts() { NODE_V8_COVERAGE="$PWD/build/coverage/v8" timed npm run test:parts; }
contracts() {
  timed npm run lint && timed npm run gas:check && timed npm run test:contracts &&
    NODE_V8_COVERAGE="$PWD/build/coverage/v8" timed npm run test:postgres
}

timed npm run build || exit
rm -rf build/coverage/v8 build/coverage/parts

status=0
lanes=()
# Each lane's exit status, kept for the closing line: CI shows only the end of the output, and a
# lane can fail without a mocha "failing" line (a crashed process, a failed lint or gas check).
lane_done() {
  lanes+=("$1 $2")
  [ "$2" -eq 0 ] || status=$2
}
if [ "${SUNPOOL_TEST_SERIAL:-0}" = 1 ]; then
  for lane in engine parts contracts; do
    lane_status=0
    "$lane" || lane_status=$?
    lane_done "$lane" "$lane_status"
  done
else
  logs=$(mktemp -d)
  trap 'rm -rf "$logs"' EXIT
  parts >"$logs/parts" 2>&1 &
  parts_pid=$!
  contracts >"$logs/contracts" 2>&1 &
  contracts_pid=$!
  lane_status=0
  engine || lane_status=$?
  lane_done engine "$lane_status"
  lane_status=0
  wait "$parts_pid" || lane_status=$?
  lane_done parts "$lane_status"
  cat "$logs/parts"
  lane_status=0
  wait "$contracts_pid" || lane_status=$?
  lane_done contracts "$lane_status"
  cat "$logs/contracts"
fi
for lane in "${lanes[@]}"; do echo "[test] lane ${lane% *} exited ${lane#* }" >&2; done
[ "$status" -eq 0 ] || exit "$status"
timed npm run coverage:check || exit
timed npm run test:firmware
