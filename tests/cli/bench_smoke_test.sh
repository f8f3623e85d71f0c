#!/usr/bin/env bash
# `steadfast bench` at a small size, every workload: each prints one JSON line
# with its fields, nothing fails, and the steady-state hot path stays within
# 8 Redis commands per step (the figure docs/benchmarks.md reports).
# Usage: bench_smoke_test.sh path/to/steadfast
set -euo pipefail
bin=$1
check() {  # check <workload> <python condition on d> <bench args...>
  local workload=$1 cond=$2
  shift 2
  local line
  line=$("$bin" bench "$workload" "$@")
  echo "$line"
  python3 - "$line" "$cond" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
for k in ("workload", "runs", "p50_ms", "p99_ms", "redis"):
    assert k in d, f"missing {k}: {d}"
assert eval(sys.argv[2], {}, {"d": d}), f"failed: {sys.argv[2]} on {d}"
PY
}
bulk='d["failed"] == 0 and d["drain_per_s"] > 0 and d["enqueue_per_s"] > 0 and 0 < d["worker_rss_mb"] and "worker_cpu_us_per_step" in d'
# One-step runs pay the run indexes on their one step: three ZADD at submit,
# ZREM from 'live' and the retention timer's ZADD at the end (docs/architecture.md).
check noop "$bulk and d['steps'] == 3000 and d['redis_commands_per_step'] <= 9" --runs 3000
check three-step "$bulk and d['steps'] == 3000 and d['redis_commands_per_step'] <= 8" --runs 1000
# Graph runs (a fan-out to two branches and a fan-in): every step of every run completes.
check diamond "$bulk and d['steps'] == 4000 and d['runs'] == 1000" --runs 1000
# Map steps: 200 runs of 20 items each (10 at a time) and the step after them.
check fanout "$bulk and d['steps'] == 4200 and d['runs'] == 200" --runs 200
check io "$bulk and 0 < d['of_ideal'] <= 1.05" --runs 400 --step-ms 5 --concurrency 50
# 300 http calls held by the upstream for 1 s each, 300 at a time: all in
# flight together on the worker's event loop (no thread per call).
check io "$bulk and d['kind'] == 'http' and d['upstream_answered'] == 300 and d['upstream_most_in_flight'] == 300" \
  --kind http --runs 300 --step-ms 1000 --concurrency 300
# 100 programs of 0.5 s, 100 at a time, supervised by the worker's process
# loop: far fewer threads than programs (a thread each would be 100+).
check io "$bulk and d['kind'] == 'exec' and d['worker_threads'] < 20" \
  --kind exec --runs 100 --step-ms 500 --concurrency 100
check latency "0 < d['p50_ms'] <= d['p99_ms'] <= d['p999_ms'] <= d['max_ms']" --runs 50 --interval-us 2000
check http "d['saturation']['errors'] == 0 and d['fixed_rate']['errors'] == 0 and d['req_per_s'] > 0 and d['fixed_rate']['requests'] > 0" \
  --seconds 0.5 --rate 400 --connections 4
check http "d['batch'] == 10 and d['saturation']['errors'] == 0 and d['runs_per_s'] == d['req_per_s'] * 10 and d['redis_us_per_run'] > 0" \
  --seconds 0.5 --rate 40 --connections 2 --batch 10
check submit "d['runs'] == 2000 and d['single_per_s'] > 0 and d['batch_per_s'] > 0 and d['batch_redis_us_per_run'] > 0" --runs 2000
# Bad usage is refused with a clear error, exit 2.
if "$bin" bench nope 2>/dev/null; then echo "unknown workload accepted"; exit 1; fi
echo "bench smoke: ok"
