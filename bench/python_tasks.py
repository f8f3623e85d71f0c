#!/usr/bin/python3
"""External workers (issue 21): no-op `task` steps run by ONE Python worker
process against the same step as an `exec` step running a Python script.

What it measures, in one run, on processes of its own:

* a private `redis-server` (free loopback port, `--save "" --appendonly no`,
  its own temp dir), a `steadfast serve` (free loopback port) and a C++
  `steadfast worker --concurrency C` (default 8) on one workflows file with
  two one-step workflows:
    - `task-noop`: `{kind: task, queue: py, with: {task: noop}}`, carried out
      by one Python `steadfast.Worker(url, queues=["py"], concurrency=8)`
      process whose handler returns `{}` (the library is used as it is:
      nothing is wrapped or patched);
    - `exec-noop`: `{kind: exec}` running `/usr/bin/python3 -c` a script that
      reads the step context JSON from stdin and prints `{}` (the exec
      contract of README, "http and exec steps"), run by the C++ worker.
* rounds, alternating task, exec, task, exec, ... (`--rounds`, default 3),
  after a small warm-up of each: N runs submitted at once
  (`POST /v1/workflows/{wf}/runs:batch`, 1,000 per request, one keep-alive
  connection per round), then the workflow's `completed:<wf>` counter read straight
  from Redis (`HGET sf:{0}:stats`, every 5 ms: nothing asks serve) until all
  N completed. runs/s = N / (first submit -> the poll that saw the last
  completion). The ratio task/exec is given per round (the task round and the
  exec round next to it) and over all rounds.
* per round, from before/after snapshots: CPU seconds (utime + stime of
  /proc/<pid>/stat) of the Python worker, serve, the C++ worker and its exec
  programs (cutime + cstime of the worker: the reaped children), Redis
  (/proc/<pid>/stat of redis-server), the bench itself, and the machine's
  busy share (/proc/stat); Redis commands per run (`INFO commandstats`
  difference, the bench's own polling subtracted).
* for the task rounds, from serve's `GET /metrics` before and after:
  `steadfast_http_requests_total` per `/v1/worker/*` route, divided by the
  tasks (round trips per task), steps per claim (completes / claims), and
  the server-side time of claims and completes
  (`steadfast_http_request_duration_seconds`: median from the buckets, mean
  of completes; a claim's time includes its long-poll wait); answers
  other than 2xx, per route and code.
* at the end, what two parts of a task cost in a Python process: a thread
  started and joined (what the Worker paid per step before its handler
  pool) and one POST
  through the Worker's own transport that serve answers without Redis (an
  empty heartbeat): client CPU, serve CPU and wall time per request.

Run it from the repository root (standard library only):

    /usr/bin/python3 bench/python_tasks.py                    # 3 rounds, 15-25 s
    /usr/bin/python3 bench/python_tasks.py --rounds 5 --task-runs 5000 --exec-runs 300
    /usr/bin/python3 bench/python_tasks.py --py-concurrency 32   # the Python worker's concurrency

Options: --rounds R (3), --task-runs N (2000), --exec-runs N (200),
--warmup-task N (100) and --warmup-exec N (16) runs before the rounds, not
counted, --concurrency C (the C++ worker's, 8), --py-concurrency C (the
Python worker's, 8), --py-workers N (1; more only to see whether one process
is the bound), --steadfast PATH (default build/steadfast; nothing is built),
--redis-server PATH (default: redis-server on PATH, else /usr/bin or
/usr/sbin), --python PATH (the exec step's and the Python worker's
interpreter, /usr/bin/python3), --no-micro, --json-out FILE (appends the JSON
line), --keep (leave the temp dir with the logs). It prints a table and one
JSON line. Every process it starts is stopped by its PID at the end, whatever
happens (and gets SIGTERM from the kernel if the bench itself is killed); it
checks that the Redis and the serve on its ports are the ones it started.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
STATS_KEY = "sf:{0}:stats"   # one partition, key prefix "sf" (the defaults)
WORKERS_KEY = "sf:{sf}:workers"
BATCH = 1000                 # runs per runs:batch request (the API's bound)
POLL = 0.005                 # seconds between reads of the completed counter

WORKFLOWS = """\
workflows:
  task-noop:
    steps:
      - name: noop
        kind: task
        queue: py
        with: {{task: noop}}
  exec-noop:
    steps:
      - name: noop
        kind: exec
        with:
          command: [{python}, -c, "import json, sys; json.load(sys.stdin); print('{{}}')"]
