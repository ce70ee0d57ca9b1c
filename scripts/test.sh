#!/usr/bin/env bash
# Set-up command 2: install dependencies, build, and run the whole test suite: unit tests
# (also under ASan+UBSan) and the integration tests against the real kernel and peers.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh --asan
./scripts/lint.sh
echo "== unit tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/tests/berth_unit_tests
echo "== all tests"
ctest --test-dir build --output-on-failure --timeout 600 -j 2
