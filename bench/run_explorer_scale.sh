#!/usr/bin/env bash
# The run explorer at scale (issue 17, item 5; docs/benchmarks.md "The run
# explorer at scale"): loads N retained runs (default 1,000,000) straight into
# a private redis-server in the layout the engine writes, starts
# `steadfast serve` on it and times filtered run-list pages and /metrics, with
# SLOWLOG and INFO commandstats read from the Redis.
#
#   bash bench/run_explorer_scale.sh                  # 1,000,000 runs (load: a few minutes)
#   bash bench/run_explorer_scale.sh --runs 50000     # quick
#
# Options: --runs N, --requests N (per kind, default 500), --budget-requests N
# (the no-match kind, default 100; 0 = skip), --seed N, --steadfast PATH
# (default $STEADFAST, else build/src/cli/steadfast, else build/steadfast),
# --json-out FILE (append the result line), --no-control (skip the SLOWLOG
# controls: the same HMGETs sent alone, redis-cli --intrinsic-latency 10),
# --schema-version N (write the config key with this schema_version instead
# of letting a first serve start on the empty Redis write it), --keep (leave
# Redis and serve running at the end and print how to reach them; stop them
# yourself).
# Needs redis-server and redis-cli (7.x), python3, curl. Builds nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
runs=1000000
requests=500
budget_requests=100
seed=17
json_out=""
keep=0
control=1
bin="${STEADFAST:-}"
schema_version=""

while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --budget-requests) budget_requests="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --schema-version) schema_version="$2"; shift 2 ;;
    --steadfast) bin="$2"; shift 2 ;;
    --json-out) json_out="$2"; shift 2 ;;
    --no-control) control=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^# Needs/p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -z "$bin" ]]; then
  for c in "$root/build/src/cli/steadfast" "$root/build/steadfast"; do
    if [[ -x "$c" ]]; then bin="$c"; break; fi
  done
fi
[[ -n "$bin" && -x "$bin" ]] || { echo "no steadfast binary: build it, or pass --steadfast PATH" >&2; exit 2; }
for tool in redis-server redis-cli python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done

