#!/usr/bin/env bash
# Installs the build machine's tools for the image (Debian packages only) and makes sure arm64
# binaries run here through qemu user-mode emulation. Idempotent; scripts/setup.sh calls it.
#
#   bash firmware-scripts/host-tools.sh
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# command -> Debian package
declare -A tools=(
  [mmdebstrap]=mmdebstrap
  [aarch64-linux-gnu-g++]=g++-aarch64-linux-gnu
  [mcopy]=mtools
  [mkfs.vfat]=dosfstools
  [sfdisk]=fdisk
  [mkfs.ext4]=e2fsprogs
  [debugfs]=e2fsprogs
  [arch-test]=arch-test
  [shellcheck]=shellcheck
  [xz]=xz-utils
  [fdtget]=device-tree-compiler
)
missing=()
for command in "${!tools[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${tools[$command]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}" "install them: sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# qemu-user-static and its binfmt_misc registration come with the Docker set-up (workers that run
# another CPU's images need the same emulation).
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || bash "$REPO_DIR/scripts/docker.sh" ensure
require_arm64_emulation
log "host tools ready"
