#!/usr/bin/env bash
# Stage 3: the image's file systems as two folders, from the cached base (build-base.sh) and the
# staged worker (build-worker.sh): <out>/rootfs (ext4 partition) and <out>/bootfs (FAT partition).
# Everything machine-specific or secret is left for the Pi's first boot: no SSH host keys, an
# empty machine-id, no wallet, no Wi-Fi password.
#
#   bash firmware-scripts/customize.sh <base.tar> <worker stage> <out dir>
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
require_root "$@"
require_arm64_emulation

base=${1:?usage: customize.sh <base.tar> <worker stage> <out dir>}
stage=${2:?usage: customize.sh <base.tar> <worker stage> <out dir>}
out=$(realpath -m "${3:?usage: customize.sh <base.tar> <worker stage> <out dir>}")
root=$out/rootfs
bootfs=$out/bootfs

release_mounts "$root"
rm -rf --one-file-system "$root" "$bootfs"
mkdir -p "$root" "$bootfs" "$out/manifest"
log "unpacking the base"
tar --numeric-owner --xattrs --xattrs-include='*' -xf "$base" -C "$root"

log "adding the worker, Node $("$(project_node)" -p 'process.versions.node') arm64 and the system files"
cp -a "$stage/opt/sunpool" "$root/opt/"
install -m 0755 "$stage/usr/local/bin/node" "$root/usr/local/bin/node"
cp -r --no-preserve=ownership "$FIRMWARE_DIR/overlay/." "$root/"
chmod 0440 "$root/etc/sudoers.d/owner"
install -D -m 0644 "$REPO_DIR/docs/worker-owner.md" "$root/usr/share/doc/sunpool/worker-owner.md"
cp "$stage/manifest/npm-packages.tsv" "$out/manifest/"

# Boot settings for Debian's firmware hook, which writes config.txt and cmdline.txt from them at
# every kernel or firmware upgrade (so they survive updates):
# - root by label (the Pi's device names differ between models and SD/USB boot);
# - CMA=0: headless, and a cma= argument makes a Pi 4 unbootable (the hook cannot detect a Pi 4
#   in a chroot); consoles on HDMI and the header UART (whose TXD tells the Witty Pi the Pi halted);
# - the memory cgroup on, or Docker's memory limits are silently not enforced;
# - the Witty Pi's HALT line (GPIO4) as an input with its pull-up; I2C bus 1 on GPIO2/3.
cat >"$root/etc/default/raspi-firmware" <<'EOF'
# Sunpool image settings for /etc/kernel/postinst.d/z50-raspi-firmware (see the Debian default
# file's comments for each variable). Then run: update-initramfs -u -k all
ROOTPART=LABEL=RASPIROOT
CONSOLES="tty0 ttyS1,115200"
CMA=0
EOF
echo "cgroup_enable=memory cgroup_memory=1" >"$root/etc/default/raspi-extra-cmdline"
cat >"$root/etc/default/raspi-firmware-custom" <<'EOF'
# Sunpool: the Witty Pi 4 HALT line (GPIO4) is an input with its pull-up.
gpio=4=ip,pu
dtparam=i2c_arm=on
EOF
cat >"$root/etc/fstab" <<'EOF'
# The boot partition holds sunpool.yaml (with the Wi-Fi password): root only.
LABEL=RASPIROOT  /              ext4  rw,noatime,errors=remount-ro  0 1
LABEL=RASPIFIRM  /boot/firmware vfat  rw,noatime,umask=0077          0 2
EOF
echo sunpool-worker >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsunpool-worker\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

log "configuring inside the arm64 root (qemu)"
# shellcheck disable=SC2016 # expanded inside the chroot
in_root "$root" /bin/sh -euc '
  useradd --create-home --shell /bin/bash --groups sudo owner
  passwd --lock owner >/dev/null
  install -d -m 0700 /var/lib/sunpool
  systemctl enable --quiet sunpool-grow-root.service sunpool-provision.service sunpool-worker.service \
    sunpool-wake-alarm.service systemd-networkd.service systemd-resolved.service systemd-timesyncd.service docker.service
  systemctl disable --quiet ssh.service ssh.socket 2>/dev/null || true
  DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware
  /usr/local/bin/node -e "process.exit(process.arch === \"arm64\" ? 0 : 1)"
  dpkg-query -W -f "\${Package}\t\${Version}\t\${Architecture}\n"
' >"$out/manifest/debian-packages.tsv"
sort -o "$out/manifest/debian-packages.tsv" "$out/manifest/debian-packages.tsv"
sed -i '1i package\tversion\tarchitecture' "$out/manifest/debian-packages.tsv"

log "leaving secrets and machine identity to the first boot"
rm -f "$root"/etc/ssh/ssh_host_* "$root/var/lib/dbus/machine-id"
: >"$root/etc/machine-id"
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/debconf/*-old
find "$root/var/log" -type f -delete
rm -rf "${root:?}"/tmp/* "$root"/root/.npm

# The boot partition's files move to their own folder; /boot/firmware stays as the mount point.
cp -r --no-preserve=ownership "$root/boot/firmware/." "$bootfs/"
rm -rf "${root:?}"/boot/firmware/*
clamp_mtimes "$root"
clamp_mtimes "$bootfs"
log "root file system $(du -sh "$root" | cut -f1), boot partition $(du -sh "$bootfs" | cut -f1)"
