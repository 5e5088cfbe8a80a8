# shellcheck shell=bash
# Shared by the firmware scripts: paths, logging, host checks, and running commands inside the arm64
# root file system under qemu user-mode emulation (binfmt_misc), with /proc, /sys and /dev mounted
# for the command's lifetime only.

# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
FIRMWARE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$FIRMWARE_DIR")
BUILD_DIR=${SUNPOOL_FIRMWARE_BUILD:-$REPO_DIR/build/firmware}
SUITE=trixie
MIRROR=${SUNPOOL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Reproducibility: every timestamp in the image is clamped to the last commit's time.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO_DIR" log -1 --format=%ct 2>/dev/null || echo 1767225600)}
export SOURCE_DATE_EPOCH

log() { printf '[firmware] %s\n' "$*" >&2; }
die() {
  printf '[firmware] error: %s\n' "$1" >&2
  shift
  for hint in "$@"; do printf '[firmware]   %s\n' "$hint" >&2; done
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "building the image needs root (chroot, ownership of system files)" \
    "run: sudo bash $0 $*"
}

# The project's Node 24 (its npm package); the machine's node may be older.
project_node() {
  local node=$REPO_DIR/node_modules/.bin/node
  [ -x "$node" ] || die "the project's Node 24 is not installed" "run: bash scripts/setup.sh"
  echo "$node"
}

require_arm64_emulation() {
  local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
  if ! { [ -r "$entry" ] && grep -q '^enabled' "$entry" && grep -q '^flags:.*F' "$entry"; }; then
    die "arm64 binaries cannot run here: qemu-aarch64 is not registered in binfmt_misc with the F flag" \
      "run: bash firmware-scripts/host-tools.sh (installs qemu-user-static and registers it)"
  fi
}

# Mounts what a chroot needs, runs "$@" inside it, and always unmounts (even on failure or signal).
# Extra bind mounts come from CHROOT_BINDS: "host_path:path_in_root" words.
in_root() {
  local root=$1
  shift
  local mounted=()
  local status=0
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && mounted+=("$root/sys")
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounted+=("$root/dev")
  local bind
  for bind in ${CHROOT_BINDS:-}; do
    local host=${bind%%:*} inside=$root${bind#*:}
    if [ -d "$host" ]; then mkdir -p "$inside"; else mkdir -p "$(dirname "$inside")" && touch "$inside"; fi
    mount --bind "$host" "$inside" && mounted+=("$inside")
  done
  # shellcheck disable=SC2064 # expand now: the list is local to this call
  trap "umount_all ${mounted[*]}" EXIT INT TERM
  LC_ALL=C.UTF-8 chroot "$root" "$@" || status=$?
  umount_all "${mounted[@]}"
  trap - EXIT INT TERM
  return "$status"
}

umount_all() {
  local index
  for ((index = $# ; index >= 1; index--)); do
    umount -R "${!index}" 2>/dev/null || umount -lR "${!index}" 2>/dev/null || true
  done
}

# Unmounts whatever is still mounted under $1 (a chroot command killed before its clean-up), so
# that removing the folder can never reach the build machine's /dev or /sys.
release_mounts() {
  local target root
  root=$(realpath -m "$1")
  { findmnt -rno TARGET | grep -F "$root/" || true; } | sort -r | while read -r target; do
    umount -R "$target" 2>/dev/null || umount -lR "$target" 2>/dev/null || true
  done
}

# Sets every timestamp under $1 newer than SOURCE_DATE_EPOCH to it (files the build just wrote).
clamp_mtimes() {
  find "$1" -xdev -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0 -r touch -h -d "@$SOURCE_DATE_EPOCH"
}
