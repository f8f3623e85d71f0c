#!/usr/bin/env bash
# How long a failover of one primary interrupts steadfast (issue 19 item 7):
# a local cluster of 3 primaries, each with a replica, cluster-node-timeout
# T ms; `steadfast bench latency` submits one run every I µs (2 workers run
# them); K seconds in, one primary is SIGKILLed. Its replica is promoted
# after about T ms (Redis' own detection and election), and steadfast's
# clients and workers follow the new slot map.
#
# Printed: when Redis promoted the replica (polled every 10 ms), and from the
# bench — a submit that failed on the lost node is sent again every 20 ms
# with the same idempotency key — the slowest submit (submit_max_ms: how long
# a caller waited at worst) and the slowest submit-to-start (max_ms: how long
# a run waited at worst), against their p50/p99. Runs lost (acknowledged but
# not replicated before the kill) would make the bench time out waiting.
#
#
# --drain D: instead, `steadfast bench noop --runs D --workers 2` drains a
# backlog and the primary is killed mid-drain (K seconds in; K=2 suits
# D=150000: the drain starts about 5 s in). Printed: every 0.5 s, the
# commands the two surviving primaries processed — whether their partitions
# go on while the third fails over (until their share of the backlog is
# done: then only the dead one's third is left).
#
# --signal STOP: the primary hangs (SIGSTOP) instead: its connections stay
# open and nothing is answered; it is failed over the same way.
#
#   bench/cluster_failover.sh [--node-timeout T=2000] [--runs R=4000] [--interval-us I=5000]
#                             [--kill-after K=6] [--drain D] [--signal KILL|STOP] [BIN=build/steadfast]
set -euo pipefail
node_timeout=2000 runs=4000 interval=5000 kill_after=6 drain=0 signal=KILL
while [[ ${1:-} == --* ]]; do
  case $1 in
    --drain) drain=$2 ;;
    --signal) signal=$2 ;;
    --node-timeout) node_timeout=$2 ;;
    --runs) runs=$2 ;;
    --interval-us) interval=$2 ;;
    --kill-after) kill_after=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
bin=${1:-build/steadfast}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
bench_pid=
cleanup() {
  [[ -n $bench_pid ]] && kill "$bench_pid" 2> /dev/null || true
  [[ -n ${victim:-} && -f $work/cluster/$victim/redis.pid ]] && kill -CONT "$(cat "$work/cluster/$victim/redis.pid")" 2> /dev/null || true
  "$here/local_cluster.sh" stop "$work/cluster" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

first=30301
victim=$((first + 1))   # the second primary; its replica is first + 3 + 1
replica=$((first + 4))
url=$(SF_NODE_TIMEOUT_MS=$node_timeout "$here/local_cluster.sh" start "$work/cluster" 3 "$first" 1)
ms() { date +%s%3N; }
commands() {  # total_commands_processed: a script's own commands count too
  redis-cli -p "$1" info stats | tr -d '\r' | sed -n 's/^total_commands_processed:\([0-9]*\)$/\1/p'
}

if ((drain > 0)); then
  survivors=("$first" "$((first + 2))")
  "$bin" bench noop --redis "$url" --runs "$drain" --workers 2 > "$work/bench.json" &
  bench_pid=$!
  started=$(ms)
  killed_at= promoted_at=
  last=$(($(commands "${survivors[0]}") + $(commands "${survivors[1]}")))
  echo "every 0.5 s: commands processed by the surviving primaries ${survivors[*]} (the bench's own polls included)"
  while kill -0 "$bench_pid" 2> /dev/null; do
    sleep 0.5
    now=$(ms)
    if [[ -z $killed_at ]] && ((now - started >= kill_after * 1000)); then
      kill -"$signal" "$(cat "$work/cluster/$victim/redis.pid")"
      killed_at=$(ms)
      echo "  $((killed_at - started)) ms: primary $victim SIG$signal"
    fi
    if [[ -n $killed_at && -z $promoted_at ]] && redis-cli -p "$replica" role 2> /dev/null | head -1 | grep -q master; then
      promoted_at=$(ms)
      echo "  $((promoted_at - started)) ms: replica $replica promoted ($((promoted_at - killed_at)) ms after the kill; polled every 0.5 s)"
    fi
    total=$(($(commands "${survivors[0]}") + $(commands "${survivors[1]}")))
    echo "  $((now - started)) ms: +$((total - last))"
    last=$total
  done
  wait "$bench_pid" || { echo "the bench failed" >&2; exit 1; }
  bench_pid=
  [[ -n $killed_at ]] || { echo "the drain ended before the kill: give it more --drain" >&2; exit 1; }
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(f"drained {j["runs"]} runs in {j["seconds"]} s")' \
    "$work/bench.json" 2> /dev/null || cat "$work/bench.json"
  exit 0
fi

"$bin" bench latency --redis "$url" --runs "$runs" --interval-us "$interval" --workers 2 \
  --latencies "$work/runs.csv" > "$work/bench.json" &
bench_pid=$!
bench_started_at=$(ms)
sleep "$kill_after"
kill -0 "$bench_pid" || { echo "the bench ended before the kill: give it more --runs" >&2; exit 1; }
killed_at=$(ms)
kill -"$signal" "$(cat "$work/cluster/$victim/redis.pid")"
until redis-cli -p "$replica" role 2> /dev/null | head -1 | grep -q master; do sleep 0.01; done
promoted_at=$(ms)
wait "$bench_pid"
bench_pid=
echo "cluster-node-timeout ${node_timeout} ms; primary $victim SIG$signal; its replica $replica promoted after $((promoted_at - killed_at)) ms"
python3 - "$work/bench.json" "$work/runs.csv" "$((killed_at - bench_started_at))" << 'PY'
import csv, json, sys
j = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
print(f"runs {j['runs']}: submit p50 {j['submit_p50_ms']} ms, p99 {j['submit_p99_ms']} ms, max {j['submit_max_ms']} ms; "
      f"submits sent again {j['submits_resent']}")
print(f"submit to start: p50 {j['p50_ms']} ms, p99 {j['p99_ms']} ms, max {j['max_ms']} ms")
if j.get('last_submit_error'):
    print(f"last submit error: {j['last_submit_error']}")
slow = [r for r in rows if float(r['start_ms']) > 100]
print(f"runs that waited over 100 ms to start: {len(slow)}")
for r in slow[:5] + (slow[-5:] if len(slow) > 10 else slow[5:]):
    print(f"  sent at {float(r['sent_ms']):.0f} ms, partition {r['partition']}: submit {float(r['submit_ms']):.0f} ms, "
          f"start {float(r['start_ms']):.0f} ms")
PY
