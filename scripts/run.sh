#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs faceauthd with the embedded default:
# SQLite in ./faceauth-data (override with FACEAUTH_DATA_DIR), on 127.0.0.1:8080 (FACEAUTH_PORT).
# The first start creates a demo KYC project, a FaceAuth project and an approved submission
# from a face-api demo photo, writes faceauth-data/demo.json (keys, mode 0600) and prints two
# curl commands: one answered `approved`, one (someone else) `rejected`. Ctrl-C stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
exec "$root/build/release/faceauthd" --data-dir "${FACEAUTH_DATA_DIR:-$root/faceauth-data}" "$@"
