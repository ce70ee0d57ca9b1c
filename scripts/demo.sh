#!/usr/bin/env bash
# Set-up command 1: install dependencies, build the programs it runs (not the tests), load the
# bundled busybox image (made from Debian's busybox-static, nothing is pulled) and run a
# container from it through the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh --demo
root=build/demo-root
./scripts/make-busybox-image.sh build/fixtures/busybox-rootfs build/demo-busybox.tar
build/src/cli/berth --root "$root" load -i build/demo-busybox.tar
exec build/src/cli/berth --root "$root" run --rm --network none localhost/busybox \
  sh -c 'echo "hello from a berth container: $(hostname), pid $$, $(id -un) in $(pwd)"'
