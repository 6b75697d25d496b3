#!/usr/bin/env bash
# Sets up everything the project needs on a Debian machine, idempotently:
#   1. Debian packages (compilers, OpenCV, libjpeg-turbo, libsodium, Python ONNX, ...);
#   2. the pinned model packages from npm, integrity checked (scripts/fetch_models.sh);
#   3. the Node.js reference environment (tools/reference, from its lockfile);
#   4. TF.js -> ONNX conversion into the model cache, sha256 checked;
#   5. the dashboard (dashboard/, TypeScript, from its lockfile) built into dashboard/dist;
#   6. a release build in build/release (which embeds dashboard/dist).
# Environment: FACEAUTH_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/faceauth).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}
export FACEAUTH_CACHE=$cache

packages=(
  build-essential cmake pkg-config git clang clang-format libclang-rt-14-dev
  libopencv-dev libturbojpeg0-dev libsodium-dev nlohmann-json3-dev libgtest-dev
  libboost-dev libsqlite3-dev wrk slowhttptest libpq-dev postgresql nginx
  libxnnpack-dev libpthreadpool-dev libdlib-dev libopenblas0-pthread valgrind
  python3 python3-numpy python3-onnx python3-opencv openssl ca-certificates
  chromium
)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"$root/scripts/fetch_models.sh"

if [ ! -f "$root/tools/reference/node_modules/.package-lock.json" ] ||
  ! cmp -s "$root/tools/reference/package-lock.json" "$root/tools/reference/node_modules/.installed-lock"; then
  (cd "$root/tools/reference" && npm ci --no-audit --no-fund --loglevel=error &&
    cp package-lock.json node_modules/.installed-lock)
fi

# The dashboard: npm ci from its lockfile (playwright-core is a plain package: it downloads no
# browser; the tests drive Debian's /usr/bin/chromium), then the build into dashboard/dist.
if [ ! -f "$root/dashboard/node_modules/.package-lock.json" ] ||
  ! cmp -s "$root/dashboard/package-lock.json" "$root/dashboard/node_modules/.installed-lock"; then
  (cd "$root/dashboard" && npm ci --no-audit --no-fund --loglevel=error &&
    cp package-lock.json node_modules/.installed-lock)
fi
(cd "$root/dashboard" && npm run --silent build)

/usr/bin/python3 "$root/tools/convert/convert_all.py" --npm-dir "$cache/npm" --out "$cache/models"

cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build/release" -j"$(nproc)"
echo "set-up done: models in $cache/models, binaries in build/release"
