#!/usr/bin/env bash
# A private PostgreSQL server for the scheduler's tests and a developer's machine (docs/scheduler.md,
# "The store"): Debian's postgresql, a cluster of its own under .devnet/postgres, 127.0.0.1 only.
#   install  installs Debian's postgresql (apt, as root) unless its server binaries are there
#   ensure   install, create the cluster the first time, start it unless it runs (or another
#            checkout's already serves the port); prints the URL
#   url      prints the URL (postgres://sunpool@127.0.0.1:55432/sunpool)
#   status   says whether it runs (exit 0) or not (exit 3), with the URL
#   stop     stops it (the data stays; ensure starts it again)
# SUNPOOL_POSTGRES_DIR (default .devnet/postgres) and SUNPOOL_POSTGRES_PORT (default 55432) move it.
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user that
# Debian's package creates. Local connections are trusted (the server listens on loopback only):
# it is for tests and a devnet, never for a pool's production database.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${SUNPOOL_POSTGRES_DIR:-$PWD/.devnet/postgres}
port=${SUNPOOL_POSTGRES_PORT:-55432}
url="postgres://sunpool@127.0.0.1:${port}/sunpool"

log() { printf '[postgres] %s\n' "$*" >&2; }
fail() {
  printf '[postgres] error: %s\n' "$*" >&2
  exit 1
}

# The newest server Debian installed (/usr/lib/postgresql/<major>/bin), if any.
bindir() {
  local found
  found=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && [ -x "$found/initdb" ] && printf '%s\n' "$found"
}

install() {
  [ -n "$(bindir)" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    fail "PostgreSQL is not installed and this is not root: run 'sudo bash scripts/postgres.sh install' (Debian's postgresql)"
  fi
  log "installing Debian's postgresql (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  [ -n "$(bindir)" ] || fail "apt installed postgresql but no server is under /usr/lib/postgresql/*/bin"
}

# Runs a server command as the cluster's owner: this user, or `postgres` when this is root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The cluster's folder. As root, `postgres` must reach it; when a parent folder is closed to other
# users (a clone under /root), the cluster lives under /var/tmp and the state folder keeps a link.
datadir() {
  local data=$dir/data
  if [ -L "$data" ]; then
    readlink -f "$data"
    return
  fi
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$dir"; then
    local elsewhere
    elsewhere=/var/tmp/sunpool-postgres-$(printf '%s' "$dir" | sha256sum | cut -c1-12)
    mkdir -p "$elsewhere"
    chown postgres: "$elsewhere"
    ln -sfn "$elsewhere" "$data"
    printf '%s\n' "$elsewhere"
    return
  fi
  printf '%s\n' "$data"
}

running() {
  local bin data
  bin=$(bindir) || return 1
  data=$(datadir)
  [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1
}

ensure() {
  install
  mkdir -p "$dir"
  # One caller at a time creates and starts the cluster (tests start it side by side).
  exec 9>"$dir/.lock"
  flock 9
  local bin data
  bin=$(bindir)
  data=$(datadir)
  if [ "$(id -u)" -eq 0 ]; then chmod 755 "$dir"; fi
  if running; then
    :
  elif "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    # Another checkout's server (this script, this port): it serves as well.
    log "a server already listens on 127.0.0.1:$port (another checkout's?): using it"
  else
    if [ ! -f "$data/PG_VERSION" ]; then
      log "creating the cluster in $data"
      mkdir -p "$data"
      if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data"; fi
      as_owner "$bin/initdb" -D "$data" -U sunpool --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        fail "initdb failed; see $dir/initdb.log"
    fi
    log "starting PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
    # No Unix socket (its path would be limited to 107 bytes): TCP on loopback only. The server
    # must not inherit the lock's descriptor (it would hold the lock for as long as it runs).
    as_owner "$bin/pg_ctl" start -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200" >/dev/null 9>&- ||
      fail "the server did not start; see $data/server.log (port $port taken? set SUNPOOL_POSTGRES_PORT)"
  fi
  if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U sunpool -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'sunpool'" | grep -q 1; then
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U sunpool sunpool
  fi
  printf '%s\n' "$url"
}

case ${1:-} in
  install) install ;;
  ensure) ensure ;;
  url) printf '%s\n' "$url" ;;
  status)
    if running; then
      printf 'running: %s\n' "$url"
    else
      printf 'stopped (%s)\n' "$dir"
      exit 3
    fi
    ;;
  stop)
    if running; then
      as_owner "$(bindir)/pg_ctl" stop -D "$(datadir)" -m fast -w >/dev/null
      log "stopped"
    fi
    ;;
  *)
    echo "usage: bash scripts/postgres.sh install|ensure|url|status|stop" >&2
    exit 2
    ;;
esac
