#!/usr/bin/env bash
# The web dashboard in headless Chromium (web/test/dashboard.test.mjs, driven
# by puppeteer-core): a private redis-server on a free loopback port,
# `steadfast serve --tokens` and one `steadfast worker`; a few runs, four of
# them dead-lettered and one delayed by an hour (status scheduled). Every process is stopped by its PID at the end.
# Usage: dashboard_test.sh STEADFAST_BIN
# STEADFAST_SCREENSHOTS=DIR also writes one PNG per page into DIR (docs/ui/).
set -euo pipefail
SF=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/steadfast-browsertest-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

command -v node >/dev/null || fail "node is missing: run scripts/install-deps.sh"
[[ -x ${CHROMIUM:-/usr/bin/chromium} ]] || fail "chromium is missing: run scripts/install-deps.sh"
bash "$root/scripts/web-deps.sh" >/dev/null  # web/node_modules from the lockfile, if not there yet

cat >"$dir/wf.yaml" <<'YAML'
workflows:
  orders:
    steps:
      - {name: prepare, kind: noop, queue: work}
      - {name: flaky, kind: fail, with: {times: 1}, queue: work, retry: {max_attempts: 1}}
      - {name: finish, kind: sleep, with: {ms: 50}, queue: work}
  steady:
    steps:
      - {name: a, kind: noop, queue: work}
      - {name: b, kind: sleep, with: {ms: 100}, queue: work}
  doomed:
    steps:
      - {name: never, kind: fail, with: {times: 1000}, queue: work, retry: {max_attempts: 1}}
  approval:
    deadline: 2h
    steps:
      - {name: approve, kind: wait, with: {signal: approved, timeout: 1h}, queue: work}
      - {name: send, kind: noop, queue: work}
schedules:
  nightly: {workflow: steady, cron: "0 3 * * *", timezone: Europe/Berlin}
YAML
admin=admin-$RANDOM$RANDOM
submitter=submit-$RANDOM$RANDOM
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
printf 'sha256:%s admin ops\nsha256:%s submit viewer\n' "$(sha "$admin")" "$(sha "$submitter")" >"$dir/tokens"

redis_port=$(port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --maxmemory-policy noeviction >"$dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
url="redis://127.0.0.1:$redis_port"
api_port=$(port)
"$SF" serve --workflows "$dir/wf.yaml" --listen "127.0.0.1:$api_port" --redis "$url" --tokens "$dir/tokens" \
  >"$dir/serve.log" 2>&1 &
pids+=($!)
"$SF" worker --workflows "$dir/wf.yaml" --redis "$url" >"$dir/worker.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$api_port"
for _ in $(seq 100); do curl -sf "$api/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$api/readyz" >/dev/null || fail "serve not ready: $(tail -5 "$dir/serve.log")"

# submit WORKFLOW META [MORE_JSON_MEMBERS]: prints the run id.
submit() {
  curl -sf -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"input\": {\"order\": 42}, \"metadata\": {\"customer\": \"$2\"}${3:+, $3}}" "$api/v1/workflows/$1/runs" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])'
}
wait_status() {  # RUN STATUS
  local s
  s=$(curl -sf -H "Authorization: Bearer $admin" "$api/v1/runs/$1?wait=20s" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [[ $s == "$2" ]] || fail "run $1 is $s, not $2"
}
failed=$(submit orders acme)
ok1=$(submit steady acme)
ok2=$(submit steady globex)
# For the dead-letter page: two that a bulk replay completes, one only a purge removes.
dlq1=$(submit orders initech)
dlq2=$(submit orders initech)
doomed=$(submit doomed initech)
# Cancelled from its page in the browser before it ever starts.
later=$(submit steady umbrella '"delay": "1h"')
# Approved from its page in the browser, with a submit token.
approval=$(submit approval wayne)
wait_status "$failed" failed
wait_status "$ok1" completed
wait_status "$ok2" completed
wait_status "$dlq1" failed
wait_status "$dlq2" failed
wait_status "$doomed" failed
[[ $(curl -sf -H "Authorization: Bearer $admin" "$api/v1/runs/$later" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') == scheduled ]] || fail "run $later is not scheduled"
for _ in $(seq 100); do
  [[ $(curl -sf -H "Authorization: Bearer $admin" "$api/v1/runs/$approval" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') == waiting ]] && break
  sleep 0.1
done

node --test "$root/web/test/format.test.mjs" >"$dir/format-test.log" 2>&1 ||
  fail "web/test/format.test.mjs: $(cat "$dir/format-test.log")"

shots=${STEADFAST_SCREENSHOTS:-}
[[ -z $shots ]] || mkdir -p "$shots"
start=$SECONDS
BASE_URL=$api ADMIN_TOKEN=$admin SUBMIT_TOKEN=$submitter FAILED_RUN=$failed SCREENSHOTS=$shots \
  COMPLETED_RUN=$ok1 DLQ_RUNS="$dlq1 $dlq2" DOOMED_RUN=$doomed SCHEDULED_RUN=$later WAITING_RUN=$approval \
  node "$root/web/test/dashboard.test.mjs" || fail "the browser test failed (serve log: $(tail -3 "$dir/serve.log"))"
echo "ok: the dashboard in Chromium ($((SECONDS - start)) s in the browser)"
