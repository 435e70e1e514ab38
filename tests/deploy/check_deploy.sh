#!/usr/bin/env bash
# check_deploy.sh: checks every deployment file in deploy/systemd, deploy/prometheus and
# deploy/grafana with the tools that will consume them, so a unit, rule or dashboard that
# would be refused (or silently half-ignored) on a real host fails CI instead.
# Registered with CTest as `deploy_files` (label deploy); run by hand with
#   bash tests/deploy/check_deploy.sh
# Needs systemd (systemd-analyze, systemd-sysusers, systemd-tmpfiles), promtool (Debian
# package prometheus) and python3; deploy/install-deps.sh installs them. A missing tool is a
# failure, not a skip: a check that did not run must not look like a pass. The one skip is
# the ownership half of the tmpfiles check when not run as root (chown needs root); it is
# reported as skipped and the summary says so.
#
# Every check runs even after a failure, so one run shows everything that is wrong; the
# exit status is non-zero if any failed. The last line is
#   check_deploy: N passed, M failed[, K skipped]
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
systemd_dir=$root/deploy/systemd
prom_dir=$root/deploy/prometheus
dashboard=$root/deploy/grafana/bytenite-submitd.json
service=$systemd_dir/bytenite-submitd.service
socket=$systemd_dir/bytenite-submitd.socket
sysusers=$systemd_dir/bytenite-submitd.sysusers
tmpfiles=$systemd_dir/bytenite-submitd.tmpfiles
security_threshold=2.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Plain output from systemd tools, whatever the terminal.
export SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat

passed=0
failed=0
skipped=0
failures=()

