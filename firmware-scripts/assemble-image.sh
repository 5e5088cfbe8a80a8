#!/usr/bin/env bash
# Stage 4: the flashable image from <dir>/bootfs and <dir>/rootfs, without loop devices or mounts
# (neither works on the build machines): the FAT partition is made and filled with mtools, the ext4
# partition with `mkfs.ext4 -d`, and both are written into an MBR-partitioned file at their offsets.
# Fixed volume ids, UUIDs and timestamps make the same folders give the same bytes.
#
#   bash firmware-scripts/assemble-image.sh <dir> <image file>
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

dir=${1:?usage: assemble-image.sh <dir> <image file>}
image=${2:?usage: assemble-image.sh <dir> <image file>}
for tool in mkfs.vfat mcopy mkfs.ext4 sfdisk; do
  command -v "$tool" >/dev/null || die "$tool is missing" "run: bash firmware-scripts/host-tools.sh"
done

MIB=1048576
boot_offset_mib=4 # the first partition at 4 MiB: erase-block aligned on SD cards
boot_mib=256
# The root partition: its files + 20 % + 256 MiB to boot into; the first boot grows it to the card.
root_used_mib=$(du -s --block-size=$MIB "$dir/rootfs" | cut -f1)
root_mib=$((root_used_mib + root_used_mib / 5 + 256))
root_offset_mib=$((boot_offset_mib + boot_mib))
total_mib=$((root_offset_mib + root_mib))
# Fixed identities, nothing random: "SUNP" as the disk id, a constant root UUID (the FAT's comes
# from mkfs.vfat --invariant).
disk_id=0x53554e50
root_uuid=5350a7f0-0e1a-4c3b-9d2e-7375706f6f6c

work=$(mktemp -d "${TMPDIR:-/tmp}/sunpool-image.XXXXXX")
# mkfs.ext4 -d reads the tree through a read-only, noatime view (it must not change what it copies).
view=$work/rootfs
mkdir "$view"
mount --bind "$dir/rootfs" "$view"
trap 'umount "$view" 2>/dev/null; rm -rf --one-file-system "$work"' EXIT
mount -o remount,bind,ro,noatime "$view"

log "boot partition: FAT32 ${boot_mib} MiB ($(du -sh "$dir/bootfs" | cut -f1) of files)"
mkfs.vfat -F 32 -n RASPIFIRM --invariant -C "$work/boot.vfat" $((boot_mib * 1024)) >/dev/null
# mtools takes the files in sorted order so that their directory entries are always the same.
(
  cd "$dir/bootfs"
  export MTOOLS_SKIP_CHECK=1
  find . -mindepth 1 -type d | sort | while read -r folder; do mmd -i "$work/boot.vfat" "::/${folder#./}"; done
  find . -type f | sort | while read -r file; do mcopy -m -i "$work/boot.vfat" "$file" "::/${file#./}"; done
)

log "root partition: ext4 ${root_mib} MiB (${root_used_mib} MiB of files)"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L RASPIROOT -U "$root_uuid" \
  -E "root_owner=0:0,hash_seed=$root_uuid,lazy_itable_init=0" \
  -d "$view" "$work/root.ext4" "${root_mib}M" >/dev/null
# It also copies each file's atime and ctime, which this machine's clock set (any read of the tree,
# the build's own writes): clamp them, and the creation time, to SOURCE_DATE_EPOCH like the mtimes.
if (cd "$view" && find . -name '*"*' -print -quit) | grep -q .; then die "a file name in the root contains a double quote"; fi
(cd "$view" && find . -printf '/%P\n') |
  awk -v t="$SOURCE_DATE_EPOCH" '{ for (f = 1; f <= 3; f++) printf "sif \"%s\" %s %d\n", $0, (f == 1 ? "atime" : f == 2 ? "ctime" : "crtime"), t }' |
  E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH debugfs -w -f - "$work/root.ext4" 2>"$work/debugfs.log" >/dev/null
if grep -v '^debugfs [0-9]' "$work/debugfs.log" | grep -q .; then die "debugfs could not set the times: $(head -3 "$work/debugfs.log")"; fi

log "disk: MBR, ${total_mib} MiB"
rm -f "$image"
truncate -s "${total_mib}M" "$image"
sfdisk --quiet "$image" <<EOF
label: dos
label-id: $disk_id
unit: sectors

start=$((boot_offset_mib * 2048)), size=$((boot_mib * 2048)), type=c, bootable
start=$((root_offset_mib * 2048)), size=$((root_mib * 2048)), type=83
EOF
dd if="$work/boot.vfat" of="$image" bs=$MIB seek="$boot_offset_mib" conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$image" bs=$MIB seek="$root_offset_mib" conv=notrunc,sparse status=none
log "image: $image ($(du -h --apparent-size "$image" | cut -f1))"
