#!/usr/bin/env bash
# The one instrumented build, shared by scripts/sanitize.sh (every test under
# ASan + UBSan) and scripts/fuzz.sh (the libFuzzer targets of fuzz/):
# build-asan/, clang-14, AddressSanitizer (leaks included), UBSan and
# libFuzzer's coverage instrumentation (-fsanitize=fuzzer-no-link) in every
# library, with line tables; -O1, the tests at -O0 (STEADFAST_TEST_FLAGS).
#
#   scripts/sanitized-build.sh [target...]     no target: everything
#
# Why one build and not two: CI compiled the project three times (the -Werror
# build, gcc + sanitizers for the tests, clang + sanitizers for the fuzzers),
# 43 of its 55 minutes on a 2-core machine. The fuzzers link the same
# libraries the tests do, so one clang build serves both: the fuzzers' build
# becomes six links, and clang -O0 compiles a test file in ~0.7 of gcc -O0's
# time with the same sanitizers. The code under test stays at -O1, as the
# fuzzers had it: at -O0 they ran 3.5-10x fewer inputs per second (http 314
# against 3,039). What it costs: the tests carry the coverage counters
# (libFuzzer's callbacks are no-ops outside a fuzz target). Linked with lld:
# a sanitized test binary (~36 MB) links in 0.4 s, 1.7 s with ld.bfd.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan

# A build-asan/ of an earlier layout (gcc) cannot switch compilers in place.
if [[ -f $build/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-14$' "$build/CMakeCache.txt"; then
  echo "sanitized-build: $build/ was configured with another compiler; starting it afresh"
  rm -rf "$build"
fi
cmake -S . -B "$build" -DSTEADFAST_SANITIZE=address,undefined -DSTEADFAST_FUZZ=ON -DSTEADFAST_TEST_FLAGS=-O0 \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -gline-tables-only" >/dev/null
if (($#)); then
  cmake --build "$build" -j2 --target "$@"
else
  cmake --build "$build" -j2
fi
