#!/usr/bin/env bash
# check_install.sh: the Debian packages installed, upgraded, removed and purged for real, in a
# throwaway Debian 12 root made with debootstrap (minbase, from this machine's apt mirror),
# never on this machine itself. Checked at each step: the package's state, the service user and
# groups (sysusers.d), the spool tree and its modes (tmpfiles.d), the conffile (a local edit
# survives the upgrade; purge removes it), the programs run, and what the maintainer scripts
# ask of systemd: nothing on a first install, try-restart on an upgrade, stop on remove.
# systemd does not run in a chroot, so /run/systemd/system is made there and systemctl and
# deb-systemd-invoke are stand-ins in /usr/local/sbin (first on dpkg's PATH) that log their
# arguments. The "previous version" is this build's package relabelled 0.1.0~prev (the same
# binaries): what an upgrade exercises is dpkg and the maintainer scripts.
#
# Needs root (chroot, mount) and the Debian mirror (deb.debian.org or the one apt uses here).
# Runs under `unshare --mount` so the chroot's /proc mount goes with it.
# Usage: tests/package/check_install.sh BUILD_DIR      (registered in CTest as deb_install)
set -uo pipefail

BUILD=${1:?usage: check_install.sh BUILD_DIR}
if [[ -z ${CHECK_INSTALL_UNSHARED:-} ]]; then
  exec env CHECK_INSTALL_UNSHARED=1 unshare --mount --propagation private bash "$0" "$@"
