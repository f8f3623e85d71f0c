#!/usr/bin/env bash
# Same-run ratios against BullMQ (issue 20): the BullMQ peer of
# ../shared/peers and `steadfast bench` measured on ONE private redis-server,
# one after the other, in one invocation, so that the ratio does not depend on
# how fast the (shared, 2-core) machine happens to be that day. Figures from
# another day are never divided by.
#
# Order: BullMQ w1 (no-op jobs), steadfast noop, BullMQ w2 (three-step
# FlowProducer chains), steadfast three-step; 2 worker processes each side.
# Appends one JSON line per measurement ("bullmq-noop", "noop-2w",
# "bullmq-three-step", "three-step-2w") and one "bullmq-ratios" line to the
# output file, then prints the ratios against the goals (no-op >= 3x,
# three-step >= 4x).
#
# Usage: scripts/bench_peers.sh [--quick] [--out FILE]
#   --quick      small runs (about 1 min; full size about 1.5 min; the first
#                run adds `npm ci`, ~10 s)
#   --out FILE   where to append the JSON lines (default: bench-results.jsonl)
# Environment: STEADFAST_BIN (default build/steadfast), PEERS_SRC (default
# ../shared/peers beside the repository), QUIET_WAIT (at most this many
# seconds of waiting for an otherwise idle machine before each measurement).
#
# Needs node + npm (BullMQ is installed by `npm ci` from the peers'
# package-lock into build/peers/), /usr/bin/python3 with python3-redis (the
# harness' interpreter), redis-server and redis-cli. scripts/bench.sh calls
# this script; `scripts/bench.sh --no-peers` skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
out=bench-results.jsonl
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    *) echo "bench_peers.sh: unknown argument '$1' (usage: [--quick] [--out FILE])" >&2; exit 2 ;;
  esac
  shift
done
bin=${STEADFAST_BIN:-build/steadfast}
src=${PEERS_SRC:-../shared/peers}
dest=build/peers
py=/usr/bin/python3  # the harness runs its job bodies with this interpreter, by path

