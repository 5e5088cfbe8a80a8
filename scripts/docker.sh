#!/usr/bin/env bash
# The Docker engine and the local image registry that the worker's executor, its tests and the devnet
# need, on a Debian dev or CI machine (docs: /work/shared/ENVIRONMENT.md, "Docker engine and images").
#
#   bash scripts/docker.sh ensure   # install what is missing, start dockerd and the registry if down
#   bash scripts/docker.sh stop     # stop what `ensure` started (nothing else)
#   bash scripts/docker.sh status
#
# `ensure` is idempotent and quick when everything already answers, so setup, CI and test code call
# it unconditionally (test/helpers/docker.ts). No public registry is reachable from the build
# machines: test images are built locally FROM scratch with Debian's busybox-static and pushed to
# the registry below, which serves pull by digest over plain HTTP on loopback.
#
# Environment:
#   DOCKER_HOST              engine socket (default unix:///var/run/docker.sock)
#   SUNPOOL_REGISTRY         registry address (default 127.0.0.1:5000); keep it on loopback (no TLS)
#   SUNPOOL_DOCKER_TIMEOUT   seconds to wait for dockerd / the registry to answer (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

root=$PWD
state="$root/.devnet/docker"
registry_addr=${SUNPOOL_REGISTRY:-127.0.0.1:5000}
timeout=${SUNPOOL_DOCKER_TIMEOUT:-60}
socket=${DOCKER_HOST:-unix:///var/run/docker.sock}
socket_path=${socket#unix://}
export DOCKER_HOST=$socket

log() { printf '[docker] %s\n' "$*" >&2; }
fail() {
  printf '[docker] error: %s\n' "$1" >&2
  shift
  for hint in "$@"; do printf '[docker]   %s\n' "$hint" >&2; done
  exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }

# What each required command comes from (Debian package names).
declare -A package_of=([dockerd]=docker.io [docker-registry]=docker-registry [busybox]=busybox-static)
busybox_path=/bin/busybox

missing_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=("${package_of[dockerd]}")
  command -v docker-registry >/dev/null 2>&1 || missing+=("${package_of[docker-registry]}")
  # The test images need a static busybox (they are FROM scratch, no libc); a dynamic one won't do.
  if [ ! -x "$busybox_path" ] || ! dpkg -s busybox-static >/dev/null 2>&1; then missing+=("${package_of[busybox]}"); fi
  echo "${missing[@]}"
}

install_packages() {
  local missing
  missing=$(missing_packages)
  [ -z "$missing" ] && return 0
  if ! is_root; then
    fail "missing Debian packages: $missing" \
      "install them as root: sudo apt-get install -y $missing" \
      "then rerun: bash scripts/docker.sh ensure"
  fi
  log "installing $missing (apt)"
  # Keep the packages' own services from starting on install (their defaults listen on all
  # interfaces); this script starts dockerd and the registry itself, on loopback.
  local added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  local status=0
  # shellcheck disable=SC2086 # $missing is a list of package names
  {
    apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  } >"$state/apt.log" 2>&1 || status=$?
  [ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$state/apt.log" >&2
    fail "apt-get could not install $missing (log: $state/apt.log)" "check that the Debian archive is reachable: apt-get update"
  fi
}

# The demo and test images are built for linux/amd64 and linux/arm64 (devnet/images.ts): the other
# CPU's static busybox comes from Debian's archive (dpkg multiarch), and qemu-user-static lets this
# host's engine run the foreign image, as a worker emulating the other CPU does.
foreign_arch() { case "$(dpkg --print-architecture)" in amd64) echo arm64 ;; arm64) echo amd64 ;; esac; }

ensure_foreign_busybox() {
  local arch target
  arch=$(foreign_arch)
  [ -z "$arch" ] && return 0
  target="$state/busybox/$arch"
  [ -x "$target" ] && return 0
  is_root || fail "the $arch busybox for the demo images is missing ($target)" "run as root once: sudo bash scripts/docker.sh ensure"
  log "fetching busybox-static:$arch from the Debian archive"
  local work
  work=$(mktemp -d)
  {
    dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
    apt-get update -qq &&
      (cd "$work" && apt-get download -o APT::Sandbox::User=root "busybox-static:$arch") &&
      dpkg-deb -x "$work"/busybox-static_*.deb "$work/root"
  } >>"$state/apt.log" 2>&1 || fail "could not fetch busybox-static:$arch (log: $state/apt.log)" "check that the Debian archive is reachable: apt-get update"
  mkdir -p "$state/busybox"
  install -m 0755 "$work/root/bin/busybox" "$target"
  rm -rf "$work"
}

