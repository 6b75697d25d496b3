#!/usr/bin/env bash
# Side-by-side speed benchmark: faceauth (C++, XNNPACK / OpenCV) against two peers, the
# face-api reference (Node.js, tfjs WebAssembly backend) and dlib's native pipeline
# (build/release/dlib_native, tools/peers/dlib_native.cpp: HOG detector with one upsampling,
# 5-point shape predictor, the ResNet, on OpenBLAS with one thread), all on one core, on the
# same 960x720 one-face JPEG; then the instructions per stage of ours (callgrind), a figure
# that does not move with the machine's load.
#
#   scripts/bench.sh [--repeat N] [--ref-repeat N] [--no-instructions]
#
# Builds nothing itself: it expects scripts/setup.sh to have run (models converted, Node
# reference environment installed, build/release/faceauth built) and runs setup.sh only when
# one of those is missing. To pick up source changes, rebuild first
# (cmake --build build/release --target faceauth).
#
# Steps: tools/reference/make_bench_image.js -> build/bench/selfie-960x720.jpg (deterministic,
# from face-api's demo photo); `taskset -c 0 faceauth bench IMAGE --repeat 50`;
# `taskset -c 0 node tools/reference/bench_faceapi.js IMAGE` (warmup 5, repeat 30);
# `taskset -c 0 dlib_native IMAGE` (warmup 3, repeat 20);
# `faceauth verify IMAGE IMAGE` for peak_rss_mb; `valgrind --tool=callgrind faceauth bench
# IMAGE --repeat 3 --warmup 0` for instructions per stage (valgrind hides AVX-512 from the
# program, so these count the AVX2 kernels). Prints a markdown table and the environment.
# Other load on the machine skews the numbers: the load average is printed with them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

repeat=50
ref_repeat=30
dlib_repeat=20
instructions=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=$2; shift 2 ;;
    --ref-repeat) ref_repeat=$2; dlib_repeat=$2; shift 2 ;;
    --no-instructions) instructions=0; shift ;;
    *) echo "usage: scripts/bench.sh [--repeat N] [--ref-repeat N] [--no-instructions]" >&2; exit 2 ;;
  esac
done

faceauth=build/release/faceauth
dlib_native=build/release/dlib_native
image=build/bench/selfie-960x720.jpg
cache=${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}

if [ ! -x "$faceauth" ] || [ ! -x "$dlib_native" ] || [ ! -d tools/reference/node_modules/@tensorflow/tfjs-backend-wasm ] ||
  [ ! -f "$cache/npm/face-api/package/demo/sample1.jpg" ]; then
  echo "bench: set-up incomplete (faceauth binary, Node reference or face-api package missing): running scripts/setup.sh" >&2
  scripts/setup.sh >&2
fi
dlib_models=$cache/npm/face-recognition-models/package/models
[ -f "$dlib_models/dlib_face_recognition_resnet_model_v1.dat" ] || { echo "bench: no $dlib_models" >&2; exit 1; }
# dlib's convolutions go through BLAS: OpenBLAS (libopenblas0-pthread) with one thread, as
# face_recognition users run it, whatever the system's libblas.so.3 alternative is.
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
for tool in node taskset lscpu; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool not found" >&2; exit 1; }
done

log=$(mktemp)
callgrind_out=$(mktemp)
trap 'rm -f "$log" "$callgrind_out"' EXIT
fail() { echo "bench: $1" >&2; cat "$log" >&2; exit 1; }

node tools/reference/make_bench_image.js "$image" 2>"$log" || fail "could not make $image"
faces=$("$faceauth" detect "$image" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).faces)')
if [ "$faces" != 1 ]; then
  echo "bench: faceauth detect finds $faces faces in $image, expected 1" >&2
  exit 1
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
ours=$(taskset -c 0 "$faceauth" bench "$image" --repeat "$repeat" 2>"$log") || fail "faceauth bench failed"
ref=$(taskset -c 0 node tools/reference/bench_faceapi.js "$image" --repeat "$ref_repeat" 2>"$log") ||
  fail "the face-api reference failed"