die() { echo "bench_peers.sh: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is missing (BullMQ peer needs Node 20: apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm is missing (needed for 'npm ci' of the BullMQ peer: apt-get install npm)"
command -v redis-server >/dev/null || die "redis-server is missing (apt-get install redis-server)"
command -v redis-cli >/dev/null || die "redis-cli is missing (apt-get install redis-tools)"
[[ -x $py ]] || die "$py is missing (the peers' harness runs with Debian's python3)"
"$py" -c 'import redis' 2>/dev/null || die "$py has no 'redis' module (bash scripts/install-deps.sh installs python3-redis)"
[[ -x $bin ]] || die "$bin is missing (cmake --build build -j2 --target steadfast_cli)"
[[ -f $src/harness/bench.py && -f $src/bullmq/package-lock.json ]] ||
  die "the peers harness is not at $src (set PEERS_SRC=/path/to/shared/peers)"

# ../shared may be read-only and node_modules must not land there: work on a
# copy. The small sources are copied every time (so an edited harness is
# used); `npm ci` (slow, network) only runs when the lock file changed.
mkdir -p "$dest"
rm -rf "$dest/harness"
cp -R "$src/harness" "$dest/harness"
mkdir -p "$dest/bullmq"
for f in "$src"/bullmq/*; do
  [[ -f $f ]] && cp "$f" "$dest/bullmq/"
done
chmod -R u+w "$dest"  # copies of read-only files stay read-only otherwise
stamp=$dest/bullmq/.installed-package-lock.json
if [[ ! -d $dest/bullmq/node_modules/bullmq ]] || ! cmp -s "$dest/bullmq/package-lock.json" "$stamp"; then
  echo "bench_peers.sh: npm ci in $dest/bullmq" >&2
  (cd "$dest/bullmq" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in $dest/bullmq"
  cp "$dest/bullmq/package-lock.json" "$stamp"
fi

# One private redis-server for every measurement below. Below 55000: ports
# above are handed out as ephemeral ones (client sockets) on this machine.
port=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 55000)
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
PY
)
rdir=$(mktemp -d /tmp/steadfast-bench-peers-XXXXXX)
# The options of the bench's own private Redis (src/cli/bench_command.cpp).
redis-server --port "$port" --bind 127.0.0.1 --dir "$rdir" --save "" --appendonly no \
  --maxmemory-policy noeviction --daemonize no --logfile "$rdir/redis.log" &
redis_pid=$!
cleanup() {
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  rm -rf "$rdir"
}
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$port" ping >/dev/null 2>&1 || die "redis-server on port $port did not start: $(tail -5 "$rdir/redis.log")"
url="redis://127.0.0.1:$port/0"

if ((quick)); then
  n_w1=40000 n_w2=10000 sf_noop=80000 sf_three=30000 quiet=${QUIET_WAIT:-10}
else
  n_w1=100000 n_w2=20000 sf_noop=200000 sf_three=60000 quiet=${QUIET_WAIT:-30}
fi
run_id=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# BullMQ through the peers' harness (it FLUSHALLs this Redis first). A
# failed or unverified run (a job missing or run twice) stops the script:
# a ratio against it would mean nothing.
bullmq() {  # bullmq NAME w1|w2 N
  local line
  line=$(timeout -k 10 900 "$py" "$dest/harness/bench.py" bullmq "$2" -n "$3" --procs 2 \
           --redis-url "$url" --quiet-wait "$quiet" --timeout 600) || true
  [[ -n $line ]] || die "BullMQ $2 printed nothing (killed after 900 s?)"
  "$py" - "$1" "$run_id" "$line" <<'PY' | tee -a "$out"
import json, sys
name, run_id, line = sys.argv[1:]
d = json.loads(line)
if not d.get("ok"):
    sys.exit("bench_peers.sh: BullMQ %s failed: %s\n%s" % (d["workload"], d.get("errors"), d.get("worker_output_tail", "")))
d["peer_workload"], d["workload"], d["run_id"] = d["workload"], name, run_id
d["redis_cpu_us_per_job_drain"] = round(d["redis_cpu_drain_s"] * 1e6 / d["jobs_expected"], 2)
print(json.dumps(d))
PY
}

# steadfast on the same redis-server (its keys under a prefix of its own).
# It first waits for an idle machine exactly as the harness does for BullMQ
# (its own wait_quiet), so that neither side gets a quieter machine by rule.
steadfast() {  # steadfast NAME WORKLOAD RUNS
  local line quiet_state
  quiet_state=$("$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); from bench import wait_quiet
print(*wait_quiet(float(sys.argv[2])))' "$dest/harness" "$quiet")
  line=$("$bin" bench "$2" --workers 2 --runs "$3" --redis "$url") || die "steadfast bench $2 failed"
  "$py" - "$1" "$run_id" "$line" "$quiet_state" <<'PY' | tee -a "$out"
import json, os, sys
name, run_id, line, quiet_state = sys.argv[1:]
d = json.loads(line)
d["bench_workload"], d["workload"], d["run_id"] = d["workload"], name, run_id
waited, busy = quiet_state.split()
d["quiet_wait_s"], d["busy_cores_before"] = float(waited), float(busy)
d["loadavg_1m_after"] = os.getloadavg()[0]
print(json.dumps(d))
PY
}

bullmq bullmq-noop w1 "$n_w1"
steadfast noop-2w noop "$sf_noop"
bullmq bullmq-three-step w2 "$n_w2"
steadfast three-step-2w three-step "$sf_three"

"$py" - "$out" "$run_id" <<'PY' | tee -a "$out"
import json, sys
path, run_id = sys.argv[1:]
rows = {d["workload"]: d for d in map(json.loads, open(path)) if d.get("run_id") == run_id}
bn, sn = rows["bullmq-noop"], rows["noop-2w"]
bt, st = rows["bullmq-three-step"], rows["three-step-2w"]
print(json.dumps({
    "workload": "bullmq-ratios", "run_id": run_id,
    "noop_over_bullmq": round(sn["drain_per_s"] / bn["drain_per_s"], 2),
    "three_step_over_bullmq_flows": round(st["runs_per_s"] / bt["drain_per_s"], 2),
    "noop_goal": 3, "three_step_goal": 4,
    "bullmq_noisy": bool(bn.get("noisy") or bt.get("noisy")),
    # Cores busy with other processes just before each measurement, in order.
    "busy_cores_before": [d.get("busy_cores_before") for d in (bn, sn, bt, st)],
}))
# For a person reading the terminal (stderr: stdout stays JSON lines).
def rcpu(d): return d.get("redis_cpu_us_per_job_drain", d.get("redis_cpu_us_per_step"))
def cmds(d): return d.get("redis_cmds_per_job_drain", d.get("redis_commands_per_step"))
for what, b, s, mine, goal in (("no-op jobs/s", bn, sn, sn["drain_per_s"], 3),
                               ("three-step runs/s", bt, st, st["runs_per_s"], 4)):
    r = mine / b["drain_per_s"]
    print(f"{what}: steadfast {mine:.0f} vs BullMQ {b['drain_per_s']:.0f} = {r:.2f}x "
          f"(goal >= {goal}x: {'met' if r >= goal else 'NOT met'}); Redis CPU per job/step "
          f"{rcpu(s)} vs {rcpu(b)} us, commands {cmds(s)} vs {cmds(b)}", file=sys.stderr)
PY
