#!/usr/bin/env python3
"""The run explorer at scale (issue 17, item 5): data generator and load client.

Used by bench/run_explorer_scale.sh; two subcommands:

  gen      writes, as RESP on stdout (for `redis-cli --pipe`), N retained runs
           in the layout the engine writes (one partition, key prefix "sf"):
           run hashes as submit.lua / complete.lua / dead_letter.lua /
           cancel.lua leave them, the run indexes (ix:runs, ix:wf:<wf>,
           ix:st:<group> for the live, failed and cancelled runs -- a
           completed run is in no status index since schema 3 --,
           ix:meta:<key>:<sha1(value)>), the retention
           ('expire' members of sf:{P}:retention + the hash's PEXPIREAT,
           retention + 1 h), the
           dead-letter stream entry of every failed run, the queue stream token
           of every live run and the partition's counters (the stream's
           consumer group and the config key are the caller's). A summary
           (counts, key names) goes to --summary.
  measure  times GET /v1/runs pages and GET /metrics against a running
           `steadfast serve` (one keep-alive connection, time.perf_counter per
           request), with SLOWLOG and INFO commandstats read from the Redis,
           and prints a table and one JSON line.

Only the Python 3 standard library.
"""
import argparse
import hashlib
import http.client
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
WORKFLOWS = ["orders", "emails", "reports"]
REGIONS = ["eu", "us-east", "us-west", "apac", "sa"]
CUSTOMERS = 1000
RETENTION_MS = 168 * 3600 * 1000  # the workers' default --retention
GRACE_MS = 3600 * 1000            # lib.lua sf_expiry_grace_ms
PART = "sf:{0}:"
GROUP = "steadfast"
QUEUE = "default"
WORKER = "worker-1"


def customer(i):
    return "cust-%04d" % i


def sha1hex(s):
    return hashlib.sha1(s.encode()).hexdigest()


def ulid(ms, rnd):
    """26 chars: 10 of the ms time, 16 of 80 random bits (Crockford base32)."""
    t = []
    for _ in range(10):
        t.append(CROCKFORD[ms & 31])
        ms >>= 5
    r = []
    for _ in range(16):
        r.append(CROCKFORD[rnd & 31])
        rnd >>= 5
    return "".join(reversed(t)) + "".join(reversed(r))


def resp(args):
    out = ["*%d\r\n" % len(args)]
    for a in args:
        a = str(a)
        out.append("$%d\r\n%s\r\n" % (len(a), a))  # all ASCII: len == bytes
    return "".join(out)


class StreamIds:
    """Explicit, increasing stream entry ids '<ms>-<seq>' (XADD refuses a smaller one)."""

    def __init__(self):
        self.ms, self.seq = 0, -1

    def next(self, ms):
        if ms > self.ms:
            self.ms, self.seq = ms, 0
        else:
            self.seq += 1
        return "%d-%d" % (self.ms, self.seq)