dlib=$(LD_LIBRARY_PATH=$openblas OPENBLAS_NUM_THREADS=1 taskset -c 0 "$dlib_native" "$image" --models "$dlib_models" \
  --repeat "$dlib_repeat" 2>"$log") || fail "dlib_native failed"
verify=$("$faceauth" verify "$image" "$image")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Instructions per stage: inclusive callgrind counts of the stage functions over 3 runs.
instr='{}'
if [ "$instructions" = 1 ] && command -v valgrind >/dev/null 2>&1; then
  valgrind --tool=callgrind --callgrind-out-file="$callgrind_out" "$faceauth" bench "$image" --repeat 3 --warmup 0 \
    >/dev/null 2>"$log" || fail "callgrind run failed"
  instr=$(callgrind_annotate --inclusive=yes "$callgrind_out" 2>/dev/null | node -e '
    const text = require("fs").readFileSync(0, "utf8");
    const stages = { decode: /faceauth::decode_image\(/, detect: /faceauth::\(anonymous namespace\)::(Cascade|Net)Detector::detect\(/,
      landmarks: /faceauth::Landmarker::locate\(/, align: /faceauth::extract_chip\(/,
      embed: /faceauth::Embedder::embed\(/, total: /faceauth::FaceEngine::analyze\(std::span/ };
    const out = {};
    for (const line of text.split("\n")) {
      const m = line.match(/^\s*([\d,]+)/);
      if (!m) continue;
      for (const [stage, re] of Object.entries(stages)) {
        const n = Number(m[1].replace(/,/g, "")) / 3;
        if (re.test(line) && !(out[stage] >= n)) out[stage] = n;
      }
    }
    console.log(JSON.stringify(out));')
fi

OURS=$ours REF=$ref DLIB=$dlib INSTR=$instr VERIFY=$verify IMAGE=$image \
  CPU=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1) \
  CORES=$(nproc) \
  OPENCV=$(pkg-config --modversion opencv4 2>/dev/null || echo unknown) \
  COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src CMakeLists.txt 2>/dev/null || echo ' + uncommitted src changes')" \
  LOAD="$load_before before, $load_after after (1/5/15 min)" \
  DATE=$(date -u '+%Y-%m-%d %H:%M UTC') \
  node - <<'EOF'
'use strict';
const ours = JSON.parse(process.env.OURS);
const ref = JSON.parse(process.env.REF);
const dlib = JSON.parse(process.env.DLIB);
const instr = JSON.parse(process.env.INSTR);
const verify = JSON.parse(process.env.VERIFY);

const f = (v) => (v === undefined ? 'n/a' : v.toFixed(1));
const pair = (s) => (s ? `${f(s.median)} / ${f(s.p90)}` : 'n/a');
const speedup = (a, b) => (a && b ? `${(b.median / a.median).toFixed(1)}x` : 'n/a');
// ours has no align+embed sample per iteration: use the sum of the two stages' statistics
const sum = (a, b) => (a && b ? { median: a.median + b.median, p90: a.p90 + b.p90 } : undefined);

const o = ours.ms;
const r = ref.ms;
const d = dlib.ms;
const rows = [
  ['decode', o.decode, r.decode, d.decode, 'decode'],
  ['detect', o.detect, r.detect, d.detect, 'detect'],
  ['landmarks', o.landmarks, r.landmarks, d.landmarks, 'landmarks'],
  ['align', o.align, r.align, d.align, 'align'],
  ['embed', o.embed, r.embed, d.embed, 'embed'],
  ['align + embed', sum(o.align, o.embed), r.align_embed, sum(d.align, d.embed), '', '¹'],
  ['**total**', o.total, r.total, d.total, 'total'],
];
const mega = (stage) => (instr[stage] === undefined ? 'n/a' : (instr[stage] / 1e6).toFixed(1));
const lines = [];
lines.push(`Benchmark: ${process.env.IMAGE} (${ref.width}x${ref.height}, ${ref.faces} face), one core (taskset -c 0), one thread`);
lines.push('');
lines.push('| stage | ours median / p90 (ms) | ours M instructions | face-api median / p90 (ms) | speed-up | dlib native median / p90 (ms) | speed-up |');
lines.push('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, a, b, c, stage, note = ''] of rows) {
  lines.push(`| ${name} | ${pair(a)}${note} | ${stage ? mega(stage) : 'n/a'} | ${pair(b)} | ${speedup(a, b)} | ${pair(c)} | ${speedup(a, c)} |`);
}
lines.push('');
lines.push(`ours: faceauth bench, warmup ${ours.warmup}, repeat ${ours.repeat}; reference: face-api ${ref.versions['face-api']} `
  + `(${ref.detector}, landmark68, recognition net), warmup ${ref.warmup}, repeat ${ref.repeat}, `
  + `${ref.runtime} ${ref.wasm_binary}, ${ref.threads} thread, SIMD ${ref.simd ? 'on' : 'off'}, jpeg-js decode; `
  + `it found ${ref.faces} face, descriptor length ${ref.descriptor_length}.`);
lines.push(`dlib native: tools/peers/dlib_native.cpp on Debian dlib (HOG frontal detector, upsample 1; 5-point shape predictor; `
  + `150x150 chip; ResNet), OpenBLAS one thread, warmup ${dlib.warmup}, repeat ${dlib.repeat}; it found ${dlib.faces} face, descriptor length ${dlib.descriptor_length}.`);
lines.push('¹ ours and dlib: sum of the align and embed statistics (no per-iteration align+embed sample). '
  + "face-api's align is an axis-parallel crop of the landmarks' box; its embed includes the resize to 150x150.");
lines.push('Instructions: callgrind, inclusive count of the stage function per run (3 runs, no warm-up); valgrind hides AVX-512, so the AVX2 kernels are counted.');
lines.push('');
const target = (name, value, ok) => `- ${name}: ${value} — ${ok ? 'met' : 'NOT met'}`;
lines.push('Targets:');
lines.push(target('total <= 22 ms median', `${f(o.total.median)} ms`, o.total.median <= 22));
lines.push(target('embed <= 14 ms median', `${f(o.embed.median)} ms`, o.embed.median <= 14));
const totalSpeedup = r.total.median / o.total.median;
lines.push(target('total >= 10x faster than the face-api reference', `${totalSpeedup.toFixed(1)}x`, totalSpeedup >= 10));
const dlibSpeedup = d.total.median / o.total.median;
lines.push(target("total >= 10x faster than dlib's native pipeline", `${dlibSpeedup.toFixed(1)}x`, dlibSpeedup >= 10));
const rss = verify.peak_rss_mb;
lines.push(target('faceauth verify peak RSS <= 300 MB', `${rss === undefined ? 'n/a' : rss.toFixed(1)} MB`, rss !== undefined && rss <= 300));
lines.push('');
lines.push('Environment:');
lines.push(`- CPU: ${process.env.CPU} (${process.env.CORES} cores visible); load average ${process.env.LOAD}`);
const load = Number(process.env.LOAD.split(' ')[0]);
if (load > 0.5) {
  lines.push(`- warning: load average ${load} before the run: other processes share the CPU, so both `
    + 'sides are slower than on an idle machine (the speed-up is less affected)');
}
lines.push(`- OpenCV ${process.env.OPENCV}; faceauth ${process.env.COMMIT}`);
lines.push(`- tfjs ${ref.versions.tfjs} (tfjs-backend-wasm ${ref.versions['tfjs-backend-wasm']}); Node.js ${ref.versions.node}`);
lines.push(`- date: ${process.env.DATE}`);
console.log(lines.join('\n'));
EOF