"""

PY_WORKER = """\
import logging, sys
from steadfast import Worker

logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
url, worker_id, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
worker = Worker(url, queues=["py"], concurrency=concurrency, worker_id=worker_id)


@worker.task("noop")
def noop(ctx):
    return {}


worker.run()  # until SIGTERM
"""


# ------------------------------------------------------------------ helpers


class Stop(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_redis_server(given: str | None) -> str:
    for candidate in ([given] if given else [shutil.which("redis-server"), "/usr/bin/redis-server",
                                             "/usr/sbin/redis-server"]):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise Stop(f"no redis-server found ({given or 'PATH, /usr/bin, /usr/sbin'})")


class Redis:
    """A minimal RESP2 client (one connection, one command at a time)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def close(self) -> None:
        self.f.close()
        self.sock.close()

    def __call__(self, *args: str | int) -> object:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return self._read()

    def _read(self) -> object:
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError(f"redis: unexpected reply {line!r}")


def info(r: Redis, section: str) -> dict[str, str]:
    out = {}
    for line in str(r("INFO", section)).splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def commandstats(r: Redis) -> dict[str, int]:
    calls = {}
    for k, v in info(r, "commandstats").items():
        m = re.search(r"(?:^|,)calls=(\d+)", v)
        if k.startswith("cmdstat_") and m:
            calls[k[len("cmdstat_"):]] = int(m.group(1))
    return calls


def proc_cpu(pid: int) -> tuple[float, float]:
    """(own utime+stime, reaped children's cutime+cstime) in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the ")": fields[0] is field 3 (state); utime is field 14
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


_CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def machine_cpu() -> dict[str, int]:
    """Jiffies of all CPUs by /proc/stat's first line (user .. steal)."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:9]]
    return dict(zip(_CPU_FIELDS, vals + [0] * (8 - len(vals))))


def get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


_SAMPLE = re.compile(r'^(\w+)\{([^}]*)\} (\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics(port: int) -> dict:
    """serve's per-route request counters and duration histograms."""
    status, body = get(port, "/metrics")
    if status != 200:
        raise Stop(f"GET /metrics answered {status}")
    requests: dict[str, float] = {}
    errors: dict[str, float] = {}   # "route code" -> count, for answers that are not 2xx
    buckets: dict[str, dict[float, float]] = {}
    dsum: dict[str, float] = {}
    dcount: dict[str, float] = {}
    for line in body.decode().splitlines():
        m = _SAMPLE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), dict(_LABEL.findall(m.group(2))), float(m.group(3))
        route = labels.get("route")
        if route is None:
            continue
        if name == "steadfast_http_requests_total":
            requests[route] = requests.get(route, 0) + value
            if not labels.get("code", "200").startswith("2"):
                key = f"{route} {labels.get('code')}"
                errors[key] = errors.get(key, 0) + value
        elif name == "steadfast_http_request_duration_seconds_bucket":
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            buckets.setdefault(route, {})[le] = value
        elif name == "steadfast_http_request_duration_seconds_sum":
            dsum[route] = value
        elif name == "steadfast_http_request_duration_seconds_count":
            dcount[route] = value
    return {"requests": requests, "errors": errors, "buckets": buckets, "sum": dsum, "count": dcount}


