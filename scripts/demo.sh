#!/usr/bin/env bash
# The demo: `steadfast dev` (a private Redis with AOF, the HTTP API, 2 workers)
# runs examples/document-analysis.yaml — fetch a document, split it, summarize
# every chunk (a map step) and extract keywords beside it, LLM calls under a
# tokens-per-minute limiter, store the result with a Python task served by a
# long-lived Python worker (examples/store_worker.py) — against
# examples/fake_llm.py, which is slow and answers 429s and 500s at random.
# Every run completes anyway. Watch it in the dashboard: dev prints its URL.
# Usage: demo.sh [--runs N] [--no-build] [--keep]
# --keep: leave dev (and the dashboard) running after the summary, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=40
build=1
keep=0
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--runs N] [--no-build] [--keep]" >&2; exit 2 ;;
  esac
done
if ((build)); then
  bash scripts/install-deps.sh >/dev/null
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  echo "building steadfast (the first build takes a few minutes on 2 cores)..."
  cmake --build build -j2 --target steadfast_cli >/dev/null
fi
SF=${STEADFAST_BIN:-$PWD/build/steadfast}

dir=$(mktemp -d /tmp/steadfast-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

python3 examples/fake_llm.py --port 0 >"$dir/llm.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q READY "$dir/llm.out" 2>/dev/null && break; sleep 0.05; done
llm_port=$(awk '/READY/ {print $2}' "$dir/llm.out")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
redis_port=$(free_port)

export LLM_URL="http://127.0.0.1:$llm_port" DOCS_URL="http://127.0.0.1:$llm_port"
export LLM_API_KEY="demo-secret-not-logged" STORE_DIR="$dir/results"
"$SF" dev --workflows examples/document-analysis.yaml --listen "127.0.0.1:$api_port" \
  --data "$dir/data" --workers 2 --redis-port "$redis_port" \
  --exec "env PYTHONPATH=clients/python/src python3 examples/store_worker.py" &
dev=$!
pids=("$dev" "${pids[@]}")
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
python3 scripts/demo_client.py "http://127.0.0.1:$api_port" "$LLM_URL" "$runs" || status=$?
echo "results stored by the Python step: $(find "$dir/results" -name '*.json' | wc -l) files"
"$SF" doctor --redis "redis://127.0.0.1:$redis_port" || status=1
if ((keep)); then
  echo "demo: still running; the dashboard is at http://127.0.0.1:$api_port/ui/ (Ctrl-C stops everything)"
  wait "$dev" || true
fi
exit "$status"
