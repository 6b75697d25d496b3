#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs the face engine on two demo photos of the
# same person shipped in the face-api package: `faceauth verify` prints faces, landmarks,
# the similarity and its score. (The HTTP service takes over this command when it lands.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cache=${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}
demo="$cache/npm/face-api/package/demo"
exec "$root/build/release/faceauth" verify "$demo/sample1.jpg" "$demo/sample6.jpg" --models "$cache/models"