def quantile_from_buckets(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """The q-quantile (seconds) of the observations between two scrapes of a
    cumulative histogram, linearly interpolated within its bucket."""
    les = sorted(after)
    cum = [after[le] - before.get(le, 0) for le in les]
    total = cum[-1] if cum else 0
    if total <= 0:
        return None
    target = q * total
    lo_le, lo_cum = 0.0, 0.0
    for le, c in zip(les, cum):
        if c >= target:
            if le == float("inf"):
                return lo_le
            return lo_le + (le - lo_le) * ((target - lo_cum) / (c - lo_cum) if c > lo_cum else 0)
        lo_le, lo_cum = le, c
    return lo_le


def rng(values: list[float], fmt: str = "{:,.0f}") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the bench dies, even by SIGKILL
    (prctl PR_SET_PDEATHSIG), so that nothing it started outlives it."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------- bench


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.logs: list = []
        self.tmp = tempfile.mkdtemp(prefix="sf-python-tasks-")
        self.redis: Redis | None = None
        self.http: http.client.HTTPConnection | None = None

    # processes -----------------------------------------------------

    def start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        self.logs.append(log)
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                             cwd=self.tmp, preexec_fn=_die_with_parent)
        self.procs.append((name, p))
        return p

    def check_alive(self) -> None:
        for name, p in self.procs:
            if p.poll() is not None:
                raise Stop(f"{name} (pid {p.pid}) exited with {p.returncode}; see {self.tmp}/{name}.log")

    def stop_all(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.redis is not None:
            try:
                self.redis.close()
            except OSError:
                pass
        # the Python worker and the C++ worker first, then serve, then Redis
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)   # this PID only
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    print(f"{name} (pid {p.pid}) did not stop in 15 s: SIGKILL", file=sys.stderr)
                    p.kill()
                    p.wait()
        for log in self.logs:
            log.close()
        if self.args.keep:
            print(f"logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def wait_for(self, what: str, check, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if check():
                    return
            except (OSError, ConnectionError, http.client.HTTPException, RuntimeError):
                pass
            time.sleep(0.05)
        raise Stop(f"timed out waiting for {what} (logs in {self.tmp})")

    def setup(self) -> None:
        a = self.args
        redis_bin = os.path.abspath(find_redis_server(a.redis_server))
        a.steadfast = os.path.abspath(a.steadfast)  # the children run in the temp dir
        if os.sep in a.python:
            a.python = os.path.abspath(a.python)
        if not os.access(a.steadfast, os.X_OK):
            raise Stop(f"{a.steadfast} is not an executable (this bench builds nothing)")
        wf = os.path.join(self.tmp, "workflows.yaml")
        with open(wf, "w") as f:
            f.write(WORKFLOWS.format(python=a.python))
        script = os.path.join(self.tmp, "py_worker.py")
        with open(script, "w") as f:
            f.write(PY_WORKER)

        self.redis_port = free_port()
        redis_proc = self.start("redis", [redis_bin, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                          "--save", "", "--appendonly", "no", "--dir", self.tmp])
        self.redis_pid = redis_proc.pid

        def redis_up() -> bool:
            r = Redis(self.redis_port)
            # the Redis on that port must be the one started here
            if int(info(r, "server").get("process_id", -1)) != redis_proc.pid:
                r.close()
                raise Stop(f"port {self.redis_port} answers for another redis-server; not ours")
            self.redis = r
            return True
        self.wait_for("redis-server", redis_up)
        self.redis_version = info(self.redis, "server").get("redis_version", "?")
        url = f"redis://127.0.0.1:{self.redis_port}"

        self.http_port = free_port()
        serve = self.start("serve", [a.steadfast, "serve", "--workflows", wf, "--redis", url,
                                     "--listen", f"127.0.0.1:{self.http_port}"])
        self.serve_pid = serve.pid
        serve_log = os.path.join(self.tmp, "serve.log")
        listening = f"listening on http://127.0.0.1:{self.http_port} "

        def serve_listening() -> bool:  # ours, not another server on the port
            with open(serve_log, errors="replace") as f:
                return listening in f.read()
        self.wait_for("serve to listen", serve_listening)
        self.wait_for("serve /readyz", lambda: get(self.http_port, "/readyz", 2)[0] == 200)

        worker_id = f"bench-exec-{os.getpid()}"
        worker = self.start("worker", [a.steadfast, "worker", "--workflows", wf, "--redis", url,
                                       "--concurrency", str(a.concurrency), "--id", worker_id])
        self.worker_pid = worker.pid
        self.wait_for("the C++ worker's registration", lambda: self.redis("HEXISTS", WORKERS_KEY, worker_id) == 1)

        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "clients", "python", "src") + (
            os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.py_pids = []
        for i in range(a.py_workers):
            py_id = f"bench-py-{os.getpid()}-{i}"
            py = self.start(f"py_worker{i}", [a.python, script, f"http://127.0.0.1:{self.http_port}", py_id,
                                              str(a.py_concurrency)], env=env)
            self.py_pids.append(py.pid)
            self.wait_for("the Python worker's first claim",
                          lambda: self.redis("HEXISTS", WORKERS_KEY, "remote:" + py_id) == 1)

    # one round -----------------------------------------------------

    def counter(self, wf: str) -> tuple[int, int]:
        done, failed = self.redis("HMGET", STATS_KEY, f"completed:{wf}", f"failed:{wf}")
        return int(done or 0), int(failed or 0)

    def connect(self) -> None:
        # a connection per round: serve closes one idle for --header-timeout (10 s)
        if self.http is not None:
            self.http.close()
        self.http = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=60)
        self.http.connect()
        self.http.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def submit(self, wf: str, n: int) -> None:
        left = n
        while left > 0:
            k = min(left, BATCH)
            body = json.dumps({"runs": [{"input": {}} for _ in range(k)]}).encode()
            self.http.request("POST", f"/v1/workflows/{wf}/runs:batch", body,
                              {"Content-Type": "application/json"})
            resp = self.http.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise Stop(f"runs:batch answered {resp.status}: {data[:300]!r}")
            created = json.loads(data).get("created")
            if created != k:
                raise Stop(f"runs:batch created {created} of {k}: {data[:300]!r}")
            left -= k

    def snapshot(self, with_metrics: bool) -> dict:
        s = {
            "py": sum(proc_cpu(pid)[0] for pid in self.py_pids),
            "serve": proc_cpu(self.serve_pid)[0],
            "worker": proc_cpu(self.worker_pid)[0],
            "exec_children": proc_cpu(self.worker_pid)[1],
            "redis": proc_cpu(self.redis_pid)[0],
            "bench": sum(os.times()[:2]),
            "machine": machine_cpu(),
            "cmds": commandstats(self.redis),
        }
        if with_metrics:
            s["metrics"] = metrics(self.http_port)
        return s

    def round(self, mode: str, n: int) -> dict:
        wf = f"{mode}-noop"
        self.check_alive()
        done0, failed0 = self.counter(wf)
        before = self.snapshot(with_metrics=(mode == "task"))
        self.connect()
        t0 = time.perf_counter()
        self.submit(wf, n)
        polls = 0
        deadline = time.monotonic() + max(60.0, n / 5)
        while True:
            done, failed = self.counter(wf)
            polls += 1
            if done - done0 >= n:
                t1 = time.perf_counter()
                break
            if failed > failed0:
                raise Stop(f"{failed - failed0} {wf} run(s) failed (see `steadfast dlq list`; logs in {self.tmp})")
            if time.monotonic() > deadline:
                raise Stop(f"{wf}: only {done - done0} of {n} runs completed in time")
            if polls % 200 == 0:
                self.check_alive()
            time.sleep(POLL)
        after = self.snapshot(with_metrics=(mode == "task"))
        secs = t1 - t0
        jiffies = {k: after["machine"][k] - before["machine"][k] for k in _CPU_FIELDS}
        total = sum(jiffies.values())
        busy = total - jiffies["idle"] - jiffies["iowait"]
        cmds = {k: after["cmds"].get(k, 0) - before["cmds"].get(k, 0) for k in after["cmds"]}
        # the bench's own: one HMGET per poll, the INFO of the first snapshot (and
        # the commands of serve's one /metrics scrape, a dozen: left in)
        cmds["hmget"] = cmds.get("hmget", 0) - polls
        cmds["info"] = cmds.get("info", 0) - 1
        cmds = {k: v for k, v in cmds.items() if v > 0}
        r = {
            "mode": mode, "runs": n, "seconds": secs, "runs_per_s": n / secs,
            "py_cpu_s": after["py"] - before["py"],
            "serve_cpu_s": after["serve"] - before["serve"],
            "worker_cpu_s": after["worker"] - before["worker"],
            "exec_children_cpu_s": after["exec_children"] - before["exec_children"],
            "redis_cpu_s": after["redis"] - before["redis"],
            "bench_cpu_s": after["bench"] - before["bench"],
            "machine_busy": busy / total if total else None,
            "machine_share": {k: v / total for k, v in jiffies.items()} if total else None,
            "redis_commands_per_run": sum(cmds.values()) / n,
            "redis_commands": cmds,
        }
        if mode == "task":
            mb, ma = before["metrics"], after["metrics"]
            routes = {}
            for route, v in ma["requests"].items():
                if route.startswith("/v1/worker/"):
                    routes[route] = v - mb["requests"].get(route, 0)
            for route in ("/v1/worker/claim", "/v1/worker/complete", "/v1/worker/heartbeat"):
                routes.setdefault(route, 0)
            r["requests"] = routes
            r["errors"] = {k: v - mb["errors"].get(k, 0) for k, v in ma["errors"].items()
                           if v - mb["errors"].get(k, 0) > 0}
            r["round_trips_per_task"] = {k: v / n for k, v in routes.items()}
            claims = routes.get("/v1/worker/claim", 0)
            r["steps_per_claim"] = routes.get("/v1/worker/complete", 0) / claims if claims else None
            # per worker process: a Worker has one claim in flight at a time
            r["ms_per_claim"] = 1000 * secs * self.args.py_workers / claims if claims else None
            cl, co = "/v1/worker/claim", "/v1/worker/complete"
            r["claim_p50_ms"] = _ms(quantile_from_buckets(mb["buckets"].get(cl, {}), ma["buckets"].get(cl, {}), 0.5))
            r["claim_p90_ms"] = _ms(quantile_from_buckets(mb["buckets"].get(cl, {}), ma["buckets"].get(cl, {}), 0.9))
            r["complete_p50_ms"] = _ms(quantile_from_buckets(mb["buckets"].get(co, {}), ma["buckets"].get(co, {}), 0.5))
            ncomp = ma["count"].get(co, 0) - mb["count"].get(co, 0)
            r["complete_mean_ms"] = 1000 * (ma["sum"].get(co, 0) - mb["sum"].get(co, 0)) / ncomp if ncomp else None
        return r


