#!/usr/bin/env bash
# Builds steadfast with warnings as errors and runs every test (unit, real-Redis,
# fault). Installs the Debian packages first (idempotent). Exit status is ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DSTEADFAST_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
cd build
ctest --output-on-failure -j2 --timeout 600
