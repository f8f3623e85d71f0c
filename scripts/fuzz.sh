#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in the instrumented build-asan/ that
# scripts/sanitize.sh also uses (scripts/sanitized-build.sh: clang-14, ASan +
# UBSan, coverage; after sanitize.sh only the six fuzz targets are left to
# link) and runs each for a bounded time, starting from its committed corpus.
#
#   scripts/fuzz.sh [--seconds N] [target...]     targets: http schema workflows template url_template cron
#
# Each target runs N seconds (default 30) on a copy of fuzz/corpus/<target>/
# in build-asan/corpus/<target>/ (kept between local runs; the repository's
# corpus is never written), with fuzz/dict/<target>.dict. Any crash, leak,
# timeout (-timeout=5 s per input) or RSS over 2 GiB fails the script; the
# input is saved as build-asan/artifacts/<target>/crash-<sha1> (or leak-,
# timeout-, oom-). Reproduce with: build-asan/fuzz/fuzz_<target> <that file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(http schema workflows template url_template cron)

build=build-asan
started=$SECONDS
bash scripts/sanitized-build.sh $(printf 'fuzz_%s ' "${targets[@]}")
echo "fuzz: build took $((SECONDS - started)) s"

export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  log="$build/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  cp fuzz/corpus/"$t"/* "$corpus"/
  dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict=(-dict="fuzz/dict/$t.dict")
  echo "fuzz: $t for ${seconds}s"
  t0=$SECONDS
  status=0
  "$build/fuzz/fuzz_$t" "$corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  files=$(find "$corpus" -type f | wc -l)
  line=$(printf '%-10s %4ss %10s execs %7s exec/s  corpus %5s (seeds %s)' "$t" "$((SECONDS - t0))" \
    "${execs:-?}" "${rate:-?}" "$files" "$(find fuzz/corpus/"$t" -type f | wc -l)")
  if ((status != 0)); then
    line+="  FAILED (exit $status)"
    failed+=("$t")
    echo "---- $log (tail)"
    tail -n 60 "$log"
  fi
  summary+=("$line")
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
echo "fuzz: total $((SECONDS - started)) s"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/artifacts/)"
  exit 1
fi
