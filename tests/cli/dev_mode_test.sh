#!/usr/bin/env bash
# `steadfast dev`: starts Redis, the API and workers; a run completes through
# the API; Ctrl-C (SIGINT) stops every child; and if `dev` itself is SIGKILLed
# its children still go (parent-death signal) — no stray process either way.
# Usage: dev_mode_test.sh STEADFAST_BIN
set -euo pipefail
SF=$1
dir=$(mktemp -d /tmp/steadfast-devtest-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/wf.yaml" <<'YAML'
workflows:
  hello:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: sleep, with: {ms: 50}}
YAML
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "FAIL: $*" >&2; exit 1; }

start_dev() {
  api=$(port)
  "$SF" dev --workflows "$dir/wf.yaml" --listen "127.0.0.1:$api" --data "$dir/data$1" --workers 2 \
    --redis-port "$(port)" >"$dir/dev$1.out" 2>&1 &
  dev=$!
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$api/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$api/readyz" >/dev/null || fail "API not ready: $(cat "$dir/dev$1.out")"
  children=$(ps -o pid= --ppid "$dev" | tr -d ' ' | tr '\n' ' ')
  [[ $(wc -w <<<"$children") -eq 4 ]] || fail "expected 4 children (redis, api, 2 workers), got: $children"
}

alive() { for p in $children; do kill -0 "$p" 2>/dev/null && echo "$p"; done; true; }

# 1. A run through the API, then Ctrl-C.
start_dev 1
run=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"input": {"x": 1}}' \
  "http://127.0.0.1:$api/v1/workflows/hello/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
status=$(curl -sf "http://127.0.0.1:$api/v1/runs/$run?wait=20s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
[[ $status == completed ]] || fail "run $run is $status"
kill -INT "$dev"
wait "$dev" || fail "dev exited non-zero after SIGINT"
sleep 0.2
[[ -z $(alive) ]] || fail "stray processes after SIGINT: $(alive)"
echo "ok: run completed through dev mode; SIGINT stopped all $(wc -w <<<"$children") children"

# 2. dev SIGKILLed: the children follow it.
start_dev 2
kill -KILL "$dev"
wait "$dev" 2>/dev/null || true
for _ in $(seq 100); do [[ -z $(alive) ]] && break; sleep 0.1; done
[[ -z $(alive) ]] || fail "stray processes after SIGKILL of dev: $(alive)"
echo "ok: SIGKILL of dev took its children with it"

# 3. Supervision: a worker that dies takes the set down (dev exits 1, no stray
#    process) and dev names it.
start_dev 3
worker=$(ps -o pid=,args= --ppid "$dev" | awk '/ worker /{print $1; exit}')
[[ -n $worker ]] || fail "no worker among dev's children: $(ps -o pid=,args= --ppid "$dev")"
kill -KILL "$worker"
code=0
wait "$dev" || code=$?
[[ $code -eq 1 ]] || fail "dev exited $code after a worker was killed, expected 1: $(cat "$dir/dev3.out")"
grep -q 'worker-[0-9] killed by signal 9 (SIGKILL)' "$dir/dev3.out" || fail "dev did not name the dead worker: $(cat "$dir/dev3.out")"
[[ -z $(alive) ]] || fail "stray processes after a worker died: $(alive)"
echo "ok: a dead worker stopped dev mode (exit 1) and every other child"
