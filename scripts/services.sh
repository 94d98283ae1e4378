#!/usr/bin/env bash
# Development and test services, real and local, on loopback:
#   PostgreSQL (Debian's), FerretDB 1.24 on it as the MongoDB-wire server, Redis, LiveKit (--dev).
# Usage: scripts/services.sh start|stop|status|build
# Idempotent: a service that already answers is left running. Binaries are
# built once into ~/.cache/kraken (outside the repo); data lives in .data/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${KRAKEN_CACHE:-$HOME/.cache/kraken}"
DATA="${KRAKEN_SERVICES_DIR:-$ROOT/.data/services}"
FERRETDB_PORT="${KRAKEN_FERRETDB_PORT:-27017}"
REDIS_PORT="${KRAKEN_REDIS_PORT:-6379}"
POSTGRES_PORT="${KRAKEN_POSTGRES_PORT:-5433}"
# postgresql (the default store, README "Storage") or sqlite (the store before it, for comparison)
FERRETDB_HANDLER="${KRAKEN_FERRETDB_HANDLER:-postgresql}"
LIVEKIT_PORT="${KRAKEN_LIVEKIT_PORT:-7880}"
LIVEKIT_VERSION="v1.13.5"
LIVEKIT_BIN="$CACHE/livekit-$LIVEKIT_VERSION/server"
SERVICES="${KRAKEN_SERVICES:-postgres ferretdb redis livekit}"

say() { printf '%s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port pidfile
  for _ in $(seq 1 150); do
    port_open "$2" && return 0
    if [ -f "$3" ] && ! kill -0 "$(cat "$3")" 2>/dev/null; then
      say "$1 exited during start-up; last log lines:"; tail -n 20 "$DATA/$1.log" >&2 || true; return 1
    fi
    sleep 0.1
  done
  say "$1 did not answer on port $2 within 15 s"; return 1
}

ferretdb_bin() {
  local src="$ROOT/services/ferretdb" hash
  hash=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-12)
  echo "$CACHE/bin/kraken-ferretdb-$hash"
}

build_ferretdb() {
  local bin; bin=$(ferretdb_bin)
  [ -x "$bin" ] && return 0
  command -v go >/dev/null || { say "Go is required to build FerretDB"; return 1; }
  say "building FerretDB into $bin (first run only) ..."
  mkdir -p "$CACHE/bin"
  (cd "$ROOT/services/ferretdb" && go build -trimpath -o "$bin.tmp" . && mv "$bin.tmp" "$bin")
}

build_livekit() {
  [ -x "$LIVEKIT_BIN" ] && return 0
  command -v go >/dev/null || { say "Go is required to build LiveKit"; return 1; }
  say "building livekit-server $LIVEKIT_VERSION into $LIVEKIT_BIN (first run only, ~2 min) ..."
  GOBIN="$CACHE/livekit-$LIVEKIT_VERSION" go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
}

ensure_redis() {
  # redis-sentinel: the Sentinel failover tests (tests/live.py SentinelTopology)
  command -v redis-server >/dev/null && command -v redis-sentinel >/dev/null && return 0
  say "installing Debian's redis-server and redis-sentinel ..."
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server redis-sentinel >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq redis-server redis-sentinel >/dev/null; fi
}

pg_bin() {
  local dir; dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && echo "$dir/$1"
}

ensure_postgres() {
  [ -x "$(pg_bin postgres)" ] && return 0
  say "installing Debian's postgresql ..."
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq postgresql >/dev/null; fi
}

# The cluster lives in $DATA/postgres, unless the postgres user cannot reach $DATA (as root, under a
# private temporary folder, say): then under /var/tmp, named after $DATA.
pg_data_dir() {
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$DATA" 2>/dev/null; then echo "$DATA/postgres"
  else echo "/var/tmp/kraken-postgres-$(echo "$DATA" | sha256sum | cut -c1-16)"; fi
}

as_pg() { # PostgreSQL refuses to run as root: run its commands as the postgres user then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  [ "$FERRETDB_HANDLER" = postgresql ] || return 0
  ensure_postgres
  if port_open "$POSTGRES_PORT"; then say "postgres: already answering on $POSTGRES_PORT"; return 0; fi
  local pgdata; pgdata=$(pg_data_dir)
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata"
    [ "$(id -u)" = 0 ] && chown postgres: "$pgdata"
    chmod 700 "$pgdata"
    # loopback only, trusted: a development store (production runs MongoDB 7, docker/)
    as_pg "$(pg_bin initdb)" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C >"$DATA/postgres-init.log"
    cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_buffers = 512MB
max_connections = 300
jit = off
CONF
  fi
  as_pg "$(pg_bin pg_ctl)" -D "$pgdata" -o "-p $POSTGRES_PORT" -l "$pgdata/postgres.log" -w -t 60 start >/dev/null
  head -n 1 "$pgdata/postmaster.pid" >"$DATA/postgres.pid"
  psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ferretdb'" \
    | grep -q 1 || psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -qc "CREATE DATABASE ferretdb"
}

