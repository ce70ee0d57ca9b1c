#!/usr/bin/env bash
# Set-up command 1: install dependencies, build, and run a container from a busybox bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
bundle=build/demo-bundle
rm -rf "$bundle"
./scripts/make-busybox-bundle.sh "$bundle" --runtime build/src/cli/berth-runtime -- \
  sh -c 'echo "hello from a berth container: $(hostname), pid $$, $(id -un) in $(pwd)"'
cd "$bundle"
exec ../src/cli/berth-runtime run "berth-demo-$$"