# A free loopback port below 55000 (bind test; another process may still take
# it before we do: then the start below fails loudly).
free_port() {
  python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(30000, 54999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free port")
EOF
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/sf-run-explorer.XXXXXX")"
redis_pid=""
serve_pid=""
cleanup() {
  local rc=$?
  if ((keep)); then
    echo "kept: redis-server pid ${redis_pid:-} (port ${redis_port:-}), serve pid ${serve_pid:-} (http://${api:-}), dir $tmp" >&2
    return $rc
  fi
  if [[ -n "$serve_pid" ]]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  if [[ -n "$redis_pid" ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  if ((rc != 0)); then
    echo "--- redis.log (tail)" >&2; tail -5 "$tmp/redis.log" >&2 2>/dev/null || true
    echo "--- serve.log (tail)" >&2; tail -20 "$tmp/serve.log" >&2 2>/dev/null || true
  fi
  rm -rf "$tmp"
  return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --daemonize no --logfile "$tmp/redis.log" &
redis_pid=$!
rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
for _ in $(seq 100); do
  if [[ "$(rcli PING 2>/dev/null)" == PONG ]]; then break; fi
  sleep 0.05
done
[[ "$(rcli PING)" == PONG ]] || { echo "redis-server did not start on port $redis_port" >&2; exit 1; }
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') pid $redis_pid on 127.0.0.1:$redis_port ($tmp)"

cat > "$tmp/workflows.yaml" <<'EOF'
workflows:
  orders:
    steps:
      - {name: a, kind: noop}
  emails:
    steps:
      - {name: a, kind: noop}
  reports:
    steps:
      - {name: a, kind: noop}
EOF
api_port="$(free_port)"
api="127.0.0.1:$api_port"
start_serve() {
  "$bin" serve --redis "redis://127.0.0.1:$redis_port" --workflows "$tmp/workflows.yaml" --listen "$api" \
    >> "$tmp/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 600); do
    if curl -fs "http://$api/readyz" >/dev/null 2>&1; then return 0; fi
    kill -0 "$serve_pid" 2>/dev/null || { echo "serve exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "serve not ready on $api" >&2
  exit 1
}
stop_serve() { kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=""; }

# The deployment config (sf:{sf}:config: partitions, layout, schema_version,
# created_at; store/config.cpp). A config with an older schema_version than
# the binary's makes serve upgrade the data at start (schema 3: SCAN every run
# into the indexes), which is not what is measured here; so by default a first
# serve start on the still empty Redis writes it (as on a fresh deployment),
# together with the workflow definitions, the queue set and the stream's
# consumer group, and is stopped again before the load.
if [[ -n "$schema_version" ]]; then
  now_ms="$(python3 -c 'import time; print(int(time.time() * 1000))')"
  rcli HSET 'sf:{sf}:config' partitions 1 layout partitioned schema_version "$schema_version" \
    created_at "$now_ms" >/dev/null
else
  start_serve
  stop_serve
  schema_version="$(rcli HGET 'sf:{sf}:config' schema_version)"
  [[ -n "$schema_version" ]] || { echo "serve wrote no config" >&2; exit 1; }
fi
echo "config: $(rcli HGETALL 'sf:{sf}:config' | paste -sd' ')"
rcli XGROUP CREATE 'sf:{0}:q:default' steadfast 0 MKSTREAM >/dev/null 2>&1 || true  # BUSYGROUP is fine
now_ms="$(python3 -c 'import time; print(int(time.time() * 1000))')"
used_before="$(rcli INFO memory | tr -d '\r' | sed -n 's/^used_memory://p')"

echo "loading $runs runs (redis-cli --pipe) ..."
t0="$(date +%s.%N)"
python3 "$here/run_explorer_load.py" gen --runs "$runs" --seed "$seed" --now-ms "$now_ms" \
    --summary "$tmp/summary.json" \
  | rcli --pipe > "$tmp/pipe.log"
t1="$(date +%s.%N)"
tail -2 "$tmp/pipe.log"
grep -q 'errors: 0,' "$tmp/pipe.log" || { echo "the load had errors (see above)" >&2; exit 1; }
used_after="$(rcli INFO memory | tr -d '\r' | sed -n 's/^used_memory://p')"
load_s="$(python3 -c "print(round($t1 - $t0, 1))")"
echo "loaded in ${load_s}s; $(rcli DBSIZE) keys; used_memory $used_before -> $used_after bytes"
printf '{"used_memory_before":%s,"used_memory_after_load":%s,"load_s":%s,"schema_version":%s}\n' \
  "$used_before" "$used_after" "$load_s" "$schema_version" > "$tmp/load.json"
rcli CONFIG RESETSTAT >/dev/null  # commandstats from here: serve's start and the measurement
start_serve
[[ "$(rcli HGET 'sf:{sf}:config' schema_version)" == "$schema_version" ]] \
  || { echo "serve changed the config's schema_version (from $schema_version): it upgraded the data" >&2; exit 1; }
version="$("$bin" --version 2>/dev/null | head -1 || true), binary of $(date -u -r "$bin" +%FT%TZ)"
if git -C "$root" rev-parse --short HEAD >/dev/null 2>&1; then
  version+=", tree $(git -C "$root" rev-parse --short HEAD)"
  [[ -z "$(git -C "$root" status --porcelain --untracked-files=no -- src)" ]] || version+=" + uncommitted src/"
fi
echo "steadfast serve pid $serve_pid on http://$api ($bin${version:+, $version})"

measure_args=(--api "$api" --redis-port "$redis_port" --summary "$tmp/summary.json" --load-info "$tmp/load.json"
              --requests "$requests" --budget-requests "$budget_requests" --steadfast-version "$version")
[[ -n "$json_out" ]] && measure_args+=(--json-out "$json_out")
((control)) || measure_args+=(--no-control)
python3 "$here/run_explorer_load.py" measure "${measure_args[@]}"
