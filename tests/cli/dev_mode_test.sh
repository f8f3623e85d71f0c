#!/usr/bin/env bash
# `steadfast dev`: starts Redis, the API and workers; a run completes through
# the API; Ctrl-C (SIGINT) stops every child; and if `dev` itself is SIGKILLed
# its children still go (parent-death signal) — no stray process either way.
# It supervises: a worker killed with SIGKILL is restarted and serves again; a
# child that fails at start has its error on dev's output; and a second dev on
# the same data folder is refused, naming the first one's pid.
# Usage: dev_mode_test.sh STEADFAST_BIN
set -euo pipefail
SF=$1
dir=$(mktemp -d /tmp/steadfast-devtest-XXXXXX)
dev=""
# A failure midway leaves a dev running: stop it (its children follow) before
# the folder goes, so no test leaves processes behind.
cleanup() {
  if [[ -n $dev ]] && kill -0 "$dev" 2>/dev/null; then
    kill -INT "$dev" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$dev" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dev" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/wf.yaml" <<'YAML'
workflows:
  hello:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: sleep, with: {ms: 50}}
YAML
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_dev N [WORKERS]: dev number N with WORKERS workers (2), its API ready.
start_dev() {
  api=$(port)
  local workers=${2:-2}
  "$SF" dev --workflows "$dir/wf.yaml" --listen "127.0.0.1:$api" --data "$dir/data$1" --workers "$workers" \
    --redis-port "$(port)" >"$dir/dev$1.out" 2>&1 &
  dev=$!
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$api/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$api/readyz" >/dev/null || fail "API not ready: $(cat "$dir/dev$1.out")"
  children=$(ps -o pid= --ppid "$dev" | tr -d ' ' | tr '\n' ' ')
  [[ $(wc -w <<<"$children") -eq $((workers + 2)) ]] ||
    fail "expected $((workers + 2)) children (redis, api, $workers workers), got: $children"
}