ensure_emulation() {
  local arch
  arch=$(foreign_arch)
  [ -z "$arch" ] && return 0
  local qemu_arch=$arch
  [ "$arch" = arm64 ] && qemu_arch=aarch64
  [ "$arch" = amd64 ] && qemu_arch=x86_64
  [ -e "/proc/sys/fs/binfmt_misc/qemu-$qemu_arch" ] && return 0
  # Emulation is only for workers that run another CPU's images: without it, say so and go on.
  is_root || { log "warning: emulation of $arch is not set up (run as root once: sudo bash scripts/docker.sh ensure)"; return 0; }
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>>"$state/apt.log" ||
    { log "warning: binfmt_misc cannot be mounted here: workers cannot emulate $arch"; return 0; }
  if ! dpkg -s qemu-user-static >/dev/null 2>&1; then
    log "installing qemu-user-static (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support >>"$state/apt.log" 2>&1 ||
      { log "warning: apt-get could not install qemu-user-static (log: $state/apt.log): workers cannot emulate $arch"; return 0; }
  fi
  # The package registers its interpreters with the F flag (the kernel keeps the binary open), so
  # they work inside containers; re-import in case binfmt_misc was mounted after the install.
  [ -e "/proc/sys/fs/binfmt_misc/qemu-$qemu_arch" ] || update-binfmts --import "qemu-$qemu_arch" >>"$state/apt.log" 2>&1 ||
    log "warning: qemu-$qemu_arch could not be registered with binfmt_misc (log: $state/apt.log)"
}

docker_answers() { docker info >/dev/null 2>&1; }

start_dockerd() {
  if docker_answers; then return 0; fi
  if [ -S "$socket_path" ] && ! is_root && [ ! -w "$socket_path" ]; then
    fail "Docker is running but $socket_path is not writable by $(id -un)" \
      "add yourself to the docker group (sudo usermod -aG docker $(id -un)) and log in again, or run as root"
  fi
  if ! is_root; then
    fail "Docker is not reachable at $socket_path" "start it as root: sudo bash scripts/docker.sh ensure (or: sudo systemctl start docker)"
  fi
  if [ -d /run/systemd/system ] && systemctl cat docker.service >/dev/null 2>&1 && [ "$socket_path" = /var/run/docker.sock ]; then
    log "starting dockerd (systemd)"
    systemctl start docker
  else
    log "starting dockerd in the background (log: $state/dockerd.log)"
    # setsid: dockerd must outlive this script and the test process that may have called it.
    setsid nohup dockerd --host "$socket" --pidfile "$state/dockerd.pid" >>"$state/dockerd.log" 2>&1 </dev/null &
  fi
  local waited=0 # half-seconds
  until docker_answers; do
    if [ "$waited" -ge $((timeout * 2)) ]; then
      tail -n 20 "$state/dockerd.log" >&2 || true
      fail "dockerd did not answer on $socket_path within ${timeout}s (log: $state/dockerd.log)" \
        "look at the log above; a stale $state/dockerd.pid or /var/run/docker.pid from a crashed dockerd can be removed"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  log "dockerd ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
}

registry_answers() { curl -fsS -o /dev/null --max-time 2 "http://$registry_addr/v2/" 2>/dev/null; }

start_registry() {
  if registry_answers; then return 0; fi
  case "$registry_addr" in
    127.0.0.1:* | localhost:*) ;;
    *) fail "SUNPOOL_REGISTRY=$registry_addr is not a loopback address" "the test registry has no TLS or auth: keep it on 127.0.0.1" ;;
  esac
  mkdir -p "$state/registry/data"
  cat >"$state/registry/config.yml" <<EOF
# Written by scripts/docker.sh: the local registry for task images (loopback only, no TLS, no auth).
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry/data
  delete:
    enabled: true
http:
  addr: $registry_addr
EOF
  log "starting docker-registry on $registry_addr (data: $state/registry/data)"
  setsid nohup docker-registry serve "$state/registry/config.yml" >>"$state/registry.log" 2>&1 </dev/null &
  echo $! >"$state/registry.pid"
  local waited=0 # half-seconds
  until registry_answers; do
    if [ "$waited" -ge $((timeout * 2)) ]; then
      tail -n 20 "$state/registry.log" >&2 || true
      fail "docker-registry did not answer on http://$registry_addr/v2/ within ${timeout}s (log: $state/registry.log)" \
        "is another process using the port? (ss -ltnp | grep ${registry_addr##*:})"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

stop_pidfile() {
  local name=$1 file=$2
  [ -f "$file" ] || return 0
  local pid
  pid=$(cat "$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$file"
}

case "${1:-}" in
  ensure)
    mkdir -p "$state"
    install_packages
    ensure_foreign_busybox
    ensure_emulation
    start_dockerd
    start_registry
    ;;
  stop)
    stop_pidfile docker-registry "$state/registry.pid"
    stop_pidfile dockerd "$state/dockerd.pid"
    ;;
  status)
    if docker_answers; then echo "dockerd: up ($socket)"; else echo "dockerd: down ($socket)"; fi
    if registry_answers; then echo "registry: up (http://$registry_addr)"; else echo "registry: down (http://$registry_addr)"; fi
    ;;
  *)
    echo "usage: bash scripts/docker.sh ensure|stop|status" >&2
    exit 2
    ;;
esac
