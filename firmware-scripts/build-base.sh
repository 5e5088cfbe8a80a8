#!/usr/bin/env bash
# Stage 1: the Debian trixie arm64 base (packages.txt) as a tarball, made by mmdebstrap with the
# package scripts run under qemu. The slow stage (minutes), so it is cached by the hash of its
# inputs; prints the tarball's path.
#
#   bash firmware-scripts/build-base.sh            # reuse the cached base when the inputs match
#   SUNPOOL_FIRMWARE_REBUILD=1 bash ...            # build again (e.g. to pick up security updates)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
require_root "$@"
require_arm64_emulation

packages=$(grep -v '^\s*#' "$FIRMWARE_DIR/packages.txt" | awk 'NF { print $1 }' | paste -sd, -)
key=$(printf '%s\n' "$SUITE" "$MIRROR" "$packages" "$(sha256sum "$0" | cut -d' ' -f1)" | sha256sum | cut -c1-16)
cache=$BUILD_DIR/cache
base=$cache/base-$SUITE-arm64-$key.tar
if [ -s "$base" ] && [ -z "${SUNPOOL_FIRMWARE_REBUILD:-}" ]; then
  log "base root file system: cached ($base)"
  echo "$base"
  exit 0
fi

mkdir -p "$cache"
log "building the base root file system with mmdebstrap ($SUITE arm64, $(tr ',' '\n' <<<"$packages" | wc -l) packages; several minutes)"
started=$(date +%s)
# --variant=apt: essential + apt, then exactly packages.txt (no Recommends: each package is chosen).
# Docs, man pages and translations are left out: the Pi has no use for them and the card is small.
# The firmware's kernel hook writes /boot/firmware at install time; customize.sh re-runs it with
# the image's settings.
# shellcheck disable=SC2016 # mmdebstrap expands $1 (the root) in its hooks
mmdebstrap \
  --arch=arm64 \
  --variant=apt \
  --format=tar \
  --components=main,non-free-firmware \
  --include="$packages" \
  --aptopt='Acquire::Retries "3"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  "$SUITE" "$base.partial" "$MIRROR" >&2
mv "$base.partial" "$base"
log "base built in $(($(date +%s) - started)) s: $(du -h "$base" | cut -f1)"
echo "$base"
