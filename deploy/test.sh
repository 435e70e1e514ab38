#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies, builds the
# release preset (warnings as errors) and runs every test (unit + integration + end-to-end);
# then the ASan+UBSan preset (clang: unit and integration tests, short fuzz runs) and the
# ThreadSanitizer preset (clang: unit and integration tests).
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
echo "== ASan+UBSan unit and integration tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$JOBS" --timeout 600
echo "== short fuzz runs"
# Each libFuzzer target is fuzz_<name> with its seed corpus in tests/fuzz/corpus/<name>; the
# corpus is copied so the run does not grow the committed one.
#   fuzz_run NAME SECONDS [libFuzzer flags...]
fuzz_run() {
  local name=$1 seconds=$2; shift 2
  local fuzzer=build-asan/bin/fuzz_$name
  local work
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name"/. "$work"/
  echo "-- $fuzzer for $seconds s"
  "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 "$@" "$work" >"$work.log" 2>&1 || {
    tail -n 60 "$work.log"; echo "fuzzer $name found a failure"; exit 1; }
  grep -E "^(stat::number_of_executed_units|Done)" "$work.log" || true
  rm -rf "$work" "$work.log"
}
fuzz_run request_parser "${FUZZ_SECONDS:-60}"
# API responses (error bodies, token grant, job state, Retry-After). The dictionary supplies
# the JSON keys and multi-byte UTF-8 that mutation alone finds slowly.
fuzz_run api_response "${FUZZ_API_SECONDS:-30}" -dict=tests/fuzz/api_response.dict
echo "== ThreadSanitizer build (clang)"
cmake --preset tsan
cmake --build --preset tsan -j "$JOBS"
echo "== ThreadSanitizer unit and integration tests"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --preset tsan -j "$JOBS" --timeout 900
echo "deploy/test.sh: all passed"