# run_check NAME FUNCTION: runs FUNCTION, shows its output indented, counts the result.
run_check() {
  local name=$1 fn=$2 out rc
  echo "-- $name"
  out=$("$fn" 2>&1)
  rc=$?
  if [[ -n $out ]]; then printf '%s\n' "$out" | sed 's/^/   /'; fi
  if ((rc == 0)); then
    echo "PASS $name"
    passed=$((passed + 1))
  elif ((rc == 77)); then
    echo "SKIP $name"
    skipped=$((skipped + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

need() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "$tool not found (install with: bash deploy/install-deps.sh)"
      return 1
    fi
  done
}

# ------------------------------------------------------------------------------ systemd

# `systemd-analyze verify` refuses a unit whose ExecStart= binary does not exist, and
# /usr/bin/bytenite-submitd exists only once the package is installed. So the units are
# verified as copies whose ExecStart= points at a stand-in executable in a temp dir; every
# other line is verified as shipped. The stand-in proves nothing about the daemon itself.
prepare_units() {
  mkdir -p "$work/units"
  printf '#!/bin/sh\nexit 0\n' >"$work/units/bytenite-submitd-standin"
  chmod 0755 "$work/units/bytenite-submitd-standin"
  sed "s|^ExecStart=/usr/bin/bytenite-submitd |ExecStart=$work/units/bytenite-submitd-standin |" \
    "$service" >"$work/units/bytenite-submitd.service"
  cp "$socket" "$work/units/bytenite-submitd.socket"
  # The template unit as the build makes it, verified as one instance of it ("fleet1").
  sh "$systemd_dir/instance-unit.sh" "$service" |
    sed "s|^ExecStart=/usr/bin/bytenite-submitd |ExecStart=$work/units/bytenite-submitd-standin |" \
      >"$work/units/bytenite-submitd@fleet1.service" || return 1
  if ! grep -q "^ExecStart=$work/units/bytenite-submitd-standin " "$work/units/bytenite-submitd.service"; then
    echo "the unit's ExecStart= is not '/usr/bin/bytenite-submitd ...': the stand-in was not put in"
    return 1
  fi
}

# verify_units FILE...: systemd-analyze verify exits 0 even when it ignores an unknown or
# misspelt setting (it only logs "Unknown key ..., ignoring"), so any message about our
# units counts as a failure. Messages about other units (the host's own, pulled in as
# dependencies such as network-online.target) are shown but not held against ours.
verify_units() {
  local out rc ours
  out=$(systemd-analyze verify --recursive-errors=no "$@" 2>&1)
  rc=$?
  [[ -n $out ]] && printf '%s\n' "$out"
  ours=$(printf '%s\n' "$out" | grep -c 'bytenite-submitd' || true)
  if ((rc != 0)); then
    echo "systemd-analyze verify exited $rc"
    return 1
  fi
  if ((ours > 0)); then
    echo "systemd-analyze verify reported $ours message(s) about our units"
    return 1
  fi
  echo "systemd-analyze verify: no errors or warnings for $(basename -a "$@" | tr '\n' ' ')"
}

check_verify() {
  need systemd-analyze || return 1
  prepare_units || return 1
  echo "(verifying copies with ExecStart= pointing at a stand-in: the real binary is installed by the package)"
  verify_units "$work/units/bytenite-submitd.service" "$work/units/bytenite-submitd.socket" \
    "$work/units/bytenite-submitd@fleet1.service"
}

# The check above passes only if verify_units would notice a problem: prove it on a copy
# with a misspelt setting, the mistake systemd itself lets through with exit status 0.
check_verify_catches_typos() {
  need systemd-analyze || return 1
  prepare_units || return 1
  local bad=$work/units/bytenite-submitd-typo.service
  sed 's/^ProtectSystem=strict/ProtectSystm=strict/' "$work/units/bytenite-submitd.service" >"$bad"
  if verify_units "$bad" >/dev/null 2>&1; then
    echo "a unit with 'ProtectSystm=strict' passed verification: the verify check is blind"
    return 1
  fi
  echo "a unit with a misspelt setting is rejected, as it should be"
}

# check_security [UNIT_FILE [UNIT_NAME]]: the shipped service by default.
check_security() {
  need systemd-analyze || return 1
  local file=${1:-$service} name=${2:-bytenite-submitd.service} out score
  out=$(systemd-analyze security --offline=true --no-pager "$file" 2>&1)
  # Show what costs exposure (the lines marked with a cross) and the verdict; the full
  # table is 80 lines of passes.
  printf '%s\n' "$out" | grep -E '✗|Overall exposure' || true
  score=$(printf '%s\n' "$out" |
    sed -n "s/.*Overall exposure level for ${name//./\\.}: \\([0-9][0-9.]*\\).*/\\1/p" | head -n 1)
  if [[ -z $score ]]; then
    echo "could not find the overall exposure level in systemd-analyze security's output"
    return 1
  fi
  if awk -v s="$score" -v t="$security_threshold" 'BEGIN { exit !(s + 0 <= t + 0) }'; then
    echo "exposure $score <= $security_threshold (lower is better)"
  else
    echo "exposure $score is above the threshold $security_threshold"
    return 1
  fi
}

# The settings the daemon relies on (not hardening, which the score covers): losing one of
# these breaks the service without any tool complaining.
check_unit_contract() {
  local missing=0 line
  # shellcheck disable=SC2016 # $MAINPID is for systemd, not for this shell
  for line in \
    'Type=notify' 'NotifyAccess=main' 'WatchdogSec=30s' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'ExecStart=/usr/bin/bytenite-submitd --config /etc/bytenite-submitd/config.toml' \
    'User=bytenite-submitd' 'Group=bytenite-submitd' 'SupplementaryGroups=bytenite-submit' \
    'LoadCredential=api_key:/etc/bytenite-submitd/api_key' 'StateDirectory=bytenite-submitd' \
    'RuntimeDirectory=bytenite-submitd' 'ReadWritePaths=/var/spool/bytenite-submitd' \
    'Restart=on-failure' 'RestartSec=5s' 'TimeoutStopSec=30s' 'UMask=0027' 'LimitNOFILE=65536'; do
    if ! grep -qxF -- "$line" "$service"; then
      echo "bytenite-submitd.service lacks: $line"
      missing=1
    fi
  done
  for line in 'ListenStream=/run/bytenite-submitd/control.sock' 'SocketMode=0660' \
    'SocketUser=bytenite-submitd' 'SocketGroup=bytenite-submit'; do
    if ! grep -qxF -- "$line" "$socket"; then
      echo "bytenite-submitd.socket lacks: $line"
      missing=1
    fi
  done
  if grep -qE '^(DynamicUser=yes|IPAddressDeny=|IPAddressAllow=|PrivateNetwork=yes)' "$service"; then
    echo "the unit sets DynamicUser=, IPAddress*= or PrivateNetwork=: the spool's owner must be fixed and the API must be reachable"
    missing=1
  fi
  ((missing == 0)) && echo "service and socket carry the settings the daemon relies on"
  return $missing
}

# The template unit (several daemons on one host): as hardened as the single one, with each
# instance's own config, state, run directory and spool, and no socket unit.
check_instance_unit() {
  prepare_units || return 1
  local unit=$work/units/bytenite-submitd@fleet1.service template=$work/bytenite-submitd@.service missing=0 line
  sh "$systemd_dir/instance-unit.sh" "$service" >"$template" || return 1
  for line in 'ExecStart=/usr/bin/bytenite-submitd --config /etc/bytenite-submitd/%i.toml' \
    'StateDirectory=bytenite-submitd/%i' 'RuntimeDirectory=bytenite-submitd/%i' \
    'ReadWritePaths=/var/spool/bytenite-submitd/%i' 'Type=notify' 'User=bytenite-submitd'; do
    if ! grep -qxF -- "$line" "$template"; then
      echo "bytenite-submitd@.service lacks: $line"
      missing=1
    fi
  done
  if grep -qE '^(After|Requires|Wants|BindsTo)=.*bytenite-submitd\.socket' "$unit"; then
    echo "bytenite-submitd@.service refers to the single daemon's socket unit"
    missing=1
  fi
  ((missing == 0)) || return 1
  check_security "$unit" "bytenite-submitd@fleet1.service"
}

# sysusers and tmpfiles are applied for real, into a scratch root, rather than only parsed:
# v252 has `systemd-sysusers --dry-run` but no tmpfiles dry run, and applying them also
# proves the two agree (tmpfiles resolves owners in the scratch root's /etc/passwd, which
# only our sysusers file filled).
sysroot=$work/sysroot

check_sysusers() {
  need systemd-sysusers || return 1
  mkdir -p "$sysroot/etc"
  echo "systemd-sysusers --dry-run:"
  systemd-sysusers --root="$sysroot" --dry-run "$sysusers" || return 1
  echo "applying it in the scratch root:"
  systemd-sysusers --root="$sysroot" "$sysusers" || return 1
  local bad=0 name
  grep -q '^bytenite-submitd:[^:]*:[0-9]*:[0-9]*:[^:]*:[^:]*:/usr/sbin/nologin$' "$sysroot/etc/passwd" ||
    { echo "no system user bytenite-submitd with shell /usr/sbin/nologin"; bad=1; }
  for name in bytenite-submitd bytenite-submit; do
    grep -q "^$name:" "$sysroot/etc/group" || { echo "no group $name"; bad=1; }
  done
  grep -qE '^bytenite-submit:[^:]*:[0-9]+:(.*,)?bytenite-submitd(,.*)?$' "$sysroot/etc/group" ||
    { echo "bytenite-submitd is not a member of bytenite-submit"; bad=1; }
  local uid
  uid=$(awk -F: '$1 == "bytenite-submitd" { print $3 }' "$sysroot/etc/passwd")
  if [[ -n $uid ]] && ((uid >= 1000)); then echo "uid $uid is not a system uid"; bad=1; fi
  ((bad == 0)) && echo "applied in a scratch root: user bytenite-submitd (uid $uid), groups bytenite-submitd and bytenite-submit, membership present"
  return $bad
}

# expect_dir PATH MODE UID GID: compares a created directory with what the snippet promises.
expect_dir() {
  local path=$1 mode=$2 uid=$3 gid=$4 got
  got=$(stat -c '%a %u %g' "$sysroot$path" 2>/dev/null) || { echo "$path was not created"; return 1; }
  if [[ $got != "$mode $uid $gid" ]]; then
    echo "$path: mode/uid/gid $got, expected $mode $uid $gid"
    return 1
  fi
  echo "$path $mode $uid:$gid"
}

spool_dirs=(
  "/var/spool/bytenite-submitd 750"
  "/var/spool/bytenite-submitd/tmp 2770"
  "/var/spool/bytenite-submitd/incoming 2770"
  "/var/spool/bytenite-submitd/active 750"
  "/var/spool/bytenite-submitd/done 2750"
  "/var/spool/bytenite-submitd/failed 2750"
)

check_tmpfiles() {
  need systemd-tmpfiles || return 1
  local bad=0 entry uid gid
  # No line may carry an age: `systemd-tmpfiles --clean` must never delete spool files.
  if awk '!/^[[:space:]]*(#|$)/ && $6 != "-" { print; found = 1 } END { exit !found }' "$tmpfiles"; then
    echo "the lines above have an age: tmpfiles --clean would delete spool files"
    bad=1
  fi
  if [[ $(id -u) -eq 0 ]]; then
    [[ -s $sysroot/etc/passwd ]] || { echo "the sysusers check did not leave a scratch root"; return 1; }
    systemd-tmpfiles --create --root="$sysroot" "$tmpfiles" || return 1
    uid=$(awk -F: '$1 == "bytenite-submitd" { print $3 }' "$sysroot/etc/passwd")
    gid=$(awk -F: '$1 == "bytenite-submit" { print $3 }' "$sysroot/etc/group")
    for entry in "${spool_dirs[@]}"; do
      # shellcheck disable=SC2086 # entry is "PATH MODE"
      expect_dir $entry "$uid" "$gid" || bad=1
    done
    ((bad == 0)) && echo "systemd-tmpfiles --create in the scratch root made the spool tree with these modes and owners"
    return $bad
  fi
  # Not root: chown is not allowed, so apply a copy with our own uid and gid (numbers: names
  # would be looked up in the scratch root, which only knows our sysusers) to check the
  # syntax and the modes, and skip the owners (which the root run checks).
  sed -E 's/ bytenite-submitd bytenite-submit / '"$(id -u) $(id -g)"' /' "$tmpfiles" >"$work/tmpfiles-as-me.conf"
  mkdir -p "$sysroot"
  systemd-tmpfiles --create --root="$sysroot" "$work/tmpfiles-as-me.conf" || return 1
  for entry in "${spool_dirs[@]}"; do
    # shellcheck disable=SC2086
    expect_dir $entry "$(id -u)" "$(id -g)" || bad=1
  done
  ((bad == 0)) || return 1
  echo "syntax and modes checked; owners NOT checked: chown in the scratch root needs root"
  return 77
}

# The paths and names must agree between the files (the unit can only write where tmpfiles
# made the spool; the socket's group must be the one sysusers makes).
check_cross_refs() {
  local bad=0
  grep -q '^d[[:space:]]\+/var/spool/bytenite-submitd[[:space:]]' "$tmpfiles" ||
    { echo "tmpfiles does not create /var/spool/bytenite-submitd (the unit's ReadWritePaths=)"; bad=1; }
  grep -q '^g[[:space:]]\+bytenite-submit[[:space:]]' "$sysusers" ||
    { echo "sysusers does not make the group bytenite-submit (SocketGroup=, SupplementaryGroups=)"; bad=1; }
  grep -q '^u[[:space:]]\+bytenite-submitd[[:space:]]' "$sysusers" ||
    { echo "sysusers does not make the user bytenite-submitd (User=, SocketUser=)"; bad=1; }
  grep -q '^  - job_name: bytenite-submitd$' "$prom_dir/scrape.yml" ||
    { echo "scrape.yml's job_name is not bytenite-submitd, which alerts.yml and the dashboard expect"; bad=1; }
  # The scrape target is the daemon's default metrics.listen (config/example.toml).
  local listen
  listen=$(sed -n 's/^#\{0,1\} *listen = "\([^"]*\)".*/\1/p' "$root/config/example.toml" | head -n 1)
  if [[ -z $listen ]]; then
    echo "cannot find metrics.listen in config/example.toml"; bad=1
  elif ! grep -qF "targets: [\"$listen\"]" "$prom_dir/scrape.yml"; then
    echo "scrape.yml does not target $listen, the default metrics.listen"; bad=1
  fi
  grep -q 'up{job="bytenite-submitd"}' "$prom_dir/alerts.yml" ||
    { echo "alerts.yml's down alert does not select job bytenite-submitd"; bad=1; }
  ((bad == 0)) && echo "unit, socket, sysusers, tmpfiles, scrape target ($listen), job and alerts agree on paths, users and names"
  return $bad
}

# --------------------------------------------------------------------------- prometheus

# Prometheus 2.42 (Debian 12) has no scrape_config_files, so the tiny prometheus.yml is the
# snippet itself (it holds a top-level scrape_configs:) with rule_files: added, next to a
# copy of alerts.yml; promtool check config then checks the scrape config and the rules.
check_prom_config() {
  need promtool || return 1
  mkdir -p "$work/prometheus"
  cp "$prom_dir/alerts.yml" "$work/prometheus/alerts.yml"
  {
    echo "global: {scrape_interval: 15s, evaluation_interval: 15s}"
    echo "rule_files: [alerts.yml]"
    cat "$prom_dir/scrape.yml"
  } >"$work/prometheus/prometheus.yml"
  promtool check config "$work/prometheus/prometheus.yml"
}

check_prom_rules() {
  need promtool || return 1
  promtool check rules "$prom_dir/alerts.yml"
}

check_prom_rule_tests() {
  need promtool || return 1
  promtool test rules "$prom_dir/alerts_test.yml"
}

# ------------------------------------------------------------------------------ grafana

check_dashboard_json() {
  need python3 || return 1
  python3 -m json.tool "$dashboard" >/dev/null && echo "$(basename "$dashboard") is valid JSON"
}

# Beyond valid JSON: every panel uses the datasource variable, every query names a metric
# family the daemon exports (README "Metrics"), the panels the issue asks for exist, and
# every query parses as PromQL (promtool, with the Grafana variables filled in). The
# alerts' metric names are held to the same list.
check_dashboard_queries() {
  need python3 promtool || return 1
  python3 - "$dashboard" "$prom_dir/alerts.yml" "$work/dashboard_rules.yml" <<'PY' || return 1
import json, re, sys

dashboard_path, alerts_path, rules_out = sys.argv[1:4]
families = {
    "jobs_accepted_total", "jobs_submitted_total", "jobs_failed_total", "jobs_duplicate_total",
    "jobs_inflight", "http_requests_total", "http_request_duration_seconds",
    "job_submit_duration_seconds", "retries_total", "token_refreshes_total",
    "calls_paced_total", "connections_open", "paused", "spool_backlog_files",
    "oldest_waiting_request_age_seconds", "build_info", "storage_full",
    "jobs_followed", "jobs_ended_total", "job_duration_seconds", "journal_stalled", "api_blocked",
    "uploads_in_flight", "uploads_total", "upload_bytes_total", "upload_duration_seconds",
    "downloads_in_flight", "downloads_total", "download_bytes_total", "download_duration_seconds",
}
histograms = {"http_request_duration_seconds", "job_submit_duration_seconds", "job_duration_seconds",
              "upload_duration_seconds", "download_duration_seconds"}
known = set(families)
for h in histograms:
    known |= {h + "_bucket", h + "_sum", h + "_count"}
known -= histograms  # a histogram is queried through its series, never by its bare name

errors = []
d = json.load(open(dashboard_path))
variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
if variables.get("datasource", {}).get("type") != "datasource":
    errors.append('no templating variable "datasource" of type datasource')

exprs = []
def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))
panels = list(walk(d.get("panels", [])))
ids = [p.get("id") for p in panels]
if len(ids) != len(set(ids)):
    errors.append("panel ids are not unique")
for p in panels:
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        errors.append(f'panel "{p.get("title")}" does not use the datasource variable')
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "${datasource}":
            errors.append(f'a query of panel "{p.get("title")}" does not use the datasource variable')
        exprs.append((p.get("title"), t["expr"]))

used = set()
for title, e in exprs:
    for m in re.findall(r"bytenite_submitd_([a-z_]+)", e):
        used.add(m)
        if m not in known:
            errors.append(f'panel "{title}": unknown metric bytenite_submitd_{m}')
for m in re.findall(r"bytenite_submitd_([a-z_]+)", open(alerts_path).read()):
    if m not in known:
        errors.append(f"alerts.yml: unknown metric bytenite_submitd_{m}")

wanted = {"jobs_submitted_total", "jobs_failed_total", "jobs_inflight", "spool_backlog_files",
          "oldest_waiting_request_age_seconds", "http_request_duration_seconds_bucket",
          "retries_total", "token_refreshes_total", "connections_open", "storage_full",
          "journal_stalled", "jobs_followed", "jobs_ended_total", "job_duration_seconds_bucket",
          "upload_bytes_total", "uploads_in_flight", "download_bytes_total", "downloads_in_flight", "downloads_total"}
for m in sorted(wanted - used):
    errors.append(f"no panel shows bytenite_submitd_{m}")
p50 = any("histogram_quantile(0.5," in e and "http_request_duration_seconds_bucket" in e and "endpoint" in e for _, e in exprs)
p99 = any("histogram_quantile(0.99," in e and "http_request_duration_seconds_bucket" in e and "endpoint" in e for _, e in exprs)
if not (p50 and p99):
    errors.append("no API latency p50 and p99 by endpoint")

# Each query as a recording rule, Grafana's variables replaced by values Prometheus accepts.
with open(rules_out, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (_, e) in enumerate(exprs):
        e = (e.replace("$__rate_interval", "1m").replace("$__interval", "1m")
               .replace("$__range", "1h").replace("$instance", ".*").replace("$job", "bytenite-submitd"))
        if "$" in e.replace("$labels", ""):
            errors.append(f"query {i} keeps an unknown variable: {e}")
        f.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(e)}\n")

for e in errors:
    print(e)
print(f"{len(panels)} panels, {len(exprs)} queries, {len(used)} metric families used"
      + ("" if errors else "; all known, all on ${datasource}"))
sys.exit(1 if errors else 0)
PY
  echo "PromQL of every dashboard query (promtool check rules):"
  promtool check rules "$work/dashboard_rules.yml"
}

