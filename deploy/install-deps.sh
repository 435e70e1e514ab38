#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of bytenite-submitd from
# Debian 12 packages. Idempotent: packages already present are skipped quickly,
# so the demo and test commands can call it every time.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git ca-certificates openssl python3
  # Boost 1.81 (Debian's default libboost-all-dev is 1.74; do not mix them)
  libboost1.81-dev libboost-system1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  # libraries
  libssl-dev libsimdjson-dev libfmt-dev prometheus-cpp-dev libtomlplusplus-dev
  libsystemd-dev libsqlite3-dev libcli11-dev
  # JetStream intake: the C client (cnats); tests start real nats-server processes
  libnats-dev nats-server
  # tests
  libgtest-dev libgmock-dev clang libclang-rt-14-dev curl
  # the power-loss test reads the daemon's system calls; the full-disk test uses unshare (util-linux)
  strace util-linux
  # benchmarks and checks
  wrk nginx-light libnginx-mod-http-js gnuplot-nox python3-aiohttp iproute2 linux-perf heaptrack valgrind golang-go
  # deploy file checks (tests/deploy): systemd-analyze/-sysusers/-tmpfiles, promtool
  systemd prometheus
  # the Debian package check (tests/package): cpack needs dpkg-shlibdeps (dpkg-dev); the
  # manual pages are written for scdoc; the completions are checked with bash-completion;
  # the install/upgrade/purge test builds its throwaway root with debootstrap
  dpkg-dev lintian scdoc bash-completion debootstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
