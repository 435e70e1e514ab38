#!/usr/bin/env bash
# emulator_wrk.sh: measures bytenite-emulator throughput with wrk over HTTPS on 127.0.0.1.
# Starts the emulator on a free port, gets a token, creates one job for the GET scenario,
# runs two bounded wrk scenarios (GET of one job; the create -> datasource -> params -> run
# cycle) and stops the emulator. Results go to stdout; copy them into bench/README.md.
#
# Usage: bench/emulator_wrk.sh [build/bin/bytenite-emulator]
# Knobs (environment): DURATION (10s), WRK_THREADS (2), CONNECTIONS (64), EMU_THREADS (2),
#                      LATENCY_MS (0: the emulator's added latency per answer)
set -euo pipefail

EMULATOR=${1:-build/bin/bytenite-emulator}
DURATION=${DURATION:-10s}
WRK_THREADS=${WRK_THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
EMU_THREADS=${EMU_THREADS:-2}
LATENCY_MS=${LATENCY_MS:-0}
HERE=$(cd "$(dirname "$0")" && pwd)

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
if [[ ! -x $EMULATOR ]]; then
  echo "no emulator at $EMULATOR (build it: ninja -C build bytenite-emulator)" >&2
  exit 2
fi

WORK=$(mktemp -d)
EMU_PID=
cleanup() {
  if [[ -n $EMU_PID ]]; then
    kill -TERM "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$EMULATOR" --listen 127.0.0.1:0 --threads "$EMU_THREADS" --cert-dir "$WORK" \
  --ready-file "$WORK/ready.json" --latency-ms "$LATENCY_MS" --quiet >"$WORK/emulator.out" &
EMU_PID=$!
for _ in $(seq 100); do [[ -s $WORK/ready.json ]] && break; sleep 0.05; done
[[ -s $WORK/ready.json ]] || { echo "emulator did not start" >&2; exit 1; }

field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" "$2"; }
PORT=$(field port "$WORK/ready.json")
CA=$(field caFile "$WORK/ready.json")
BASE=https://127.0.0.1:$PORT
CURL=(curl -sS --fail --noproxy '*' --cacert "$CA")

"${CURL[@]}" -X POST -d '{"apiKey":"demo-key"}' "$BASE/v1/auth/access_token" >"$WORK/token.json"
export BYTENITE_TOKEN
BYTENITE_TOKEN=$(field token "$WORK/token.json")
export JOB_ID=0b9e4b5e-1111-4222-8333-444455556666
"${CURL[@]}" -o /dev/null -H "Authorization: $BYTENITE_TOKEN" -X POST \
  -d "{\"templateId\":\"bench\",\"jobId\":\"$JOB_ID\"}" "$BASE/v1/customer/jobs"
"${CURL[@]}" -o /dev/null -H "Authorization: $BYTENITE_TOKEN" -X PATCH \
  -d '{"dataSource":{"dataSourceDescriptor":"bypass"},
       "dataDestination":{"dataSourceDescriptor":"bucket"}}' \
  "$BASE/v1/customer/jobs/$JOB_ID/datasource"

CPU=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
echo "## machine: $(nproc) cores ($CPU); wrk and the emulator share them"
echo "## load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## emulator: --threads $EMU_THREADS --latency-ms $LATENCY_MS; wrk: -t$WRK_THREADS -c$CONNECTIONS -d$DURATION"
echo
echo "## scenario 1: GET /v1/customer/jobs/{id}"
WRK=(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
echo "\$ ${WRK[*]} -s bench/wrk/get_job.lua $BASE"
"${WRK[@]}" -s "$HERE/wrk/get_job.lua" "$BASE"
echo
echo "## scenario 2: create -> datasource -> params -> run, fresh UUID jobIds"
echo "\$ ${WRK[*]} -s bench/wrk/submit_cycle.lua $BASE"
"${WRK[@]}" -s "$HERE/wrk/submit_cycle.lua" "$BASE"
echo
echo "## emulator ledger after both runs"
"${CURL[@]}" "$BASE/_emulator/ledger/summary"
echo
