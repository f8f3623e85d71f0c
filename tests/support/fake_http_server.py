#!/usr/bin/env python3
"""A scriptable HTTP server for tests and demos (standard library only).

Start it on a free port; it prints one line "READY <port>" on stdout once it
listens, and exits 0 on SIGTERM or SIGINT:

    python3 tests/support/fake_http_server.py --echo --delay-ms 50
    python3 tests/support/fake_http_server.py --config server.json

Options (each also a top-level key of the --config JSON file; a command-line
option wins over the file):

    --config FILE        JSON configuration, see below
    --host HOST          address to bind (default 127.0.0.1)
    --port N             port (default 0 = a free one, printed in READY)
    --echo               unscripted paths echo the request (else 404)
    --delay-ms N         delay before every response (default 0)
    --first-429 K        the first K requests get 429 + Retry-After
    --retry-after N      the Retry-After value (seconds) of the 429s above
                         and of random 429/500s (default 1; 0 = no header)
    --p429 P --p500 P    each request fails with 429 (500) with probability P
    --seed S             seed of those random failures (default 0)
    --verbose            log every request on stderr

The JSON file may also script responses per path:

    {
      "echo": true,
      "delay_ms": 0,
      "first_429": 3,
      "retry_after": 2,
      "p429": 0.1, "p500": 0.05, "seed": 42,
      "routes": {
        "/v1/generate": {
          "mode": "cycle",             # or "sequence" (default): in order,
                                       # then the last one again and again
          "responses": [
            {"status": 200, "body": {"text": "hi", "usage": {"total_tokens": 12}}},
            {"status": 503, "headers": {"Retry-After": "1"}, "body": "busy",
             "delay_ms": 100}
          ]
        }
      }
    }

Paths starting with "/_" are never scripted, failed, counted or recorded.

A response: "status" (default 200); "headers" {name: value}; "body" (a
string is sent as is, text/plain unless headers say otherwise; any other JSON
value is sent as application/json); "body_bytes" N (a body of N 'x', for
size limits); "delay_ms" (instead of the global delay); "echo": true (the
body is the echo of the request, with this status); "echo_as" F (the echo
written another way, as servers do: "json_slash" escapes "/" as "\\/" like
PHP's json_encode, "json_ascii" writes every character of every string as
\\uXXXX, "url" is the JSON text percent-encoded (as text/plain), "numbers"
turns every string of digits into a JSON number; the JSON forms are sent as
application/json unless "headers" say otherwise); "retry_after_date" S (a
Retry-After header holding the HTTP-date S seconds from now).

Order for a request to any path not starting with "/_": first-429, then the
random failures, then the path's route, then echo or 404. Failures injected
by first-429 and p429/p500 carry the JSON body {"error": "..."}.

The echo body: {"method", "path", "query", "headers": {name: value},
"body": <the JSON request body, or its text, or null>}.

Control paths:
    GET  /_stats   {"count", "in_flight", "max_in_flight", "by_path": {path: n},
                    "by_status": {"200": n}, "requests": [{"time" (epoch s),
                    "arrived", "method", "path", "query", "headers", "body",
                    "status"}]}
                   Every request is recorded (headers include Idempotency-Key)
                   with the status it was answered, when it arrived and when
                   it was answered ("time"); "max_in_flight" is the most
                   requests between their arrival and their answer at the
                   same moment.
    POST /_reset   clears the counters, the first-429 count and the
                   positions of "sequence"/"cycle" routes.
"""