def gen(args):
    rng = random.Random(args.seed)
    n = args.runs
    now = args.now_ms or int(time.time() * 1000)
    span = int(args.days * 86400 * 1000)
    created = sorted(rng.randrange(now - span, now - 1000) for _ in range(n))

    out = sys.stdout.buffer
    buf = []
    buffered = 0

    def emit(s):
        nonlocal buffered
        buf.append(s)
        buffered += 1
        if buffered >= 20000:
            flush()

    def flush():
        nonlocal buffered
        if buf:
            out.write("".join(buf).encode())
            buf.clear()
        buffered = 0

    ix_all = PART + "ix:runs"
    ix_wf = {w: PART + "ix:wf:" + w for w in WORKFLOWS}
    ix_st = {g: PART + "ix:st:" + g for g in ("live", "failed", "cancelled")}  # completed: none
    ix_cust = [PART + "ix:meta:customer:" + sha1hex(customer(i)) for i in range(CUSTOMERS)]
    ix_region = {r: PART + "ix:meta:region:" + sha1hex(r) for r in REGIONS}
    timers = PART + "retention"  # the retention ends' sorted set
    dlq = PART + "dlq"
    queue = PART + "q:" + QUEUE
    stats = PART + "stats"

    pending = {}  # index key -> members not yet written (ZADD of up to 1000 members)

    def zadd(key, member, score=0):
        lst = pending.setdefault(key, [])
        lst.append(score)
        lst.append(member)
        if len(lst) >= 2000:
            emit(resp(["ZADD", key] + lst))
            lst.clear()

    dlq_ids, queue_ids = StreamIds(), StreamIds()
    counts = {"completed": 0, "failed": 0, "live": 0, "cancelled": 0}
    per_wf = {w: {"submitted": 0, "completed": 0, "failed": 0} for w in WORKFLOWS}
    cust_counts = [0] * CUSTOMERS
    region_counts = {r: 0 for r in REGIONS}
    failed_eu = 0
    for i in range(n):
        t = created[i]
        rid = ulid(t, rng.getrandbits(80))
        wf = WORKFLOWS[rng.randrange(3)]
        c = rng.randrange(CUSTOMERS)
        region = REGIONS[rng.randrange(len(REGIONS))]
        u = rng.random()
        group = "completed" if u < 0.90 else "failed" if u < 0.95 else "live" if u < 0.99 else "cancelled"
        counts[group] += 1
        per_wf[wf]["submitted"] += 1
        cust_counts[c] += 1
        region_counts[region] += 1
        meta = '{"customer":"%s","region":"%s"}' % (customer(c), region)  # the engine's (sorted keys)
        inp = '{"order_id":%d,"amount":%d.%02d,"currency":"EUR"}' % (100000 + i, rng.randrange(1, 5000),
                                                                      rng.randrange(100))
        key = PART + "run:" + rid
        started = t + rng.randrange(1, 200)
        finished = started + rng.randrange(1, 50)
        fields = ["workflow", wf, "status", None, "input", inp, "created_at", t, "updated_at", None,
                  "step", "a", "queue", QUEUE, "entry", "", "base", "0", "steps", '["a"]',
                  "s.a.status", None, "metadata", meta]
        expire_at = None
        if group == "completed":
            fields[3], fields[9], fields[21] = "completed", finished, "completed"
            fields += ["s.a.attempts", "1", "s.a.started_at", started, "s.a.worker", WORKER,
                       "s.a.output", "{}", "s.a.finished_at", finished]
            per_wf[wf]["completed"] += 1
            expire_at = finished
        elif group == "failed":
            fields[3], fields[9], fields[21] = "failed", finished, "failed"
            err = "attempts exhausted (3 of 3): upstream returned 503"
            errors = json.dumps([{"started_at": started, "outcome": "failed", "attempt": 3,
                                  "failed_at": finished, "error": err, "worker": WORKER}],
                                separators=(",", ":"))
            did = dlq_ids.next(finished)
            fields += ["s.a.attempts", "3", "s.a.started_at", started, "s.a.worker", WORKER,
                       "s.a.errors", errors, "dlq_entry", did, "s.a.finished_at", finished,
                       "s.a.error", err]
            emit(resp(["XADD", dlq, did, "run", rid, "workflow", wf, "step", "a", "attempts", "3",
                       "error", err, "errors", errors, "at", finished]))
            per_wf[wf]["failed"] += 1
            if region == "eu":
                failed_eu += 1
        elif group == "live":  # queued: its token waits in the stream (submit.lua)
            eid = queue_ids.next(t)
            fields[3], fields[9], fields[21], fields[15] = "queued", t, "queued", eid
            emit(resp(["XADD", queue, eid, "r", rid, "s", "a", "a", "0"]))
        else:  # cancelled while queued (cancel.lua)
            fields[3], fields[9], fields[21] = "cancelled", started, "cancelled"
            fields += ["cancel", "1"]
            expire_at = started
        emit(resp(["HSET", key] + fields))
        if expire_at is not None:  # sf_retain
            emit(resp(["PEXPIREAT", key, expire_at + RETENTION_MS + GRACE_MS]))
            zadd(timers, rid + "\t\texpire", expire_at + RETENTION_MS)
        zadd(ix_all, rid)
        zadd(ix_wf[wf], rid)
        if group != "completed":  # complete.lua only leaves 'live' (store/run_index.h)
            zadd(ix_st[group], rid)
        zadd(ix_cust[c], rid)
        zadd(ix_region[region], rid)
    for key, lst in pending.items():
        if lst:
            emit(resp(["ZADD", key] + lst))
    hs = []
    for w, v in per_wf.items():
        hs += ["submitted:" + w, v["submitted"], "completed:" + w, v["completed"], "failed:" + w, v["failed"],
               "step_ms:%s:a:50" % w, v["completed"], "step_ms_sum:%s:a" % w, 25 * v["completed"]]
    emit(resp(["HSET", stats] + hs))
    flush()
    out.flush()
    index_keys = ([ix_all] + list(ix_wf.values()) + list(ix_st.values()) + ix_cust + list(ix_region.values()))
    summary = {"runs": n, "now_ms": now, "days": args.days, "seed": args.seed, "status_groups": counts,
               "workflows": WORKFLOWS, "regions": region_counts, "customers": CUSTOMERS,
               "runs_of_cust_0042": cust_counts[42], "failed_in_eu": failed_eu,
               "index_keys": index_keys, "other_keys": [timers, dlq, queue, stats]}
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f)


