#!/usr/bin/env python3
"""A stand-in for a document store and an LLM API, for the demo (standard library only).

    python3 examples/fake_llm.py [--port 0] [--p429 0.15] [--p500 0.08] [--seed 7]

Prints "READY <port>" once listening; stops on SIGTERM/SIGINT.

  GET  /docs/<id>       a plain-text document (~1-3 KB), 20-80 ms
  POST /v1/generate     {"prompt", "max_tokens"?} -> {"choices": [{"text"}],
                        "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}
                        after 150-600 ms, like a model; with probability p429 a
                        429 with Retry-After: 1, with p500 a 500. Requires
                        "Authorization: Bearer <anything>".
  GET  /_stats          {"requests", "rate_limited", "errors", "ok"} as JSON
"""
import argparse
import json
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("reliable steps checkpoint redis stream worker lease retry backoff token "
         "limit queue dead letter fencing output input pipeline document summary").split()


class State:
    def __init__(self, p429, p500, seed):
        self.p429, self.p500 = p429, p500
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "rate_limited": 0, "errors": 0, "ok": 0}

    def roll(self):
        with self.lock:
            self.stats["requests"] += 1
            x = self.rng.random()
            if x < self.p429:
                self.stats["rate_limited"] += 1
                return 429
            if x < self.p429 + self.p500:
                self.stats["errors"] += 1
                return 500
            self.stats["ok"] += 1
            return 200

    def uniform(self, a, b):
        with self.lock:
            return self.rng.uniform(a, b)


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, ctype="application/json", headers=None):
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/_stats":
                with state.lock:
                    return self.send(200, dict(state.stats))
            if self.path.startswith("/docs/"):
                doc = self.path[len("/docs/"):]
                rng = random.Random(doc)
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 400)))
                time.sleep(state.uniform(0.02, 0.08))
                return self.send(200, f"Document {doc}. {text}.", "text/plain; charset=utf-8")
            self.send(404, {"error": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path != "/v1/generate":
                return self.send(404, {"error": "not found"})
            if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                return self.send(401, {"error": "missing bearer token"})
            try:
                req = json.loads(raw or b"{}")
            except ValueError:
                return self.send(400, {"error": "body is not JSON"})
            outcome = state.roll()
            if outcome == 429:
                time.sleep(0.01)
                return self.send(429, {"error": "rate limited"}, headers={"Retry-After": "1"})
            time.sleep(state.uniform(0.15, 0.6))
            if outcome == 500:
                return self.send(500, {"error": "model overloaded"})
            prompt = str(req.get("prompt", ""))
            prompt_tokens = max(1, len(prompt) // 4)
            words = prompt.split()
            summary = " ".join(words[:: max(1, len(words) // 25)][:25])
            completion_tokens = max(1, len(summary) // 4)
            self.send(200, {
                "choices": [{"text": summary}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            })

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--p429", type=float, default=0.15)
    ap.add_argument("--p500", type=float, default=0.08)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(State(a.p429, a.p500, a.seed)))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
