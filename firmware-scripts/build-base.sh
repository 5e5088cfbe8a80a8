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
mkdir -p "$cache"
# One build at a time: a second caller (CI starts this early in the background) waits, then reuses it.
exec 9>"$cache/base.lock"
flock 9
if [ -s "$base" ] && [ -z "${SUNPOOL_FIRMWARE_REBUILD:-}" ]; then
  log "base root file system: cached ($base)"
  echo "$base"
  exit 0
fi

log "building the base root file system with mmdebstrap ($SUITE arm64, $(tr ',' '\n' <<<"$packages" | wc -l) packages; several minutes)"
started=$(date +%s)
# --variant=apt: essential + apt, then exactly packages.txt (no Recommends: each package is chosen).
# Docs, man pages and translations are left out: the Pi has no use for them and the card is small.
# The firmware's kernel hook writes /boot/firmware at install time; customize.sh re-runs it with
# the image's settings. update-initramfs is diverted to a no-op while packages install (the kernel
# and later triggers would each build the initramfs, minutes apiece under qemu) and run once at the end.
# shellcheck disable=SC2016 # mmdebstrap expands $1 (the root) in its hooks
mmdebstrap \
  --arch=arm64 \
  --variant=apt \
  --format=tar \
  --components=main,non-free-firmware \
  --include="$packages" \
  --aptopt='Acquire::Retries "3"' \
  --dpkgopt=force-unsafe-io \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.real --add /usr/sbin/update-initramfs' \
  --essential-hook='ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
  --customize-hook='rm "$1/usr/sbin/update-initramfs"' \
  --customize-hook='chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
  --customize-hook='chroot "$1" update-initramfs -c -k all' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  "$SUITE" "$base.partial" "$MIRROR" >&2
mv "$base.partial" "$base"
log "base built in $(($(date +%s) - started)) s: $(du -h "$base" | cut -f1)"
echo "$base"
