"""The worker protocol end to end (docs/worker-protocol.md): a private Redis,
a real `steadfast serve` and a C++ `steadfast worker` (for the noop steps),
and Python `Worker`s running as separate processes, which the tests kill,
stop and resume. Needs STEADFAST_BIN, the steadfast executable (ctest passes
it), and redis-server (REDIS_SERVER, else the one on PATH or in /usr/bin or
/usr/sbin).

Every Python handler appends one JSON line per event (`start`, `end`,
`saw_cancel`: run_id, attempt, pid, worker) to the test's execution log with
O_APPEND, so a test counts executions. Every wait is bounded; nothing sleeps
to prove that something did not happen: absence is asserted only once the
processes that could have done it have stopped."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.error
import urllib.request
from collections import Counter
from typing import Any, Callable

from steadfast import Client, SteadfastError, Worker

LEASE_MS = 1500
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))

WORKFLOWS = textwrap.dedent(f"""\
    workflows:
      chain:
        steps:
          - {{name: prep, kind: noop}}
          - name: summarize
            kind: task
            queue: py
            with: {{task: summarize}}
            lease: {LEASE_MS}ms
            retry: {{max_attempts: 5}}
          - {{name: done, kind: noop}}
      hand:
        steps:
          - {{name: prep, kind: noop}}
          - name: manual
            kind: task
            queue: hand
            with: {{task: manual}}
            lease: {LEASE_MS}ms
            retry: {{max_attempts: 5}}
          - {{name: done, kind: noop}}
      timed:
        steps:
          - name: slow
            kind: task
            queue: timed
            with: {{task: slow}}
            timeout: 1s
            lease: 10s
            retry: {{max_attempts: 2, backoff: {{initial: 100ms}}}}
    """)

# The Python worker process: argv = url, token ("" for none), worker id,
# concurrency, execution log, flag folder. The run's input decides what the
# handler does ("mode"); its output names the attempt and the process.
WORKER_SCRIPT = textwrap.dedent("""\
    import json, logging, os, sys, time
    from steadfast import Worker

    url, token, worker_id, concurrency, log_path, flags = sys.argv[1:7]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def record(ctx, event):
        line = json.dumps({"run_id": ctx.run_id, "attempt": ctx.attempt, "pid": os.getpid(),
                           "worker": worker_id, "event": event}) + "\\n"
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    worker = Worker(url, token or None, queues=["py"], concurrency=int(concurrency), worker_id=worker_id,
                    wait=20.0, drain_timeout=5.0)

    @worker.task("summarize")
    def summarize(ctx):
        record(ctx, "start")
        data = ctx.input if isinstance(ctx.input, dict) else {}
        mode = data.get("mode", "echo")
        if mode == "sleep_first" and ctx.attempt == 1:
            time.sleep(30)  # the test kills this process meanwhile
        elif mode == "flag_first" and ctx.attempt == 1:
            # Blocks until the test's flag file appears (the test stops and
            # resumes this process meanwhile); ctx.cancelled is ignored on purpose.
            flag = os.path.join(flags, ctx.run_id)
            deadline = time.monotonic() + 30
            while not os.path.exists(flag) and time.monotonic() < deadline:
                time.sleep(0.005)
        elif mode == "until_cancel":
            deadline = time.monotonic() + 20
            while not ctx.cancelled and time.monotonic() < deadline:
                time.sleep(0.02)
            if ctx.cancelled:
                record(ctx, "saw_cancel")
        n = data.get("n", 0)
        out = {"n": n, "square": n * n, "text": str(data.get("text", "")).upper(), "attempt": ctx.attempt,
               "pid": os.getpid(), "worker": worker_id, "prep": ctx.outputs.get("prep")}
        record(ctx, "end")
        return out

    worker.run()
    """)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server() -> str:
    for candidate in (os.environ.get("REDIS_SERVER"), shutil.which("redis-server"), "/usr/bin/redis-server",
                      "/usr/sbin/redis-server"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no redis-server: set REDIS_SERVER")


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.05,
             context: Callable[[], str] | None = None) -> Any:
    """Polls `check` until it returns something truthy (returned), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            extra = ("\n" + context()) if context is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{extra}")
        time.sleep(interval)


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, body: Any = None, token: str | None = None,
         timeout: float = 30.0) -> tuple[int, Any]:
    """One request; (status, parsed JSON body or the text, None when empty)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _opener.open(request, timeout=timeout) as r:
            return r.status, _parse(r.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, _parse(e.read())
        finally:
            e.close()


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def step_of(run: dict[str, Any], name: str) -> dict[str, Any]:
    for s in run["steps"]:
        if s["name"] == name:
            return s
    raise AssertionError(f"run {run.get('id')} has no step {name!r}: {[s['name'] for s in run['steps']]}")


def tail(path: str, chars: int = 3000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - chars))
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"({path}: {e})"


def stop_process(p: subprocess.Popen[bytes], grace: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Stops one process we started, by its PID: `sig`, then SIGKILL after `grace` s."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    else:
        p.wait()


class Stack(unittest.TestCase):
    """A private redis-server, `steadfast serve` and a C++ `steadfast worker`
    for the class; Python workers per test (stopped in the test's cleanup)."""

    tokens: dict[str, str] | None = None   # role -> token; None: serve without --tokens
    signing_key: tuple[str, str] | None = None  # (key id, secret); None: serve's own key

    tmp: tempfile.TemporaryDirectory[str]
    url: str
    redis: subprocess.Popen[bytes] | None
    serve: subprocess.Popen[bytes] | None
    cpp_worker: subprocess.Popen[bytes] | None

    @classmethod
    def setUpClass(cls) -> None:
        binary = os.environ.get("STEADFAST_BIN")
        if not binary:
            raise RuntimeError("set STEADFAST_BIN to the steadfast executable")
        cls.redis = cls.serve = cls.cpp_worker = None
        cls.files: list[Any] = []
        cls.tmp = tempfile.TemporaryDirectory(prefix="steadfast-worker-live-")
        try:
            cls._start(binary)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _log(cls, name: str) -> Any:
        f = open(os.path.join(cls.tmp.name, name), "wb")
        cls.files.append(f)
        return f

    @classmethod
    def _start(cls, binary: str) -> None:
        d = cls.tmp.name
        cls.workflows = os.path.join(d, "workflows.yaml")
        with open(cls.workflows, "w") as f:
            f.write(WORKFLOWS)
        cls.worker_script = os.path.join(d, "py_worker.py")
        with open(cls.worker_script, "w") as f:
            f.write(WORKER_SCRIPT)

        redis_port = free_port()
        cls.redis = subprocess.Popen(
            [redis_server(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", d],
            stdout=cls._log("redis.log"), stderr=subprocess.STDOUT)
        redis_url = cls.redis_url = f"redis://127.0.0.1:{redis_port}"
        cls.binary = binary
        wait_for("redis-server to answer PING", lambda: cls._redis_pings(redis_port), 20,
                 context=lambda: tail(os.path.join(d, "redis.log")))

        port = free_port()
        cls.url = f"http://127.0.0.1:{port}"
        serve = [binary, "serve", "--workflows", cls.workflows, "--redis", redis_url, "--listen", f"127.0.0.1:{port}"]
        if cls.tokens is not None:
            path = os.path.join(d, "tokens")
            with open(path, "w") as f:
                for role, token in cls.tokens.items():
                    f.write(f"sha256:{hashlib.sha256(token.encode()).hexdigest()} {role} test-{role}\n")
            serve += ["--tokens", path]
        if cls.signing_key is not None:
            path = os.path.join(d, "signing.keys")
            with open(path, "w") as f:
                f.write(f"{cls.signing_key[0]} {cls.signing_key[1]}\n")
            serve += ["--signing-key-file", path]
        cls.serve = subprocess.Popen(serve, stdout=cls._log("serve.log"), stderr=subprocess.STDOUT)
        cls.cpp_worker = subprocess.Popen(
            [binary, "worker", "--workflows", cls.workflows, "--redis", redis_url, "--drain-timeout", "2s",
             "--id", f"cpp-{os.getpid()}"],
            stdout=cls._log("cpp_worker.log"), stderr=subprocess.STDOUT)

        def ready() -> bool:
            for p, name in ((cls.serve, "serve"), (cls.cpp_worker, "worker")):
                if p.poll() is not None:
                    raise RuntimeError(f"steadfast {name} exited ({p.returncode}):\n{cls.server_logs()}")
            try:
                return http("GET", f"{cls.url}/readyz", timeout=2)[0] == 200
            except OSError:
                return False
        wait_for("serve's /readyz to answer 200", ready, 30, 0.1, context=cls.server_logs)

    @staticmethod
    def _redis_pings(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    @classmethod
    def server_logs(cls) -> str:
        d = cls.tmp.name
        return "\n".join(f"--- {n}:\n{tail(os.path.join(d, n))}" for n in ("serve.log", "cpp_worker.log"))

    @classmethod
    def tearDownClass(cls) -> None:
        for p in (cls.cpp_worker, cls.serve, cls.redis):
            if p is not None:
                stop_process(p)
        for f in cls.files:
            f.close()
        cls.tmp.cleanup()

    # ---------------------------------------------------------- per test

    def setUp(self) -> None:
        self.began = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix=self._testMethodName[:40] + "-", dir=self.tmp.name)
        self.exec_log = os.path.join(self.dir, "executions.jsonl")
        self.flags = os.path.join(self.dir, "flags")
        os.mkdir(self.flags)
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.addCleanup(self._report_time)
        self.addCleanup(self.stop_workers)

    def _report_time(self) -> None:
        sys.stderr.write(f"[{self._testMethodName}: {time.monotonic() - self.began:.1f} s] ")

    def start_worker(self, name: str, concurrency: int, token: str | None = None) -> str:
        """Starts a Python worker process; returns its worker id."""
        worker_id = f"{name}-{os.getpid()}-{self._testMethodName[5:30]}"
        err = open(os.path.join(self.dir, f"{worker_id}.stderr"), "wb")
        self.addCleanup(err.close)
        env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.workers[worker_id] = subprocess.Popen(
            [sys.executable, self.worker_script, self.url, token or "", worker_id, str(concurrency), self.exec_log,
             self.flags], stdout=subprocess.DEVNULL, stderr=err, env=env)
        return worker_id

    def worker_stderr(self, worker_id: str) -> str:
        with open(os.path.join(self.dir, f"{worker_id}.stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop_workers(self) -> None:
        for p in self.workers.values():
            stop_process(p)

    def executions(self) -> list[dict[str, Any]]:
        try:
            with open(self.exec_log) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def events(self, run_id: str, event: str) -> list[dict[str, Any]]:
        return [e for e in self.executions() if e["run_id"] == run_id and e["event"] == event]

    def context(self) -> str:
        parts = [self.server_logs()]
        for wid in self.workers:
            parts.append(f"--- {wid} stderr:\n{tail(os.path.join(self.dir, f'{wid}.stderr'))}")
        parts.append(f"--- executions:\n{tail(self.exec_log)}")
        return "\n".join(parts)

    def admin_token(self) -> str | None:
        return None if self.tokens is None else self.tokens["admin"]

    def api(self, method: str, path: str, body: Any = None, token: str | None = None,
            timeout: float = 30.0) -> tuple[int, Any]:
        return http(method, self.url + path, body, token if token is not None else self.admin_token(), timeout)

    def submit(self, workflow: str, input: Any) -> str:
        status, answer = self.api("POST", f"/v1/workflows/{workflow}/runs", {"input": input})
        self.assertEqual(status, 202, answer)
        return answer["run_id"]

    def run_status(self, run_id: str) -> dict[str, Any]:
        status, run = self.api("GET", f"/v1/runs/{run_id}")
        self.assertEqual(status, 200, run)
        return run

    def wait_run(self, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """The run once it ended (completed, failed or cancelled), by long polls."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            status, run = self.api("GET", f"/v1/runs/{run_id}?wait={max(1, int(min(left, 10) * 1000))}ms",
                                   timeout=20)
            self.assertEqual(status, 200, run)
            if run["status"] in ("completed", "failed", "cancelled"):
                return run
            if left <= 0:
                self.fail(f"run {run_id} did not end within {timeout} s: {json.dumps(run)[:3000]}\n{self.context()}")

    def wait_event(self, run_id: str, event: str, timeout: float = 15.0, attempt: int | None = None
                   ) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for e in self.events(run_id, event):
                if attempt is None or e["attempt"] == attempt:
                    return e
            return None
        return wait_for(f"event {event!r} (attempt {attempt}) of run {run_id}", found, timeout, 0.02,
                        context=self.context)

    def wait_listed(self, worker_ids: list[str], timeout: float = 15.0) -> dict[str, dict[str, Any]]:
        """The records of GET /v1/workers of these Python workers, once all are listed."""
        def listed() -> dict[str, dict[str, Any]] | None:
            status, answer = self.api("GET", "/v1/workers")
            self.assertEqual(status, 200, answer)
            by_id = {}
            for w in answer["workers"]:
                for wid in worker_ids:
                    if w["id"] in (wid, f"remote:{wid}"):
                        by_id[wid] = w
            return by_id if len(by_id) == len(worker_ids) else None
        return wait_for(f"GET /v1/workers to list {worker_ids}", listed, timeout, 0.05, context=self.context)


# ----------------------------------------------------------------- tests


# Each scenario has a stack of its own: a Python worker stopped or killed at
# the end of one must not reach into the next (see GoneWorker).


class ThroughputTest(Stack):
    """1,000 runs through 4 Python worker processes (concurrency 8 each), no faults."""

    def test_1000_runs_through_4_workers_each_execute_once(self) -> None:
        total, workers, concurrency = 1000, 4, 8
        ids = [self.start_worker(f"bulk{i}", concurrency) for i in range(workers)]
        self.wait_listed(ids)  # every worker polls before the first run is there

        began = time.monotonic()
        expected: dict[str, int] = {}
        with Client(self.url, self.admin_token()) as c:
            for first in range(0, total, 250):
                items = [{"input": {"n": n, "text": f"doc {n}"}, "metadata": {"test": "bulk"}}
                         for n in range(first, first + 250)]
                answer = c.submit_many("chain", items)
                self.assertEqual((answer["created"], answer["refused"]), (250, 0), answer)
                for n, item in zip(range(first, first + 250), answer["runs"]):
                    expected[item["run_id"]] = n
        submitted = time.monotonic()

        deadline = time.monotonic() + 50
        runs: dict[str, dict[str, Any]] = {}
        for run_id in expected:
            runs[run_id] = self.wait_run(run_id, timeout=max(1.0, deadline - time.monotonic()))
        ended = time.monotonic()
        sys.stderr.write(f"[1000 runs: submitted in {submitted - began:.1f} s, all ended after "
                         f"{ended - began:.1f} s] ")

        statuses = Counter(r["status"] for r in runs.values())
        self.assertEqual(statuses, Counter({"completed": total}), statuses)
        for run_id, run in runs.items():
            n = expected[run_id]
            out = step_of(run, "summarize")["output"]
            self.assertEqual((out["n"], out["square"], out["text"], out["attempt"], out["prep"]),
                             (n, n * n, f"DOC {n}", 1, {}), f"run {run_id}: {out}")
            self.assertIn(out["worker"], ids)
            self.assertEqual(step_of(run, "done")["status"], "completed")

        # Absence of a second execution: only once every worker has stopped.
        self.stop_workers()
        for wid, p in self.workers.items():
            self.assertEqual(p.returncode, 0, f"{wid} exited {p.returncode}:\n{self.worker_stderr(wid)[-2000:]}")
        log = [e for e in self.executions() if e["run_id"] in expected]
        starts = Counter(e["run_id"] for e in log if e["event"] == "start")
        ends = Counter(e["run_id"] for e in log if e["event"] == "end")
        self.assertEqual(set(starts), set(expected), "runs whose task never started")
        self.assertEqual([r for r, k in starts.items() if k != 1], [], "runs whose task started more than once")
        self.assertEqual([r for r, k in ends.items() if k != 1], [], "runs whose task ended more than once")
        self.assertEqual({e["attempt"] for e in log}, {1})
        by_worker = Counter(e["worker"] for e in log if e["event"] == "start")
        self.assertEqual(set(by_worker), set(ids), f"every worker took some: {by_worker}")
        for run_id, run in runs.items():  # the output is that of the one execution
            start = next(e for e in log if e["run_id"] == run_id and e["event"] == "start")
            self.assertEqual(step_of(run, "summarize")["output"]["pid"], start["pid"])


class KilledWorkerTest(Stack):
    """A worker SIGKILLed mid-task: another takes the step after the lease."""

    def test_a_worker_killed_mid_task_loses_the_step_to_another(self) -> None:
        a = self.start_worker("kill-a", 1)
        b = self.start_worker("kill-b", 1)
        self.wait_listed([a, b])
        run_id = self.submit("chain", {"mode": "sleep_first", "n": 7})
        first = self.wait_event(run_id, "start", attempt=1)
        victim = first["worker"]
        survivor = b if victim == a else a
        self.assertEqual(first["pid"], self.workers[victim].pid)
        self.workers[victim].send_signal(signal.SIGKILL)
        self.assertEqual(self.workers[victim].wait(10), -signal.SIGKILL)

        run = self.wait_run(run_id, timeout=20)
        self.assertEqual(run["status"], "completed", json.dumps(run)[:2000])
        out = step_of(run, "summarize")["output"]
        self.assertEqual((out["attempt"], out["worker"], out["pid"], out["square"]),
                         (2, survivor, self.workers[survivor].pid, 49))
        self.assertEqual(step_of(run, "summarize")["attempts"], 2)
        self.assertEqual(step_of(run, "done")["status"], "completed")
        with self.assertRaises(ProcessLookupError):  # the first process is gone
            os.kill(first["pid"], 0)

        self.stop_workers()
        log = [e for e in self.executions() if e["run_id"] == run_id]
        self.assertEqual(sorted((e["attempt"], e["worker"], e["event"]) for e in log),
                         [(1, victim, "start"), (2, survivor, "end"), (2, survivor, "start")])


class StoppedWorkerTest(Stack):
    """A worker SIGSTOPped mid-task, resumed after another completed the step:
    its late complete is refused (409 stale token) and writes nothing."""

    def test_a_stopped_workers_late_complete_is_refused(self) -> None:
        a = self.start_worker("stop-a", 1)
        b = self.start_worker("stop-b", 1)
        self.wait_listed([a, b])
        run_id = self.submit("chain", {"mode": "flag_first", "n": 3})
        first = self.wait_event(run_id, "start", attempt=1)
        paused = first["worker"]
        other = b if paused == a else a
        self.workers[paused].send_signal(signal.SIGSTOP)

        run = self.wait_run(run_id, timeout=20)  # the other worker took it after the lease
        self.assertEqual(run["status"], "completed", json.dumps(run)[:2000])
        out = step_of(run, "summarize")["output"]
        self.assertEqual((out["attempt"], out["worker"]), (2, other))
        finished_at = step_of(run, "summarize")["finished_at"]

        # The first handler goes on and returns: its complete is refused.
        with open(os.path.join(self.flags, run_id), "w"):
            pass
        self.workers[paused].send_signal(signal.SIGCONT)
        self.wait_event(run_id, "end", attempt=1)
        wait_for(f"{paused} to log its complete refused as stale",
                 lambda: "stale token" in self.worker_stderr(paused), 15, context=self.context)
        stderr = self.worker_stderr(paused)
        refused = [line for line in stderr.splitlines() if "stale token" in line]
        self.assertTrue(any("complete refused" in line and run_id in line and "attempt 1" in line
                            for line in refused), stderr[-3000:])

        self.stop_workers()
        run = self.run_status(run_id)  # nothing of the first worker's was written
        summarize = step_of(run, "summarize")
        self.assertEqual((summarize["output"], summarize["finished_at"], summarize["attempts"]),
                         (out, finished_at, 2))
        self.assertEqual([h["outcome"] for h in summarize["attempt_history"]].count("completed"), 1,
                         summarize["attempt_history"])
        self.assertEqual((step_of(run, "done")["status"], step_of(run, "done")["attempts"]), ("completed", 1))
        log = [e for e in self.executions() if e["run_id"] == run_id]
        self.assertEqual(sorted((e["attempt"], e["worker"], e["event"]) for e in log),
                         [(1, paused, "end"), (1, paused, "start"), (2, other, "end"), (2, other, "start")])


class CancelTest(Stack):
    """POST /v1/runs/{id}/cancel reaches a running handler (ctx.cancelled)."""

    def test_cancel_reaches_a_running_handler(self) -> None:
        wid = self.start_worker("cancel", 2)
        self.wait_listed([wid])
        run_id = self.submit("chain", {"mode": "until_cancel"})
        self.wait_event(run_id, "start", attempt=1)
        status, answer = self.api("POST", f"/v1/runs/{run_id}/cancel")
        self.assertEqual(status, 200, answer)
        self.assertIn(answer["result"], ("cancelled", "cancelling"))

        run = self.wait_run(run_id, timeout=15)
        self.assertEqual(run["status"], "cancelled", json.dumps(run)[:2000])
        self.wait_event(run_id, "saw_cancel", attempt=1, timeout=10)
        self.stop_workers()
        self.assertEqual(self.workers[wid].returncode, 0)
        self.assertEqual([e["event"] for e in self.executions() if e["run_id"] == run_id],
                         ["start", "saw_cancel", "end"])
        run = self.run_status(run_id)
        self.assertEqual(run["status"], "cancelled")
        self.assertNotEqual(step_of(run, "summarize")["status"], "completed")
        self.assertNotEqual(step_of(run, "done")["status"], "completed")


class WorkersListingTest(Stack):
    """A polling Python worker is listed as a remote worker."""

    def test_the_workers_listing_shows_a_polling_python_worker(self) -> None:
        wid = self.start_worker("listed", 3)
        record = self.wait_listed([wid])[wid]
        self.assertEqual(record["kind"], "remote", record)
        self.assertEqual(record["tasks"], ["summarize"], record)
        self.assertEqual(record["queues"], ["py"], record)
        self.assertEqual(record["concurrency"], 3, record)  # the worker's own, sent with each claim
        self.assertEqual(record["in_flight"], 0, record)  # idle: no step in hand
        self.assertRegex(record["host"], r"^[A-Za-z0-9_.:-]+$", record)
        self.assertIn(record["id"], (wid, f"remote:{wid}"))
        self.assertIsNone(self.workers[wid].poll())  # listed while it polls
        status, answer = self.api("GET", "/v1/workers")
        kinds = {w["id"]: w["kind"] for w in answer["workers"]}
        self.assertEqual(kinds.get(f"cpp-{os.getpid()}"), "native", answer)

    def test_the_workers_command_lists_a_python_worker(self) -> None:
        # `steadfast workers` (README: "registered workers: host, pid, queues,
        # in flight, last beat") shows what GET /v1/workers shows.
        wid = self.start_worker("cli", 2)
        self.wait_listed([wid])
        for extra in (["--json"], []):
            with self.subTest(args=extra):
                done = subprocess.run([self.binary, "workers", "--redis", self.redis_url, *extra],
                                      capture_output=True, timeout=30)
                out, err = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
                self.assertEqual(done.returncode, 0, f"steadfast workers {extra}: {err}{out}")
                self.assertIn(wid, out)


class GoneWorker(Stack):
    """A worker that went away while its long poll (a claim waiting for up
    to 20 s) was open must take no step: if serve goes on waiting for offers
    on that claim's behalf, it hands the next steps to the gone worker
    (handover to remote:<id>, a reply nobody reads): each costs an attempt
    and a lease before anyone else may have it."""

    def gone_worker_takes_no_step(self, how: int) -> None:
        gone = self.start_worker("gone", 4)
        self.wait_listed([gone])  # polling: a long poll of up to 20 s is open
        stop_process(self.workers[gone], sig=how)
        self.assertEqual(self.workers[gone].returncode, 0 if how == signal.SIGTERM else -how,
                         self.worker_stderr(gone)[-2000:])

        run_id = self.submit("chain", {"n": 4})  # no live worker polls yet: only the gone claim could take it
        live = self.start_worker("live", 1)
        run = self.wait_run(run_id, timeout=20)
        self.assertEqual(run["status"], "completed", json.dumps(run)[:2000])
        summarize = step_of(run, "summarize")
        self.assertEqual((summarize["output"]["worker"], summarize["output"]["attempt"], summarize["attempts"]),
                         (live, 1, 1), "the step was handed to the gone worker's long poll first\n"
                         + self.context())


class StoppedWorkerLongPollTest(GoneWorker):
    def test_a_stopped_workers_long_poll_takes_no_step(self) -> None:
        # Worker.stop cuts the long poll and asks again with its request_id
        # (wait 0ms): serve's "a repeated claim supersedes the one waiting".
        self.gone_worker_takes_no_step(signal.SIGTERM)


class KilledWorkerLongPollTest(GoneWorker):
    def test_a_killed_workers_long_poll_takes_no_step(self) -> None:
        # Nothing asks again: only serve can see that the connection closed.
        self.gone_worker_takes_no_step(signal.SIGKILL)


class ByHand(Stack):
    """The protocol driven by hand with urllib (no Worker)."""

    signing_key = ("k1", secrets.token_hex(32))

    def claim(self, worker: str, want: int, wait: str = "10s") -> list[dict[str, Any]]:
        status, answer = self.api("POST", "/v1/worker/claim", {
            "protocol": 1, "worker": worker, "request_id": secrets.token_hex(8), "queues": ["hand"],
            "tasks": ["manual"], "max": want, "wait": wait})
        self.assertEqual(status, 200, answer)
        return answer["steps"]

    def claim_all(self, worker: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            self.assertLess(time.monotonic(), deadline, f"claimed {len(got)} of {count}\n{self.context()}")
            got += self.claim(worker, count - len(got))
        return got

    def outcome(self, call: str, token: str, **body: Any) -> tuple[int, Any]:
        return self.api("POST", f"/v1/worker/{call}", dict(body, token=token))


class ProtocolByHandTest(ByHand):
    """Forged, moved and stale tokens; a repeated complete."""

    def test_forged_moved_and_stale_tokens(self) -> None:
        run_a = self.submit("hand", {"which": "a"})
        run_b = self.submit("hand", {"which": "b"})
        steps = {s["run_id"]: s for s in self.claim_all("hand-1", 2)}
        self.assertEqual(set(steps), {run_a, run_b})
        self.assertEqual({s["attempt"] for s in steps.values()}, {1})
        tok_a, tok_b = steps[run_a]["token"], steps[run_b]["token"]
        kid_a, payload_a, sig_a = tok_a.split(".")
        kid_b, payload_b, sig_b = tok_b.split(".")
        self.assertEqual((kid_a, kid_b), ("k1", "k1"))
        # The form read right (docs: HMAC-SHA256 over "steadfast-task\n<payload>"):
        # so the 400s below are the signature's, not a malformed token's.
        key = self.signing_key[1].encode()
        self.assertEqual(hmac.new(key, b"steadfast-task\n" + payload_a.encode(), hashlib.sha256).hexdigest(), sig_a)
        self.assertIn(run_b, base64.urlsafe_b64decode(payload_b + "=" * (-len(payload_b) % 4)).decode())

        def flip(text: str, at: int) -> str:
            c = text[at]
            return text[:at] + ("0" if c != "0" else "1") + text[at + 1:] if c in "0123456789abcdef" \
                else text[:at] + ("A" if c != "A" else "B") + text[at + 1:]

        forged = {
            "signature changed": f"{kid_a}.{payload_a}.{flip(sig_a, 17)}",
            "payload changed": f"{kid_a}.{flip(payload_a, 20)}.{sig_a}",
            "key id changed": f"k2.{payload_a}.{sig_a}",
            "b's payload, a's signature": f"{kid_a}.{payload_b}.{sig_a}",
            "a's payload, b's signature": f"{kid_a}.{payload_a}.{sig_b}",
            "signed with another secret": f"{kid_a}.{payload_b}." + hmac.new(
                secrets.token_hex(32).encode(), b"steadfast-task\n" + payload_b.encode(), hashlib.sha256).hexdigest(),
        }
        for what, token in forged.items():
            with self.subTest(forged=what):
                self.assertNotEqual(token, tok_a)
                for call, extra in (("complete", {"output": {"forged": what}}),
                                    ("fail", {"kind": "fatal", "error": "forged"}), ("release", {})):
                    status, answer = self.outcome(call, token, **extra)
                    self.assertEqual(status, 400, f"{call} with {what}: {answer}")
                    self.assertTrue(answer["type"].endswith("invalid-request"), answer)
                status, answer = self.api("POST", "/v1/worker/heartbeat",
                                          {"worker": "hand-1", "tokens": [{"token": token}]})
                self.assertEqual(status, 400, f"heartbeat with {what}: {answer}")

        # Neither run moved: both steps are still the first claim's.
        status, answer = self.api("POST", "/v1/worker/heartbeat",
                                  {"worker": "hand-1", "tokens": [{"token": tok_a}, {"token": tok_b}]})
        self.assertEqual((status, answer), (200, {"results": ["ok", "ok"]}))

        # (c) The right token completes; a second complete writes nothing.
        status, first = self.outcome("complete", tok_a, output={"first": True})
        self.assertEqual((status, first.get("state")), (200, "ok"), first)
        run = self.wait_run(run_a)
        self.assertEqual(run["status"], "completed", json.dumps(run)[:2000])
        before = step_of(run, "manual")
        self.assertEqual(before["output"], {"first": True})
        again, answer = self.outcome("complete", tok_a, output={"second": True})
        self.assertIn(again, (200, 409), answer)
        if again == 200:  # a repeat answered as the first (a lost reply), writing nothing
            self.assertEqual(answer, first)
        sys.stderr.write(f"[a second complete answered {again}] ")
        after_run = self.run_status(run_a)
        after = step_of(after_run, "manual")
        self.assertEqual((after["output"], after["finished_at"], after["attempts"], after["attempt_history"]),
                         (before["output"], before["finished_at"], 1, before["attempt_history"]))
        self.assertEqual(len(after["attempt_history"]), 1, after["attempt_history"])
        self.assertEqual((after_run["updated_at"], step_of(after_run, "done")["attempts"]), (run["updated_at"], 1))

        # (d) Run b's lease runs out (no heartbeat) and another worker claims
        # it: the first token is stale everywhere.
        taken = wait_for("another worker to claim run b's step after its lease",
                         lambda: self.claim("hand-2", 1, wait="5s"), 15, 0, context=self.context)
        self.assertEqual(len(taken), 1)
        second = taken[0]
        self.assertEqual((second["run_id"], second["attempt"]), (run_b, 2))
        self.assertNotEqual(second["token"], tok_b)
        status, answer = self.api("POST", "/v1/worker/heartbeat",
                                  {"worker": "hand-1", "tokens": [{"token": tok_b}, {"token": second["token"]}]})
        self.assertEqual((status, answer), (200, {"results": ["lost", "ok"]}))
        for call, extra in (("complete", {"output": {"by": "hand-1"}}), ("fail", {"kind": "fatal", "error": "x"}),
                            ("release", {})):
            status, answer = self.outcome(call, tok_b, **extra)
            self.assertEqual(status, 409, f"stale {call}: {answer}")
            self.assertTrue(answer["type"].endswith("stale-token"), answer)
        status, answer = self.outcome("complete", second["token"], output={"by": "hand-2"})
        self.assertEqual((status, answer.get("state")), (200, "ok"), answer)
        run = self.wait_run(run_b)
        self.assertEqual(run["status"], "completed", json.dumps(run)[:2000])
        manual = step_of(run, "manual")
        self.assertEqual((manual["output"], manual["attempts"]), ({"by": "hand-2"}, 2))
        status, answer = self.outcome("complete", tok_b, output={"by": "hand-1"})
        self.assertEqual(status, 409, answer)
        self.assertEqual(step_of(self.run_status(run_b), "manual")["output"], {"by": "hand-2"})


class OutcomeAfterCompleteTest(ByHand):
    """Once a token completed its step, the step is no longer the worker's:
    a `fail` or `release` with it is refused (409 stale-token, docs "Stale
    tokens") and writes nothing; it is no repeat of the complete, so it must
    not be answered as one."""

    def test_fail_and_release_after_complete_are_refused(self) -> None:
        run_id = self.submit("hand", {"which": "c"})
        [step] = self.claim_all("hand-3", 1)
        self.assertEqual(step["run_id"], run_id)
        status, first = self.outcome("complete", step["token"], output={"first": True})
        self.assertEqual((status, first.get("state")), (200, "ok"), first)
        run = self.wait_run(run_id)
        self.assertEqual(run["status"], "completed", json.dumps(run)[:2000])
        answers = {}
        for call, extra in (("fail", {"kind": "fatal", "error": "late"}), ("release", {})):
            answers[call] = self.outcome(call, step["token"], **extra)
        after = self.run_status(run_id)  # nothing written, whatever the answers
        self.assertEqual((after["updated_at"], step_of(after, "manual")["output"]),
                         (run["updated_at"], {"first": True}))
        self.assertEqual({call: status for call, (status, _) in answers.items()}, {"fail": 409, "release": 409},
                         f"the answers after complete: {answers}")
        for call, (status, answer) in answers.items():
            self.assertTrue(answer["type"].endswith("stale-token"), answer)


class TimeoutByHandTest(ByHand):
    """A worker that keeps heartbeating past its step's timeout (it ignores
    timeout_ms) is stopped by serve, as a C++ worker's timer would stop a
    handler: the timed-out attempt is written and the worker told `lost`."""

    def test_serve_ends_an_attempt_past_its_timeout(self) -> None:
        run_id = self.submit("timed", {})
        body = {"protocol": 1, "worker": "slow-1", "queues": ["timed"], "tasks": ["slow"], "max": 1, "wait": "10s"}
        status, answer = self.api("POST", "/v1/worker/claim", dict(body, request_id=secrets.token_hex(8)))
        self.assertEqual(status, 200, answer)
        [step] = answer["steps"]
        self.assertEqual((step["run_id"], step["timeout_ms"], step["attempt"]), (run_id, 1000, 1))
        claimed = time.monotonic()
        status, beat = self.api("POST", "/v1/worker/heartbeat", {"tokens": [{"token": step["token"]}]})
        self.assertEqual((status, beat["results"]), (200, ["ok"]), "within its timeout")

        def beat_lost() -> bool:
            _, b = self.api("POST", "/v1/worker/heartbeat", {"tokens": [{"token": step["token"]}]})
            return b["results"] == ["lost"]

        wait_for("the heartbeat to answer lost", beat_lost, 5.0, 0.1)
        self.assertGreaterEqual(time.monotonic() - claimed, 1.0, "not before the timeout")
        status, late = self.outcome("complete", step["token"], output={"late": True})
        self.assertEqual(status, 409, late)
        # The timed-out attempt was written; the retry is the next attempt.
        status, answer = self.api("POST", "/v1/worker/claim", dict(body, request_id=secrets.token_hex(8)))
        self.assertEqual(status, 200, answer)
        [again] = answer["steps"]
        self.assertEqual((again["run_id"], again["attempt"]), (run_id, 2))
        self.assertEqual(self.outcome("complete", again["token"], output={"done": 2})[0], 200)
        run = self.wait_run(run_id)
        self.assertEqual(run["status"], "completed", run)
        slow = next(s for s in run["steps"] if s["name"] == "slow")
        self.assertEqual(slow["output"], {"done": 2})
        errors = json.dumps(slow.get("attempt_history", slow))
        self.assertIn("timed out after 1000 ms", errors)


class RolesTest(Stack):
    """serve --tokens: a worker token reaches the worker protocol only."""

    tokens = {"worker": secrets.token_hex(16), "submit": secrets.token_hex(16), "admin": secrets.token_hex(16)}

    def claim_body(self) -> dict[str, Any]:
        return {"protocol": 1, "worker": "roles", "request_id": secrets.token_hex(8), "queues": ["py"],
                "tasks": ["summarize"], "max": 1, "wait": "0ms"}

    def test_roles_of_the_worker_protocol(self) -> None:
        worker, submit, admin = self.tokens["worker"], self.tokens["submit"], self.tokens["admin"]
        cases = [
            ("worker token submits", "POST", "/v1/workflows/chain/runs", {"input": {}}, worker, 403),
            ("worker token submits to x", "POST", "/v1/workflows/x/runs", {"input": {}}, worker, 403),
            ("worker token lists runs", "GET", "/v1/runs", None, worker, 403),
            ("worker token lists workers", "GET", "/v1/workers", None, worker, 403),
            ("worker token cancels", "POST", "/v1/runs/01JD0000000000000000000000/cancel", None, worker, 403),
            ("worker token claims", "POST", "/v1/worker/claim", self.claim_body(), worker, 200),
            ("submit token claims", "POST", "/v1/worker/claim", self.claim_body(), submit, 403),
            ("submit token completes", "POST", "/v1/worker/complete", {"token": "k.x.y", "output": 1}, submit, 403),
            ("admin token claims", "POST", "/v1/worker/claim", self.claim_body(), admin, 200),
            ("no token claims", "POST", "/v1/worker/claim", self.claim_body(), None, 401),
            ("no token heartbeats", "POST", "/v1/worker/heartbeat", {"worker": "roles", "tokens": []}, None, 401),
            ("unknown token claims", "POST", "/v1/worker/claim", self.claim_body(), secrets.token_hex(16), 401),
            ("no token lists runs", "GET", "/v1/runs", None, None, 401),
            ("submit token lists workers", "GET", "/v1/workers", None, submit, 200),
        ]
        for what, method, path, body, token, expected in cases:
            with self.subTest(what):
                status, answer = http(method, self.url + path, body, token)
                self.assertEqual(status, expected, f"{what}: {answer}")

    def test_a_python_worker_needs_a_worker_token(self) -> None:
        # With a submit token the claims are refused: run() stops and raises.
        w = Worker(self.url, self.tokens["submit"], queues=["py"], concurrency=1, worker_id="roles-submit",
                   wait=1.0, drain_timeout=1.0)
        w.task("summarize")(lambda ctx: None)
        with self.assertRaises(SteadfastError) as caught, self.assertLogs("steadfast.worker", "ERROR") as logged:
            w.run()
        self.assertEqual(caught.exception.status, 403)
        self.assertIn("refused the claim", "\n".join(logged.output))
        # With the worker token a run submitted with the submit token goes through.
        wid = self.start_worker("roles", 1, token=self.tokens["worker"])
        status, answer = http("POST", f"{self.url}/v1/workflows/chain/runs", {"input": {"n": 5}},
                              self.tokens["submit"])
        self.assertEqual(status, 202, answer)
        run = self.wait_run(answer["run_id"])
        self.assertEqual(run["status"], "completed", json.dumps(run)[:2000])
        self.assertEqual((step_of(run, "summarize")["output"]["square"], step_of(run, "summarize")["output"]["worker"]),
                         (25, wid))


if __name__ == "__main__":
    unittest.main()
