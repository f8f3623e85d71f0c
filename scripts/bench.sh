#!/usr/bin/env bash
# Every figure of docs/benchmarks.md in one run, on this machine: the Redis
# ceiling (redis-benchmark, same run, for ratios), then each `steadfast bench`
# workload (one JSON line each, kept in bench-results.jsonl), then a table
# against the targets of issue 6, and the same-run ratios against BullMQ
# (scripts/bench_peers.sh: BullMQ and steadfast, 2 worker processes each, on
# one Redis in this very run; issue 20), and the hot path's two scripts
# against the floor (bench/hot_path_scripts.py).
# Usage: scripts/bench.sh [--quick] [--no-peers]
#   --quick      smaller runs (~1 min, the BullMQ part included; full: ~2.5 min)
#   --no-peers   skip the BullMQ comparison (it needs node, npm, python3-redis
#                and ../shared/peers; without this flag a missing one is an error)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
peers=1
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --no-peers) peers=0 ;;
    *) echo "bench.sh: unknown argument '$arg' (usage: [--quick] [--no-peers])" >&2; exit 2 ;;
  esac
done
bin=${STEADFAST_BIN:-build/steadfast}
if [[ ! -x "$bin" ]]; then
  bash scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j2 --target steadfast_cli
fi
out=bench-results.jsonl
: > "$out"

