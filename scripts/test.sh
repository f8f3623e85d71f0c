#!/usr/bin/env bash
# Builds steadfast with warnings as errors and runs every test (unit, real-Redis,
# fault), then the sanitizer suite (scripts/sanitize.sh: every test under ASan +
# UBSan) and the fuzzers (scripts/fuzz.sh: each target for 30 s). Installs the
# Debian packages first (idempotent). STEADFAST_QUICK=1 skips the sanitizer and
# fuzzing phases (for local use; CI runs them all). Every phase runs even when
# an earlier one failed; the exit status is non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()
timings=()
started_stamp=$(mktemp)
trap 'rm -f "$started_stamp"' EXIT
# phase <name> <command...>: runs it, records its time and whether it failed.
phase() {
  local name=$1 start=$SECONDS status=0
  shift
  echo "==== test.sh: $name"
  "$@" || status=$?
  timings+=("$(printf '%-10s %5d s%s' "$name" $((SECONDS - start)) "$( ((status == 0)) || echo "  FAILED (exit $status)")")")
  ((status == 0)) || failed+=("$name")
}

# -g1 (line tables): stack traces keep file:line; full debug info made the
# build about a fifth slower on CI's two cores. The tests at -O0
# (STEADFAST_TEST_FLAGS: half their compile time), the rest at -O2.
build_main() {
  cmake -S . -B build -DSTEADFAST_WERROR=ON -DSTEADFAST_TEST_FLAGS=-O0 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" &&
    cmake --build build -j2
}
ctest_main() { (cd build && ctest --output-on-failure -j2 --timeout 600); }

bash scripts/install-deps.sh
phase build build_main
((${#failed[@]})) || phase ctest ctest_main
if [[ ${STEADFAST_QUICK:-0} == 1 ]]; then
  echo "test.sh: STEADFAST_QUICK=1: sanitizers and fuzzing skipped"
else
  phase sanitize bash scripts/sanitize.sh
  phase fuzz bash scripts/fuzz.sh --seconds "${STEADFAST_FUZZ_SECONDS:-20}"  # CONTRACTS §6: at least 20
fi

echo "==== test.sh: phases"
printf '  %s\n' "${timings[@]}"
# The failed tests again, at the very end: CI shows only the log's tail.
for log in build/Testing/Temporary/LastTestsFailed.log build-asan/Testing/Temporary/LastTestsFailed.log; do
  if [[ -s $log && $log -nt $started_stamp ]]; then
    echo "test.sh: failed tests in ${log%%/*}:"
    sed 's/^/  /' "$log"
  fi
done
if ((${#failed[@]})); then
  echo "test.sh: FAILED: ${failed[*]}"
  exit 1
fi