# ---------------------------------------------------------------- measure

class Redis:
    """A minimal RESP client (the measurement's own commands only)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def __call__(self, *args):
        self.s.sendall(resp(args).encode())
        return self._read()

    def _read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            try:
                return data.decode()
            except UnicodeDecodeError:
                return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


def info(r, section):
    out = {}
    for line in r("INFO", section).splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def cpu_times():
    """The machine's CPU jiffies (/proc/stat): busy, idle, steal."""
    try:
        f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (f + [0] * 8)[:8]
    return {"busy": user + nice + system + irq + softirq, "idle": idle + iowait, "steal": steal}


def pct(sorted_ms, p):
    return sorted_ms[max(0, math.ceil(p * len(sorted_ms)) - 1)]


def measure(args):
    summary = json.load(open(args.summary))
    host, port = args.api.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    r = Redis(args.redis_port)
    r("CLIENT", "SETNAME", "bench-measure")
    wf_cycle = summary["workflows"]

    def get(path):
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp_ = conn.getresponse()
        body = resp_.read()
        ms = (time.perf_counter() - t0) * 1000
        return ms, resp_.status, body

    # kind -> (request builder i -> path, row check)
    def q_newest(i):
        return "/v1/runs?limit=50"

    def q_wf(i):
        return "/v1/runs?limit=50&workflow=" + wf_cycle[i % len(wf_cycle)]

    def q_failed(i):
        return "/v1/runs?limit=50&status=failed"

    def q_completed(i):  # no status index: filters ix:runs
        return "/v1/runs?limit=50&status=completed"

    def q_cust(i):
        return "/v1/runs?limit=50&meta.customer=cust-0042"

    def q_failed_eu(i):
        return "/v1/runs?limit=50&status=failed&meta.region=eu"

    def q_metrics(i):
        return "/metrics"

    def q_budget(i):  # no run is 'running': the walk of ix:st:live ends at the 5,000 budget
        return "/v1/runs?limit=50&status=running"

    def ok_rows(kind, path, rows):
        for row in rows:
            if "workflow=" in path and row["workflow"] != path.rsplit("workflow=", 1)[1]:
                return False
            if "status=" in path and row["status"] != path.split("status=", 1)[1].split("&")[0]:
                return False
            if "meta.customer=" in path and row["metadata"].get("customer") != "cust-0042":
                return False
            if "meta.region=eu" in path and row["metadata"].get("region") != "eu":
                return False
        return True

    kinds = [
        ("newest", "GET /v1/runs?limit=50", q_newest, 50),
        ("workflow", "GET /v1/runs?limit=50&workflow=W (W cycles the 3 workflows)", q_wf, 50),
        ("status_failed", "GET /v1/runs?limit=50&status=failed", q_failed, 50),
        ("status_completed", "GET /v1/runs?limit=50&status=completed (no status index: filters ix:runs)",
         q_completed, 50),
        ("meta_customer", "GET /v1/runs?limit=50&meta.customer=cust-0042", q_cust,
         min(50, summary["runs_of_cust_0042"])),
        ("failed_eu", "GET /v1/runs?limit=50&status=failed&meta.region=eu", q_failed_eu,
         min(50, summary["failed_in_eu"])),
        ("deep", "GET /v1/runs?limit=50&cursor=<next_cursor>, pages 1-20 in turn", None, 50),
        ("metrics", "GET /metrics", q_metrics, None),
    ]
    if args.budget_requests > 0:
        kinds.append(("budget_exhausted", "GET /v1/runs?limit=50&status=running (no run matches: walks ix:st:live to the 5,000 budget)",
                      q_budget, 0))

    samples = {k[0]: [] for k in kinds}
    rows = {k[0]: [] for k in kinds}
    problems = []
    deep_state = {"cursor": None, "page": 0, "last_id": None}
    deep_by_page = {}

    def one(kind, builder, expect, i, record):
        if kind == "deep":
            st = deep_state
            path = "/v1/runs?limit=50" + ("&cursor=" + st["cursor"] if st["cursor"] else "")
        else:
            path = builder(i)
        ms, status, body = get(path)
        if status != 200:
            problems.append("%s: HTTP %d %s" % (path, status, body[:200]))
            return
        if kind != "metrics":
            doc = json.loads(body)
            n = len(doc["runs"])
            if expect is not None and n != expect:
                problems.append("%s: %d rows (expected %d)" % (path, n, expect))
            if not ok_rows(kind, path, doc["runs"]):
                problems.append("%s: a row does not match the filter" % path)
            ids = [row["id"] for row in doc["runs"]]
            if ids != sorted(ids, reverse=True):
                problems.append("%s: rows not newest first" % path)
            if kind == "deep":
                st = deep_state
                if st["last_id"] is not None and ids and ids[0] >= st["last_id"]:
                    problems.append("deep page %d repeats or skips back" % (st["page"] + 1))
                st["page"] += 1
                if record:
                    deep_by_page.setdefault(st["page"], []).append(ms)
                if st["page"] >= 20 or not doc["next_cursor"]:
                    st.update(cursor=None, page=0, last_id=None)
                else:
                    st.update(cursor=doc["next_cursor"], last_id=ids[-1] if ids else st["last_id"])
            if record:
                rows[kind].append(n)
        if record:
            samples[kind].append(ms)

    # Warm-up (not recorded): connections, script cache, CPU caches.
    for i in range(args.warmup):
        for kind, _, builder, expect in kinds:
            one(kind, builder, expect, i, False)
    deep_state.update(cursor=None, page=0, last_id=None)

    r("CONFIG", "SET", "slowlog-log-slower-than", "1000")
    r("CONFIG", "SET", "slowlog-max-len", "1024")
    r("SLOWLOG", "RESET")
    calls_before = info(r, "commandstats")
    cpu0 = cpu_times()
    t0 = time.perf_counter()
    # Interleaved: one request of every kind per round, so that a slow moment
    # of the shared machine lands on all kinds alike.
    for i in range(args.requests):
        for kind, _, builder, expect in kinds:
            if kind == "budget_exhausted" and i >= args.budget_requests:
                continue
            one(kind, builder, expect, i, True)
    wall = time.perf_counter() - t0
    cpu1 = cpu_times()
    machine = {"cpus": os.cpu_count(), "loadavg_1m_after": round(os.getloadavg()[0], 2)}
    if cpu0 and cpu1:
        d = {k: cpu1[k] - cpu0[k] for k in cpu0}
        total = sum(d.values()) or 1
        machine.update(busy_pct=round(100 * d["busy"] / total, 1), steal_pct=round(100 * d["steal"] / total, 1))
    slow = r("SLOWLOG", "GET", "1024")
    cmdstats = info(r, "commandstats")

    # Redis side: which commands served the measurement, any scan/keys.
    def parse_cmdstats(d):
        out = {}
        for k, v in d.items():
            if k.startswith("cmdstat_"):
                f = dict(x.split("=") for x in v.split(","))
                out[k[8:]] = {"calls": int(f["calls"]), "usec": int(f["usec"])}
        return out

    before, after = parse_cmdstats(calls_before), parse_cmdstats(cmdstats)
    during = {}
    for name, v in after.items():
        b = before.get(name, {"calls": 0, "usec": 0})
        if v["calls"] - b["calls"] > 0:
            during[name] = {"calls": v["calls"] - b["calls"], "usec": v["usec"] - b["usec"]}
    # Ours: CONFIG/SLOWLOG/INFO/CLIENT of this client; everything else is serve's.
    scanning = {k: v for k, v in after.items() if k.split("|")[0] in ("scan", "keys", "sscan", "hscan", "zscan")}

    slow_entries = []
    for e in slow:
        argv = [a if isinstance(a, str) else repr(a) for a in e[3]]
        client_name = e[5] if len(e) > 5 else ""
        slow_entries.append({"us": e[2], "command": " ".join(argv[:3])[:120], "args": len(argv),
                             "client": client_name})
    from_paths = [s for s in slow_entries if s["client"] != "bench-measure" and s["us"] > 1000]

    # The gauges of one scrape (not timed): what /metrics reports of this data.
    _, _, body = get("/metrics")
    gauges = {}
    for line in body.decode().splitlines():
        if line.startswith(("steadfast_delayed_runs", "steadfast_dead_letter", "steadfast_queue_")):
            name, _, value = line.rpartition(" ")
            gauges[name] = float(value)

    # Controls for the SLOWLOG: is a slow entry the command or the machine?
    # (1) the same number of HMGETs of random run hashes, pipelined 100 at a
    # time from this client, no serve involved; (2) redis-cli
    # --intrinsic-latency: how long a busy process on this machine is stalled.
    control = {}
    n_hmget = during.get("hmget", {}).get("calls", 0)
    if args.control and n_hmget:
        ids = r("ZRANDMEMBER", "sf:{0}:ix:runs", "10000")
        r("SLOWLOG", "RESET")
        sent = 0
        while sent < n_hmget:
            batch = []
            for _ in range(min(100, n_hmget - sent)):
                batch.append(resp(["HMGET", "sf:{0}:run:" + ids[sent % len(ids)], "workflow", "status",
                                   "created_at", "updated_at", "metadata"]))
                sent += 1
            r.s.sendall("".join(batch).encode())
            for _ in batch:
                r._read()
        ctl = [e[2] for e in r("SLOWLOG", "GET", "1024") if e[3] and str(e[3][0]).upper() == "HMGET"]
        control["hmget_alone"] = {"calls": sent, "slowlog_over_1ms": sum(1 for us in ctl if us > 1000),
                                  "max_us": max(ctl) if ctl else None}
        try:
            out = subprocess.run(["redis-cli", "--intrinsic-latency", str(args.intrinsic_seconds)],
                                 capture_output=True, text=True, timeout=args.intrinsic_seconds + 30).stdout
            m_ = re.findall(r"Max latency so far: (\d+) microseconds", out)
            control["intrinsic_latency_max_us"] = int(m_[-1]) if m_ else None
            control["intrinsic_latency_seconds"] = args.intrinsic_seconds
        except (OSError, subprocess.TimeoutExpired):
            control["intrinsic_latency_max_us"] = None

    # Memory: the indexes (MEMORY USAGE, every element), the other keys, a sample of run hashes.
    def usage(key):
        v = r("MEMORY", "USAGE", key, "SAMPLES", "0")
        return v or 0

    ix_bytes = sum(usage(k) for k in summary["index_keys"])
    other = {k: usage(k) for k in summary["other_keys"]}
    sample_ids = r("ZRANDMEMBER", "sf:{0}:ix:runs", "2000") or []
    hash_sizes = sorted(usage("sf:{0}:run:" + i) for i in sample_ids)
    mem = info(r, "memory")
    stats = info(r, "stats")
    keyspace = info(r, "keyspace")

    res = {"kinds": {}}
    for kind, label, _, _ in kinds:
        s = sorted(samples[kind])
        if not s:
            continue
        res["kinds"][kind] = {"label": label, "n": len(s), "p50_ms": round(pct(s, 0.50), 2),
                              "p99_ms": round(pct(s, 0.99), 2), "max_ms": round(s[-1], 2),
                              "mean_ms": round(sum(s) / len(s), 2),
                              "rows_mean": round(sum(rows[kind]) / len(rows[kind]), 1) if rows[kind] else None}
    deep_pages = {p: round(pct(sorted(v), 0.50), 2) for p, v in sorted(deep_by_page.items())}
    list_kinds = [k for k in ("newest", "workflow", "status_failed", "status_completed", "meta_customer",
                              "failed_eu", "deep")
                  if k in res["kinds"]]
    worst_list_p99 = max(res["kinds"][k]["p99_ms"] for k in list_kinds)
    load = json.load(open(args.load_info)) if args.load_info else {}
    runs = summary["runs"]
    used_before = load.get("used_memory_before")
    used_after_load = load.get("used_memory_after_load")
    result = {
        "bench": "run_explorer_scale",
        "runs": runs,
        "status_groups": summary["status_groups"],
        "load_s": load.get("load_s"),
        "schema_version": load.get("schema_version"),
        "steadfast": args.steadfast_version,
        "redis": info(r, "server").get("redis_version"),
        "requests_per_kind": args.requests,
        "measure_wall_s": round(wall, 1),
        "machine_during_measure": machine,
        "kinds": res["kinds"],
        "deep_p50_ms_by_page": deep_pages,
        "targets": {
            "list_p99_le_50ms": worst_list_p99 <= 50,
            "list_worst_p99_ms": worst_list_p99,
            "metrics_le_10ms": res["kinds"]["metrics"]["p99_ms"] <= 10,
            "metrics_p99_ms": res["kinds"]["metrics"]["p99_ms"],
            "metrics_max_ms": res["kinds"]["metrics"]["max_ms"],
            "slowlog_no_command_over_1ms": not from_paths,
        },
        "slowlog": {"entries": len(slow_entries), "over_1ms_from_paths": len(from_paths),
                    "top": sorted(slow_entries, key=lambda s: -s["us"])[:20]},
        "slowlog_controls": control,
        "metrics_gauges": gauges,
        "redis_calls_during_measure": during,
        "scan_or_keys_calls_since_load": {k: v["calls"] for k, v in scanning.items()},
        "memory": {
            "used_memory_before_load": used_before,
            "used_memory_after_load": used_after_load,
            "used_memory_now": int(mem["used_memory"]),
            "bytes_per_run": round((used_after_load - used_before) / runs, 1) if used_before else None,
            "index_bytes": ix_bytes,
            "index_bytes_per_run": round(ix_bytes / runs, 1),
            "index_keys": len(summary["index_keys"]),
            "other_keys_bytes": other,
            "run_hash_bytes_sample": {"n": len(hash_sizes), "p50": pct(hash_sizes, 0.5) if hash_sizes else None,
                                      "mean": round(sum(hash_sizes) / len(hash_sizes), 1) if hash_sizes else None},
        },
        "expired_keys": int(stats.get("expired_keys", 0)),
        "keyspace": keyspace.get("db0"),
        "problems": problems[:20],
        "problem_count": len(problems),
    }

    # ---- human table
    p = print
    p("")
    p("run explorer at scale: %d runs (%s), %d requests per kind, interleaved, one keep-alive connection"
      % (runs, ", ".join("%s %d" % kv for kv in summary["status_groups"].items()), args.requests))
    p("")
    p("| request | n | p50 ms | p99 ms | max ms | rows |")
    p("|---|---:|---:|---:|---:|---:|")
    for kind, label, _, _ in kinds:
        k = res["kinds"].get(kind)
        if k:
            p("| `%s` | %d | %.2f | %.2f | %.2f | %s |" % (label, k["n"], k["p50_ms"], k["p99_ms"], k["max_ms"],
                                                       "" if k["rows_mean"] is None else k["rows_mean"]))
    p("")
    p("machine during the measurement: %s" % ", ".join("%s %s" % kv for kv in machine.items()))
    p("deep walk, p50 ms by page: " + " ".join("%d:%.1f" % kv for kv in deep_pages.items()))
    t = result["targets"]
    p("")
    p("targets: list page p99 <= 50 ms: %s (worst %.2f ms); /metrics <= 10 ms: %s (p99 %.2f, max %.2f ms); "
      "SLOWLOG none > 1 ms: %s" % ("MET" if t["list_p99_le_50ms"] else "MISSED", worst_list_p99,
                                   "MET" if t["metrics_le_10ms"] else "MISSED", t["metrics_p99_ms"],
                                   t["metrics_max_ms"], "MET" if t["slowlog_no_command_over_1ms"] else "MISSED"))
    p("SLOWLOG (> 1 ms, during the measurement): %d entr%s" % (len(slow_entries),
                                                               "y" if len(slow_entries) == 1 else "ies"))
    for s in result["slowlog"]["top"]:
        p("  %8d us  %s (%d args) [%s]" % (s["us"], s["command"], s["args"], s["client"] or "-"))
    if control:
        h = control.get("hmget_alone", {})
        p("controls: the same %d HMGETs from this client alone: %d over 1 ms in SLOWLOG (max %s us); "
          "redis-cli --intrinsic-latency %ds: max %s us"
          % (h.get("calls", 0), h.get("slowlog_over_1ms", 0), h.get("max_us"), args.intrinsic_seconds,
             control.get("intrinsic_latency_max_us")))
    p("Redis commands during the measurement (calls, usec/call):")
    for name, v in sorted(during.items(), key=lambda kv: -kv[1]["calls"]):
        p("  %-22s %9d  %7.2f" % (name, v["calls"], v["usec"] / v["calls"]))
    p("SCAN/KEYS calls since the load: %s" % (result["scan_or_keys_calls_since_load"] or "none"))
    m = result["memory"]
    if used_before:
        p("memory: %.1f MB before the load, %.1f MB after (%.0f bytes per run); indexes %.1f MB "
          "(%d keys, %.1f bytes per run); run hash (sample of %d) mean %s bytes"
          % (used_before / 1e6, used_after_load / 1e6, m["bytes_per_run"], ix_bytes / 1e6, m["index_keys"],
             m["index_bytes_per_run"], m["run_hash_bytes_sample"]["n"], m["run_hash_bytes_sample"]["mean"]))
    p("/metrics gauges: " + ", ".join("%s %g" % kv for kv in gauges.items()))
    p("other keys (bytes): " + ", ".join("%s %d" % kv for kv in other.items()))
    if problems:
        p("PROBLEMS (%d): %s" % (len(problems), "; ".join(problems[:5])))
    p("")
    p(json.dumps(result, separators=(",", ":")))
    if args.json_out:
        with open(args.json_out, "a") as f:
            f.write(json.dumps(result, separators=(",", ":")) + "\n")
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="RESP for redis-cli --pipe on stdout")
    g.add_argument("--runs", type=int, default=1_000_000)
    g.add_argument("--seed", type=int, default=17)
    g.add_argument("--days", type=float, default=7.0, help="created times spread over the last DAYS")
    g.add_argument("--now-ms", type=int, default=0)
    g.add_argument("--summary", help="write the counts and key names (JSON) here")
    m = sub.add_parser("measure", help="time the requests against a running serve")
    m.add_argument("--api", required=True, help="HOST:PORT of steadfast serve")
    m.add_argument("--redis-port", type=int, required=True)
    m.add_argument("--summary", required=True, help="the summary gen wrote")
    m.add_argument("--load-info", help="JSON: used_memory_before, used_memory_after_load, load_s")
    m.add_argument("--requests", type=int, default=500)
    m.add_argument("--budget-requests", type=int, default=100,
                   help="requests of the no-match kind (status=running; 0 = none)")
    m.add_argument("--warmup", type=int, default=20)
    m.add_argument("--no-control", dest="control", action="store_false",
                   help="skip the SLOWLOG controls (HMGETs alone, redis-cli --intrinsic-latency)")
    m.add_argument("--intrinsic-seconds", type=int, default=10)
    m.add_argument("--steadfast-version", default="")
    m.add_argument("--json-out", help="append the JSON line to this file")
    args = ap.parse_args()
    if args.cmd == "gen":
        gen(args)
        return 0
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
