#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), runs the fuzzers for a bounded time
# (FUZZ_SECONDS per target, default 30), then builds the test build with the address and
# undefined-behaviour sanitizers and runs the whole suite with ctest, the store contract tests
# against SQLite and against a PostgreSQL server started here for the run (stopped after).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} "$root/scripts/fuzz.sh"
build="$root/build/debug-asan"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DFACEAUTH_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
# OpenCV and its codecs keep a few process-lifetime allocations; leak checking stays on, with
# those libraries' own allocations listed in tests/lsan.supp.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The store tests' PostgreSQL: a throw-away server on a free loopback port, as the postgres user.
pg_dir=$(mktemp -d /tmp/faceauth-pg-test.XXXXXX)
trap '"$root/tests/tools/pg_test_server.sh" stop "$pg_dir"' EXIT
FACEAUTH_TEST_PG_URL=$("$root/tests/tools/pg_test_server.sh" start "$pg_dir")
export FACEAUTH_TEST_PG_URL FACEAUTH_TEST_PG_REQUIRED=1
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