def micro(b: Bench, n: int = 2000) -> dict:
    """What two parts of a task cost in a Python process (this one; the
    worker runs the same interpreter by default), measured after the rounds:
    a thread started and joined (what the Worker paid per step before its
    handler pool), and one POST through the Worker's own transport (a
    kept-alive connection) of an empty heartbeat, which serve answers without
    Redis."""
    import threading
    sys.path.insert(0, os.path.join(ROOT, "clients", "python", "src"))
    from steadfast.worker import _Transport  # the Worker's transport, called as is

    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        t = threading.Thread(target=lambda: None, daemon=True)
        t.start()
        t.join()
    thread_cpu = (time.process_time() - c0) / n
    thread_wall = (time.perf_counter() - w0) / n

    tr = _Transport(f"http://127.0.0.1:{b.http_port}", None, None)
    body = json.dumps({"worker": "bench-micro", "tokens": []}).encode()
    for _ in range(100):
        tr.post("/v1/worker/heartbeat", body, 10)
    s0, c0, w0 = proc_cpu(b.serve_pid)[0], time.process_time(), time.perf_counter()
    for _ in range(n):
        reply = tr.post("/v1/worker/heartbeat", body, 10)
        if reply.status != 200:
            raise Stop(f"empty heartbeat answered {reply.status}")
    post_wall = (time.perf_counter() - w0) / n
    post_cpu = (time.process_time() - c0) / n
    serve_cpu = (proc_cpu(b.serve_pid)[0] - s0) / n
    tr.close()
    return {"thread_start_join_cpu_us": thread_cpu * 1e6, "thread_start_join_wall_us": thread_wall * 1e6,
            "post_client_cpu_us": post_cpu * 1e6, "post_wall_us": post_wall * 1e6,
            "post_serve_cpu_us": serve_cpu * 1e6, "python": sys.executable}


