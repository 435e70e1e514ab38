#!/usr/bin/env bash
# check_package.sh: builds the Debian packages with cpack (bytenite-submitd and
# bytenite-emulator) and checks them without installing them on this machine
# (container-free): control fields, conffiles, the file lists (manual pages and bash
# completions included), the licence, lintian (no errors, no warnings), and the packaged
# programs run from an extracted copy (--version, --help, the packaged configuration passes
# --check-config, the emulator answers a token exchange).
#
# Usage: tests/package/check_package.sh BUILD_DIR      (registered in CTest as deb_package)
set -uo pipefail

BUILD=${1:?usage: check_package.sh BUILD_DIR}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
source "$(dirname "$0")/checks.sh"  # VERSION, check

(cd "$BUILD" && cpack -G DEB -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1) || { cat "$WORK/cpack.log"; exit 1; }
DEB=$(ls "$WORK"/pkg/bytenite-submitd_*.deb)
EMU=$(ls "$WORK"/pkg/bytenite-emulator_*.deb)
echo "built $(basename "$DEB") and $(basename "$EMU")"

field() { dpkg-deb -f "$DEB" "$1"; }
check "Package and Version fields" test "$(field Package) $(field Version)" = "bytenite-submitd $VERSION"
check "Depends names systemd and the shared libraries" \
  bash -c '[[ $0 == *systemd* && $0 == *libsqlite3-0* && $0 == *libssl3* && $0 == *libsystemd0* ]]' "$(field Depends)"
check "conffiles holds the configuration" \
  bash -c 'dpkg-deb --ctrl-tarfile "$0" | tar -xO ./conffiles | grep -qx /etc/bytenite-submitd/config.toml' "$DEB"
check "maintainer scripts are there" \
  bash -c 'dpkg-deb --ctrl-tarfile "$0" | tar -t | grep -c -E "^\./(postinst|prerm|postrm)$" | grep -qx 3' "$DEB"

dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$WORK/files"
for f in /usr/bin/bytenite-submitd /usr/bin/bytenite-submit \
         /usr/lib/systemd/system/bytenite-submitd.service /usr/lib/systemd/system/bytenite-submitd.socket \
         "/usr/lib/systemd/system/bytenite-submitd@.service" \
         /usr/lib/sysusers.d/bytenite-submitd.conf /usr/lib/tmpfiles.d/bytenite-submitd.conf \
         /etc/bytenite-submitd/config.toml /usr/share/doc/bytenite-submitd/example.toml \
         /usr/share/doc/bytenite-submitd/copyright /usr/share/doc/bytenite-submitd/changelog.gz \
         /usr/share/doc/bytenite-submitd/prometheus/alerts.yml \
         /usr/share/doc/bytenite-submitd/grafana/bytenite-submitd.json \
         /usr/share/man/man8/bytenite-submitd.8.gz /usr/share/man/man1/bytenite-submit.1.gz \
         /usr/share/man/man5/bytenite-submitd.toml.5.gz \
         /usr/share/bash-completion/completions/bytenite-submit \
         /usr/share/bash-completion/completions/bytenite-submitd; do
  check "ships $f" grep -qx "$f" "$WORK/files"
done

check "the emulator package: name, version, section" \
  test "$(dpkg-deb -f "$EMU" Package) $(dpkg-deb -f "$EMU" Version) $(dpkg-deb -f "$EMU" Section)" = "bytenite-emulator $VERSION devel"
dpkg-deb -c "$EMU" | awk '{print $6}' | sed 's|^\./|/|' >"$WORK/emu_files"
for f in /usr/bin/bytenite-emulator /usr/share/man/man1/bytenite-emulator.1.gz \
         /usr/share/doc/bytenite-emulator/copyright /usr/share/doc/bytenite-emulator/changelog.gz; do
  check "the emulator package ships $f" grep -qx "$f" "$WORK/emu_files"
done
check "the emulator is not in the daemon's package" bash -c '! grep -q emulator "$0"' "$WORK/files"

if command -v lintian >/dev/null; then
  # Errors and warnings fail the check; what lintian says is shown either way.
  lintian --tag-display-limit 0 "$DEB" "$EMU" 2>/dev/null | tee "$WORK/lintian" | sed 's/^/     lintian: /'
  check "lintian finds no errors and no warnings (both packages)" bash -c '! grep -q "^[EW]:" "$0"' "$WORK/lintian"
