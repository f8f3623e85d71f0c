#!/usr/bin/env bash
# A throwaway Redis Cluster of N primaries on 127.0.0.1, for benchmarks:
# equal slot ranges in port order, as `redis-cli --cluster create` deals them,
# and R replicas per primary after them (ports FIRST_PORT+N ...). Stopped by
# the PIDs it wrote, never by name.
#
#   bench/local_cluster.sh start DIR [N=3] [FIRST_PORT=30001] [R=0]   # prints the redis+cluster:// URL
#   bench/local_cluster.sh stop DIR
#
# SF_NODE_TIMEOUT_MS (default Redis' 15000) is every node's
# cluster-node-timeout: how long a primary must be unreachable before its
# replica is promoted. Each node's PID is in DIR/PORT/redis.pid, its role in
# DIR/PORT/role (primary or replica).
# Ports must be below 55000: each node's cluster bus listens on port + 10000.
set -euo pipefail

cmd=${1:?start or stop}
dir=${2:?a folder for the nodes}

# start_node PORT: a cluster-enabled server without persistence, daemonized.
start_node() {
  local port=$1
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --save '' --appendonly no \
    --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
    --cluster-node-timeout "${SF_NODE_TIMEOUT_MS:-15000}" \
    --daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log"
  # A port (or its bus port + 10000) taken meanwhile — by another process's
  # outgoing connection, say — stops the node at once: say so, not wait.
  for ((t = 0; t < 200; t++)); do
    redis-cli -p "$port" ping > /dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "node $port did not start:" >&2
  tail -3 "$dir/$port/redis.log" >&2
  return 1
}

# wait_for PORT PATTERN [INFO_SECTION]: until `cluster info` (or `info
# SECTION`) of the node matches every pattern, about 20 s at most.
wait_for() {
  local port=$1 section=${3:-} info
  for ((t = 0; t < 400; t++)); do
    if [[ -n $section ]]; then info=$(redis-cli -p "$port" info "$section"); else info=$(redis-cli -p "$port" cluster info); fi
    if grep -Eq "$2" <<< "$info"; then return 0; fi
    sleep 0.05
  done
  echo "node $port: no '$2' after 20 s" >&2
  return 1
}

case "$cmd" in
  start)
    n=${3:-3}
    first=${4:-30001}
    replicas=${5:-0}
    total=$((n * (1 + replicas)))
    if (( first + total > 55000 )); then echo "ports must stay below 55000" >&2; exit 2; fi
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
      port=$((first + i))
      start_node "$port"
      echo primary > "$dir/$port/role"
      from=$((i * 16384 / n))
      to=$(((i + 1) * 16384 / n - 1))
      redis-cli -p "$port" cluster addslotsrange "$from" "$to" > /dev/null
      if ((i > 0)); then redis-cli -p "$port" cluster meet 127.0.0.1 "$first" > /dev/null; fi
    done
    for ((i = 0; i < n; i++)); do wait_for $((first + i)) "cluster_known_nodes:$n"; done
    for ((r = 1; r <= replicas; r++)); do
      for ((i = 0; i < n; i++)); do
        port=$((first + r * n + i))
        start_node "$port"
        echo replica > "$dir/$port/role"
        redis-cli -p "$port" cluster meet 127.0.0.1 "$first" > /dev/null
        primary_id=$(redis-cli -p $((first + i)) cluster myid)
        # The new node must know the primary by id before it can follow it.
        # (redis-cli exits 0 on an error reply: look for the OK.)
        until [[ $(redis-cli -p "$port" cluster replicate "$primary_id" 2>&1) == OK ]]; do sleep 0.05; done
      done
    done
    for ((p = first; p < first + total; p++)); do wait_for "$p" "cluster_state:ok"; done
    for ((p = first + n; p < first + total; p++)); do wait_for "$p" "master_link_status:up" replication; done
    for ((p = first; p < first + total; p++)); do wait_for "$p" "cluster_known_nodes:$total"; done
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
  *) echo "usage: $0 start DIR [N] [FIRST_PORT] [REPLICAS] | stop DIR" >&2; exit 2 ;;
esac
