#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: Debian's postgresql binaries, a temporary
# directory, a free loopback port, run as the unprivileged `postgres` system user (PostgreSQL
# refuses root), trust authentication on 127.0.0.1 only.
#
#   pg_test_server.sh start DIR [--durable]   prints the URL (postgresql://faceauth@127.0.0.1:PORT/faceauth)
#   pg_test_server.sh stop DIR                stops it by pid and removes DIR
#   pg_test_server.sh pause DIR | resume DIR  stops / starts the server, keeping its data and port
#
# Without --durable the server runs with fsync off (tests only: a crash of the machine may
# lose its data, which the tests throw away anyway). Every wait is bounded.
set -euo pipefail

bin=""
for candidate in /usr/lib/postgresql/*/bin; do
  [ -x "$candidate/postgres" ] && bin="$candidate"
done
[ -n "$bin" ] || { echo "pg_test_server: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 2; }

run_as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"  # already unprivileged: our own user owns DIR
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_ready() {
  local dir=$1 port
  port=$(cat "$dir/port")
  for _ in $(seq 1 100); do
    if run_as_postgres "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then return 0; fi
    sleep 0.1
  done
  echo "pg_test_server: the server did not become ready in 10 s; its log:" >&2
  tail -20 "$dir/log" >&2 || true
  return 1
}

launch() {
  local dir=$1 port
  port=$(cat "$dir/port")
  local options=(-c listen_addresses=127.0.0.1 -c "unix_socket_directories=$dir" -p "$port" -c max_connections=200)
  [ -f "$dir/durable" ] || options+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
  run_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 20 -o "${options[*]}" start >/dev/null
  wait_ready "$dir"
}

halt() {
  local dir=$1 pid
  [ -f "$dir/data/postmaster.pid" ] || return 0
  pid=$(head -1 "$dir/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || return 0  # fast shutdown: clients are disconnected
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

start() {
  local dir=$1
  mkdir -p "$dir"
  [ "${2:-}" = "--durable" ] && touch "$dir/durable"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  run_as_postgres "$bin/initdb" -D "$dir/data" -U faceauth -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  run_as_postgres sh -c "echo 'host all all 127.0.0.1/32 trust' > '$dir/data/pg_hba.conf'"
  free_port >"$dir/port"
  launch "$dir"
  run_as_postgres "$bin/psql" -q -h 127.0.0.1 -p "$(cat "$dir/port")" -U faceauth -d postgres -c 'CREATE DATABASE faceauth' >/dev/null
  echo "postgresql://faceauth@127.0.0.1:$(cat "$dir/port")/faceauth"
}

case "${1:-}" in
  start) start "$2" "${3:-}" ;;
  stop)
    halt "$2"
    rm -rf "$2"
    ;;
  pause) halt "$2" ;;
  resume) launch "$2" ;;
  *)
    echo "usage: $0 start|stop|pause|resume DIR" >&2
    exit 2
    ;;
esac
