"""Client against a fake server (http.server in a thread): the requests it
sends, the answers it returns and the errors it raises. No steadfast needed;
test_live.py runs the same calls against a real `steadfast dev`."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import unittest
from typing import Any, Callable

from steadfast import Client, SteadfastError

Answer = tuple[int, dict[str, str], bytes] | None  # None: close without answering


class Fake:
    """Records every request; `answer(method, path, body)` says what to reply.
    `close_after` makes it drop the connection after each answer without
    saying so (a kept-alive connection the server closed); an answer of None
    drops it after reading the request (the answer lost on the way)."""

    def __init__(self, answer: Callable[[str, str, Any], Answer]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.close_after = False
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                fake.connections += 1

            def log_message(self, *args: object) -> None:
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                      "body": body, "raw": raw})
                reply = answer(self.command, self.path, body)
                if reply is None:
                    self.close_connection = True
                    return
                status, headers, data = reply
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                if fake.close_after:
                    self.close_connection = True

            do_GET = do_POST = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True  # a client's idle keep-alive connection never holds up stop()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_answer(status: int, value: Any, content_type: str = "application/json") -> Answer:
    return status, {"Content-Type": content_type}, json.dumps(value).encode()


class ClientTest(unittest.TestCase):
    def serve(self, answer: Callable[[str, str, Any], Answer]) -> Fake:
        fake = Fake(answer)
        self.addCleanup(fake.stop)
        return fake

    def client(self, url: str, **kwargs: Any) -> Client:
        c = Client(url, **kwargs)
        self.addCleanup(c.close)
        return c

    def test_submit_sends_the_body_token_and_key(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(202, {"run_id": "01ABC", "status_url": "/v1/runs/01ABC"}))
        with Client(fake.url, token="s3cret") as c:
            answer = c.submit("analyze", {"url": "https://x"}, idempotency_key="doc-42", metadata={"customer": "acme"})
        self.assertEqual(answer, {"run_id": "01ABC", "status_url": "/v1/runs/01ABC"})
        r = fake.requests[0]
        self.assertEqual((r["method"], r["path"]), ("POST", "/v1/workflows/analyze/runs"))
        self.assertEqual(r["body"], {"input": {"url": "https://x"}, "metadata": {"customer": "acme"}})
        self.assertEqual(r["headers"]["Authorization"], "Bearer s3cret")
        self.assertEqual(r["headers"]["Idempotency-Key"], "doc-42")
        self.assertEqual(r["headers"]["Content-Type"], "application/json")

    def test_submit_sends_a_priority_and_refuses_one_out_of_bounds(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(202, {"run_id": "01ABC"}))
        c = self.client(fake.url)
        c.submit("w", {"tenant": "acme"}, priority=9)
        self.assertEqual(fake.requests[0]["body"], {"input": {"tenant": "acme"}, "priority": 9})
        for bad in (10, -1, 5.0, True, "9"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                c.submit("w", priority=bad)  # type: ignore[arg-type]
        self.assertEqual(len(fake.requests), 1, "a refused priority sent nothing")

    def test_submit_without_input_sends_an_empty_object_and_no_key(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(202, {"run_id": "01ABC"}))
        self.client(fake.url).submit("w")
        self.assertEqual(fake.requests[0]["body"], {})
        self.assertNotIn("Idempotency-Key", fake.requests[0]["headers"])
        self.assertNotIn("Authorization", fake.requests[0]["headers"])

    def test_delay_and_run_at(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(202, {"run_id": "01ABC"}))
        c = self.client(fake.url)
        c.submit("w", delay=dt.timedelta(minutes=1, milliseconds=500))
        c.submit("w", delay="10m")
        c.submit("w", run_at=dt.datetime(2026, 12, 24, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))))
        self.assertEqual([r["body"] for r in fake.requests],
                         [{"delay": "60500ms"}, {"delay": "10m"}, {"run_at": "2026-12-24T08:00:00.000Z"}])
        with self.assertRaisesRegex(ValueError, "not both"):
            c.submit("w", delay="1m", run_at="2026-12-24T08:00:00Z")
        with self.assertRaisesRegex(ValueError, "timezone-aware"):
            c.submit("w", run_at=dt.datetime(2026, 12, 24, 8, 0))
        with self.assertRaisesRegex(ValueError, "Out of range float values are not JSON compliant"):
            c.submit("w", {"x": float("nan")})
        self.assertEqual(len(fake.requests), 3)  # nothing was sent for the refused ones

    def test_names_and_ids_are_one_path_segment_each(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(200, {"status": "completed"}))
        c = self.client(fake.url + "/base/")
        c.submit("a/../b c")
        c.status("01AB?x=1")
        c.signal("01AB", "go/now", {"ok": True})
        self.assertEqual([r["path"] for r in fake.requests],
                         ["/base/v1/workflows/a%2F..%2Fb%20c/runs", "/base/v1/runs/01AB%3Fx%3D1",
                          "/base/v1/runs/01AB/signals/go%2Fnow"])

    def test_a_problem_becomes_a_steadfast_error(self) -> None:
        problem = {"type": "tag:steadfast,2025:invalid-input", "title": "Input does not match the schema",
                   "status": 422, "detail": "the input does not match",
                   "errors": [{"pointer": "/input/url", "detail": "is required", "keyword": "required"}]}
        fake = self.serve(lambda m, p, b: json_answer(422, problem, "application/problem+json"))
        with self.assertRaises(SteadfastError) as caught:
            self.client(fake.url).submit("analyze", {})
        e = caught.exception
        self.assertEqual((e.status, e.kind, e.title), (422, "invalid-input", "Input does not match the schema"))
        self.assertEqual(e.errors[0]["pointer"], "/input/url")
        self.assertIn("the input does not match", str(e))
        self.assertFalse(e.applied)

    def test_an_error_that_is_not_a_problem_keeps_its_text(self) -> None:
        fake = self.serve(lambda m, p, b: (502, {"Content-Type": "text/plain"}, b"bad gateway from the proxy"))
        with self.assertRaises(SteadfastError) as caught:
            self.client(fake.url).status("01AB")
        self.assertEqual((caught.exception.status, caught.exception.kind), (502, ""))
        self.assertIn("bad gateway from the proxy", str(caught.exception))

    def test_wait_polls_until_the_run_ends(self) -> None:
        answers = iter(["running", "waiting", "completed"])
        fake = self.serve(lambda m, p, b: json_answer(200, {"id": "01AB", "status": next(answers)}))
        run = self.client(fake.url).wait("01AB", poll=2)
        self.assertEqual(run["status"], "completed")
        self.assertEqual([r["path"] for r in fake.requests], ["/v1/runs/01AB?wait=2000ms"] * 3)

    def test_wait_gives_up_after_its_timeout(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(200, {"id": "01AB", "status": "running"}))
        with self.assertRaisesRegex(TimeoutError, "did not end within 0.3 s .it is 'running'"):
            self.client(fake.url).wait("01AB", timeout=0.3)
        self.assertGreater(len(fake.requests), 1)
        self.assertLess(len(fake.requests), 10)  # no busy loop against a server that does not hold the poll

    def test_one_connection_is_kept_alive(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(200, {"status": "completed"}))
        c = self.client(fake.url)
        for _ in range(5):
            c.status("01AB")
        self.assertEqual(fake.connections, 1)

    def test_a_closed_kept_alive_connection_is_used_again_only_when_safe(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(200 if m == "GET" else 202, {"run_id": "01AB"}))
        fake.close_after = True  # every answer's connection is closed afterwards, unannounced
        c = self.client(fake.url)
        for _ in range(3):  # each finds its kept connection closed and goes on a new one
            self.assertEqual(c.status("01AB"), {"run_id": "01AB"})
        self.assertEqual(len(fake.requests), 3)

    def test_a_lost_answer_is_asked_again_only_when_safe(self) -> None:
        lose = {"next": False}

        def answer(m: str, p: str, b: Any) -> Answer:
            if lose["next"]:
                lose["next"] = False
                return None
            return json_answer(200 if m == "GET" else 202, {"run_id": "01AB"})

        fake = self.serve(answer)
        c = self.client(fake.url)
        c.status("01AB")
        lose["next"] = True
        self.assertEqual(c.status("01AB"), {"run_id": "01AB"})  # a read: asked again
        self.assertEqual(len(fake.requests), 3)
        lose["next"] = True
        c.submit("w", idempotency_key="k")  # an idempotency key: the same
        self.assertEqual(len(fake.requests), 5)
        lose["next"] = True
        with self.assertRaises(SteadfastError) as caught:
            c.submit("w")  # no key: reported, never sent twice
        self.assertEqual(caught.exception.status, 0)
        self.assertTrue(caught.exception.applied)
        self.assertIn("may have been carried out", str(caught.exception))
        self.assertEqual(len(fake.requests), 6)

    def test_nothing_listening_is_a_clear_error(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(200, {}))
        url = fake.url
        fake.stop()
        with self.assertRaises(SteadfastError) as caught:
            self.client(url).status("01AB")
        self.assertEqual(caught.exception.status, 0)
        self.assertFalse(caught.exception.applied)
        self.assertIn("cannot connect", str(caught.exception))

    def test_bad_arguments_are_refused_before_any_request(self) -> None:
        with self.assertRaisesRegex(ValueError, "url must be"):
            Client("ftp://x")
        with self.assertRaisesRegex(ValueError, "timeout must be positive"):
            Client("http://x", timeout=0)
        with self.assertRaisesRegex(TypeError, "delay must be"):
            Client("http://x").submit("w", delay=5)  # type: ignore[arg-type]

    def test_submit_many_and_runs(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(200, {"created": 2, "refused": 0, "runs": [], "next_cursor": None}))
        c = self.client(fake.url)
        c.submit_many("w", [{"input": {"n": 1}, "idempotency_key": "a"}, {"input": {"n": 2}}])
        c.runs(status="failed", workflow="w", meta={"customer": "acme co"}, limit=10)
        self.assertEqual(fake.requests[0]["body"], {"runs": [{"input": {"n": 1}, "idempotency_key": "a"},
                                                            {"input": {"n": 2}}]})
        self.assertEqual(fake.requests[0]["path"], "/v1/workflows/w/runs:batch")
        self.assertEqual(fake.requests[1]["path"],
                         "/v1/runs?status=failed&workflow=w&limit=10&meta.customer=acme+co")

    def test_signal_sends_null_for_no_payload(self) -> None:
        fake = self.serve(lambda m, p, b: json_answer(202, {"result": "kept"}))
        self.client(fake.url).signal("01AB", "approved")
        self.assertEqual(fake.requests[0]["raw"], b"null")


if __name__ == "__main__":
    unittest.main()
