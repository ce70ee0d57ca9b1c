#!/usr/bin/env bash
# Installs what berth needs (Debian packages) and builds it into build/ (Release): everything,
# or with --demo only what scripts/demo.sh runs (berth, berth-runtime, berth-monitor and the
# busybox rootfs); with --asan also the unit tests with AddressSanitizer and UBSan into
# build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."

asan=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --asan) asan=1 ;;
    --demo) targets=(berth berth-runtime berth-monitor busybox_rootfs) ;;
    *) echo "build.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "build.sh: run as root (it installs packages; the runtime needs root for its tests)" >&2
  exit 1
fi
./scripts/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs" ${targets[@]:+--target "${targets[@]}"}
if ((asan)); then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs" --target berth_unit_tests
fi
