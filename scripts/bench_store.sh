#!/usr/bin/env bash
# Store benchmark, SQLite and PostgreSQL side by side: attempt inserts per second with 8
# concurrent writers and the time to list 5,000 attempts (tests/tools/bench_store.cpp).
#
#   scripts/bench_store.sh [--bench PATH] [ATTEMPTS_PER_WRITER]
#
# SQLite: a fresh file in a temporary directory (WAL, synchronous=FULL, as faceauthd runs it).
# PostgreSQL: a durable (fsync on) throw-away server from tests/tools/pg_test_server.sh on a
# loopback port, stopped at the end. Prints a markdown table and the load average.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bench=build/release/bench_store
if [ "${1:-}" = "--bench" ]; then bench=$2; shift 2; fi
[ -x "$bench" ] || { echo "bench_store: $bench not built (cmake --build build/release --target bench_store)" >&2; exit 2; }
work=$(mktemp -d)
pg_dir=$(mktemp -d /tmp/faceauth-bench-pg.XXXXXX)
trap 'tests/tools/pg_test_server.sh stop "$pg_dir"; rm -rf "$work"' EXIT
url=$(tests/tools/pg_test_server.sh start "$pg_dir" --durable)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
nice -n 10 "$bench" "$work/bench.db" "$url" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
