#!/usr/bin/env bash
# The demo: a private redis-server (AOF on), two workers, 50 three-step runs
# whose last step fails twice before it succeeds, and a worker SIGKILLed in the
# middle. Every run completes; `steadfast doctor` checks that no run lost its token.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target steadfast_cli >/dev/null
SF=$PWD/build/steadfast

dir=$(mktemp -d /tmp/steadfast-demo-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes --save '' \
  --maxmemory-policy noeviction --logfile "$dir/redis.log" &
pids+=($!)
export STEADFAST_REDIS="redis://127.0.0.1:$port"
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
echo "redis-server on 127.0.0.1:$port (AOF on) in $dir"

"$SF" worker --workflows examples/three-steps.yaml --id demo-1 --concurrency 16 2>"$dir/w1.log" &
w1=$!; pids+=($w1)
"$SF" worker --workflows examples/three-steps.yaml --id demo-2 --concurrency 16 2>"$dir/w2.log" &
pids+=($!)
sleep 0.5

start=$(date +%s.%N)
runs=()
for i in $(seq 1 50); do runs+=("$("$SF" submit three-steps --input "{\"n\": $i}")"); done
echo "submitted ${#runs[@]} runs; SIGKILL worker demo-1 in 0.3 s"
sleep 0.3
kill -KILL "$w1"
echo "restarting demo-1: it takes back the steps it held"
"$SF" worker --workflows examples/three-steps.yaml --id demo-1 --concurrency 16 2>>"$dir/w1.log" &
pids+=($!)

completed=0
for r in "${runs[@]}"; do
  status=""
  for _ in $(seq 1 600); do
    status=$("$SF" status "$r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ "$status" == completed || "$status" == failed || "$status" == cancelled ]] && break
    sleep 0.1
  done
  [[ "$status" == completed ]] && completed=$((completed + 1))
done
elapsed=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
echo
echo "one run, as 'steadfast status' shows it:"
"$SF" status "${runs[0]}"
echo
retries=$(for r in "${runs[@]}"; do "$SF" status "$r" --json; done |
  python3 -c 'import json,sys; print(sum(max(0, s["attempts"]-1) for l in sys.stdin for s in json.loads(l)["steps"]))')
echo "summary: ${#runs[@]} runs, $completed completed, $retries retried attempts, ${elapsed}s"
"$SF" doctor