# submit_and_wait: a run through the API; fails unless it completes.
submit_and_wait() {
  local run status
  run=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"input": {"x": 1}}' \
    "http://127.0.0.1:$api/v1/workflows/hello/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
  status=$(curl -sf "http://127.0.0.1:$api/v1/runs/$run?wait=20s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [[ $status == completed ]] || fail "run $run is $status"
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

# 3. Supervision: the one worker, SIGKILLed by its pid, is restarted; a run
#    submitted afterwards completes through it; the rest never stopped.
start_dev 3 1
worker=$(ps -o pid=,args= --ppid "$dev" | awk '$3 == "worker" {print $1; exit}')
[[ -n $worker ]] || fail "no worker among dev's children: $(ps -o pid=,args= --ppid "$dev")"
others=$(ps -o pid= --ppid "$dev" | tr -d ' ' | grep -vx "$worker" | sort | tr '\n' ' ')
kill -KILL "$worker"
for _ in $(seq 100); do grep -q 'worker-1 restarted (pid' "$dir/dev3.out" && break; sleep 0.1; done
grep -q "worker-1 (pid $worker) killed by signal 9 (SIGKILL)" "$dir/dev3.out" ||
  fail "dev did not name the dead worker: $(cat "$dir/dev3.out")"
grep -q 'restarting worker-1 in 0.5 s' "$dir/dev3.out" || fail "no backoff announced: $(cat "$dir/dev3.out")"
restarted=$(sed -n 's/.*worker-1 restarted (pid \([0-9]*\)).*/\1/p' "$dir/dev3.out")
[[ -n $restarted && $restarted != "$worker" ]] || fail "worker not restarted: $(cat "$dir/dev3.out")"
kill -0 "$dev" || fail "dev exited after a worker died"
[[ $(ps -o pid= --ppid "$dev" | tr -d ' ' | grep -vx "$restarted" | sort | tr '\n' ' ') == "$others" ]] ||
  fail "redis-server or the API changed when the worker died"
submit_and_wait
echo "ok: a SIGKILLed worker was restarted (pid $worker -> $restarted) and served a new run"

# 3b. The operator commands against dev's Redis: a run submitted with
#     metadata is found by it; `dlq purge` asks for --yes and takes a metadata
#     filter; `doctor` finds nothing wrong.
url=$(sed -n 's/.*(Redis \(redis:[^,]*\),.*/\1/p' "$dir/dev3.out")
tagged=$("$SF" submit hello --redis "$url" --meta customer=acme --meta doc=7)
"$SF" runs --redis "$url" --meta customer=acme --json | grep -q "\"id\":\"$tagged\".*\"metadata\":{\"customer\":\"acme\",\"doc\":\"7\"}" ||
  fail "runs --meta did not list $tagged: $("$SF" runs --redis "$url" --meta customer=acme --json)"
[[ -z $("$SF" runs --redis "$url" --meta customer=globex) ]] || fail "runs --meta customer=globex listed a run"
code=0
"$SF" submit hello --redis "$url" --meta 'bad key=1' >"$dir/meta.out" 2>&1 || code=$?
[[ $code -eq 2 ]] && grep -q "must match" "$dir/meta.out" || fail "a bad --meta key: exit $code, $(cat "$dir/meta.out")"
code=0
"$SF" dlq purge --redis "$url" >"$dir/purge.out" 2>&1 || code=$?
[[ $code -eq 2 ]] && grep -q 'add --yes to confirm' "$dir/purge.out" ||
  fail "dlq purge without --yes: exit $code, $(cat "$dir/purge.out")"
[[ $("$SF" dlq purge --redis "$url" --meta customer=acme --yes) == "purged 0" ]] ||
  fail "dlq purge --meta did not run"
[[ $("$SF" dlq purge --redis "$url" --workflow hello --created-after 2020-01-01T00:00:00Z --yes) == "purged 0" ]] ||
  fail "dlq purge with a filter did not run"
"$SF" doctor --redis "$url" | grep -q ': 0 offender(s)' || fail "doctor found offenders in dev mode"
last=$("$SF" audit --redis "$url" --json | head -1)
grep -q '"action":"dlq_purge"' <<<"$last" && grep -q '"detail":{"purged":0}' <<<"$last" &&
  grep -q '"target":"{\\"created_after\\":\\"2020-01-01T00:00:00.000Z\\",\\"workflow\\":\\"hello\\"}"' <<<"$last" &&
  grep -q '"who":"cli:' <<<"$last" || fail "audit does not show the last purge first: $last"
[[ $("$SF" audit --redis "$url" --json | grep -c '"action":"dlq_purge"') -eq 2 ]] || fail "audit: not two purges"
"$SF" workers --redis "$url" --json | grep -q "\"id\":\"dev-1\".*\"pid\":$restarted" ||
  fail "workers does not list the restarted dev-1 (pid $restarted): $("$SF" workers --redis "$url" --json)"
echo "ok: runs and dlq purge select by metadata; purge asks for --yes; doctor is clean; audit and workers list them"

# 4. A second dev on the same data folder is refused at once, naming the pid.
code=0
"$SF" dev --workflows "$dir/wf.yaml" --listen "127.0.0.1:$(port)" --data "$dir/data3" --workers 1 \
  --redis-port "$(port)" >"$dir/dev4.out" 2>&1 || code=$?
[[ $code -eq 1 ]] || fail "a second dev on the same data exited $code: $(cat "$dir/dev4.out")"
grep -q "in use by another \`steadfast dev\` (pid $dev)" "$dir/dev4.out" ||
  fail "the refusal does not name pid $dev: $(cat "$dir/dev4.out")"
kill -0 "$dev" || fail "the first dev died"
echo "ok: a second dev on the same data folder was refused naming pid $dev"

# 5. A child that fails at start (its API port is dev 3's) has its error on
#    dev's output; dev stops (exit 1) with nothing left behind.
code=0
timeout 60 "$SF" dev --workflows "$dir/wf.yaml" --listen "127.0.0.1:$api" --data "$dir/data5" --workers 1 \
  --redis-port "$(port)" >"$dir/dev5.out" 2>&1 || code=$?
[[ $code -eq 1 ]] || fail "dev with a taken API port exited $code: $(cat "$dir/dev5.out")"
grep -q 'api (pid [0-9]*) exited with status' "$dir/dev5.out" || fail "no exit status of the api: $(cat "$dir/dev5.out")"
grep -qi '  api| .*in use' "$dir/dev5.out" || fail "the api's error is not on dev's output: $(cat "$dir/dev5.out")"
grep -q 'api failed at start' "$dir/dev5.out" || fail "dev did not say the api failed at start: $(cat "$dir/dev5.out")"
echo "ok: a child failing at start printed its error on dev's output"

children="$children $restarted"
kill -INT "$dev"
wait "$dev" || fail "dev exited non-zero after SIGINT"
for _ in $(seq 100); do [[ -z $(alive) ]] && break; sleep 0.1; done
[[ -z $(alive) ]] || fail "stray processes after SIGINT: $(alive)"