fi
WORK=$(mktemp -d /var/tmp/check-install.XXXXXX)  # not a tmpfs: the root needs ~300 MB
ROOT=$WORK/root
trap 'umount -l "$ROOT/proc" 2>/dev/null; [[ -n ${KEEP:-} ]] || rm -rf "$WORK"' EXIT
CHECK_OUTPUT_LINES=30  # apt says a lot
source "$(dirname "$0")/checks.sh"  # VERSION, check
in_root() { chroot "$ROOT" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
# apt gives dpkg a PATH of its own (DPkg::Path): the stand-ins must come first in it too.
apt_in_root() { in_root apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  -o DPkg::Path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --no-install-recommends "$@"; }

(cd "$BUILD" && cpack -G DEB -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1) || { cat "$WORK/cpack.log"; exit 1; }
DEB=$(ls "$WORK"/pkg/bytenite-submitd_*.deb)
EMU=$(ls "$WORK"/pkg/bytenite-emulator_*.deb)
# The previous version: the same package under a lower version.
dpkg-deb -R "$DEB" "$WORK/prev"
sed -i "s/^Version: .*/Version: $VERSION~prev/" "$WORK/prev/DEBIAN/control"
dpkg-deb -b --root-owner-group "$WORK/prev" "$WORK/pkg/bytenite-submitd_${VERSION}~prev_amd64.deb" >/dev/null
PREV=$WORK/pkg/bytenite-submitd_${VERSION}~prev_amd64.deb

# The root: Debian 12 minbase from the mirror apt uses here, with its security updates.
MIRROR=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
if ! debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 20 "$WORK/debootstrap.log"
  echo "check_install: debootstrap from $MIRROR failed"
  exit 1
fi
[[ -f /etc/apt/sources.list.d/debian.sources ]] && cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/" \
  && rm -f "$ROOT/etc/apt/sources.list"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
cp "$DEB" "$EMU" "$PREV" "$ROOT/tmp/"
echo "root: Debian $(cat "$ROOT/etc/debian_version") from $MIRROR"
apt_in_root update >"$WORK/apt-update.log" 2>&1 || { cat "$WORK/apt-update.log"; exit 1; }

# 1. A first install of the previous version (with its dependencies, systemd among them).
check "install $(basename "$PREV")" apt_in_root install "/tmp/$(basename "$PREV")"
check "installed at $VERSION~prev" bash -c '[[ $(chroot "$0" dpkg-query -W -f="\${Status} \${Version}" bytenite-submitd) == "install ok installed $1~prev" ]]' "$ROOT" "$VERSION"
check "sysusers.d made the user and both groups" \
  bash -c 'chroot "$0" getent passwd bytenite-submitd && chroot "$0" getent group bytenite-submit' "$ROOT"
check "tmpfiles.d made the spool: incoming/ 2770, done/ 2750, owned by the service" bash -c '
  [[ $(chroot "$0" stat -c "%a %U %G" /var/spool/bytenite-submitd/incoming) == "2770 bytenite-submitd bytenite-submit" ]] &&
  [[ $(chroot "$0" stat -c "%a" /var/spool/bytenite-submitd/done) == 2750 ]]' "$ROOT"
check "the installed daemon runs" bash -c '[[ $(chroot "$0" bytenite-submitd --version) == "bytenite-submitd $1" ]]' "$ROOT" "$VERSION"
check "the installed CLI runs" bash -c 'chroot "$0" bytenite-submit --help | grep -q queue' "$ROOT"

# From here systemd "runs" in the root: its marker, and stand-ins that log what is asked.
mkdir -p "$ROOT/run/systemd/system"
for tool in systemctl deb-systemd-invoke; do
  printf '#!/bin/sh\necho "%s $*" >> /var/log/systemd-calls\n' "$tool" >"$ROOT/usr/local/sbin/$tool"
  chmod 0755 "$ROOT/usr/local/sbin/$tool"
done
: >"$ROOT/var/log/systemd-calls"
echo "# edited by the admin" >>"$ROOT/etc/bytenite-submitd/config.toml"

# 2. The upgrade to this build.
check "upgrade to $(basename "$DEB")" apt_in_root install "/tmp/$(basename "$DEB")"
check "installed at $VERSION" bash -c '[[ $(chroot "$0" dpkg-query -W -f="\${Version}" bytenite-submitd) == "$1" ]]' "$ROOT" "$VERSION"
check "the upgrade try-restarts the service" grep -qx "deb-systemd-invoke try-restart bytenite-submitd.service" "$ROOT/var/log/systemd-calls"
check "the admin's edit of the conffile survives the upgrade" grep -qx "# edited by the admin" "$ROOT/etc/bytenite-submitd/config.toml"
check "the spool survives the upgrade" test -d "$ROOT/var/spool/bytenite-submitd/incoming"

# 3. The emulator's package beside it.
check "install $(basename "$EMU")" apt_in_root install "/tmp/$(basename "$EMU")"
check "the installed emulator runs" bash -c 'chroot "$0" bytenite-emulator --help | grep -q -- --listen' "$ROOT"

# 4. Remove, then purge.
: >"$ROOT/var/log/systemd-calls"
check "remove bytenite-submitd" apt_in_root remove bytenite-submitd
check "remove stops the service and its socket" \
  grep -qx "deb-systemd-invoke stop bytenite-submitd.service bytenite-submitd.socket" "$ROOT/var/log/systemd-calls"
check "removed: the programs are gone, the conffile and the spool stay" bash -c '
  [[ ! -e $0/usr/bin/bytenite-submitd && -f $0/etc/bytenite-submitd/config.toml && -d $0/var/spool/bytenite-submitd ]]' "$ROOT"
check "purge bytenite-submitd" apt_in_root purge bytenite-submitd
check "purged: no trace in dpkg, the conffile gone" bash -c '
  ! chroot "$0" dpkg-query -W bytenite-submitd 2>/dev/null | grep -q . ; [[ ! -e $0/etc/bytenite-submitd/config.toml ]]' "$ROOT"
# 5. A first install where systemd runs: nothing is started before the admin gives the key.
: >"$ROOT/var/log/systemd-calls"
check "a fresh install of $(basename "$DEB")" apt_in_root install "/tmp/$(basename "$DEB")"
check "a first install starts nothing (the key comes first)" \
  bash -c '! grep -Eq "deb-systemd-invoke (start|restart|try-restart)" "$0"' "$ROOT/var/log/systemd-calls"
check "purge it again" apt_in_root purge bytenite-submitd
check "purge bytenite-emulator" apt_in_root purge bytenite-emulator
check "purged: the emulator is gone" test ! -e "$ROOT/usr/bin/bytenite-emulator"

echo "check_install: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
