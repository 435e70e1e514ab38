#!/bin/sh
# instance-unit.sh SERVICE: writes bytenite-submitd@.service, the template unit that runs
# several daemons on one host (issue 20: a JetStream fleet member per instance, or daemons
# with their own spools), to standard output. It is made from bytenite-submitd.service, so
# the hardening and every other setting have one text; only what an instance owns changes:
# its config /etc/bytenite-submitd/%i.toml, its state /var/lib/bytenite-submitd/%i, its run
# directory (control socket) /run/bytenite-submitd/%i, its spool /var/spool/bytenite-submitd/%i
# (made before the start, setgid for the producers' group), and no socket unit.
# Fails when the single unit no longer has a line this expects.
set -eu
service=$1
expect() {  # PATTERN: the single unit must have this line
  grep -q "$1" "$service" || { echo "instance-unit.sh: no line matching '$1' in $service" >&2; exit 1; }
}
for line in '^Description=' '^After=bytenite-submitd.socket$' '^ExecStart=/usr/bin/bytenite-submitd --config /etc/bytenite-submitd/config.toml$' \
  '^StateDirectory=bytenite-submitd$' '^RuntimeDirectory=bytenite-submitd$' \
  '^ReadWritePaths=/var/spool/bytenite-submitd$' '^RequiresMountsFor=/var/spool/bytenite-submitd$' '^\[Unit\]$'; do
  expect "$line"
done
cat <<'HEAD'
# bytenite-submitd@.service: one of several bytenite-submitd daemons on this host, instance %i.
#
# Made from bytenite-submitd.service by deploy/systemd/instance-unit.sh at build time (edit
# that unit, not this one). Each instance has its own configuration
# /etc/bytenite-submitd/%i.toml (set spool.dir = "/var/spool/bytenite-submitd/%i",
# state.dir = "/var/lib/bytenite-submitd/%i" and control.socket =
# "/run/bytenite-submitd/%i/control.sock" in it), and is started with
#   systemctl enable --now bytenite-submitd@NAME
# Several daemons of a JetStream fleet share the [intake.jetstream] settings; see the README's
# "Several machines" section.
HEAD
sed -e '1,/^\[Unit\]$/{/^\[Unit\]$/!d}' \
  -e 's|^Description=\(.*\)$|Description=\1, instance %i|' \
  -e '/^# The control socket is optional/,/^After=bytenite-submitd.socket$/d' \
  -e 's|^RequiresMountsFor=/var/spool/bytenite-submitd$|RequiresMountsFor=/var/spool/bytenite-submitd/%i|' \
  -e 's|^ExecStart=/usr/bin/bytenite-submitd --config /etc/bytenite-submitd/config.toml$|# The instance'"'"'s spool, made here (with full privileges: "+") because ReadWritePaths= needs it\
# to exist; setgid, so what the daemon makes in it belongs to the producers'"'"' group.\
ExecStartPre=+/usr/bin/install -d -o bytenite-submitd -g bytenite-submit -m 2770 /var/spool/bytenite-submitd/%i\
ExecStart=/usr/bin/bytenite-submitd --config /etc/bytenite-submitd/%i.toml|' \
  -e 's|^StateDirectory=bytenite-submitd$|StateDirectory=bytenite-submitd/%i|' \
  -e 's|^RuntimeDirectory=bytenite-submitd$|RuntimeDirectory=bytenite-submitd/%i|' \
  -e 's|^ReadWritePaths=/var/spool/bytenite-submitd$|ReadWritePaths=/var/spool/bytenite-submitd/%i|' \
  "$service"
