#!/bin/bash
# sunpool-grow-root.service (first boot): the image's root partition is just big enough for its
# files; grow it, then its file system, to the end of the card. sfdisk rewrites only the partition's
# size (its start stays), partx tells the kernel, resize2fs grows ext4 while mounted. Safe to
# interrupt: each step leaves a consistent state and is a no-op when done, and the marker is last.
set -euo pipefail
marker=/var/lib/sunpool/root-grown
root=$(findmnt -no SOURCE /)
disk=/dev/$(lsblk -no PKNAME "$root")
partition=$(cat "/sys/class/block/$(basename "$root")/partition")
echo ", +" | sfdisk --quiet --no-reread --no-tell-kernel -N "$partition" "$disk"
partx --update --nr "$partition" "$disk"
resize2fs "$root"
mkdir -p "$(dirname "$marker")"
touch "$marker"
sync
