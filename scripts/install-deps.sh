#!/usr/bin/env bash
# Installs every Debian package Herald needs to build, test and run its demo.
# Idempotent: packages already present are left alone.
#   --bench  also what the benchmarks need (scripts/bench.sh): the peer
#            (syslog-ng with its HTTP destination) and perf for profiles.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libboost-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libpugixml-dev
  libspdlog-dev libfmt-dev libsqlite3-dev sqlite3 libtomlplusplus-dev
  liblua5.4-dev libsystemd-dev libhowardhinnant-date-dev tzdata libmimalloc-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  nginx-light python3 python3-aiosmtpd openssl curl
  clang-format
)
BENCH_PACKAGES=(syslog-ng-core syslog-ng-mod-http util-linux linux-perf)

for arg in "$@"; do
  case $arg in
    --bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
    *) echo "install-deps: unknown option $arg (known: --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#PACKAGES[@]} packages present"
