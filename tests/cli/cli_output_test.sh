#!/usr/bin/env bash
# The CLI as an operator uses it, against its own redis-server and worker:
# `submit --input @file` and `--input -` reach the run's input, and bad input
# (missing file, not JSON, empty stdin) exits 2 with nothing submitted; run ids
# work in lower case (status, cancel, dlq replay, runs --cursor) and a
# malformed one is named; `stats --json` has a `totals` object; `status` shows
# one timeline line per step; text holding a newline or an ESC sequence
# (a metadata value, a step's error) stays on its row, escaped; and
# `cancel --all`, `dlq replay --all` and `bulk` run and show bulk jobs; and
# `submit --delay` / `--at` schedule a run, and `submit --batch` submits many.
# Usage: cli_output_test.sh STEADFAST_BIN
set -euo pipefail
SF=$1
dir=$(mktemp -d /tmp/steadfast-clioutput-XXXXXX)
redis_pid=""
worker_pid=""
cleanup() {
  for p in $worker_pid $redis_pid; do
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# json EXPR: evaluates EXPR on the JSON on stdin (bound to d) and prints it.
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

rport=$(port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$dir/redis.log" 2>&1 &
redis_pid=$!
export STEADFAST_REDIS="redis://127.0.0.1:$rport"
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done

cat >"$dir/wf.yaml" <<'YAML'
workflows:
  echo:
    steps:
      - {name: first, kind: noop}
      - {name: second-step, kind: sleep, with: {ms: 20}}
  breaks:
    steps:
      - name: x
        kind: exec
        with: {command: [sh, -c, "printf 'line one\\nline two' >&2; exit 1"]}
        retry: {max_attempts: 1}
  waits:
    steps:
      - name: flaky
        kind: fail
        with: {times: 1}
        retry: {max_attempts: 2, backoff: {initial: 10m}}
      - {name: after, kind: noop}
  fork:
    steps:
      - {name: a, kind: noop}
      - {name: b, kind: noop, needs: [a]}
      - {name: c, kind: noop, needs: [a]}
      - {name: join, kind: noop, needs: [b, c]}
YAML
"$SF" worker --workflows "$dir/wf.yaml" --id clitest --concurrency 4 >"$dir/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 100); do [[ -n $("$SF" workers --json 2>/dev/null) ]] && break; sleep 0.1; done
[[ -n $("$SF" workers --json) ]] || fail "worker did not register: $(cat "$dir/worker.log")"

# 1. --input @file and --input -.
printf '{"from": "file", "n": [1, 2]}\n' >"$dir/in.json"
"$SF" submit echo --input "@$dir/in.json" --wait >"$dir/file.json"
[[ $(json 'd["input"] == {"from": "file", "n": [1, 2]} and d["status"]' <"$dir/file.json") == completed ]] ||
  fail "--input @file: $(cat "$dir/file.json")"
printf '{"from": "stdin"}' | "$SF" submit echo --input - --wait >"$dir/stdin.json"
[[ $(json 'd["input"] == {"from": "stdin"} and d["status"]' <"$dir/stdin.json") == completed ]] ||
  fail "--input -: $(cat "$dir/stdin.json")"
[[ $(json 'd["input"]' < <("$SF" submit echo --input '{"a":1}' --wait)) == "{'a': 1}" ]] || fail "--input literal"
echo "ok: --input @file, --input - and a literal reach the run's input"

runs_before=$("$SF" runs --json | wc -l)
expect_usage() {  # expect_usage GREP_TEXT COMMAND... : exit 2 and GREP_TEXT on stderr
  local want=$1 code=0
  shift
  "$@" >"$dir/out" 2>"$dir/err" </dev/null || code=$?
  [[ $code -eq 2 ]] && grep -qF -- "$want" "$dir/err" || fail "$* : exit $code, stderr: $(cat "$dir/err")"
}
expect_usage "--input file '$dir/nope.json': cannot open: No such file or directory" \
  "$SF" submit echo --input "@$dir/nope.json"
printf '{"a": 1,\n oops}' >"$dir/bad.json"
expect_usage "--input file '$dir/bad.json' is not JSON: parse error at line 2" "$SF" submit echo --input "@$dir/bad.json"
expect_usage "--input - (stdin) is empty" "$SF" submit echo --input -
expect_usage "--input is not JSON: parse error at line 1" "$SF" submit echo --input '{a:1}'
[[ $("$SF" runs --json | wc -l) -eq $runs_before ]] || fail "a refused submit created a run"
echo "ok: a missing file, a non-JSON file, empty stdin and a bad literal exit 2, nothing submitted"

# 2. Run ids in any case.
run=$(json 'd["id"]' <"$dir/file.json")
lower=${run,,}
[[ $lower != "$run" ]] || fail "run id $run has no letters"
"$SF" status "$lower" | head -1 | grep -qF "run $run (echo): completed" || fail "status $lower: $("$SF" status "$lower")"
[[ $("$SF" status "$lower" --json | json 'd["id"]') == "$run" ]] || fail "status --json $lower"
code=0
"$SF" cancel "$lower" >/dev/null 2>"$dir/err" || code=$?
[[ $code -eq 1 ]] && grep -qF "run $run already completed" "$dir/err" || fail "cancel $lower: exit $code, $(cat "$dir/err")"
newest=$("$SF" runs --json --limit 1 | head -1 | json 'd["id"]')
[[ $("$SF" runs --json --cursor "${newest,,}" | head -1 | json 'd["id"]') == \
   $("$SF" runs --json --cursor "$newest" | head -1 | json 'd["id"]') ]] || fail "runs --cursor in lower case"
expect_usage "invalid run id 'not-a-run' (expected a run id: 26 characters of Crockford base32, in any case)" \
  "$SF" status not-a-run
expect_usage "invalid run id '${lower}x'" "$SF" cancel "${lower}x"
expect_usage "invalid --cursor 'zz' (expected a run id" "$SF" runs --cursor zz
expect_usage "invalid dead-letter id 'bogus' (a dead-letter entry id such as" "$SF" dlq replay bogus
echo "ok: status, cancel and runs --cursor take a lower-case run id; malformed ids are named (exit 2)"

# 3. stats --json totals.
"$SF" stats --json --interval 0.1 >"$dir/stats.json"
[[ $(json '(sorted(d["totals"]) == ["delayed", "depth", "dlq", "in_flight", "submitted_per_s", "throughput"] and
            all(isinstance(d["totals"][k], int) for k in ("depth", "in_flight", "delayed", "dlq")) and
            isinstance(d["queues"], list) and len(d["queues"]) >= 1)' <"$dir/stats.json") == True ]] ||
  fail "stats --json: $(cat "$dir/stats.json")"
echo "ok: stats --json has per-queue rows and totals"

# 4. The status timeline: a header, then one aligned line per step.
"$SF" status "$run" >"$dir/status.txt"
python3 - "$dir/status.txt" <<'PY' || fail "status timeline: $(cat "$dir/status.txt")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
head = [i for i, l in enumerate(lines) if l.split()[:2] == ["STEP", "STATUS"]]
assert len(head) == 1, lines
rows = lines[head[0] + 1:]
assert [r.split()[0] for r in rows] == ["first", "second-step"], rows
for r in rows:
    f = r.split()
    assert f[1:3] == ["completed", "1"], r
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", f[3]), r
    assert re.fullmatch(r"\d+ms|\d+\.\ds", f[4]), r
    assert f[5] == "clitest", r
cols = [lines[head[0]].index("STARTED")] + [r.index(r.split()[3]) for r in rows]
assert len(set(cols)) == 1, ("not aligned", lines)
PY
waiting=$("$SF" submit waits)
for _ in $(seq 100); do [[ $("$SF" status "$waiting" --json | json 'd["status"]') == retrying ]] && break; sleep 0.1; done
"$SF" status "$waiting" >"$dir/waiting.txt"
grep -qE '^  flaky +retrying +1 +[0-9T:.-]+Z +- +clitest +attempt 1 of 2 failed: injected failure 1 of 1$' "$dir/waiting.txt" &&
  grep -qE '^  after +pending +0 +- +- +-$' "$dir/waiting.txt" &&
  [[ $(tail -1 "$dir/waiting.txt") =~ ^\ \ waiting_for:\ retry\ until\ [0-9-]+T[0-9:.]+Z$ ]] ||
  fail "status of a retrying run: $(cat "$dir/waiting.txt")"
echo "ok: status shows one aligned timeline line per step, '-' for what has not happened, then waiting_for"

# A run whose steps branch: the timeline says what each step needs.
forked=$("$SF" submit fork --wait | json 'd["id"]')
"$SF" status "$forked" >"$dir/fork.txt"
grep -qE '^  STEP +NEEDS +STATUS ' "$dir/fork.txt" && grep -qE '^  a +- +completed ' "$dir/fork.txt" &&
  grep -qE '^  join +b,c +completed +1 ' "$dir/fork.txt" || fail "status of a graph run: $(cat "$dir/fork.txt")"
! grep -q NEEDS "$dir/status.txt" || fail "a chain's timeline has no NEEDS column: $(cat "$dir/status.txt")"
echo "ok: a run whose steps branch shows each step's needs"

# 5. Control characters stay escaped: an ESC sequence and a newline in a
#    metadata value, a newline in a step's error (exec's stderr).
esc_run=$("$SF" submit echo --meta "$(printf 'note=\033[31mred\nforged')")
broken=$("$SF" submit breaks --wait 2>/dev/null | json 'd["id"]') || true
for _ in $(seq 100); do [[ $("$SF" status "$broken" --json | json 'd["status"]') == failed ]] && break; sleep 0.1; done
"$SF" runs --limit 5 >"$dir/runs.txt"
"$SF" status "$esc_run" >"$dir/esc_status.txt"
"$SF" status "$broken" >"$dir/broken_status.txt"
"$SF" dlq list >"$dir/dlq.txt"
"$SF" audit >"$dir/audit.txt"
for f in runs esc_status broken_status dlq; do
  ! grep -q $'\033' "$dir/$f.txt" || fail "a raw ESC in $f: $(cat -v "$dir/$f.txt")"
done
grep -qF 'note=\x1b[31mred\x0aforged' "$dir/runs.txt" || fail "runs: metadata not escaped: $(cat "$dir/runs.txt")"
[[ $(grep -c "^$esc_run " "$dir/runs.txt") -eq 1 ]] || fail "runs: the row broke: $(cat "$dir/runs.txt")"
grep -qF 'metadata note=\x1b[31mred\x0aforged' "$dir/esc_status.txt" || fail "status metadata: $(cat "$dir/esc_status.txt")"
grep -qE '^  x +failed +1 .*stderr:\\x0aline one\\x0aline two$' "$dir/broken_status.txt" ||
  fail "status error not one escaped line: $(cat "$dir/broken_status.txt")"
[[ $(wc -l <"$dir/dlq.txt") -eq 2 ]] && grep -qF 'stderr:\x0aline one\x0aline two' "$dir/dlq.txt" ||
  fail "dlq list: not one escaped line per entry: $(cat "$dir/dlq.txt")"
grep -qF "run $broken" <("$SF" status "$broken") || fail "status $broken"
echo "ok: a newline and an ESC sequence in metadata and errors stay escaped on their row (runs, status, dlq list)"

# 6. dlq replay by a lower-case run id: the run is requeued (and fails again).
replayed=$("$SF" dlq replay "${broken,,}")
[[ $replayed == "$broken" ]] || fail "dlq replay ${broken,,} printed '$replayed'"
"$SF" audit --json | head -1 | grep -qF "\"target\":\"$broken\"" || fail "audit: no replay of $broken"
echo "ok: dlq replay takes a lower-case run id"

# 7. Bulk jobs: cancel --all (a filter required), dlq replay --all, bulk.
expect_usage "cancel --all needs a filter" "$SF" cancel --all
expect_usage "give a run id or --all, not both" "$SF" cancel "$run" --all --workflow waits
expect_usage "the filter flags go with --all" "$SF" cancel "$run" --workflow waits
expect_usage "filter: status must be one of" "$SF" cancel --all --status sleeping
b1=$("$SF" submit waits --meta batch=b1)
b2=$("$SF" submit waits --meta batch=b1)
other=$("$SF" submit waits --meta batch=b2)
"$SF" cancel --all --meta batch=b1 >"$dir/bulk_cancel.txt" 2>"$dir/bulk_cancel.err" ||
  fail "cancel --all: $(cat "$dir/bulk_cancel.txt" "$dir/bulk_cancel.err")"
grep -qE '^bulk job [0-9A-Z]{26} done: 2 matched, 2 cancelled, 0 skipped$' "$dir/bulk_cancel.txt" ||
  fail "cancel --all printed: $(cat "$dir/bulk_cancel.txt")"
for r in "$b1" "$b2"; do
  for _ in $(seq 100); do [[ $("$SF" status "$r" --json | json 'd["status"]') == cancelled ]] && break; sleep 0.1; done
  [[ $("$SF" status "$r" --json | json 'd["status"]') == cancelled ]] || fail "cancel --all left $r $("$SF" status "$r")"
done
[[ $("$SF" status "$other" --json | json 'd["status"]') != cancelled ]] || fail "cancel --all cancelled $other (batch b2)"
job=$(awk '{print $3}' "$dir/bulk_cancel.txt")
# Replay every dead-lettered run of `breaks` (one: step 6 replayed it, and it failed again).
for _ in $(seq 100); do [[ $("$SF" status "$broken" --json | json 'd["status"]') == failed ]] && break; sleep 0.1; done
"$SF" dlq replay --all --workflow breaks --json >"$dir/bulk_replay.json" 2>/dev/null || fail "dlq replay --all"
[[ $(json '(d["action"], d["status"], d["matched"], d["succeeded"], d["filter"])' <"$dir/bulk_replay.json") == \
   "('replay', 'done', 1, 1, {'workflow': 'breaks'})" ]] || fail "dlq replay --all --json: $(cat "$dir/bulk_replay.json")"
"$SF" bulk "${job,,}" --json | json 'd["id"], d["who"].startswith("cli:")' | grep -qF "('$job', True)" ||
  fail "bulk ${job,,}: $("$SF" bulk "$job" --json)"
"$SF" bulk >"$dir/bulk.txt"
[[ $(head -1 "$dir/bulk.txt" | awk '{print $1, $2, $3}') == "JOB ACTION STATUS" && $(wc -l <"$dir/bulk.txt") -eq 3 ]] &&
  [[ $(sed -n 3p "$dir/bulk.txt" | awk '{print $1, $2, $3, $4, $5, $6}') == "$job cancel done 2 2 0" ]] ||
  fail "bulk: $(cat "$dir/bulk.txt")"
code=0
"$SF" bulk 01JZZZZZZZZZZZZZZZZZZZZZZZ >/dev/null 2>"$dir/err" || code=$?
[[ $code -eq 1 ]] && grep -qF "no bulk job 01JZZZZZZZZZZZZZZZZZZZZZZZ" "$dir/err" || fail "bulk of an unknown job: exit $code"
code=0
"$SF" bulk stop "$job" >/dev/null 2>"$dir/err" || code=$?
[[ $code -eq 1 ]] && grep -qF "bulk job $job already ended" "$dir/err" || fail "bulk stop of a done job: exit $code, $(cat "$dir/err")"
"$SF" audit --json | python3 -c 'import json, sys; print(any((e["action"], e["target"]) == ("bulk", sys.argv[1])
    for e in map(json.loads, sys.stdin)))' "$job" | grep -qx True || fail "audit: no bulk entry for $job"
echo "ok: cancel --all and dlq replay --all run bulk jobs over the filter; bulk lists and shows them"

# 8. Delayed runs: --delay and --at start a run later; scheduled meanwhile (status,
#    runs --status, cancel); bad values exit 2 naming the flag, submitting nothing.
runs_before=$("$SF" runs --json | wc -l)
expect_usage "--delay: " "$SF" submit echo --delay soon
expect_usage "--delay: delay 8761h is longer than 8760h" "$SF" submit echo --delay 8761h
expect_usage "--at: run_at must be an RFC 3339 timestamp" "$SF" submit echo --at tomorrow
expect_usage "give --delay or --at, not both" "$SF" submit echo --delay 1m --at 2030-01-01T00:00:00Z
expect_usage "run_at is" "$SF" submit echo --at 2020-01-01T00:00:00Z
[[ $("$SF" runs --json | wc -l) -eq $runs_before ]] || fail "a refused --delay/--at submitted a run"
later=$("$SF" submit echo --delay 1h 2>"$dir/err")
grep -qF "steadfast: run $later is scheduled to start at " "$dir/err" || fail "submit --delay said: $(cat "$dir/err")"
[[ $("$SF" status "$later" --json | json 'd["status"], d["waiting_for"]["kind"], d["run_at"] is not None') == \
   "('scheduled', 'scheduled', True)" ]] || fail "a delayed run's status: $("$SF" status "$later" --json)"
"$SF" status "$later" | head -2 | grep -qF ", run at " || fail "status does not show run_at: $("$SF" status "$later")"
"$SF" runs --status scheduled --json | grep -qF "\"$later\"" || fail "runs --status scheduled misses $later"
"$SF" cancel "$later" >/dev/null
[[ $("$SF" status "$later" --json | json 'd["status"]') == cancelled ]] || fail "cancel of a scheduled run"
"$SF" submit echo --delay 300ms --wait >"$dir/delayed.json" 2>/dev/null || fail "submit --delay 300ms --wait"
[[ $(json 'd["status"], d["steps"][0]["started_at"] >= d["run_at"]' <"$dir/delayed.json") == "('completed', True)" ]] ||
  fail "a delayed run started early or never: $(cat "$dir/delayed.json")"
echo "ok: --delay and --at schedule a run; status, runs --status scheduled and cancel see it; bad values are named"

# 9. submit --batch: one run per line, a run id per line (- for a refused one,
#    named on stderr with its line), exit 1 when any was refused; a malformed
#    file submits nothing.
printf '{"input": {"n": 1}}\n\n{"input": {"n": 2}, "metadata": {"batch": "b9"}, "idempotency_key": "b9-2"}\n{"input": {"n": 2}, "idempotency_key": "b9-2"}\n{"input": {"n": 3}, "delay": "1h"}\n' >"$dir/batch.jsonl"
code=0
"$SF" submit echo --batch "$dir/batch.jsonl" >"$dir/batch.out" 2>"$dir/batch.err" || code=$?
[[ $code -eq 1 ]] || fail "submit --batch with a conflicting line: exit $code, $(cat "$dir/batch.err")"
[[ $(wc -l <"$dir/batch.out") -eq 4 && $(sed -n 3p "$dir/batch.out") == - ]] || fail "submit --batch printed: $(cat "$dir/batch.out")"
grep -qF "steadfast: line 4: idempotency key 'b9-2' was used for run" "$dir/batch.err" || fail "batch conflict: $(cat "$dir/batch.err")"
grep -qF "steadfast: 3 runs created, 0 repeats of earlier submits, 1 refused" "$dir/batch.err" || fail "batch summary: $(cat "$dir/batch.err")"
[[ $("$SF" status "$(sed -n 2p "$dir/batch.out")" --json | json 'd["input"], d["metadata"]') == "({'n': 2}, {'batch': 'b9'})" ]] ||
  fail "batch line 3's run"
[[ $("$SF" status "$(sed -n 4p "$dir/batch.out")" --json | json 'd["status"]') == scheduled ]] || fail "batch line 5's delay"
runs_before=$("$SF" runs --json | wc -l)
printf '{"input": 1}\n{"input": 2, "colour": "red"}\n' >"$dir/bad.jsonl"
expect_usage "--batch '$dir/bad.jsonl' line 2: unknown member 'colour'" "$SF" submit echo --batch "$dir/bad.jsonl"
expect_usage "--batch takes every run from its file: not with --input" "$SF" submit echo --batch "$dir/bad.jsonl" --input 1
printf '{"input": 5}\n' | "$SF" submit echo --batch - >/dev/null 2>&1 || fail "submit --batch - (stdin)"
[[ $("$SF" runs --json | wc -l) -eq $((runs_before + 1)) ]] || fail "a malformed --batch file submitted runs"
echo "ok: submit --batch submits one run per line, names refused lines, and a malformed file submits nothing"