else
  echo "FAIL lintian is not installed (deploy/install-deps.sh installs it)"
  failed=$((failed + 1))
fi

ROOT=$WORK/root
dpkg-deb -x "$DEB" "$ROOT"
check "the copyright file grants the Apache-2.0 licence" \
  grep -qx "License: Apache-2.0" "$ROOT/usr/share/doc/bytenite-submitd/copyright"
check "the manual pages render" \
  bash -c 'for p in "$0"/usr/share/man/man8/bytenite-submitd.8.gz "$0"/usr/share/man/man1/bytenite-submit.1.gz; do
             MANWIDTH=80 man -l "$p" 2>&1 | grep -q "^EXIT STATUS" || exit 1; done' "$ROOT"
# The configuration page is made from example.toml: every key the example has is on it.
check "bytenite-submitd.toml(5) describes every key of example.toml" \
  bash -c 'page=$(MANWIDTH=200 man -l "$0/usr/share/man/man5/bytenite-submitd.toml.5.gz" 2>&1)
           keys=$(grep -oE "^#? ?[a-z_]+ = " "$0/usr/share/doc/bytenite-submitd/example.toml" | sed -E "s/^#? ?//; s/ = $//")
           [[ $(wc -w <<<"$keys") -ge 35 ]] || exit 1
           for k in $keys; do grep -qE "(^|; )$k = " <<<"$(sed "s/^ *//" <<<"$page")" || { echo "missing $k"; exit 1; }; done' "$ROOT"
check "packaged daemon runs (--version)" \
  bash -c '"$0/usr/bin/bytenite-submitd" --version | grep -qx "bytenite-submitd $1"' "$ROOT" "$VERSION"
check "packaged CLI runs (--version)" \
  bash -c '"$0/usr/bin/bytenite-submit" --version | grep -qx "bytenite-submit $1"' "$ROOT" "$VERSION"
# The key comes from the unit's credential in production; a stand-in credentials directory here.
mkdir -p "$WORK/credentials" && echo "check-only-key" >"$WORK/credentials/api_key"
# The preflight also binds metrics.listen: on a machine where 127.0.0.1:9464 is taken (a test
# running beside this one, a real daemon) that is a true finding about the machine, not about
# the package, so the copy checked here asks for port 0 and is otherwise the packaged file.
sed 's/^listen = "127.0.0.1:9464"$/listen = "127.0.0.1:0"/' "$ROOT/etc/bytenite-submitd/config.toml" >"$WORK/config.toml"
check "packaged configuration passes --check-config (metrics on port 0)" \
  bash -c '! cmp -s "$0" "$1" && env CREDENTIALS_DIRECTORY="$2" "$3" --check-config --config "$1"' \
  "$ROOT/etc/bytenite-submitd/config.toml" "$WORK/config.toml" "$WORK/credentials" "$ROOT/usr/bin/bytenite-submitd"
check "the unit runs the packaged binary with the packaged configuration" \
  grep -q '^ExecStart=/usr/bin/bytenite-submitd --config /etc/bytenite-submitd/config.toml' \
  "$ROOT/usr/lib/systemd/system/bytenite-submitd.service"

EMUROOT=$WORK/emuroot
dpkg-deb -x "$EMU" "$EMUROOT"
check "the emulator's manual page renders" \
  bash -c 'MANWIDTH=80 man -l "$0/usr/share/man/man1/bytenite-emulator.1.gz" 2>&1 | grep -q "^SYNOPSIS"' "$EMUROOT"
# The packaged emulator, started as the manual page says, issues a token for its key.
check "the packaged emulator serves a token exchange" bash -c '
  "$0/usr/bin/bytenite-emulator" --quiet --cert-dir "$1/emu" --api-key pkg-key --ready-file "$1/emu.ready" &
  pid=$!
  for _ in $(seq 100); do [[ -s $1/emu.ready ]] && break; sleep 0.1; done
  port=$(sed -n "s/.*\"port\":\([0-9]*\).*/\1/p" "$1/emu.ready")
  out=$(curl -s --cacert "$1/emu/ca.pem" -H "Content-Type: application/json" \
        -d "{\"apiKey\":\"pkg-key\"}" "https://localhost:$port/v1/auth/access_token")
  kill $pid
  [[ $out == *token* ]] || { echo "answer: $out"; exit 1; }' "$EMUROOT" "$WORK"

echo "check_package: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
