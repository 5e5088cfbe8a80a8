#!/bin/bash
# sunpool-provision.service: apply sunpool.yaml, then switch Wi-Fi and SSH on or off to match it.
# The files are written by `sunpool-worker provision` (durably, idempotently); this script only does
# what needs systemd or OpenSSH.
set -euo pipefail
boot=/boot/firmware

if ! summary=$(/usr/local/bin/sunpool-worker provision --boot "$boot" --env); then
  echo "sunpool: the worker cannot start until $boot/sunpool.yaml is fixed (the problem is in $boot/sunpool-error.txt)"
  exit 1
fi
# address=…, createdWallet=…, hostname=…, wifi=…, ssh=… (one Node start on a slow card is enough).
declare -A field
while IFS='=' read -r key value; do field[$key]=$value; done <<<"$summary"

hostname "${field[hostname]}"

if [ "${field[wifi]}" = true ]; then
  systemctl enable --now --no-block wpa_supplicant@wlan0.service
else
  systemctl disable --now --no-block wpa_supplicant@wlan0.service 2>/dev/null || true
fi

if [ "${field[ssh]}" = true ]; then
  # Host keys are made on the Pi: an image must not carry secrets every flashed card would share.
  ssh-keygen -A
  chown -R owner:owner /home/owner/.ssh
  chmod 0700 /home/owner/.ssh
  systemctl enable --now --no-block ssh.service
else
  systemctl disable --now --no-block ssh.service ssh.socket 2>/dev/null || true
fi

address=${field[address]}
echo "sunpool: worker $address$([ "${field[createdWallet]}" = true ] && echo ' (new wallet)')"
echo "sunpool: fund its stake (sunpool account deposit <SUN> --for $address) and send it gas; it then joins the pool."
