#!/usr/bin/env bash
# Services the test suite needs, installed and started when missing (idempotent):
#   - PostgreSQL (Debian's package), a throw-away test cluster on 127.0.0.1:${DISCOVERLY_PG_PORT:-54329}
#   - chromium (Debian's package) for the headless browser tests (Playwright drives /usr/bin/chromium;
#     no browser is ever downloaded)
#   - wrk and hey (Debian's packages), the load generators of benchmarks/bench_serve.py
# Prints the PostgreSQL URL for tests on its last line. Usage: scripts/services.sh [postgres|chromium|wrk|all|stop-postgres]
set -euo pipefail
what=${1:-all}
PORT=${DISCOVERLY_PG_PORT:-54329}
PGDIR=${DISCOVERLY_PG_DIR:-/tmp/discoverly-pg-$PORT}
LOCK=/tmp/discoverly-services.lock

log() { echo "services.sh: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi

apt_updated=""
apt_install() {  # apt_install PKG... ; fails when not root and no sudo
  if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
    log "cannot install $* : not root and no passwordless sudo"; return 1
  fi
  if [ -z "$apt_updated" ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing $* (apt-get) ..."
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_postgres() {
  if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    apt_install postgresql || return 1
  fi
  local bin; bin=$(pg_bin)
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
    as=(runuser -u postgres --)
  fi
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    return 0
  fi
  if [ ! -f "$PGDIR/PG_VERSION" ]; then
    rm -rf "$PGDIR"; mkdir -p "$PGDIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
    "${as[@]}" "$bin/initdb" -D "$PGDIR" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null 9>&-
  fi
  rm -f "$PGDIR/postmaster.pid.stale"
  "${as[@]}" "$bin/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR -c fsync=on -c synchronous_commit=on -c max_connections=200" \
    start >/dev/null 9>&- || { log "PostgreSQL did not start; see $PGDIR/server.log"; tail -5 "$PGDIR/server.log" >&2; return 1; }
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT"
}

ensure_chromium() {
  command -v chromium >/dev/null || apt_install chromium
}

ensure_wrk() {  # the load generators of benchmarks/bench_serve.py: wrk (max throughput), hey (fixed rate)
  command -v wrk >/dev/null || apt_install wrk
  command -v hey >/dev/null || apt_install hey
}

exec 9>"$LOCK"
flock -w 600 9 || { log "another services.sh holds $LOCK"; exit 1; }
case "$what" in
  postgres) ensure_postgres ;;
  chromium) ensure_chromium ;;
  wrk) ensure_wrk ;;
  stop-postgres)
    if [ -f "$PGDIR/PG_VERSION" ] && "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
      if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null
      else "$(pg_bin)/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null; fi
    fi
    exit 0 ;;
  all) ensure_postgres; ensure_chromium || log "chromium unavailable"; ensure_wrk || log "wrk unavailable" ;;
  *) log "unknown service $what (postgres, chromium, wrk, all)"; exit 2 ;;
esac
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