import argparse
import email.utils
import json
import random
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, config):
        self.config = config
        self.lock = threading.Lock()
        self.random = random.Random(config.get("seed", 0))
        self.reset()

    def reset(self):
        self.requests = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.by_path = {}
        self.by_status = {}
        self.failures_429 = 0
        self.positions = {}

    def enter(self):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self):
        with self.lock:
            self.in_flight -= 1

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            self.by_path[entry["path"]] = self.by_path.get(entry["path"], 0) + 1
            key = str(entry["status"])
            self.by_status[key] = self.by_status.get(key, 0) + 1

    def stats(self):
        with self.lock:
            return {
                "count": len(self.requests),
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "by_path": dict(self.by_path),
                "by_status": dict(self.by_status),
                "requests": list(self.requests),
            }

    def injected_failure(self):
        """(status, why) of a failure to inject for this request, or None."""
        config = self.config
        with self.lock:
            if self.failures_429 < int(config.get("first_429", 0)):
                self.failures_429 += 1
                return 429, "first-429"
            draw = self.random.random()
            p429 = float(config.get("p429", 0))
            p500 = float(config.get("p500", 0))
            if draw < p429:
                return 429, "random 429"
            if draw < p429 + p500:
                return 500, "random 500"
        return None

    def scripted(self, path):
        """The next scripted response of `path`, or None."""
        route = self.config.get("routes", {}).get(path)
        if not route or not route.get("responses"):
            return None
        responses = route["responses"]
        with self.lock:
            i = self.positions.get(path, 0)
            self.positions[path] = i + 1
        if route.get("mode", "sequence") == "cycle":
            return responses[i % len(responses)]
        return responses[min(i, len(responses) - 1)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-http-server"
    state = None  # set by main()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if self.state.config.get("verbose"):
            sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def handle_any(self):
        state = self.state
        control = urllib.parse.urlsplit(self.path).path.startswith("/_")
        if control:  # /_stats and /_reset count neither as requests nor in flight
            return self.respond(state)
        state.enter()
        self.arrived = time.time()
        self.left = False
        try:
            self.respond(state)
        finally:
            if not self.left:
                state.leave()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    def respond(self, state):
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path, parsed.query
        raw = self.read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = {
            "method": self.command,
            "path": path,
            "query": query,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body,
        }

        if path == "/_stats" and self.command == "GET":
            return self.send(200, {}, state.stats(), record=None)
        if path == "/_reset" and self.command == "POST":
            with state.lock:
                state.reset()
            return self.send(200, {}, {"reset": True}, record=None)
        if path.startswith("/_"):
            return self.send(404, {}, {"error": "unknown control path " + path}, record=None)

        config = state.config
        delay_ms = config.get("delay_ms", 0)
        failure = state.injected_failure()
        if failure:
            status, why = failure
            headers = {}
            retry_after = config.get("retry_after", 1)
            if retry_after:
                headers["Retry-After"] = str(retry_after)
            time.sleep(delay_ms / 1000.0)
            return self.send(status, headers, {"error": why}, record=request)

        response = state.scripted(path)
        if response is None:
            if config.get("echo"):
                response = {"echo": True}
            else:
                response = {"status": 404, "body": {"error": "no route for " + path}}
        time.sleep(response.get("delay_ms", delay_ms) / 1000.0)
        headers = dict(response.get("headers", {}))
        if "retry_after_date" in response:
            when = time.time() + float(response["retry_after_date"])
            headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
        if response.get("echo"):
            out = request
            form = response.get("echo_as")
            if form:
                out = echo_as(request, form)
                if form != "url" and "content-type" not in {k.lower() for k in headers}:
                    headers["Content-Type"] = "application/json"
        elif "body_bytes" in response:
            out = "x" * int(response["body_bytes"])
        else:
            out = response.get("body", "")
        return self.send(int(response.get("status", 200)), headers, out, record=request)

    def send(self, status, headers, body, record):
        if isinstance(body, (bytes, bytearray)):
            data, content_type = bytes(body), "application/octet-stream"
        elif isinstance(body, str):
            data, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(body).encode("utf-8"), "application/json"
        if record is not None:
            record = dict(record, arrived=self.arrived, time=time.time(), status=status)
            self.state.record(record)
            # Out of flight before the client can see the answer (so a client's
            # next request never finds this one still counted).
            self.state.leave()
            self.left = True
        self.send_response(status)
        names = {k.lower() for k in headers}
        if "content-type" not in names:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout or a cancellation)


def json_ascii(value):
    """JSON text with every character of every string (and key) as \\uXXXX."""
    if isinstance(value, str):
        units = value.encode("utf-16-be")
        return '"' + "".join("\\u%02X%02x" % (units[i], units[i + 1]) for i in range(0, len(units), 2)) + '"'
    if isinstance(value, dict):
        return "{" + ",".join(json_ascii(k) + ":" + json_ascii(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(json_ascii(v) for v in value) + "]"
    return json.dumps(value)


def digits_to_numbers(value):
    if isinstance(value, str) and value.isdigit() and len(value) < 16:
        return int(value)
    if isinstance(value, dict):
        return {k: digits_to_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [digits_to_numbers(v) for v in value]
    return value


def echo_as(request, form):
    """The echo of `request` as text, written the way `form` says."""
    if form == "json_slash":
        return json.dumps(request).replace("/", "\\/")
    if form == "json_ascii":
        return json_ascii(request)
    if form == "url":
        return urllib.parse.quote(json.dumps(request), safe="")
    if form == "numbers":
        return json.dumps(digits_to_numbers(request))
    raise ValueError("unknown echo_as " + form)


def parse_args(argv):
    p = argparse.ArgumentParser(description="A scriptable HTTP server for tests.")
    p.add_argument("--config")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--echo", action="store_true", default=None)
    p.add_argument("--delay-ms", dest="delay_ms", type=int)
    p.add_argument("--first-429", dest="first_429", type=int)
    p.add_argument("--retry-after", dest="retry_after", type=int)
    p.add_argument("--p429", type=float)
    p.add_argument("--p500", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--verbose", action="store_true", default=None)
    args = p.parse_args(argv)
    config = {}
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
    for key, value in vars(args).items():
        if key != "config" and value is not None:
            config[key] = value
    return config


def main(argv):
    config = parse_args(argv)
    Handler.state = State(config)
    server = ThreadingHTTPServer((config.get("host", "127.0.0.1"), config.get("port", 0)), Handler)
    server.daemon_threads = True  # slow requests in flight never delay the exit

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    print("READY %d" % server.server_address[1], flush=True)
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
