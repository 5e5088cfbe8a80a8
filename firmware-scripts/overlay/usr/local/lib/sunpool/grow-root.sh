#!/bin/bash
# sunpool-grow-root.service (first boot): the image's root partition is just big enough for its
# files; grow it, then its file system, to the end of the card. Safe to interrupt: growpart and
# resize2fs both leave a consistent state, and the marker is written last.
set -euo pipefail
marker=/var/lib/sunpool/root-grown
root=$(findmnt -no SOURCE /)
disk=/dev/$(lsblk -no PKNAME "$root")
partition=$(cat "/sys/class/block/$(basename "$root")/partition")
status=0
growpart "$disk" "$partition" || status=$?
# growpart exits 1 when there is nothing to grow (NOCHANGE).
[ "$status" -le 1 ] || exit "$status"
resize2fs "$root"
mkdir -p "$(dirname "$marker")"
touch "$marker"
sync
