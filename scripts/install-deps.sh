#!/usr/bin/env bash
# Installs every Debian package steadfast needs to build, test and run.
# Idempotent: packages already present are skipped by apt; safe to run twice.
# Nothing is downloaded at build time; this script is the only install step.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libboost1.81-dev libboost-url1.81-dev
  libhiredis-dev
  nlohmann-json3-dev
  rapidjson-dev json-schema-test-suite
  libyaml-cpp-dev
  libspdlog-dev libfmt-dev
  libcli11-dev
  libhowardhinnant-date-dev tzdata  # cron schedules: date::date-tz on the system tz database
  libcurl4-openssl-dev
  libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools
  clang-14 libclang-rt-14-dev llvm lld  # the sanitized and fuzz build (scripts/sanitized-build.sh); llvm-symbolizer for sanitizer traces
  openssl python3 procps curl
  python3-venv  # installing the Python client (clients/python) into a venv, as the README does
  python3-redis  # the BullMQ peer harness of scripts/bench_peers.sh (benchmarks only)
  chromium  # headless, for the dashboard's browser test (tests/browser)
)
# Node and npm build the dashboard (web/) and drive the browser test; a newer
# Node already installed (e.g. from NodeSource, whose nodejs bundles npm) is kept.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
else
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The dashboard's npm packages (exact, from web/package-lock.json), without
# sudo: owned by whoever runs this script. Skipped when already installed.
bash "$(dirname "$0")/web-deps.sh"
