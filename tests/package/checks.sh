# checks.sh: what the package checks share (sourced by check_package.sh and check_install.sh):
# the project's version, and `check NAME COMMAND...`, which runs the command, counts it in
# $passed or $failed and prints "ok" or "FAIL" with the command's output (its last
# $CHECK_OUTPUT_LINES lines when set). The caller sets $WORK, a scratch directory.
VERSION=$(sed -n 's/^project(bytenite-submitd VERSION \([0-9.]*\).*/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../../CMakeLists.txt")
passed=0
failed=0
check() {
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    if [[ -n ${CHECK_OUTPUT_LINES:-} ]]; then tail -n "$CHECK_OUTPUT_LINES" "$WORK/out"; else cat "$WORK/out"; fi | sed 's/^/     /'
    failed=$((failed + 1))
  fi
}
