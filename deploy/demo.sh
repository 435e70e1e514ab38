#!/usr/bin/env bash
# The demo: installs dependencies, builds, starts bytenite-emulator (a local stand-in for the
# ByteNite API over TLS) and bytenite-submitd with config/demo.toml, drops sample requests
# into the spool, and shows their outcomes, the emulator's ledger and a few metrics; then a
# round trip through the CLI: a local file uploaded as a job's input, its result downloaded.
# Everything runs on 127.0.0.1 and under /tmp/bytenite-submitd-demo; both programs are
# stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=/tmp/bytenite-submitd-demo

bash deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target bytenite-submitd bytenite-submit bytenite-emulator

rm -rf "$DEMO"
mkdir -p "$DEMO/emulator" "$DEMO/spool/tmp" "$DEMO/spool/incoming"
echo "demo-key" > "$DEMO/api_key"
chmod 600 "$DEMO/api_key"

cleanup() {
  [[ -n "${DAEMON_PID:-}" ]] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  [[ -n "${EMU_PID:-}" ]] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
  true
}
trap cleanup EXIT

echo "== starting bytenite-emulator on https://127.0.0.1:8443"
build/bin/bytenite-emulator --listen 127.0.0.1:8443 --cert-dir "$DEMO/emulator" \
  --ready-file "$DEMO/emulator/ready.json" --api-key demo-key --job-duration-ms 3000 \
  >"$DEMO/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 100); do [[ -f "$DEMO/emulator/ready.json" ]] && break; sleep 0.1; done
[[ -f "$DEMO/emulator/ready.json" ]] || { cat "$DEMO/emulator.log"; exit 1; }

echo "== starting bytenite-submitd --config config/demo.toml"
build/bin/bytenite-submitd --config config/demo.toml 2>"$DEMO/daemon.log" &
DAEMON_PID=$!

drop() {  # producer-style: write into tmp/, then rename into incoming/
  cat > "$DEMO/spool/tmp/$1"
  mv "$DEMO/spool/tmp/$1" "$DEMO/spool/incoming/$1"
}

echo "== dropping requests: one .json, a .jsonl of 20, and a .jsonl with two bad lines"
drop sunset.json <<'JSON'
{"requestId": "demo-sunset-0001",
 "templateId": "img-gen-diffusers",
 "name": "Sunset images",
 "dataSource": {"dataSourceDescriptor": "bypass"},
 "dataDestination": {"dataSourceDescriptor": "bucket"},
 "params": {"partitioner": {"numImages": 20}, "app": {"prompt": "A sunset"}, "assembler": {"outExtension": "jpeg"}},
 "config": {"taskTimeout": 3600, "jobTimeout": 86400, "isTestJob": true}}
JSON
for i in $(seq -w 1 20); do
  echo "{\"requestId\":\"demo-batch-$i\",\"templateId\":\"img-gen-diffusers\",\"dataSource\":{\"dataSourceDescriptor\":\"url\",\"params\":{\"@type\":\"type.googleapis.com/bytenite.data_source.HttpDataSource\",\"url\":\"https://storage.example.com/in-$i.txt\"}},\"dataDestination\":{\"dataSourceDescriptor\":\"bucket\"},\"params\":{\"app\":{\"prompt\":\"picture $i\"}}}"
done | drop batch.jsonl
drop mixed.jsonl <<'JSONL'
{"requestId":"demo-good","templateId":"img-gen-diffusers"}
{"requestId":"demo-broken","templateId": oops}
{"requestId":"demo-no-template","name":"forgot the template"}
JSONL

for _ in $(seq 150); do
  n=$(find "$DEMO/spool/done" "$DEMO/spool/failed" -name '*.outcome.jsonl' 2>/dev/null | wc -l)
  [[ $n -ge 3 ]] && break
  sleep 0.2
done

echo
echo "== spool after the run"
(cd "$DEMO/spool" && ls -1 done failed | sed 's/^/   /')
echo
echo "== done/sunset.json.outcome.jsonl"
cat "$DEMO/spool/done/sunset.json.outcome.jsonl"
echo
echo "== failed/mixed.jsonl.outcome.jsonl (a reason per bad line)"
cat "$DEMO/spool/failed/mixed.jsonl.outcome.jsonl"
echo
echo "== failed/mixed.retry.jsonl (just the failed requests, ready to fix and drop again)"
cat "$DEMO/spool/failed/mixed.retry.jsonl"
echo
echo "== emulator ledger summary (one create and one run per job)"
curl -s --cacert "$DEMO/emulator/ca.pem" https://localhost:8443/_emulator/ledger/summary; echo
echo
echo "== a few metrics from http://127.0.0.1:9464/metrics"
curl -s http://127.0.0.1:9464/metrics | grep -E '^bytenite_submitd_(jobs_accepted_total|jobs_submitted_total|jobs_failed_total|token_refreshes_total|http_requests_total\{code="200",endpoint="(create|run)"\})' || true
echo
echo "== bytenite-submit: validate offline, submit through the control socket, ask about a request"
CLI="build/bin/bytenite-submit --config config/demo.toml"
$CLI validate "$DEMO/spool/failed/mixed.jsonl" || true
printf '%s\n' '{"requestId":"demo-cli-1","templateId":"img-gen-diffusers"}' \
  '{"requestId":"demo-cli-2","templateId":"img-gen-diffusers"}' | $CLI submit
for _ in $(seq 50); do
  $CLI status demo-cli-2 2>/dev/null | grep -q '"state":"submitted"' && break
  sleep 0.1
done
$CLI status demo-cli-2
$CLI status
echo
echo "== a round trip: a local file in (uploaded to its job's tempUrl), the job's result on disk"
mkdir -p "$DEMO/inputs"
head -c 300000 /dev/urandom > "$DEMO/inputs/scene.bin"
printf '%s\n' '{"requestId":"demo-file-1","templateId":"img-gen-diffusers","dataSource":{"dataSourceDescriptor":"file"},"dataDestination":{"dataSourceDescriptor":"bucket"},"inputFile":"scene.bin"}' | $CLI submit
for _ in $(seq 200); do  # the job runs 3 s; its result is fetched once following sees it end
  $CLI status demo-file-1 2>/dev/null | grep -q '"localPath"' && break
  sleep 0.1
done
$CLI status demo-file-1
echo "   uploaded at the emulator: $(curl -s --cacert "$DEMO/emulator/ca.pem" https://localhost:8443/_emulator/ledger/summary | grep -o '"uploads":[0-9]*')"
find "$DEMO/results/demo-file-1" -type f -printf '   %p (%s bytes)\n'
echo "   (and $(find "$DEMO/results" -type f | wc -l) result files in all under $DEMO/results: every completed job's)"
echo
echo "== daemon log"
sed 's/^/   /' "$DEMO/daemon.log"
echo
echo "demo files are in $DEMO"
