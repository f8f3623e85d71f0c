#!/usr/bin/env bash
# What an idle fleet costs Redis: W `steadfast worker` processes with nothing
# to do, on a local cluster of N primaries (bench/local_cluster.sh; 12
# partitions, the cluster default), for S seconds after they settle. Prints
# the commands per second every node ran (INFO commandstats deltas, summed
# over the nodes), EVALSHA among them, and Redis CPU (used_cpu_sys + user)
# in ms per second. Binaries given alternate (A B A B ...), so two builds
# compare within one run, as docs/benchmarks.md asks.
#
#   bench/idle_fleet.sh [--workers W=4] [--nodes N=3] [--seconds S=10] [--rounds R=2] BIN [BIN...]
set -euo pipefail
workers=4 nodes=3 seconds=10 rounds=2
while [[ ${1:-} == --* ]]; do
  case $1 in
    --workers) workers=$2 ;;
    --nodes) nodes=$2 ;;
    --seconds) seconds=$2 ;;
    --rounds) rounds=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
(($#)) || { echo "usage: $0 [--workers W] [--nodes N] [--seconds S] [--rounds R] BIN [BIN...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  "$here/local_cluster.sh" stop "$work/cluster" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/workflows.yaml" << 'YAML'
workflows:
  w:
    steps:
      - {name: a, kind: noop}
YAML
ports=()
for ((i = 0; i < nodes; i++)); do ports+=($((30101 + i))); done

# calls of every command, and EVALSHA's, and CPU seconds, summed over the nodes.
sample() {
  local total=0 eval=0 cpu=0 out
  for port in "${ports[@]}"; do
    out=$(redis-cli -p "$port" info all)
    total=$((total + $(grep -o 'cmdstat_[a-z|]*:calls=[0-9]*' <<< "$out" | sed 's/.*calls=//' | paste -sd+ | bc)))
    eval=$((eval + $(grep -o 'cmdstat_evalsha:calls=[0-9]*' <<< "$out" | sed 's/.*calls=//' || echo 0)))
    cpu=$(echo "$cpu + $(sed -n 's/^used_cpu_sys:\(.*\)\r$/\1/p' <<< "$out") + $(sed -n 's/^used_cpu_user:\(.*\)\r$/\1/p' <<< "$out")" | bc -l)
  done
  echo "$total $eval $cpu"
}

printf '%-40s %8s %10s %12s %14s\n' binary round "cmds/s" "evalsha/s" "cpu ms/s"
for ((round = 1; round <= rounds; round++)); do
  for bin in "$@"; do
    url=$("$here/local_cluster.sh" start "$work/cluster" "$nodes" "${ports[0]}")
    pids=()
    for ((w = 0; w < workers; w++)); do
      "$bin" worker --workflows "$work/workflows.yaml" --redis "$url" --id "idle-$w" --concurrency 8 \
        > "$work/worker-$w.log" 2>&1 &
      pids+=($!)
    done
    sleep 3  # start-up: groups made, workflows registered, duties taken
    read -r t0 e0 c0 < <(sample)
    sleep "$seconds"
    read -r t1 e1 c1 < <(sample)
    printf '%-40s %8d %10.0f %12.0f %14.1f\n' "$bin" "$round" "$(echo "($t1 - $t0) / $seconds" | bc -l)" \
      "$(echo "($e1 - $e0) / $seconds" | bc -l)" "$(echo "($c1 - $c0) * 1000 / $seconds" | bc -l)"
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
    pids=()
    "$here/local_cluster.sh" stop "$work/cluster" > /dev/null
  done
done
