#!/usr/bin/env bash
# examples/approval.yaml in dev mode, as its comment tells a user to run it: a
# run waits for `approved`, one curl approves it and it completes with the
# approver in send's output; a signal sent before the run reaches the wait is
# kept for it; `steadfast signal` works the same; a signal to an ended run is
# 409 and an unknown name 404.
# Usage: approval_example_test.sh STEADFAST_BIN   (run from the source tree)
set -euo pipefail
SF=$1
dir=$(mktemp -d /tmp/steadfast-approval-XXXXXX)
dev=""
cleanup() {
  if [[ -n $dev ]] && kill -0 "$dev" 2>/dev/null; then
    kill -INT "$dev" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$dev" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dev" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "FAIL: $*" >&2; exit 1; }
field() { python3 -c "import json,sys; v=json.load(sys.stdin); print(json.dumps(eval('v' + sys.argv[1])))" "$1"; }

api=$(port)
redis_port=$(port)
"$SF" dev --workflows examples/approval.yaml --listen "127.0.0.1:$api" --data "$dir/data" --workers 1 \
  --redis-port "$redis_port" >"$dir/dev.out" 2>&1 &
dev=$!
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$api/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$api/readyz" >/dev/null || fail "API not ready: $(cat "$dir/dev.out")"
base="http://127.0.0.1:$api/v1"
submit() {
  curl -sf "$base/workflows/approval/runs" -H 'Content-Type: application/json' \
    -d '{"input": {"question": "Can I return my order?"}}' | field '["run_id"]' | tr -d '"'
}
status_of() { curl -sf "$base/runs/$1" | field '["status"]' | tr -d '"'; }

# 1. The README's flow: waiting for `approved`, one curl, completed.
run=$(submit)
for _ in $(seq 100); do [[ $(status_of "$run") == waiting ]] && break; sleep 0.1; done
[[ $(status_of "$run") == waiting ]] || fail "run $run is $(status_of "$run"), not waiting"
waiting_for=$(curl -sf "$base/runs/$run" | field '["waiting_for"]["kind"], v["waiting_for"]["signal"]')
[[ $waiting_for == '["signal", "approved"]' ]] || fail "waiting_for: $waiting_for"
code=$(curl -s -o "$dir/answer" -w '%{http_code}' "$base/runs/$run/signals/approved" \
  -H 'Content-Type: application/json' -d '{"approved": true, "by": "ann"}')
[[ $code == 202 ]] || fail "approve answered $code: $(cat "$dir/answer")"
done_run=$(curl -sf "$base/runs/$run?wait=20s")
[[ $(field '["status"]' <<<"$done_run") == '"completed"' ]] || fail "run $run: $done_run"
sent=$(field '["steps"][2]["output"]["sent"], v["steps"][2]["output"]["approved_by"]' <<<"$done_run")
[[ $sent == '[true, "ann"]' ]] || fail "send's output: $sent"
echo "ok: approved with one curl; the run completed and send says who approved"

# 2. Refused: the run ended (409), a name no wait uses (404).
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/runs/$run/signals/approved" -H 'Content-Type: application/json' -d '{}')
[[ $code == 409 ]] || fail "a signal to an ended run answered $code"
run2=$(submit)
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/runs/$run2/signals/rejected" -H 'Content-Type: application/json' -d '{}')
[[ $code == 404 ]] || fail "an unknown signal answered $code"
echo "ok: 409 after the run ended, 404 for an unknown signal"

# 3. With the CLI, possibly before the run reaches the wait (kept for it).
out=$("$SF" signal "$run2" approved --data '{"approved": true, "by": "bo"}' --redis "redis://127.0.0.1:$redis_port")
[[ $out == delivered || $out == kept ]] || fail "steadfast signal printed: $out"
done_run=$(curl -sf "$base/runs/$run2?wait=20s")
sent=$(field '["steps"][2]["output"]["approved_by"]' <<<"$done_run")
[[ $sent == '"bo"' ]] || fail "run $run2: $done_run"
echo "ok: steadfast signal ($out) approved a second run"
