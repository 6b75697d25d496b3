#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs the face engine on photos made from the
# face-api demo photo sample1.jpg: two framings of the same woman (960x720 at JPEG quality 90,
# 640x480 at quality 70) and one of another woman. `faceauth verify` prints faces, boxes,
# landmarks, stage times, the raw similarity and the 0-100 score of each pair.
# (The HTTP service takes over this command when it lands.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cache=${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}
demo="$root/build/demo"
make_image() { node "$root/tools/reference/make_bench_image.js" "$@" 2>/dev/null; }
make_image "$demo/same-a.jpg"
make_image "$demo/same-b.jpg" --crop 1150,0,770,578 --size 640,480 --quality 70
make_image "$demo/other.jpg" --crop 100,150,700,525 --size 640,480 --quality 80
faceauth="$root/build/release/faceauth"
echo "== the same person, two framings"
"$faceauth" verify "$demo/same-a.jpg" "$demo/same-b.jpg" --models "$cache/models"
echo "== two different people"
"$faceauth" verify "$demo/same-a.jpg" "$demo/other.jpg" --models "$cache/models" |
  node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(JSON.stringify({similarity: d.similarity, score: d.score}))'
