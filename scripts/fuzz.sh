#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (address + undefined sanitizers) and runs each for
# a bounded time: FUZZ_SECONDS (default 60). Needs scripts/setup.sh to have run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/fuzz"
seconds=${FUZZ_SECONDS:-60}
CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DFACEAUTH_SANITIZE=ON -DFACEAUTH_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_image_decoder make_fuzz_corpus
corpus="$build/corpus/image_decoder"
"$build/make_fuzz_corpus" "$corpus"
export ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
log="$build/fuzz_image_decoder.log"
if ! "$build/fuzz_image_decoder" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$build/" "$corpus" >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "fuzz: image decoder found a failure (input saved in $build/)"
  exit 1
fi
grep -E "stat::number_of_executed_units" "$log" || true
echo "fuzz: image decoder ran ${seconds}s without a finding"
