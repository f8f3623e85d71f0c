#!/usr/bin/env bash
# A throwaway Redis Cluster of N primaries (no replicas) on 127.0.0.1, for
# benchmarks: equal slot ranges in port order, as `redis-cli --cluster create`
# deals them. Stopped by the PIDs it wrote, never by name.
#
#   bench/local_cluster.sh start DIR [N=3] [FIRST_PORT=30001]   # prints the redis+cluster:// URL
#   bench/local_cluster.sh stop DIR
#
# Ports must be below 55000: each node's cluster bus listens on port + 10000.
set -euo pipefail

cmd=${1:?start or stop}
dir=${2:?a folder for the nodes}

case "$cmd" in
  start)
    n=${3:-3}
    first=${4:-30001}
    if (( first + n > 55000 )); then echo "ports must stay below 55000" >&2; exit 2; fi
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
      port=$((first + i))
      mkdir -p "$dir/$port"
      redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --save '' --appendonly no \
        --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
        --daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log"
    done
    for ((i = 0; i < n; i++)); do
      port=$((first + i))
      until redis-cli -p "$port" ping > /dev/null 2>&1; do sleep 0.05; done
      from=$((i * 16384 / n))
      to=$(((i + 1) * 16384 / n - 1))
      redis-cli -p "$port" cluster addslotsrange "$from" "$to" > /dev/null
      if ((i > 0)); then redis-cli -p "$port" cluster meet 127.0.0.1 "$first" > /dev/null; fi
    done
    for ((i = 0; i < n; i++)); do
      port=$((first + i))
      for ((t = 0; t < 400; t++)); do
        info=$(redis-cli -p "$port" cluster info)
        if grep -q "cluster_state:ok" <<< "$info" && grep -q "cluster_known_nodes:$n" <<< "$info"; then break; fi
        sleep 0.05
      done
      grep -q "cluster_state:ok" <<< "$info" || { echo "node $port: cluster not ok" >&2; exit 1; }
    done
    echo "redis+cluster://127.0.0.1:$first"
    ;;
  stop)
    for pidfile in "$dir"/*/redis.pid; do
      [[ -f "$pidfile" ]] || continue
      pid=$(cat "$pidfile")
      kill "$pid" 2> /dev/null || true
      for ((t = 0; t < 100; t++)); do kill -0 "$pid" 2> /dev/null || break; sleep 0.05; done
    done
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR [N] [FIRST_PORT] | stop DIR" >&2; exit 2 ;;
esac