# ---------------------------------------------------------------------------------- run

echo "check_deploy: checking $root/deploy (systemd, prometheus, grafana)"
run_check "systemd-analyze verify (service + socket)" check_verify
run_check "verify check catches a misspelt setting" check_verify_catches_typos
run_check "systemd-analyze security --offline=true <= $security_threshold" check_security
run_check "unit settings the daemon relies on" check_unit_contract
run_check "template unit bytenite-submitd@.service (settings, exposure)" check_instance_unit
run_check "sysusers (dry run, then applied in a scratch root)" check_sysusers
run_check "tmpfiles (applied in the scratch root)" check_tmpfiles
run_check "names agree across files" check_cross_refs
run_check "promtool check config (scrape.yml + alerts.yml)" check_prom_config
run_check "promtool check rules alerts.yml" check_prom_rules
run_check "promtool test rules alerts_test.yml" check_prom_rule_tests
run_check "dashboard is valid JSON (python3 -m json.tool)" check_dashboard_json
run_check "dashboard queries (datasource, metric names, PromQL)" check_dashboard_queries

summary="check_deploy: $passed passed, $failed failed"
((skipped > 0)) && summary+=", $skipped skipped"
((failed > 0)) && summary+=" (${failures[*]})"
echo "$summary"
((failed == 0))
