"""Worker against a fake serve (http.server in a thread) that speaks the
worker protocol's side of serve (docs/worker-protocol.md): it hands out
scripted steps to claims (holding the long poll until one is there), answers
heartbeats with scripted results and records every request. No steadfast
needed. Nothing here sleeps to prove that something did not happen: such a
check is made once the worker has stopped and its threads have ended."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import os
import signal
import threading
import time
import unittest
from typing import Any, Callable
from unittest import mock

from steadfast import Fatal, RateLimited, SteadfastError, TaskContext, Worker
from steadfast import worker as worker_module

# The worker logs what it refuses or retries; tests look at it with assertLogs.
_log = logging.getLogger("steadfast.worker")
_log.addHandler(logging.NullHandler())
_log.propagate = False

TIMEOUT = 5.0  # seconds any awaited event may take before a test fails

Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body


def problem(status: int, kind: str) -> Answer:
    return status, {"Content-Type": "application/problem+json"}, {
        "type": f"tag:steadfast,2025:{kind}", "title": kind, "status": status, "detail": f"a {kind}"}


def make_step(token: str, task: str = "summarize", **fields: Any) -> dict[str, Any]:
    step = {"token": token, "run_id": f"run-{token}", "workflow": "summarize", "step": "summarize", "task": task,
            "attempt": 1, "idempotency_key": f"run-{token}:summarize", "input": {"text": "hello world"},
            "outputs": {"split": {"chunks": 2}}, "item": None, "item_index": -1, "lease_ms": 30000,
            "timeout_ms": 0}
    step.update(fields)
    return step


class FakeServe:
    """serve's side of the worker protocol, scripted.

    `pending` steps are handed to the claims (at most `max` each; a claim
    waits up to its `wait` for one); a claim repeated with its request_id gets
    the same steps. `drop_claims` drops the connection of that many claims
    that handed out steps, without answering (an answer lost on the way).
    `beats[token]` is the heartbeat result for the token ("ok" otherwise).
    `script[path]` answers given first, one per request, before the usual
    200. Every claim records `(max, outstanding)`: the steps handed out and
    not yet reported when it came."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.requests: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.handed: dict[str, list[dict[str, Any]]] = {}
        self.outstanding: set[str] = set()
        self.claim_slots: list[tuple[int, int]] = []
        self.beats: dict[str, str] = {}
        self.script: dict[str, list[Answer]] = {}
        self.drop_claims = 0
        self.closing = False
        self.active = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle(self) -> None:
                with fake.cond:
                    fake.active += 1
                try:
                    super().handle()
                finally:
                    with fake.cond:
                        fake.active -= 1
                        fake.cond.notify_all()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with fake.cond:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "at": time.monotonic()})
                    fake.cond.notify_all()
                reply = fake.answer(self.path, body)
                if reply is None:
                    self.close_connection = True
                    return
                status, headers, value = reply
                data = json.dumps(value).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a connection the worker cut (its stop ends a long poll)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    # ---------------------------------------------------------- answers

    def answer(self, path: str, body: Any) -> Answer | None:
        with self.cond:
            scripted = self.script.get(path)
            if scripted:
                return scripted.pop(0)
        if path == "/v1/worker/claim":
            return self.claim(body)
        if path == "/v1/worker/heartbeat":
            with self.cond:
                results = []
                for entry in body["tokens"]:
                    result = self.beats.get(entry["token"], "ok")
                    if result == "lost":
                        self.outstanding.discard(entry["token"])
                    results.append(result)
            return 200, {}, {"results": results}
        if path in ("/v1/worker/complete", "/v1/worker/fail", "/v1/worker/release"):
            with self.cond:
                self.outstanding.discard(body["token"])
            return 200, {}, {"state": "ok"}
        return problem(404, "not-found")

    def claim(self, body: dict[str, Any]) -> Answer | None:
        rid = body["request_id"]
        wait = int(body["wait"].removesuffix("ms")) / 1000
        with self.cond:
            if rid in self.handed:
                return 200, {}, {"steps": self.handed[rid]}
            self.claim_slots.append((body["max"], len(self.outstanding)))
            deadline = time.monotonic() + min(wait, TIMEOUT)
            while not self.pending and not self.closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            steps = self.pending[:body["max"]]
            del self.pending[:body["max"]]
            self.handed[rid] = steps
            self.outstanding.update(s["token"] for s in steps)
            self.cond.notify_all()
            if steps and self.drop_claims > 0:
                self.drop_claims -= 1
                return None
        return 200, {}, {"steps": steps}

    # ---------------------------------------------------------- for tests

    def add(self, *steps: dict[str, Any]) -> None:
        with self.cond:
            self.pending.extend(steps)
            self.cond.notify_all()

    def bodies(self, path: str) -> list[Any]:
        with self.cond:
            return [r["body"] for r in self.requests if r["path"] == f"/v1/worker/{path}"]

    def wait_for(self, what: Callable[[], Any], message: str = "") -> Any:
        """Waits until `what()` is true (any request wakes it); returns it."""
        deadline = time.monotonic() + TIMEOUT
        with self.cond:
            while True:
                value = what()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {message or what}")
                self.cond.wait(min(left, 0.05))

    def wait_request(self, path: str, pred: Callable[[Any], bool] = lambda b: True) -> Any:
        def found() -> Any:
            return next((r["body"] for r in self.requests if r["path"] == f"/v1/worker/{path}" and pred(r["body"])),
                        None)
        return self.wait_for(found, f"a {path} request")

    def stop(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        with self.cond:  # the connections' threads end (their sockets closed) before the test does
            self.cond.wait_for(lambda: self.active == 0, TIMEOUT)


class Running:
    """A worker's run() in a thread; `error` is what it raised."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-run", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as e:  # noqa: BLE001
            self.error = e

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(TIMEOUT + 5)
        if self.thread.is_alive():
            raise AssertionError("run() did not return after stop()")


def join_worker_threads() -> None:
    """Waits for every thread of the worker (handlers included) to end."""
    for t in threading.enumerate():
        if t.name.startswith("steadfast-"):
            t.join(TIMEOUT)
            if t.is_alive():
                raise AssertionError(f"thread {t.name} still running")


def wait_until(condition: Callable[[], bool], message: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.005)


class WorkerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.fake = FakeServe()
        self.gates: list[threading.Event] = []  # handlers' gates, all opened before the worker's threads are joined
        self.addCleanup(self.fake.stop)
        self.addCleanup(join_worker_threads)
        self.addCleanup(lambda: [g.set() for g in self.gates])

    def gate(self) -> threading.Event:
        g = threading.Event()
        self.gates.append(g)
        return g

    def worker(self, handlers: dict[str, Callable[[TaskContext], Any]], **kwargs: Any) -> Worker:
        options: dict[str, Any] = {"queues": ["py"], "concurrency": 4, "wait": 2.0, "drain_timeout": 2.0,
                                   "request_timeout": 2.0, "worker_id": "py-test-1"}
        options.update(kwargs)
        w = Worker(self.fake.url, **options)
        for name, handler in handlers.items():
            w.task(name)(handler)
        return w

    def start(self, handlers: dict[str, Callable[[TaskContext], Any]], **kwargs: Any) -> Running:
        running = Running(self.worker(handlers, **kwargs))
        self.addCleanup(running.stop)  # runs before the threads are joined (cleanups run last first)
        return running

    def finish(self, running: Running) -> None:
        """Stops the worker and waits for all its threads: from then on nothing more can be sent."""
        running.stop()
        for g in self.gates:
            g.set()
        join_worker_threads()
        self.assertIsNone(running.error)

    def outcome(self, handler: Callable[[TaskContext], Any], **step: Any) -> dict[str, Any]:
        """The one complete or fail a step with this handler ends in."""
        running = self.start({"summarize": handler})
        self.fake.add(make_step("t1", **step))
        self.fake.wait_for(lambda: self.fake.bodies("complete") or self.fake.bodies("fail"), "an outcome")
        self.finish(running)
        outcomes = [("complete", b) for b in self.fake.bodies("complete")] + \
                   [("fail", b) for b in self.fake.bodies("fail")]
        self.assertEqual(len(outcomes), 1, outcomes)
        kind, body = outcomes[0]
        return {"call": kind, **body}

    # ------------------------------------------------------------ tests

    def test_a_step_is_claimed_run_and_completed_with_its_output(self) -> None:
        seen: list[TaskContext] = []

        def summarize(ctx: TaskContext) -> Any:
            seen.append(ctx)
            return {"summary": ctx.input["text"].upper(), "chunks": ctx.outputs["split"]["chunks"]}

        running = self.start({"summarize": summarize}, token="s3cret")
        self.fake.add(make_step("t1", attempt=2, item={"n": 7}, item_index=3))
        self.assertEqual(self.fake.wait_request("complete"),
                         {"token": "t1", "output": {"summary": "HELLO WORLD", "chunks": 2}})
        self.finish(running)
        ctx = seen[0]
        self.assertEqual((ctx.run_id, ctx.workflow, ctx.step, ctx.task, ctx.attempt, ctx.idempotency_key),
                         ("run-t1", "summarize", "summarize", "summarize", 2, "run-t1:summarize"))
        self.assertEqual((ctx.item, ctx.item_index, ctx.lease_ms, ctx.timeout_ms), ({"n": 7}, 3, 30000, 0))
        self.assertFalse(ctx.cancelled)
        for r in self.fake.requests:
            self.assertEqual(r["headers"]["Authorization"], "Bearer s3cret")
            self.assertEqual(r["headers"]["Content-Type"], "application/json")
        self.assertEqual(self.fake.bodies("release"), [])

    def test_the_claim_body_and_the_stop_that_cuts_its_long_poll(self) -> None:
        running = self.start({"a": lambda ctx: None, "b": lambda ctx: None}, queues=["py", "py2"], concurrency=3,
                             wait=5.0)
        first = self.fake.wait_request("claim")
        self.assertEqual({k: v for k, v in first.items() if k not in ("request_id", "host")},
                         {"protocol": 1, "worker": "py-test-1", "queues": ["py", "py2"], "tasks": ["a", "b"],
                          "max": 3, "concurrency": 3, "wait": "5000ms"})
        self.assertRegex(first["host"], r"^[A-Za-z0-9_.:-]{1,255}$")
        self.assertRegex(first["request_id"], r"^[0-9a-f]{32}$")
        began = time.monotonic()
        self.finish(running)  # the claim is held by the fake: stop cuts it ...
        self.assertLess(time.monotonic() - began, 4.0, "the stop waited for the long poll")
        claims = self.fake.bodies("claim")
        # ... and asks for it again at once, so that what it may have brought is handed back.
        self.assertEqual(claims[-1], dict(claims[-2], wait="0ms"))

    def test_max_is_the_free_slots_never_above_concurrency(self) -> None:
        gates = {"a": self.gate(), "b": self.gate(), "c": self.gate()}

        def hold(ctx: TaskContext) -> Any:
            gates[ctx.input["name"]].wait(TIMEOUT)
            return ctx.input["name"]

        running = self.start({"summarize": hold}, concurrency=2)
        self.fake.add(make_step("a", input={"name": "a"}))
        self.fake.wait_for(lambda: len(self.fake.claim_slots) >= 2, "a second claim")
        self.fake.add(make_step("b", input={"name": "b"}))  # now both slots are taken
        self.fake.wait_for(lambda: "b" in self.fake.outstanding, "b handed out")
        gates["a"].set()
        self.fake.wait_request("complete", lambda b: b["token"] == "a")
        self.fake.wait_for(lambda: len(self.fake.claim_slots) >= 3, "a claim after a's slot was freed")
        self.fake.add(make_step("c", input={"name": "c"}))
        self.fake.wait_for(lambda: "c" in self.fake.outstanding, "c handed out")
        gates["b"].set()
        gates["c"].set()
        self.fake.wait_for(lambda: len(self.fake.bodies("complete")) == 3, "three completes")
        self.finish(running)
        slots = self.fake.claim_slots
        self.assertEqual([m for m, _ in slots[:3]], [2, 1, 1])
        self.assertEqual({b["concurrency"] for b in self.fake.bodies("claim")}, {2})  # the worker's, not the claim's
        for asked, outstanding in slots:  # asked for exactly the free slots, never more
            self.assertGreaterEqual(asked, 1)
            self.assertLessEqual(asked + outstanding, 2, slots)
        self.assertEqual(sorted(b["output"] for b in self.fake.bodies("complete")), ["a", "b", "c"])

    def test_an_exception_is_a_retryable_failure(self) -> None:
        def boom(ctx: TaskContext) -> Any:
            raise ValueError("no chunk 3")

        self.assertEqual(self.outcome(boom),
                         {"call": "fail", "token": "t1", "kind": "retryable", "error": "ValueError: no chunk 3"})

    def test_fatal_fails_for_good(self) -> None:
        def fatal(ctx: TaskContext) -> Any:
            raise Fatal("the document is empty")

        self.assertEqual(self.outcome(fatal),
                         {"call": "fail", "token": "t1", "kind": "fatal", "error": "the document is empty"})

    def test_rate_limited_sends_its_retry_after(self) -> None:
        def limited(ctx: TaskContext) -> Any:
            raise RateLimited(retry_after=30.0, message="429 from the API")

        self.assertEqual(self.outcome(limited),
                         {"call": "fail", "token": "t1", "kind": "rate_limited", "error": "429 from the API",
                          "retry_after": 30.0})

    def test_an_output_that_is_not_json_is_fatal(self) -> None:
        body = self.outcome(lambda ctx: {"tags": {"a", "b"}})
        self.assertEqual((body["call"], body["kind"]), ("fail", "fatal"))
        self.assertIn("set", body["error"])
        self.assertIn("not JSON", body["error"])

    def test_nan_is_no_json_output_either(self) -> None:
        body = self.outcome(lambda ctx: float("nan"))
        self.assertEqual((body["call"], body["kind"]), ("fail", "fatal"))
        self.assertIn("float", body["error"])

    def test_an_async_handler(self) -> None:
        async def summarize(ctx: TaskContext) -> Any:
            await asyncio.sleep(0)
            return {"words": len(ctx.input["text"].split())}

        self.assertEqual(self.outcome(summarize), {"call": "complete", "token": "t1", "output": {"words": 2}})

    def test_heartbeats_carry_the_progress_and_a_cancel_sets_cancelled(self) -> None:
        saw_cancel = threading.Event()

        def long(ctx: TaskContext) -> Any:
            ctx.heartbeat(progress=0.5, message="chunk 1 of 2")
            wait_until(lambda: ctx.cancelled, "ctx.cancelled")
            saw_cancel.set()
            return {"partial": True}

        running = self.start({"summarize": long})
        self.fake.beats["t1"] = "cancel"
        self.fake.add(make_step("t1", lease_ms=300))  # a heartbeat every 100 ms
        beat = self.fake.wait_request("heartbeat", lambda b: "progress" in b["tokens"][0])
        self.assertEqual(beat, {"worker": "py-test-1",
                                "tokens": [{"token": "t1", "progress": 0.5, "message": "chunk 1 of 2"}]})
        self.assertTrue(saw_cancel.wait(TIMEOUT))
        # A cancelled run's step still reports its outcome: serve turns it into the cancellation.
        self.assertEqual(self.fake.wait_request("complete"), {"token": "t1", "output": {"partial": True}})
        self.finish(running)

    def test_a_lost_step_reports_nothing(self) -> None:
        ended = threading.Event()

        def long(ctx: TaskContext) -> Any:
            wait_until(lambda: ctx.cancelled, "ctx.cancelled")
            ended.set()
            return {"too": "late"}

        running = self.start({"summarize": long})
        self.fake.beats["t1"] = "lost"
        self.fake.add(make_step("t1", lease_ms=300))
        self.assertTrue(ended.wait(TIMEOUT))
        self.finish(running)
        self.assertGreaterEqual(len(self.fake.bodies("heartbeat")), 1)
        for call in ("complete", "fail", "release"):
            self.assertEqual(self.fake.bodies(call), [], call)

    def test_a_handler_past_its_timeout_is_failed_and_its_result_ignored(self) -> None:
        seen: list[TaskContext] = []

        def slow(ctx: TaskContext) -> Any:
            seen.append(ctx)
            wait_until(lambda: ctx.cancelled, "ctx.cancelled")
            return {"too": "late"}

        running = self.start({"summarize": slow})
        self.fake.add(make_step("t1", timeout_ms=200))
        self.assertEqual(self.fake.wait_request("fail"),
                         {"token": "t1", "kind": "retryable", "error": "timed out after 200 ms"})
        self.finish(running)
        self.assertTrue(seen[0].cancelled)
        self.assertEqual(self.fake.bodies("complete"), [])
        self.assertEqual(len(self.fake.bodies("fail")), 1)

    def test_a_step_due_sooner_wakes_the_heartbeat_thread_waiting_for_others(self) -> None:
        gate = self.gate()
        running = self.start({"summarize": lambda ctx: gate.wait(TIMEOUT)})
        self.fake.add(make_step("a", lease_ms=30000))
        # the heartbeat thread waits for a's first heartbeat, 10 s away ...
        wait_until(lambda: running.worker._beat_at not in (None, float("inf")), "the heartbeat thread waiting")
        began = time.monotonic()
        self.fake.add(make_step("b", lease_ms=600))  # ... a shorter lease: b's is due in 0.2 s
        self.fake.wait_request("heartbeat", lambda body: any(e["token"] == "b" for e in body["tokens"]))
        self.assertLess(time.monotonic() - began, 2.0)
        began = time.monotonic()
        self.fake.add(make_step("c", timeout_ms=200))  # a timeout sooner than any heartbeat
        self.assertEqual(self.fake.wait_request("fail", lambda body: body["token"] == "c"),
                         {"token": "c", "kind": "retryable", "error": "timed out after 200 ms"})
        self.assertLess(time.monotonic() - began, 2.0)
        gate.set()
        self.finish(running)

    def test_a_lost_claim_answer_is_asked_again_with_the_same_request_id(self) -> None:
        runs: list[str] = []
        self.fake.drop_claims = 1
        running = self.start({"summarize": lambda ctx: runs.append(ctx.run_id) or "done"})
        self.fake.add(make_step("t1"))
        self.fake.wait_request("complete")
        self.finish(running)
        claims = self.fake.bodies("claim")
        self.assertEqual(claims[0], claims[1])  # the same request, request_id included
        self.assertEqual(runs, ["run-t1"])
        self.assertEqual(self.fake.bodies("complete"), [{"token": "t1", "output": "done"}])

    def test_5xx_and_503_on_a_claim_are_asked_again_and_retry_after_honoured(self) -> None:
        self.fake.script["/v1/worker/claim"] = [(503, {"Retry-After": "0.3"}, {"title": "busy"}),
                                                problem(500, "internal")]
        running = self.start({"summarize": lambda ctx: "done"})
        self.fake.add(make_step("t1"))
        self.fake.wait_request("complete")
        self.finish(running)
        claims = [r for r in self.fake.requests if r["path"] == "/v1/worker/claim"]
        self.assertEqual(claims[0]["body"], claims[1]["body"])
        self.assertEqual(claims[1]["body"], claims[2]["body"])
        self.assertGreaterEqual(claims[1]["at"] - claims[0]["at"], 0.25, "Retry-After was not honoured")

    def test_a_failed_complete_is_sent_again(self) -> None:
        self.fake.script["/v1/worker/complete"] = [(503, {"Retry-After": "0"}, {}), problem(502, "bad-gateway")]
        running = self.start({"summarize": lambda ctx: "done"})
        self.fake.add(make_step("t1"))
        self.fake.wait_for(lambda: len(self.fake.bodies("complete")) == 3, "the third complete")
        self.finish(running)
        self.assertEqual(self.fake.bodies("complete"), [{"token": "t1", "output": "done"}] * 3)
        self.assertEqual(self.fake.bodies("fail"), [])

    def test_a_stale_token_on_complete_is_logged_and_the_worker_goes_on(self) -> None:
        self.fake.script["/v1/worker/complete"] = [problem(409, "stale-token")]
        with self.assertLogs("steadfast.worker", logging.WARNING) as logs:
            running = self.start({"summarize": lambda ctx: ctx.run_id})
            self.fake.add(make_step("t1"))
            self.fake.wait_request("complete")
            self.fake.add(make_step("t2"))
            self.fake.wait_request("complete", lambda b: b["token"] == "t2")
            self.assertTrue(running.thread.is_alive())
            self.finish(running)
        self.assertTrue(any("stale token" in line for line in logs.output), logs.output)
        self.assertEqual(self.fake.bodies("complete"), [{"token": "t1", "output": "run-t1"},
                                                         {"token": "t2", "output": "run-t2"}])

    def test_stop_hands_back_a_step_still_running_after_the_drain(self) -> None:
        started = threading.Event()
        go = self.gate()
        seen: list[TaskContext] = []

        def stuck(ctx: TaskContext) -> Any:
            seen.append(ctx)
            started.set()
            go.wait(TIMEOUT)
            return "too late"

        running = self.start({"summarize": stuck}, drain_timeout=0.3)
        self.fake.add(make_step("t1"))
        self.assertTrue(started.wait(TIMEOUT))
        running.stop()  # waits 0.3 s for the handler, then hands the step back and returns
        self.assertEqual(self.fake.bodies("release"), [{"token": "t1"}])
        self.assertTrue(seen[0].cancelled)
        go.set()  # the handler ends now: its result is ignored
        self.finish(running)
        self.assertEqual(self.fake.bodies("complete"), [])

    def test_stop_waits_for_a_handler_that_ends_within_the_drain(self) -> None:
        started = threading.Event()
        go = self.gate()

        def short(ctx: TaskContext) -> Any:
            started.set()
            go.wait(TIMEOUT)
            return "finished"

        running = self.start({"summarize": short}, drain_timeout=TIMEOUT)
        self.fake.add(make_step("t1"))
        self.assertTrue(started.wait(TIMEOUT))
        running.worker.stop()
        go.set()
        self.finish(running)
        self.assertEqual(self.fake.bodies("complete"), [{"token": "t1", "output": "finished"}])
        self.assertEqual(self.fake.bodies("release"), [])

    def test_sigint_in_the_main_thread_drains_and_a_second_one_cuts_the_drain(self) -> None:
        self.assertIs(threading.current_thread(), threading.main_thread())
        before = signal.getsignal(signal.SIGINT)
        started = threading.Event()
        go = self.gate()

        def stuck(ctx: TaskContext) -> Any:
            started.set()
            go.wait(TIMEOUT)
            return "too late"

        w = self.worker({"summarize": stuck}, drain_timeout=TIMEOUT)

        def signals() -> None:
            if started.wait(TIMEOUT):
                os.kill(os.getpid(), signal.SIGINT)  # the first: drain
                wait_until(lambda: len(self.fake.bodies("claim")) >= 3, "the cut claim asked again")
                os.kill(os.getpid(), signal.SIGINT)  # the second: hand back at once

        sender = threading.Thread(target=signals, name="test-signals")
        sender.start()
        self.fake.add(make_step("t1"))
        began = time.monotonic()
        w.run()  # here, in the main thread
        sender.join()
        self.assertLess(time.monotonic() - began, TIMEOUT - 1, "the second SIGINT did not cut the drain")
        self.assertIs(signal.getsignal(signal.SIGINT), before)
        self.assertEqual(self.fake.bodies("release"), [{"token": "t1"}])
        go.set()
        join_worker_threads()
        self.assertEqual(self.fake.bodies("complete"), [])

    def test_a_refused_claim_stops_the_worker_with_the_error(self) -> None:
        self.fake.script["/v1/worker/claim"] = [problem(401, "unauthorized")]
        running = Running(self.worker({"summarize": lambda ctx: None}))
        running.thread.join(TIMEOUT)
        self.assertFalse(running.thread.is_alive())
        self.assertIsInstance(running.error, SteadfastError)
        assert isinstance(running.error, SteadfastError)
        self.assertEqual((running.error.status, running.error.kind), (401, "unauthorized"))

    def test_nothing_listening_is_retried_until_stop(self) -> None:
        url = self.fake.url
        self.fake.stop()
        w = Worker(url, queues=["py"], worker_id="w", request_timeout=1.0)
        w.task("t")(lambda ctx: None)
        with self.assertLogs("steadfast.worker", logging.WARNING) as logs:
            running = Running(w)
            wait_until(lambda: len([x for x in logs.output if "claim failed" in x]) >= 2, "two failed claims")
            running.stop()
        self.assertIsNone(running.error)

    # ----------------------------------------------------- the API itself

    def test_arguments_are_checked(self) -> None:
        with self.assertRaisesRegex(ValueError, "url must be"):
            Worker("ftp://x", queues=["py"])
        with self.assertRaisesRegex(ValueError, "queues must name"):
            Worker("http://x", queues=[])
        with self.assertRaisesRegex(TypeError, "list of queue names"):
            Worker("http://x", queues="py")
        with self.assertRaisesRegex(ValueError, "concurrency"):
            Worker("http://x", queues=["py"], concurrency=0)
        with self.assertRaisesRegex(ValueError, "worker_id"):
            Worker("http://x", queues=["py"], worker_id="has space")
        with self.assertRaisesRegex(ValueError, "wait"):
            Worker("http://x", queues=["py"], wait=61)
        w = Worker("http://x", queues=["py"])
        with self.assertRaisesRegex(ValueError, "no task registered"):
            w.run()
        w.task("a")(lambda ctx: None)
        with self.assertRaisesRegex(ValueError, "registered already"):
            w.task("a")(lambda ctx: None)
        with self.assertRaisesRegex(ValueError, "retry_after"):
            RateLimited(retry_after=-1)
        ctx = TaskContext(make_step("t"), threading.Condition())
        with self.assertRaisesRegex(ValueError, "progress"):
            ctx.heartbeat(progress=1.5)

    def test_the_default_worker_id_is_host_and_pid_made_valid(self) -> None:
        with mock.patch("socket.gethostname", return_value="my host/" + "x" * 80), \
                mock.patch("os.getpid", return_value=4242):
            wid = Worker("http://x", queues=["py"]).worker_id
        self.assertRegex(wid, r"^[A-Za-z0-9_.:-]{1,64}$")
        self.assertTrue(wid.startswith("my-host-xxx"), wid)
        self.assertTrue(wid.endswith("-4242"), wid)
        self.assertEqual(len(wid), 64)
        self.assertTrue(worker_module._default_worker_id().endswith(f"-{os.getpid()}"))

    def test_stop_before_run_returns_at_once(self) -> None:
        w = self.worker({"summarize": lambda ctx: None})
        w.stop()
        w.run()
        with self.assertRaisesRegex(RuntimeError, "runs once"):
            w.run()


if __name__ == "__main__":
    unittest.main()
