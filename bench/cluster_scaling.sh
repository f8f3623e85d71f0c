#!/usr/bin/env bash
# Throughput of the no-op drain on a local cluster of 1, 2 and 3 primaries,
# each Redis capped to the same CPU share with a cgroup v1 CPU quota, so that
# Redis — not this machine's cores — is what limits it (issue 19 item 7).
# Every cluster has the same 12 partitions (the cluster default; `spread`
# tags, 12/N per primary), the same worker processes and runs. Sizes
# alternate within each round (1 2 3 1 2 3 ...), as docs/benchmarks.md asks.
# Prints one line per drain and, per round, each size's rate over the
# 1-primary rate of that round: the goal is >= 0.85 x N.
#
#   bench/cluster_scaling.sh [--cpu SHARE=0.2] [--runs R=30000] [--workers W=2] [--concurrency C=256]
#                            [--sizes "1 2 3"] [--rounds K=2] [BIN=build/steadfast]
#
# C is each worker's: enough steps in flight that every node always has work
# queued while the others' quotas run out (with 64, the drain waits on the
# throttled nodes and 3 primaries used 0.5 of their 0.6 CPU).
#
# SHARE is each Redis' quota in CPUs (0.2 = 20 ms of every 100 ms period).
# Needs root and a writable cgroup v1 CPU controller at /sys/fs/cgroup/cpu;
# without one it says "not measured" and exits 3.
set -euo pipefail
share=0.2 runs=30000 workers=2 concurrency=256 sizes="1 2 3" rounds=2
while [[ ${1:-} == --* ]]; do
  case $1 in
    --cpu) share=$2 ;;
    --runs) runs=$2 ;;
    --workers) workers=$2 ;;
    --concurrency) concurrency=$2 ;;
    --sizes) sizes=$2 ;;
    --rounds) rounds=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
bin=${1:-build/steadfast}
here=$(cd "$(dirname "$0")" && pwd)
cgroot=/sys/fs/cgroup/cpu
period=100000
quota=$(printf '%.0f' "$(echo "$share * $period" | bc -l)")
probe="$cgroot/steadfast-scaling-probe-$$"
if ! mkdir "$probe" 2> /dev/null || ! echo "$quota" > "$probe/cpu.cfs_quota_us" 2> /dev/null; then
  rmdir "$probe" 2> /dev/null || true
  echo "not measured: no writable cgroup v1 CPU controller at $cgroot" >&2
  exit 3
fi
rmdir "$probe"

work=$(mktemp -d)
groups=()
cleanup() {
  "$here/local_cluster.sh" stop "$work/cluster" > /dev/null 2>&1 || true
  # A cgroup is removed once its processes are gone (the cluster's stop waited for them).
  for g in "${groups[@]}"; do rmdir "$g" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

first=30201
printf '%-6s %-9s %12s %14s %16s\n' round primaries "steps/s" "redis cpu/s" "throttled (s)"
declare -A rate
for ((round = 1; round <= rounds; round++)); do
  for n in $sizes; do
    url=$("$here/local_cluster.sh" start "$work/cluster" "$n" "$first")
    groups=()
    for ((i = 0; i < n; i++)); do
      port=$((first + i))
      g="$cgroot/steadfast-scaling-$$-$port"
      mkdir "$g"
      echo "$period" > "$g/cpu.cfs_period_us"
      echo "$quota" > "$g/cpu.cfs_quota_us"
      cat "$work/cluster/$port/redis.pid" > "$g/cgroup.procs"
      groups+=("$g")
    done
    out=$("$bin" bench noop --redis "$url" --runs "$runs" --workers "$workers" \
      --concurrency "$concurrency")
    steps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["drain_per_s"])' "$out")
    cpu=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(round(j.get("redis_cpu_us_per_step",0)*j["drain_per_s"]/1e6,3))' "$out")
    throttled=0
    for g in "${groups[@]}"; do
      t=$(sed -n 's/^throttled_time //p' "$g/cpu.stat")
      throttled=$(echo "$throttled + $t / 1000000000" | bc -l)
    done
    printf '%-6s %-9s %12s %14s %16.1f\n' "$round" "$n" "$steps" "$cpu" "$throttled"
    echo "$out" > "$work/round$round-$n.json"
    rate[$round,$n]=$steps
    "$here/local_cluster.sh" stop "$work/cluster" > /dev/null
    for g in "${groups[@]}"; do rmdir "$g"; done
    groups=()
  done
  base=${rate[$round,1]:-}
  if [[ -n $base ]]; then
    for n in $sizes; do
      printf '  round %s: %s primaries = %.2f x 1 primary (goal >= %.2f)\n' "$round" "$n" \
        "$(echo "${rate[$round,$n]} / $base" | bc -l)" "$(echo "0.85 * $n" | bc -l)"
    done
  fi
done
