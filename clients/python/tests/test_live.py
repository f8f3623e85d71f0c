"""Client against a real `steadfast dev` (a private Redis, `serve` and a
worker): what a user of the package does. Needs STEADFAST_BIN, the
steadfast executable (ctest passes it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest
import urllib.request

from steadfast import Client, SteadfastError

WORKFLOWS = textwrap.dedent("""\
    workflows:
      greet:
        input_schema: {type: object, properties: {name: {type: string}}, required: [name]}
        steps:
          - {name: hello, kind: noop}
      approval:
        steps:
          - {name: approve, kind: wait, with: {signal: approved, timeout: 1h, on_timeout: fail}}
    """)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveTest(unittest.TestCase):
    dev: subprocess.Popen[bytes]
    url: str
    tmp: tempfile.TemporaryDirectory[str]

    @classmethod
    def setUpClass(cls) -> None:
        binary = os.environ.get("STEADFAST_BIN")
        if not binary:
            raise RuntimeError("set STEADFAST_BIN to the steadfast executable")
        cls.tmp = tempfile.TemporaryDirectory(prefix="steadfast-python-")
        workflows = os.path.join(cls.tmp.name, "workflows.yaml")
        with open(workflows, "w") as f:
            f.write(WORKFLOWS)
        port = free_port()
        cls.url = f"http://127.0.0.1:{port}"
        cls.log = open(os.path.join(cls.tmp.name, "dev.log"), "wb")
        cls.dev = subprocess.Popen(
            [binary, "dev", "--workflows", workflows, "--listen", f"127.0.0.1:{port}",
             "--data", os.path.join(cls.tmp.name, "data"), "--workers", "1", "--redis-port", str(free_port())],
            stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{cls.url}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or cls.dev.poll() is not None:
                cls.tearDownClass()
                raise RuntimeError("steadfast dev did not get ready: " + open(cls.log.name).read()[-2000:])
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.dev.poll() is None:
            cls.dev.send_signal(signal.SIGINT)
            try:
                cls.dev.wait(30)
            except subprocess.TimeoutExpired:
                cls.dev.kill()
                cls.dev.wait()
        cls.log.close()
        cls.tmp.cleanup()

    def setUp(self) -> None:
        self.c = Client(self.url)
        self.addCleanup(self.c.close)

    def test_a_run_is_submitted_waited_for_and_listed(self) -> None:
        answer = self.c.submit("greet", {"name": "Ada"}, metadata={"customer": "acme"})
        run = self.c.wait(answer["run_id"], timeout=30)
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["input"], {"name": "Ada"})
        self.assertEqual([s["status"] for s in run["steps"]], ["completed"])
        self.assertEqual(self.c.status(answer["run_id"])["status"], "completed")
        listed = self.c.runs(workflow="greet", meta={"customer": "acme"})
        self.assertIn(answer["run_id"], [r["id"] for r in listed["runs"]])

    def test_an_idempotency_key_answers_the_first_run_and_refuses_another_input(self) -> None:
        first = self.c.submit("greet", {"name": "Bo"}, idempotency_key="py-live-1")
        again = self.c.submit("greet", {"name": "Bo"}, idempotency_key="py-live-1")
        self.assertEqual(again["run_id"], first["run_id"])
        with self.assertRaises(SteadfastError) as caught:
            self.c.submit("greet", {"name": "Cy"}, idempotency_key="py-live-1")
        self.assertEqual((caught.exception.status, caught.exception.kind), (409, "idempotency-conflict"))

    def test_input_that_does_not_match_the_schema_names_the_field(self) -> None:
        with self.assertRaises(SteadfastError) as caught:
            self.c.submit("greet", {"nom": "Ada"})
        self.assertEqual((caught.exception.status, caught.exception.kind), (422, "invalid-input"))
        self.assertIn("/input/name", [e["pointer"] for e in caught.exception.errors])

    def test_a_signal_completes_the_wait(self) -> None:
        run_id = self.c.submit("approval")["run_id"]
        answer = self.c.signal(run_id, "approved", {"by": "ann"}, idempotency_key="sig-1")
        self.assertIn(answer["result"], ("delivered", "kept"))
        run = self.c.wait(run_id, timeout=30)
        self.assertEqual(run["status"], "completed")
        self.assertEqual(run["steps"][0]["output"], {"by": "ann"})

    def test_a_delayed_run_is_cancelled_once(self) -> None:
        answer = self.c.submit("greet", {"name": "Di"}, delay="1h")
        self.assertIn("run_at", answer)
        self.assertEqual(self.c.status(answer["run_id"])["status"], "scheduled")
        self.assertEqual(self.c.cancel(answer["run_id"])["result"], "cancelled")
        self.assertEqual(self.c.wait(answer["run_id"], timeout=10)["status"], "cancelled")
        with self.assertRaises(SteadfastError) as caught:
            self.c.cancel(answer["run_id"])
        self.assertEqual(caught.exception.status, 409)

    def test_unknown_runs_and_workflows_are_404(self) -> None:
        for call in (lambda: self.c.status("01JD0000000000000000000000"), lambda: self.c.submit("nope")):
            with self.assertRaises(SteadfastError) as caught:
                call()
            self.assertEqual(caught.exception.status, 404)

    def test_many_runs_in_one_request(self) -> None:
        answer = self.c.submit_many("greet", [{"input": {"name": str(i)}} for i in range(3)] + [{"input": {}}])
        self.assertEqual((answer["created"], answer["refused"]), (3, 1))
        self.assertEqual(answer["runs"][3]["error"]["status"], 422)
        for item in answer["runs"][:3]:
            self.assertEqual(self.c.wait(item["run_id"], timeout=30)["status"], "completed")


if __name__ == "__main__":
    unittest.main()
