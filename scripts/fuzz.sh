#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (address + undefined sanitizers) and runs each for
# a bounded time: FUZZ_SECONDS per target (default 60). Needs scripts/setup.sh to have run.
# A finding stops with its input saved under build/fuzz/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/fuzz"
seconds=${FUZZ_SECONDS:-60}
CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DFACEAUTH_SANITIZE=ON -DFACEAUTH_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_image_decoder fuzz_exif fuzz_multipart fuzz_request_text fuzz_policy_json make_fuzz_corpus >/dev/null
"$build/make_fuzz_corpus" "$build/corpus/seeds"
export ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0

run_target() {
  local target=$1 seeds=${2:-$build/corpus/seeds} corpus="$build/corpus/$1" log="$build/$1.log"
  mkdir -p "$corpus"
  if ! "$build/$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$build/$target-" "$corpus" "$seeds" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $target found a failure (input saved as $build/$target-*)"
    exit 1
  fi
  echo "fuzz: $target ran ${seconds}s, $(grep -oE 'number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+') inputs, no finding"
}
run_target fuzz_image_decoder
run_target fuzz_exif
run_target fuzz_multipart "$root/tests/fuzz/multipart_seeds"
run_target fuzz_request_text "$root/tests/fuzz/request_text_seeds"
run_target fuzz_policy_json "$root/tests/fuzz/policy_json_seeds"
