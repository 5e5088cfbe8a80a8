#!/usr/bin/env bash
# The Sunpool worker image for the Raspberry Pi 3B+, 4 and Zero 2 W (arm64), built on an x86_64
# Debian machine from Debian's archive and the npm registry only. docs/firmware.md explains the
# stages and what they take; docs/worker-owner.md is for the person who flashes the result.
#
#   npm run firmware                      # as root; after npm run build
#   npm run firmware -- --no-compress     # skip xz (the test does; the .img is then the artifact)
#   npm run firmware -- --out <dir>       # default build/firmware/out
#
# Output: <out>/sunpool-worker-<version>-arm64.img[.xz], SHA256SUMS, manifest/{debian-packages.tsv,
# npm-packages.tsv,image.json}, and rootfs/ + bootfs/ (what went into the partitions). The last
# line on stdout is a JSON summary.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
require_root "$@"

compress=1
out=$BUILD_DIR/out
while [ $# -gt 0 ]; do
  case "$1" in
    --no-compress) compress=0 ;;
    --out)
      out=${2:?--out needs a folder}
      shift
      ;;
    *) die "unknown option '$1'" "usage: bash firmware-scripts/build-image.sh [--no-compress] [--out <dir>]" ;;
  esac
  shift
done
node=$(project_node)
[ -f "$REPO_DIR/worker/dist/cli.js" ] || die "the worker is not built" "run: npm run build"

declare -A seconds
stage_started=$(date +%s)
stage_done() {
  local now
  now=$(date +%s)
  seconds[$1]=$((now - stage_started))
  stage_started=$now
}

bash "$FIRMWARE_DIR/host-tools.sh"
stage_done tools
# SUNPOOL_FIRMWARE_BASE: use this base tarball (e.g. while working on the later stages).
base=${SUNPOOL_FIRMWARE_BASE:-$(bash "$FIRMWARE_DIR/build-base.sh")}
stage_done base
worker_stage=$BUILD_DIR/worker
bash "$FIRMWARE_DIR/build-worker.sh" "$worker_stage"
stage_done worker
bash "$FIRMWARE_DIR/customize.sh" "$base" "$worker_stage" "$out"
stage_done customize

version=$("$node" -p 'require(process.argv[1]).version' "$REPO_DIR/worker/package.json")
commit=$(git -C "$REPO_DIR" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
name=sunpool-worker-$version-$commit-arm64.img
rm -f "$out"/sunpool-worker-*.img "$out"/sunpool-worker-*.img.xz "$out/SHA256SUMS"
bash "$FIRMWARE_DIR/assemble-image.sh" "$out" "$out/$name"
stage_done assemble
artifact=$name
if [ "$compress" = 1 ]; then
  log "compressing (xz)"
  xz -T0 -6 "$out/$name"
  artifact=$name.xz
fi
stage_done compress
(cd "$out" && sha256sum "$artifact" >SHA256SUMS)

image_bytes=$(stat -c %s "$out/$artifact")
kernel=$(find "$out/bootfs" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//')
"$node" -e '
  const [file, artifact, bytes, rootMiB, kernel, commit, epoch, node, timings] = process.argv.slice(1);
  const summary = {
    image: artifact,
    bytes: Number(bytes),
    sha256: require("node:fs").readFileSync(process.argv[10], "utf8").split(" ")[0],
    boards: ["Raspberry Pi 3 Model B+", "Raspberry Pi 4 Model B", "Raspberry Pi Zero 2 W"],
    debian: "trixie arm64", kernel, node, commit,
    sourceDateEpoch: Number(epoch),
    rootFilesMiB: Number(rootMiB),
    stageSeconds: JSON.parse(timings),
  };
  require("node:fs").writeFileSync(file, JSON.stringify(summary, null, 2) + "\n");
  console.log(JSON.stringify(summary));
' "$out/manifest/image.json" "$artifact" "$image_bytes" "$(du -s --block-size=1048576 "$out/rootfs" | cut -f1)" \
  "$kernel" "$commit" "$SOURCE_DATE_EPOCH" "$("$node" -p 'process.versions.node')" \
  "{$(for stage in "${!seconds[@]}"; do printf '"%s":%s,' "$stage" "${seconds[$stage]}"; done | sed 's/,$//')}" \
  "$out/SHA256SUMS"
log "done: $out/$artifact ($(du -h "$out/$artifact" | cut -f1)); stage seconds: $(for s in tools base worker customize assemble compress; do printf '%s %s  ' "$s" "${seconds[$s]}"; done)"