start_ferretdb() {
  build_ferretdb
  if port_open "$FERRETDB_PORT"; then say "ferretdb: already answering on $FERRETDB_PORT"; return 0; fi
  mkdir -p "$DATA/ferretdb"
  # pool_max_conns: FerretDB 1.24 creates a database or collection holding its metadata lock while it
  # waits for a pooled PostgreSQL connection, and every pooled connection may belong to a request waiting
  # for that lock: with the default pool (~100 here) several concurrent test runs deadlocked it for good.
  # PostgreSQL allows 300 (above); the pool stays below that.
  nohup "$(ferretdb_bin)" -listen "127.0.0.1:$FERRETDB_PORT" -handler "$FERRETDB_HANDLER" \
    -postgresql-url "postgres://postgres@127.0.0.1:$POSTGRES_PORT/ferretdb?pool_max_conns=250" -data "$DATA/ferretdb" \
    >"$DATA/ferretdb.log" 2>&1 &
  echo $! >"$DATA/ferretdb.pid"
  wait_port ferretdb "$FERRETDB_PORT" "$DATA/ferretdb.pid"
  [ "$FERRETDB_HANDLER" = postgresql ] && move_sqlite_store
  return 0
}

# A store made before PostgreSQL became the default (FerretDB's SQLite files in $DATA/ferretdb) is
# copied into PostgreSQL once, through a second FerretDB that reads the SQLite files; the files stay
# where they are (a backup), and a marker says the copy is done.
move_sqlite_store() {
  local marker="$DATA/ferretdb/moved-to-postgresql"
  compgen -G "$DATA/ferretdb/*.sqlite" >/dev/null || return 0
  [ -f "$marker" ] && return 0
  local port=$((FERRETDB_PORT + 1000)) python="$ROOT/.venv/bin/python"
  [ -x "$python" ] || python=python3
  say "ferretdb: copying the SQLite store in $DATA/ferretdb into PostgreSQL (once) ..."
  "$(ferretdb_bin)" -listen "127.0.0.1:$port" -handler sqlite -data "$DATA/ferretdb" >"$DATA/ferretdb-sqlite.log" 2>&1 &
  local pid=$!
  wait_port ferretdb-sqlite "$port" /dev/null || { kill "$pid" 2>/dev/null; return 1; }
  if "$python" "$ROOT/scripts/move_store.py" "mongodb://127.0.0.1:$port" "mongodb://127.0.0.1:$FERRETDB_PORT" \
      >"$DATA/move-store.log" 2>&1; then
    date -u +%FT%TZ >"$marker"
    say "ferretdb: $(tail -n 1 "$DATA/move-store.log") (log: $DATA/move-store.log)"
  else
    say "ferretdb: copying the SQLite store failed; see $DATA/move-store.log (it is tried again next start)"
    kill "$pid"; return 1
  fi
  kill "$pid"
}

start_redis() {
  ensure_redis
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then say "redis: already answering on $REDIS_PORT"; return 0; fi
  mkdir -p "$DATA/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$DATA/redis" \
    --pidfile "$DATA/redis.pid" --logfile "$DATA/redis.log" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  say "redis did not answer"; return 1
}

start_livekit() {
  build_livekit
  if port_open "$LIVEKIT_PORT"; then say "livekit: already answering on $LIVEKIT_PORT"; return 0; fi
  nohup "$LIVEKIT_BIN" --dev --bind 127.0.0.1 --port "$LIVEKIT_PORT" >"$DATA/livekit.log" 2>&1 &
  echo $! >"$DATA/livekit.pid"
  wait_port livekit "$LIVEKIT_PORT" "$DATA/livekit.pid"
}

stop_one() {
  local pidfile="$DATA/$1.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    # PostgreSQL: SIGINT is its "fast" shutdown (SIGTERM would wait for every client to leave)
    if [ "$1" = postgres ]; then kill -INT "$(cat "$pidfile")"; else kill "$(cat "$pidfile")"; fi
    for _ in $(seq 1 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    say "$1: stopped"
    # a test's private cluster goes with it
    if [ "$1" = postgres ] && [ -n "${KRAKEN_POSTGRES_EPHEMERAL:-}" ]; then rm -rf "$(pg_data_dir)"; fi
  else
    say "$1: not running (from $DATA)"
  fi
  rm -f "$pidfile"
}

urls() {
  for s in $SERVICES; do
    case $s in
      postgres) [ "$FERRETDB_HANDLER" = postgresql ] && echo "PostgreSQL (FerretDB's): postgres://postgres@127.0.0.1:$POSTGRES_PORT/ferretdb";;
      ferretdb) echo "MongoDB wire (FerretDB $FERRETDB_HANDLER): mongodb://127.0.0.1:$FERRETDB_PORT/kraken";;
      redis) echo "Redis:                   redis://127.0.0.1:$REDIS_PORT/0";;
      livekit) echo "LiveKit (dev keys):      ws://127.0.0.1:$LIVEKIT_PORT";;
    esac
  done
}

mkdir -p "$DATA"
case "${1:-}" in
  build) build_ferretdb; build_livekit;;
  start) for s in $SERVICES; do "start_$s"; done; urls;;
  stop) for s in $(echo "$SERVICES" | tr ' ' '\n' | tac); do stop_one "$s"; done;;
  status) urls; for s in $SERVICES; do
            f="$DATA/$s.pid"; if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then echo "$s: running"; else echo "$s: stopped"; fi
          done;;
  *) say "usage: $0 start|stop|status|build"; exit 2;;
esac