# The ceiling: XADD pipelined (64 deep) into a private redis-server.
dir=$(mktemp -d /tmp/steadfast-bench-ceiling-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize no \
  --logfile "$dir/redis.log" &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
n=$((quick ? 200000 : 1000000))
xadd=$(redis-benchmark -p "$port" -n "$n" -P 64 -q XADD ceiling '*' f v | grep -o '[0-9.]* requests per second' | cut -d' ' -f1)
echo "{\"workload\":\"redis-ceiling\",\"xadd_pipelined_per_s\":$xadd}" | tee -a "$out"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
trap 'rm -rf "$dir"' EXIT

if ((quick)); then
  sizes=(--runs 30000 / --runs 10000 / --runs 8000 / --runs 300 / --seconds 2 / --runs 20000)
else
  sizes=(--runs 200000 / --runs 60000 / --runs 20000 / --runs 2000 / --seconds 5 / --runs 100000)
fi
IFS='/' read -r -a per <<<"${sizes[*]}"
workloads=(noop three-step io latency http submit)
for i in "${!workloads[@]}"; do
  # shellcheck disable=SC2086
  "$bin" bench "${workloads[$i]}" ${per[$i]} | tee -a "$out"
done
# The HTTP batch endpoint, 100 runs per request (its row is "http-batch").
"$bin" bench http --batch 100 --connections 8 --rate 20 --seconds "$((quick ? 2 : 5))" |
  python3 -c 'import json, sys; d = json.load(sys.stdin); d["workload"] = "http-batch"; print(json.dumps(d))' |
  tee -a "$out"
if ((peers)); then
  peer_args=(--out "$out")
  ((quick)) && peer_args+=(--quick)
  bash scripts/bench_peers.sh "${peer_args[@]}"
  # The hot path's scripts alone against the floor, Redis time per step
  # (docs/benchmarks.md "The hot path's scripts"; python3-redis, as above).
  /usr/bin/python3 bench/hot_path_scripts.py --runs "$((quick ? 10000 : 30000))" |
    /usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    d = json.loads(line)
    d["workload"] = "hot-path-floor" if d["version"] == "floor" else "hot-path-scripts"
    print(json.dumps(d))' | tee -a "$out"
fi

python3 - "$out" <<'PY'
import json, sys
rows = {d["workload"]: d for d in map(json.loads, open(sys.argv[1]))}
ceiling = rows["redis-ceiling"]["xadd_pipelined_per_s"]
def line(what, value, target, ok):
    print(f"| {what} | {value} | {target} | {'met' if ok else 'NOT met'} |")
print("\n| figure | measured | target | |\n|---|---|---|---|")
n, t, io, lat, h = (rows[k] for k in ("noop", "three-step", "io", "latency", "http"))
line("no-op drain, steps/s", f'{n["drain_per_s"]:.0f} ({n["drain_per_s"]/ceiling:.3f} of XADD pipelined {ceiling:.0f}/s)', ">= 36,000", n["drain_per_s"] >= 36000)
line("three-step runs/s", f'{t["runs_per_s"]:.0f}', ">= 9,000", t["runs_per_s"] >= 9000)
# Ratios against BullMQ only from this run (same Redis, 2 worker processes
# each side): a BullMQ figure from another day would measure the machine too.
if "bullmq-ratios" in rows:
    r, bn, bt = rows["bullmq-ratios"], rows["bullmq-noop"], rows["bullmq-three-step"]
    sn, st = rows["noop-2w"], rows["three-step-2w"]
    noisy = " (BullMQ run flagged noisy)" if r["bullmq_noisy"] else ""
    line("no-op drain over BullMQ w1, 2 worker processes each (same run)", f'{r["noop_over_bullmq"]}x ({sn["drain_per_s"]:.0f} vs {bn["drain_per_s"]:.0f} jobs/s; Redis {sn["redis_cpu_us_per_step"]} vs {bn["redis_cpu_us_per_job_drain"]} us, {sn["redis_commands_per_step"]} vs {bn["redis_cmds_per_job_drain"]} commands per job){noisy}', ">= 3x", r["noop_over_bullmq"] >= 3)
    line("three-step runs over BullMQ flows, 2 worker processes each (same run)", f'{r["three_step_over_bullmq_flows"]}x ({st["runs_per_s"]:.0f} vs {bt["drain_per_s"]:.0f} runs/s; Redis {st["redis_cpu_us_per_step"]} vs {bt["redis_cpu_us_per_job_drain"]} us, {st["redis_commands_per_step"]} vs {bt["redis_cmds_per_job_drain"]} commands per step){noisy}', ">= 4x", r["three_step_over_bullmq_flows"] >= 4)
else:
    print("| ratios against BullMQ | not measured (--no-peers) | >= 3x / >= 4x | |")
line("50 ms I/O at concurrency 200, of ideal", f'{io["of_ideal"]:.3f} ({io["drain_per_s"]:.0f}/s of {io["ideal_per_s"]:.0f})', ">= 0.95", io["of_ideal"] >= 0.95)
line("worker peak RSS (I/O), MB", io["worker_rss_mb"], "<= 20", io["worker_rss_mb"] <= 20)
line("Redis commands per step (no-op / three-step)", f'{n["redis_commands_per_step"]} / {t["redis_commands_per_step"]}', "<= 9 / 8", n["redis_commands_per_step"] <= 9 and t["redis_commands_per_step"] <= 8)
line("pickup latency p99, ms", f'{lat["p99_ms"]} (p50 {lat["p50_ms"]}, p999 {lat["p999_ms"]})', "<= 2", lat["p99_ms"] <= 2)
line("submit_many over single submits (same run)", f'{rows["submit"]["batch_over_single"]}x ({rows["submit"]["batch_per_s"]:.0f} vs {rows["submit"]["single_per_s"]:.0f} runs/s; Redis {rows["submit"]["batch_redis_us_per_run"]} vs {rows["submit"]["single_redis_us_per_run"]} us/run)', ">= 2x", rows["submit"]["batch_over_single"] >= 2)
line("HTTP submit at saturation, req/s", f'{h["req_per_s"]:.0f} ({h["connections"]} connections)', ">= 26,000", h["req_per_s"] >= 26000)
hb = rows["http-batch"]
line("HTTP batch submit (100 per request) over client single submits (same run)", f'{hb["runs_per_s"] / rows["submit"]["single_per_s"]:.2f}x ({hb["runs_per_s"]:.0f} vs {rows["submit"]["single_per_s"]:.0f} runs/s; Redis {hb["redis_us_per_run"]} us/run)', ">= 1.5x", hb["runs_per_s"] >= 1.5 * rows["submit"]["single_per_s"])
fr = h["fixed_rate"]
line(f'HTTP submit p99 at {fr["offered_per_s"]:.0f} req/s, ms', fr["p99_ms"], "<= 2", fr["p99_ms"] <= 2)
PY