def _ms(s: float | None) -> float | None:
    return None if s is None else s * 1000


def report(b: Bench, rounds: list[tuple[dict, dict]], started: float) -> dict:
    a = b.args
    us = 1e6
    print()
    print(f"python_tasks: {a.rounds} round(s); task: {a.task_runs} runs, {a.py_workers} Python worker process"
          f"{'es' if a.py_workers > 1 else ''} (concurrency {a.py_concurrency} each); exec: {a.exec_runs} runs, 1 steadfast worker "
          f"(--concurrency {a.concurrency}); redis-server {b.redis_version}; {os.cpu_count()} CPUs; "
          f"load average at start {started:.2f}")
    print()
    hdr = ("round", "mode", "runs", "seconds", "runs/s", "task/exec", "py worker µs/task", "serve µs/run",
           "worker µs/step", "exec progs µs/step", "redis µs/run", "redis cmds/run", "machine busy")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for i, (t, e) in enumerate(rounds, 1):
        ratio = t["runs_per_s"] / e["runs_per_s"]
        for r in (t, e):
            cells = [str(i), r["mode"], f"{r['runs']:,}", f"{r['seconds']:.2f}", f"{r['runs_per_s']:,.0f}",
                     f"{ratio:.1f}×" if r is t else "",
                     f"{r['py_cpu_s'] / r['runs'] * us:,.0f}" if r["mode"] == "task" else "",
                     f"{r['serve_cpu_s'] / r['runs'] * us:,.0f}",
                     f"{r['worker_cpu_s'] / r['runs'] * us:,.0f}" if r["mode"] == "exec" else "",
                     f"{r['exec_children_cpu_s'] / r['runs'] * us:,.0f}" if r["mode"] == "exec" else "",
                     f"{r['redis_cpu_s'] / r['runs'] * us:,.0f}",
                     f"{r['redis_commands_per_run']:.1f}",
                     f"{100 * r['machine_busy']:.0f}%" if r["machine_busy"] is not None else "-"]
            print("| " + " | ".join(cells) + " |")
    tasks = [t for t, _ in rounds]
    execs = [e for _, e in rounds]
    ratios = [t["runs_per_s"] / e["runs_per_s"] for t, e in rounds]
    pooled = (sum(t["runs"] for t in tasks) / sum(t["seconds"] for t in tasks)) / (
        sum(e["runs"] for e in execs) / sum(e["seconds"] for e in execs))
    print()
    print(f"task runs/s {rng([t['runs_per_s'] for t in tasks])}; exec runs/s {rng([e['runs_per_s'] for e in execs])}; "
          f"task/exec per round {rng(ratios, '{:.1f}×')}, all rounds pooled {pooled:.1f}×; "
          f"goal ≥ 20×: {'met' if min(ratios) >= 20 else 'met in no round' if max(ratios) < 20 else 'met in some rounds'}")
    print(f"Python worker CPU per task {rng([t['py_cpu_s'] / t['runs'] * us for t in tasks])} µs "
          f"({rng([t['py_cpu_s'] / t['seconds'] for t in tasks], '{:.2f}')} of a CPU); "
          f"serve CPU per task {rng([t['serve_cpu_s'] / t['runs'] * us for t in tasks])} µs "
          f"({rng([t['serve_cpu_s'] / t['seconds'] for t in tasks], '{:.2f}')} of a CPU); "
          f"Redis {rng([t['redis_cpu_s'] / t['runs'] * us for t in tasks])} µs "
          f"({rng([t['redis_cpu_s'] / t['seconds'] for t in tasks], '{:.2f}')} of a CPU); "
          f"machine busy {rng([100 * t['machine_busy'] for t in tasks], '{:.0f}')}% of 2 CPUs in the task rounds")
    print()
    print("Round trips per task (serve's steadfast_http_requests_total, /v1/worker/*), per task round:")
    for route in sorted({k for t in tasks for k in t["requests"]}):
        vals = [t["round_trips_per_task"].get(route, 0) for t in tasks]
        counts = ", ".join(f"{int(t['requests'].get(route, 0)):,}" for t in tasks)
        print(f"  {route:24s} {rng(vals, '{:.3f}')}  ({counts} requests)")
    total_rt = [sum(t["round_trips_per_task"].values()) for t in tasks]
    print(f"  {'all':24s} {rng(total_rt, '{:.3f}')}")
    errors = [f"round {i}: " + ", ".join(f"{k} ×{int(v)}" for k, v in t["errors"].items())
              for i, t in enumerate(tasks, 1) if t["errors"]]
    print("  answers other than 2xx: " + ("; ".join(errors) if errors else "none"))
    print(f"Steps per claim (completes / claims): {rng([t['steps_per_claim'] for t in tasks], '{:.2f}')} "
          f"(a claim asks for at most the free slots, ≤ {a.py_concurrency}); one claim every "
          f"{rng([t['ms_per_claim'] for t in tasks], '{:.2f}')} ms per worker process (a Worker has one claim "
          f"in flight at a time)")
    print(f"Server-side time: claim p50 {rng([t['claim_p50_ms'] for t in tasks], '{:.2f}')} ms, "
          f"p90 {rng([t['claim_p90_ms'] for t in tasks], '{:.2f}')} ms (a claim's time includes its wait for steps); "
          f"complete p50 {rng([t['complete_p50_ms'] for t in tasks], '{:.2f}')} ms, "
          f"mean {rng([t['complete_mean_ms'] for t in tasks], '{:.2f}')} ms")
    top: dict[str, float] = {}
    for t in tasks:
        for k, v in t["redis_commands"].items():
            top[k] = top.get(k, 0) + v / t["runs"] / len(tasks)
    print("Redis commands per task (mean over the task rounds, Lua scripts' inner commands included): "
          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(top.items(), key=lambda kv: -kv[1]) if v >= 0.05))
    result = {
        "bench": "python_tasks", "rounds": [{"task": t, "exec": e} for t, e in rounds],
        "task_runs_per_s": [t["runs_per_s"] for t in tasks], "exec_runs_per_s": [e["runs_per_s"] for e in execs],
        "ratio_per_round": ratios, "ratio_pooled": pooled,
        "config": {"task_runs": a.task_runs, "exec_runs": a.exec_runs, "concurrency": a.concurrency,
                   "py_concurrency": a.py_concurrency, "py_workers": a.py_workers, "redis": b.redis_version, "load_avg_start": started},
    }
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--task-runs", type=int, default=2000)
    p.add_argument("--exec-runs", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=8, help="the C++ worker's (exec steps)")
    p.add_argument("--py-concurrency", type=int, default=8, help="the Python worker's (task steps)")
    p.add_argument("--py-workers", type=int, default=1,
                   help="Python worker processes (1; more only to see whether one process is the bound)")
    p.add_argument("--warmup-task", type=int, default=100)
    p.add_argument("--warmup-exec", type=int, default=16)
    p.add_argument("--steadfast", default=os.path.join(ROOT, "build", "steadfast"))
    p.add_argument("--redis-server")
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--no-micro", action="store_true", help="skip the thread / POST cost measurement at the end")
    p.add_argument("--json-out")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if min(args.rounds, args.task_runs, args.exec_runs, args.concurrency, args.py_concurrency, args.py_workers) < 1:
        p.error("--rounds, --task-runs, --exec-runs, --concurrency, --py-concurrency and --py-workers must be >= 1")

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    load = os.getloadavg()[0]
    b = Bench(args)
    try:
        b.setup()
        for mode, n in (("task", args.warmup_task), ("exec", args.warmup_exec)):
            if n > 0:
                b.round(mode, n)
        rounds = []
        for i in range(args.rounds):
            t = b.round("task", args.task_runs)
            print(f"round {i + 1}: task {t['runs_per_s']:,.0f} runs/s", end="", flush=True, file=sys.stderr)
            e = b.round("exec", args.exec_runs)
            print(f", exec {e['runs_per_s']:,.0f} runs/s", flush=True, file=sys.stderr)
            rounds.append((t, e))
        m = micro(b) if not args.no_micro else None
        result = report(b, rounds, load)
        if m is not None:
            print(f"Parts of a task in a Python process ({m['python']}, after the rounds, 2,000 each): a thread "
                  f"started and joined {m['thread_start_join_cpu_us']:.0f} µs CPU; one POST of the Worker's "
                  f"transport (an empty heartbeat, no Redis): {m['post_client_cpu_us']:.0f} µs client CPU, "
                  f"{m['post_serve_cpu_us']:.0f} µs serve CPU, {m['post_wall_us']:.0f} µs wall")
            result["micro"] = m
    except Stop as e:
        print(f"python_tasks: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("python_tasks: interrupted", file=sys.stderr)
        return 130
    finally:
        b.stop_all()
    line = json.dumps(result, separators=(",", ":"))
    print(line)
    if args.json_out:
        with open(args.json_out, "a") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
