#!/usr/bin/env bash
# `npm test`: build, lint and the gas check, then the suites (docs/engineering.md, "Tests and CI").
# The contract tests (coverage on an in-process chain: CPU) run beside the parts' tests (mostly
# waiting on Docker, child processes and leases), on their own build folders (hardhat.config.ts),
# their output held back and printed after the parts'. V8 records the parts' coverage in every
# process they start; each part's line coverage is then held to its floor. The firmware image test
# runs last: it waits for the Pi image's base, which .ci/run starts first. After the parts, the
# scheduler's suites run again on PostgreSQL (test:postgres; scripts/postgres.sh starts the server).
# SUNPOOL_TEST_SERIAL=1 runs one suite at a time.
set -uo pipefail
cd "$(dirname "$0")/.." || exit

# Each step's time on stderr as "[test] <step>: N s" (docs/engineering.md records a fresh clone's).
timed() {
  local from=$SECONDS status=0
  "$@" || status=$?
  echo "[test] ${*: -1}: $((SECONDS - from)) s" >&2
  return "$status"
}

timed npm run build && timed npm run lint && timed npm run gas:check || exit

rm -rf build/coverage/v8 build/coverage/parts
parts() {
  NODE_V8_COVERAGE="$PWD/build/coverage/v8" timed npm run test:parts &&
    NODE_V8_COVERAGE="$PWD/build/coverage/v8" timed npm run test:postgres
}
contracts_log=$(mktemp)
trap 'rm -f "$contracts_log"' EXIT
if [ "${SUNPOOL_TEST_SERIAL:-0}" = 1 ]; then
  parts && timed npm run test:contracts
  suites=$?
else
  timed npm run test:contracts >"$contracts_log" 2>&1 &
  contracts=$!
  parts
  parts_status=$?
  wait "$contracts"
  suites=$?
  cat "$contracts_log"
  [ "$parts_status" -ne 0 ] && suites=$parts_status
fi
[ "$suites" -eq 0 ] || exit "$suites"
timed npm run coverage:check || exit
timed npm run test:firmware
