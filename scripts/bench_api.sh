#!/usr/bin/env bash
# API benchmark of faceauthd: POST /v3/faceauth with a 960x720 JPEG over loopback.
#
#   scripts/bench_api.sh [--faceauthd PATH] [--c1-seconds N] [--c8-seconds N] [--total N] [--postgres]
#
# --postgres: the store on PostgreSQL instead of SQLite: a durable (fsync on) throw-away
# server from tests/tools/pg_test_server.sh on a loopback port, stopped at the end.
#
# Targets (the issue): median latency <= 40 ms at concurrency 1; >= 40 requests/s at
# concurrency 8 with zero errors; resident memory after 10,000 requests <= 500 MB and not
# growing over the last 5,000.
#
# Steps: make build/bench/selfie-960x720.jpg (tools/reference/make_bench_image.js, the largest
# face of face-api's sample1.jpg) unless it exists; start faceauthd (default settings: one
# engine per core, 3 s engine wait) on a free loopback port with a fresh temporary data dir;
# create a submission from that same image with the demo KYC key and approve it; build the
# multipart body once; then wrk (one thread) with a Lua script that posts the prebuilt body and
# counts every non-200 response in a response() hook:
#   1. warm-up, c=1, 3 s
#   2. latency, c=1, --c1-seconds (default 20): median, p90, p99
#   3. throughput, c=8, --c8-seconds (default 30): requests/s and errors
#   4. soak, c=8, in chunks until the server has answered --total (default 10,000) requests;
#      VmRSS from /proc/PID/status is sampled at every --total/10 requests from --total/2 on.
# Request counts are the server's own (faceauth_requests_total in /metrics). Every phase's
# errors (non-200 responses and socket errors) are added up. Prints a markdown table.
# wrk shares the two cores with the server, as a client on the same machine would; other load
# skews the numbers, so the load average is printed with them. Exit status 0 when every target
# is met, 1 otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

faceauthd=build/release/faceauthd
c1_seconds=20
c8_seconds=30
total=10000
postgres=0
while [ $# -gt 0 ]; do
  case "$1" in
    --faceauthd) faceauthd=$2; shift 2 ;;
    --c1-seconds) c1_seconds=$2; shift 2 ;;
    --c8-seconds) c8_seconds=$2; shift 2 ;;
    --total) total=$2; shift 2 ;;
    --postgres) postgres=1; shift ;;
    *) echo "usage: scripts/bench_api.sh [--faceauthd PATH] [--c1-seconds N] [--c8-seconds N] [--total N] [--postgres]" >&2; exit 2 ;;
  esac
done
for tool in wrk curl node /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "bench_api: $tool is required" >&2; exit 2; }
done
[ -x "$faceauthd" ] || { echo "bench_api: $faceauthd not built (make -C build/release faceauthd)" >&2; exit 2; }

image=build/bench/selfie-960x720.jpg
[ -f "$image" ] || node tools/reference/make_bench_image.js "$image" >&2

work=$(mktemp -d)
server_pid=
pg_dir=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -z "$pg_dir" ] || tests/tools/pg_test_server.sh stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
store_args=()
if [ "$postgres" = 1 ]; then
  pg_dir=$(mktemp -d /tmp/faceauth-bench-pg.XXXXXX)
  store_args=(--database "$(tests/tools/pg_test_server.sh start "$pg_dir" --durable)")
fi
"$faceauthd" --data-dir "$work/data" --bind 127.0.0.1 --port "$port" "${store_args[@]}" >"$work/faceauthd.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  if curl -sf "$base/health" >/dev/null 2>&1 && [ -s "$work/data/demo.json" ]; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/faceauthd.log" >&2; exit 1; }
  sleep 0.1
