#!/usr/bin/env bash
# sigstore's JavaScript core library (@sigstore/core, no dependencies) unpacked into DIR (kept
# between runs), for scripts/dsse-check.mjs; prints the package's directory.
set -euo pipefail
dir=${1:?usage: sigstore-js.sh DIR}
version=2.0.0
mkdir -p "$dir"
if [ ! -s "$dir/core-$version/dist/index.js" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@sigstore/core@$version" >/dev/null)
  tar -xzf "$tmp/sigstore-core-$version.tgz" -C "$tmp"
  rm -rf "$dir/core-$version"
  mv "$tmp/package" "$dir/core-$version"
fi
echo "$dir/core-$version"
