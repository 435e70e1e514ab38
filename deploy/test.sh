#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies, builds the
# release preset (warnings as errors) and runs every test (unit + integration + end-to-end);
# then builds the ASan+UBSan preset with clang and runs the unit tests and a short fuzz run.
#   deploy/test.sh            everything (what CI runs)
#   deploy/test.sh --release  only the release build and its tests
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
JOBS=${JOBS:-2}

echo "== release build"
cmake --preset release
cmake --build --preset release -j "$JOBS"
echo "== release tests (all labels)"
ctest --preset release -j "$JOBS" --timeout 600

if [[ "${1:-}" == "--release" ]]; then exit 0; fi

echo "== ASan+UBSan build (clang)"
cmake --preset asan
cmake --build --preset asan -j "$JOBS"
echo "== ASan+UBSan unit tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$JOBS" --timeout 600
echo "== short fuzz run"
for fuzzer in build-asan/bin/fuzz_*; do
  [[ -x "$fuzzer" ]] || continue
  name=$(basename "$fuzzer")
  corpus="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  "$fuzzer" -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1 "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
echo "deploy/test.sh: all passed"