done
sleep 0.2
demo() { /usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/data/demo.json" "$1"; }
kyc_key=$(demo kyc_key)
addon_key=$(demo addon_key)

# A submission made from the bench image itself, approved.
submission=$(curl -sf -X POST "$base/v3/submissions" -H "x-api-key: $kyc_key" -F "selfieImage=@$image" -F userId=bench |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["submissionId"])')
curl -sf -X POST "$base/v3/submissions/$submission/approve" -H "x-api-key: $kyc_key" >/dev/null

# The request body, built once.
/usr/bin/python3 - "$image" "$submission" "$work/body.bin" <<'EOF'
import sys
image, submission, out = sys.argv[1], sys.argv[2], sys.argv[3]
b = b"benchboundary7f3a9c"
data = open(image, "rb").read()
body = (b"--" + b + b'\r\nContent-Disposition: form-data; name="submissionId"\r\n\r\n' + submission.encode() + b"\r\n" +
        b"--" + b + b'\r\nContent-Disposition: form-data; name="faceImage"; filename="selfie.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n--" + b + b"--\r\n")
open(out, "wb").write(body)
EOF
check=$(curl -s -X POST "$base/v3/faceauth" -H "x-api-key: $addon_key" \
  -H "Content-Type: multipart/form-data; boundary=benchboundary7f3a9c" --data-binary "@$work/body.bin")
echo "bench_api: one request: $check" >&2

cat >"$work/post.lua" <<EOF
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  non200 = 0
  local f = assert(io.open("$work/body.bin", "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=benchboundary7f3a9c"
  wrk.headers["x-api-key"] = "$addon_key"
end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non200") end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f non200=%d socket_errors=%d p50=%.2f p90=%.2f p99=%.2f mean=%.2f max=%.2f\n",
    summary.requests, summary.duration / 1e6, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000))
end
EOF

# run_wrk CONNECTIONS SECONDS -> the RESULT line; errors are added to $errors
errors=0
run_wrk() {
  local line
  line=$(wrk -t1 -c"$1" -d"$2"s --timeout 10s -s "$work/post.lua" "$base/v3/faceauth" | grep '^RESULT')
  local bad sock
  bad=$(sed 's/.*non200=\([0-9]*\).*/\1/' <<<"$line")
  sock=$(sed 's/.*socket_errors=\([0-9]*\).*/\1/' <<<"$line")
  errors=$((errors + bad + sock))
  echo "$line"
}
field() { sed "s/.* $1=\([0-9.]*\).*/\1/" <<<"$2"; }
served() { curl -s "$base/metrics" | awk '/^faceauth_requests_total\{route="faceauth",/ { s += $2 } END { print s + 0 }'; }
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
echo "bench_api: warm-up" >&2
run_wrk 1 3 >/dev/null
echo "bench_api: c=1 for ${c1_seconds}s" >&2
c1=$(run_wrk 1 "$c1_seconds")
c1_errors=$errors
echo "bench_api: c=8 for ${c8_seconds}s" >&2
c8=$(run_wrk 8 "$c8_seconds")
c8_errors=$((errors - c1_errors))
c8_rps=$(awk -v r="$(field requests "$c8")" -v s="$(field seconds "$c8")" 'BEGIN { printf "%.1f", r / s }')

# Soak at c=8 until the server has answered $total requests, RSS every $step from $half on.
rss_rows=""
half=$((total / 2))
step=$((total / 10))
next_mark=$half
rss_5k=""
rss_end=""
soak_first=$(served)
soak_started=$(date +%s.%N)
while :; do
  n=$(served)
  while [ "$n" -ge "$next_mark" ] && [ "$next_mark" -le "$total" ]; do
    r=$(rss_mb)
    rss_rows+="| $next_mark | $n | $r |"$'\n'
    [ "$next_mark" -eq "$half" ] && rss_5k=$r
    rss_end=$r
    next_mark=$((next_mark + step))
  done
  [ "$next_mark" -gt "$total" ] && break
  # enough seconds to reach the next mark at the measured rate, at least 1
  secs=$(awk -v need=$((next_mark - n)) -v rps="$c8_rps" 'BEGIN { s = int(need / rps) + 1; if (s < 1) s = 1; if (s > 10) s = 10; print s }')
  echo "bench_api: soak: $n served, c=8 for ${secs}s" >&2
  run_wrk 8 "$secs" >/dev/null
done
served_total=$(served)
soak_rps=$(awk -v n=$((served_total - soak_first)) -v a="$soak_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", n / (b - a) }')
elapsed=$(($(date +%s) - started))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

verdict() { if [ "$1" = 1 ]; then echo "yes"; else echo "**no**"; fi; }
p50=$(field p50 "$c1")
ok_p50=$(awk -v v="$p50" 'BEGIN { print (v <= 40) ? 1 : 0 }')
ok_rps=$(awk -v v="$c8_rps" 'BEGIN { print (v >= 40) ? 1 : 0 }')
ok_errors=$([ "$errors" -eq 0 ] && echo 1 || echo 0)
ok_rss=$(awk -v v="$rss_end" 'BEGIN { print (v <= 500) ? 1 : 0 }')
growth=$(awk -v a="$rss_5k" -v b="$rss_end" 'BEGIN { printf "%+.1f", b - a }')
# "not growing": at most 2% (allocator noise) above the 5,000-request sample
ok_growth=$(awk -v a="$rss_5k" -v b="$rss_end" 'BEGIN { print (b <= a * 1.02) ? 1 : 0 }')

cat <<EOF
## faceauthd API benchmark: POST /v3/faceauth, 960x720 JPEG, loopback

| measure | value | target | met |
|---|---|---|---|
| c=1 median latency | $(field p50 "$c1") ms | <= 40 ms | $(verdict "$ok_p50") |
| c=1 p90 latency | $(field p90 "$c1") ms | | |
| c=1 p99 latency | $(field p99 "$c1") ms | | |
| c=1 requests ($c1_seconds s) | $(field requests "$c1") | | |
| c=8 throughput ($c8_seconds s) | $c8_rps requests/s | >= 40 /s | $(verdict "$ok_rps") |
| c=8 throughput over the soak ($((served_total - soak_first)) requests) | $soak_rps requests/s | | |
| c=8 median / p99 latency | $(field p50 "$c8") / $(field p99 "$c8") ms | | |
| c=8 errors (non-200 + socket) | $c8_errors | 0 | $(verdict "$([ "$c8_errors" -eq 0 ] && echo 1 || echo 0)") |
| errors over the whole run | $errors of $served_total requests | 0 | $(verdict "$ok_errors") |
| VmRSS after $half requests | $rss_5k MB | | |
| VmRSS after $total requests | $rss_end MB | <= 500 MB | $(verdict "$ok_rss") |
| VmRSS change over the last $((total - half)) | $growth MB | not growing (<= +2%) | $(verdict "$ok_growth") |

VmRSS samples (at every $step requests the server had answered, from $half on):

| mark | requests served | VmRSS MB |
|---|---|---|
${rss_rows%$'\n'}

Environment: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), load average $load_before before and $load_after after;
$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), one wrk thread on the same machine; faceauthd defaults
($(sed -n 's/.* with \([0-9]*\) engine workers/\1 engine workers/p' "$work/faceauthd.log" | head -1)); bench wall time ${elapsed} s.
EOF
[ "$ok_p50$ok_rps$ok_errors$ok_rss$ok_growth" = 11111 ]
