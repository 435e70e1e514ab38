#!/usr/bin/env bash
# check_completion.sh: the bash completions in deploy/bash-completion, loaded the way
# bash-completion loads them, complete what bytenite-submit(1) and bytenite-submitd(8) say:
# commands first, options after a dash, request files for submit and validate, a
# directory after --spool.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEPLOY=$HERE/../../deploy/bash-completion
# shellcheck disable=SC1091
source /usr/share/bash-completion/bash_completion || { echo "FAIL bash-completion is not installed"; exit 1; }
# shellcheck disable=SC1091
source "$DEPLOY/bytenite-submit"
# shellcheck disable=SC1091
source "$DEPLOY/bytenite-submitd"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" && mkdir spooldir && touch a.jsonl b.json notes.txt
passed=0
failed=0
# complete FUNCTION WORD...: the words typed, the last one being completed; prints COMPREPLY.
complete_words() {
  local fn=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$fn"
  ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() {  # expect NAME WANT GOT
  if [[ $2 == "$3" ]]; then
    echo "ok   $1"
    passed=$((passed + 1))
  else
    echo "FAIL $1: want '$2', got '$3'"
    failed=$((failed + 1))
  fi
}
expect "commands" "abort cancel hold jetstream pause queue release requeue resume retry-now status submit validate wait " "$(complete_words _bytenite_submit bytenite-submit '')"
expect "jetstream's command" "init " "$(complete_words _bytenite_submit bytenite-submit jetstream '')"
expect "a command by its start" "status submit " "$(complete_words _bytenite_submit bytenite-submit s)"
expect "options after a dash" "--abort-running --config --drop --help --json --limit --outcome-stream --quiet --replicas --socket --spool --subject --timeout --version " \
  "$(complete_words _bytenite_submit bytenite-submit --)"
expect "request files for submit, past options" "a.jsonl b.json spooldir " \
  "$(complete_words _bytenite_submit bytenite-submit --spool spooldir submit '')"
expect "a directory after --spool" "spooldir " "$(complete_words _bytenite_submit bytenite-submit --spool '')"
expect "no files for status" "" "$(complete_words _bytenite_submit bytenite-submit status '')"
expect "retry files for requeue" "a.jsonl b.json spooldir " \
  "$(complete_words _bytenite_submit bytenite-submit --spool spooldir requeue '')"
expect "no files for hold (names come from the daemon)" "" "$(complete_words _bytenite_submit bytenite-submit hold '')"
expect "the daemon's options" "--check-config --config " "$(complete_words _bytenite_submitd bytenite-submitd --c)"
echo "check_completion: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
