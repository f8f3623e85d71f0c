"""``Worker``: carry out the ``task`` steps of steadfast workflows in Python.

A worker asks ``steadfast serve`` for the steps of its task queues over the
worker protocol (docs/worker-protocol.md), runs each with the handler
registered under its task name and reports the outcome::

    from steadfast import Worker, Fatal, RateLimited

    worker = Worker("http://127.0.0.1:8080", token=None, queues=["py"], concurrency=8)

    @worker.task("summarize")
    def summarize(ctx):
        ctx.heartbeat(progress=0.5, message="half way")
        return {"summary": ctx.input["text"][:100]}

    worker.run()  # until SIGTERM / SIGINT or worker.stop()

What a handler does becomes the step's outcome:

* it returns a JSON value: the step's output (``complete``); a value that is
  not JSON fails the step for good (``fatal``, naming the type);
* it raises ``Fatal``: the step fails for good, no retry;
* it raises ``RateLimited``: the step is retried after ``retry_after`` seconds
  and its limiters pause (``rate_limited``);
* it raises anything else: the step is retried as its retry policy says
  (``retryable``, the message is the exception's type and text).

``async def`` handlers work too: each runs in its own event loop
(``asyncio.run``) in the handler's thread.

Leases are renewed for the handlers by one heartbeat thread (one request for
all the steps in hand, every third of the shortest lease). A handler should
look at ``ctx.cancelled`` now and then: it turns True when the run was
cancelled, when the step was lost to another worker, when the step's timeout
passed, and when a stopping worker handed the step back; from then on the
handler should return soon. A timed-out, lost or handed-back step's later
result is ignored.

Standard library only; logs through the ``steadfast.worker`` logger.
"""

from __future__ import annotations

import asyncio
import http.client
import inspect
import json
import logging
import math
import os
import queue
import re
import signal
import socket
import ssl
import threading
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import FrameType
from typing import Any, TypeVar

from steadfast.client import __version__
from steadfast.errors import SteadfastError

logger = logging.getLogger("steadfast.worker")

#: The version of the worker protocol this worker speaks.
PROTOCOL = 1

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MAX_CLAIM = 256         # the protocol's bound on a claim's "max"
_MAX_WAIT = 60.0         # and on its "wait" (seconds)
_MAX_QUEUES = 16
_MAX_TASKS = 64
_MAX_ERROR = 4096        # characters of an error message sent (a giant one would be refused whole)
_BACKOFF_FIRST = 0.05    # seconds; doubled after each failure
_BACKOFF_MAX = 1.0
_BEAT_MIN = 0.1          # heartbeat interval bounds (seconds)
_BEAT_MAX = 10.0
#: This machine's name as the claims send it (shown in GET /v1/workers).
_HOST = (re.sub(r"[^A-Za-z0-9_.:-]+", "-", socket.gethostname()).strip("-") or "unknown")[:255]
_DEFAULT_LEASE = 30.0    # when a step names no lease_ms
_RELEASE_BUDGET = 10.0   # seconds at most spent handing back one step
_POLL = 0.05             # run()'s look at the signals it caught, when it installed handlers

H = TypeVar("H", bound=Callable[..., Any])


# ---------------------------------------------------------------- outcomes


class Fatal(Exception):
    """Raised by a handler: the step fails for good (kind ``fatal``), no retry.

    ``Fatal("the document is empty")``: the message becomes the step's error.
    """

    def __init__(self, message: str = "fatal error") -> None:
        super().__init__(message)
        self.message = message


class RateLimited(Exception):
    """Raised by a handler: a rate limit was hit (kind ``rate_limited``).

    The step is tried again after ``retry_after`` seconds (None: its retry
    policy's backoff), without counting against it as an ordinary failure,
    and its limiters pause meanwhile. ``RateLimited(retry_after=30.0,
    message="429 from the API")``.
    """

    def __init__(self, message: str = "rate limited", *, retry_after: float | None = None) -> None:
        if retry_after is not None:
            if isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) \
                    or not math.isfinite(retry_after) or retry_after < 0:
                raise ValueError(f"retry_after must be a number of seconds >= 0, got {retry_after!r}")
            retry_after = float(retry_after)
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def _error_text(e: BaseException) -> str:
    if isinstance(e, (Fatal, RateLimited)):
        text = e.message or type(e).__name__
    else:
        detail = str(e)
        text = f"{type(e).__name__}: {detail}" if detail else type(e).__name__
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR - 1] + "…"


# ------------------------------------------------------------------ context


class TaskContext:
    """The step a handler carries out, as the claim described it.

    ``input`` (the run's input), ``outputs`` (the outputs of the steps this
    one needs, by step name), ``item`` and ``item_index`` (for an item of a map
    step; else None and -1), ``attempt`` (from 1), ``idempotency_key`` (the
    same for every attempt of the step: give it to the systems you call),
    ``run_id``, ``workflow``, ``step``, ``task``, ``lease_ms`` and
    ``timeout_ms`` (0: none).
    """

    def __init__(self, step: Mapping[str, Any], lock: threading.Condition) -> None:
        self.input: Any = step.get("input")
        outputs = step.get("outputs")
        self.outputs: dict[str, Any] = dict(outputs) if isinstance(outputs, Mapping) else {}
        self.item: Any = step.get("item")
        self.item_index: int = _int(step.get("item_index"), -1)
        self.attempt: int = _int(step.get("attempt"), 1)
        self.idempotency_key: str = str(step.get("idempotency_key") or "")
        self.run_id: str = str(step.get("run_id") or "")
        self.workflow: str = str(step.get("workflow") or "")
        self.step: str = str(step.get("step") or "")
        self.task: str = str(step.get("task") or "")
        self.lease_ms: int = _int(step.get("lease_ms"), 0)
        self.timeout_ms: int = _int(step.get("timeout_ms"), 0)
        self._lock = lock
        self._cancelled = False  # set by the worker's threads (a flag: nothing waits for it)
        self._progress: float | None = None
        self._message: str | None = None
        self._version = 0  # bumped by each heartbeat(); the heartbeat thread sends a newer one

    @property
    def cancelled(self) -> bool:
        """True once the handler should stop: the run was cancelled, the step
        was lost to another worker or handed back by a stopping worker, or its
        timeout passed. The outcome of a cancelled run's step is still
        reported (the server turns it into the cancellation); that of a lost,
        timed-out or handed-back one is ignored."""
        return self._cancelled

    def heartbeat(self, progress: float | None = None, message: str | None = None) -> None:
        """Records the step's progress (0 to 1) and/or a message for people
        (``steadfast status``); the next heartbeat carries them. Leases are
        renewed without it: it never needs to be called for that."""
        if progress is not None:
            if isinstance(progress, bool) or not isinstance(progress, (int, float)) \
                    or not math.isfinite(progress) or not 0 <= progress <= 1:
                raise ValueError(f"progress must be a number from 0 to 1, got {progress!r}")
            progress = float(progress)
        if message is not None and not isinstance(message, str):
            raise TypeError(f"message must be a string, not {type(message).__name__}")
        if progress is None and message is None:
            return
        with self._lock:
            if progress is not None:
                self._progress = progress
            if message is not None:
                self._message = message
            self._version += 1

    def __repr__(self) -> str:
        return (f"TaskContext(run_id={self.run_id!r}, step={self.step!r}, task={self.task!r}, "
                f"attempt={self.attempt}, item_index={self.item_index})")


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return int(value)


class _Step:
    """A claimed step in this worker's hands (the worker's lock guards it)."""

    def __init__(self, token: str, ctx: TaskContext, now: float) -> None:
        self.token = token
        self.ctx = ctx
        self.started = now
        self.renewed = now  # the claim or the last heartbeat that carried it
        lease = ctx.lease_ms / 1000 if ctx.lease_ms > 0 else _DEFAULT_LEASE
        self.lease = lease
        self.deadline = now + ctx.timeout_ms / 1000 if ctx.timeout_ms > 0 else None
        self.settled = False  # its outcome is decided: reported, being reported, timed out, lost or released
        self.sent_version = 0
        self._label: str | None = None

    @property
    def label(self) -> str:
        """The step for log lines (made when one needs it)."""
        if self._label is None:
            ctx = self.ctx
            self._label = f"{ctx.run_id}/{ctx.step}" + (f"[{ctx.item_index}]" if ctx.item_index >= 0 else "") \
                + f" attempt {ctx.attempt}"
        return self._label


# ---------------------------------------------------------------- transport


class _TransportError(Exception):
    def __init__(self, text: str, *, sent: bool) -> None:
        super().__init__(text)
        self.sent = sent  # the request may have reached the server


class _Reply:
    __slots__ = ("status", "data", "retry_after", "detail")

    def __init__(self, status: int, data: Any, retry_after: float | None, detail: str) -> None:
        self.status = status
        self.data = data
        self.retry_after = retry_after
        self.detail = detail


class _Conn:
    """One kept-alive connection: its socket and a buffered reader of it that
    lives as long as the connection (not one per response)."""

    __slots__ = ("sock", "rfile", "timeout")

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")
        self.timeout = timeout

    def close(self) -> None:
        try:
            self.rfile.close()
        finally:
            self.sock.close()


class _Cut:
    """The claim's connection, which ``stop()`` cuts (a long poll never holds up a stop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: _Conn | None = None
        self.stopped = False

    def attach(self, conn: _Conn) -> bool:
        with self._lock:
            if self.stopped:
                return False
            self._conn = conn
            return True

    def detach(self) -> None:
        with self._lock:
            self._conn = None

    def cut(self) -> None:
        with self._lock:
            self.stopped = True
            sock = self._conn.sock if self._conn is not None else None
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# HTTP/1.1 as http.client reads it (status line, headers, bodies by length, chunks or close),
# without its per-response objects (a reader per response, headers parsed by the email package).
_MAX_LINE = 65536
_MAX_HEADERS = 100
_ILLEGAL_URL = re.compile(r"[\x00-\x20\x7f]")
_ILLEGAL_HEADER_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])")


def _read_line(rfile: Any, what: str) -> bytes:
    line = rfile.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise http.client.LineTooLong(what)
    return line


def _read_response(rfile: Any) -> tuple[int, dict[bytes, bytes], bytes, bool]:
    """Reads one response to a POST: (status, headers by lower-case name (the
    first of each), body, whether the connection closes after it). Raises
    OSError or http.client.HTTPException."""
    while True:
        line = _read_line(rfile, "status line")
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise http.client.BadStatusLine(str(line, "iso-8859-1"))
        try:
            status = int(parts[1])
        except ValueError:
            raise http.client.BadStatusLine(str(line, "iso-8859-1")) from None
        if not 100 <= status <= 999:
            raise http.client.BadStatusLine(str(line, "iso-8859-1"))
        headers: dict[bytes, bytes] = {}
        name = b""
        count = 0
        while True:
            h = _read_line(rfile, "header line")
            if h in (b"\r\n", b"\n", b""):
                break
            count += 1
            if count > _MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
            if h[:1] in (b" ", b"\t"):  # a folded line continues the header before it
                if name and headers.get(name) is not None:
                    headers[name] += b" " + h.strip()
                continue
            key, colon, value = h.partition(b":")
            if not colon:
                continue
            name = key.strip().lower()
            if name not in headers:
                headers[name] = value.strip()
            else:
                name = b""  # only the first of a repeated header counts (as http.client's get())
        if not 100 <= status < 200:
            break
        # an interim response (100 Continue, ...): the final one follows
    version = parts[0]
    if version in (b"HTTP/1.0", b"HTTP/0.9"):
        connection = headers.get(b"connection", b"").lower()
        will_close = not (headers.get(b"keep-alive") or b"keep-alive" in connection
                          or b"keep-alive" in headers.get(b"proxy-connection", b"").lower())
    elif version.startswith(b"HTTP/1."):
        will_close = b"close" in headers.get(b"connection", b"").lower()
    else:
        raise http.client.UnknownProtocol(str(version, "iso-8859-1"))
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        chunks = []
        while True:
            size_line = _read_line(rfile, "chunk size")
            try:
                size = int(size_line.split(b";", 1)[0], 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(chunks)) from None
            if size == 0:
                while _read_line(rfile, "trailer line") not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunk = rfile.read(size)
            if len(chunk) < size:
                raise http.client.IncompleteRead(b"".join(chunks) + chunk, size - len(chunk))
            chunks.append(chunk)
            rfile.read(2)  # the CRLF after the chunk
        return status, headers, b"".join(chunks), will_close
    length: int | None = None
    if status in (204, 304):
        length = 0
    else:
        try:
            length = int(headers[b"content-length"])
        except (KeyError, ValueError):
            length = None
        if length is not None and length < 0:
            length = None
    if length is None:  # the body ends with the connection
        return status, headers, rfile.read(), True
    body = rfile.read(length) if length else b""
    if len(body) < length:
        raise http.client.IncompleteRead(body, length - len(body))
    return status, headers, body, will_close


class _Transport:
    """POSTs of JSON to one serve. A connection serves one request at a time:
    a thread takes an idle one (or opens one), uses it, and gives it back."""

    def __init__(self, url: str, token: str | None, ssl_context: ssl.SSLContext | None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http://host[:port] or https://host[:port], not {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        if _ILLEGAL_URL.search(self._host) or _ILLEGAL_URL.search(self._base) or not self._base.isascii():
            raise ValueError(f"url must be http://host[:port] or https://host[:port], not {url!r}")
        # The default context is made once (it reads the system's roots), not per connection.
        self._ssl = (ssl_context or ssl.create_default_context()) if self._https else None
        # The request's head but for its Content-Length, made once (as http.client would send it).
        try:
            host = self._host.encode("ascii")
        except UnicodeEncodeError:
            host = self._host.encode("idna")
        if b":" in host:
            host = b"[" + host + b"]"
        if self._port != (443 if self._https else 80):
            host += b":%d" % self._port
        headers = [(b"Host", host), (b"User-Agent", f"steadfast-python/{__version__}".encode("latin-1")),
                   (b"Accept", b"application/json"), (b"Content-Type", b"application/json")]
        if token is not None:
            try:
                value = token.encode("latin-1")
            except UnicodeEncodeError as e:
                raise ValueError(f"the token cannot be sent in an HTTP header: {e}") from None
            if _ILLEGAL_HEADER_VALUE.search(value):
                raise ValueError("the token cannot be sent in an HTTP header (it holds a line break)")
            headers.append((b"Authorization", b"Bearer " + value))
        self._fields = b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"Content-Length: "
        self._heads: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._idle: list[_Conn] = []
        self._closed = False

    def _head(self, path: str) -> bytes:
        head = self._heads.get(path)
        if head is None:
            target = self._base + path
            if _ILLEGAL_URL.search(target):
                raise ValueError(f"a path that cannot be sent: {target!r}")
            head = b"POST " + target.encode("ascii") + b" HTTP/1.1\r\n" + self._fields
            self._heads[path] = head
        return head

    def _connection(self, timeout: float) -> tuple[_Conn, bool]:
        with self._lock:
            idle = self._idle
            if idle:
                # The last given back of those with this timeout (a claim's is longer): no settimeout.
                for i in range(len(idle) - 1, -1, -1):
                    if idle[i].timeout == timeout:
                        return idle.pop(i), True
                return idle.pop(), True
        sock = socket.create_connection((self._host, self._port), timeout)
        try:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=self._host)
            return _Conn(sock, timeout), False
        except BaseException:
            sock.close()
            raise

    def _give_back(self, conn: _Conn) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Closes the idle connections; one in use is closed when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def post(self, path: str, data: bytes, timeout: float, cut: _Cut | None = None) -> _Reply:
        """One request (every call of the protocol may be repeated: a kept-alive
        connection found closed is replaced at once). Raises _TransportError."""
        request = b"".join((self._head(path), b"%d\r\n\r\n" % len(data), data))  # head and body in one send
        sent_once = False
        for attempt in (1, 2):
            conn: _Conn | None = None
            reused = False
            sent = False
            try:
                conn, reused = self._connection(timeout)
                if conn.timeout != timeout:
                    conn.sock.settimeout(timeout)
                    conn.timeout = timeout
                if cut is not None and not cut.attach(conn):
                    conn.close()
                    raise _TransportError(f"POST {path}: the worker is stopping", sent=sent_once)
                conn.sock.sendall(request)
                sent = True
                status, headers, answer, will_close = _read_response(conn.rfile)
            except (OSError, http.client.HTTPException) as e:
                if conn is not None:
                    conn.close()
                sent_once = sent_once or sent
                if reused and attempt == 1 and not (cut is not None and cut.stopped):
                    continue  # a kept-alive connection the server had closed: once more on a new one
                raise _TransportError(f"POST {path}: {e or type(e).__name__}", sent=sent_once) from e
            finally:
                if cut is not None:
                    cut.detach()
            if will_close:
                conn.close()
            else:
                self._give_back(conn)
            return self._reply(status, headers, answer)
        raise AssertionError("unreachable")

    @staticmethod
    def _reply(status: int, headers: dict[bytes, bytes], answer: bytes) -> _Reply:
        data: Any = None
        if answer:
            try:
                data = json.loads(answer)
            except ValueError:
                data = None
        retry_after: float | None = None
        header = headers.get(b"retry-after")
        if header:
            try:
                retry_after = max(0.0, float(header))
            except ValueError:
                retry_after = None  # an HTTP date: the usual backoff
        if isinstance(data, dict):
            detail = str(data.get("detail") or data.get("title") or "")
        else:
            detail = answer.decode("utf-8", "replace").strip()[:512]
        return _Reply(status, data, retry_after, detail)


def _retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def _default_worker_id() -> str:
    suffix = f"-{os.getpid()}"
    host = re.sub(r"[^A-Za-z0-9_.:-]+", "-", socket.gethostname()).strip("-") or "worker"
    return host[:64 - len(suffix)] + suffix


#: What a handler returns that is surely not awaitable (no need to ask inspect).
_PLAIN = frozenset((dict, list, str, int, float, bool, type(None)))

_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # json.dumps would make one per call


def _dumps(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


# ------------------------------------------------------------------- worker


class Worker:
    """A worker of the task queues ``queues`` of one ``steadfast serve``.

    ``url`` is the serve's base (``http://127.0.0.1:8080``; ``https://``
    verifies its certificate with ``ssl_context`` or the system's roots);
    ``token`` a bearer token of role ``worker``, or None without tokens.
    ``concurrency`` handlers run at once at most, in as many threads (started by
    ``run()``, each running one handler at a time).
    ``worker_id`` names the worker (``^[A-Za-z0-9_.:-]{1,64}$``; default
    ``<host>-<pid>``, stable across restarts is best). ``wait`` is the long
    poll of each claim in seconds (at most 60); ``drain_timeout`` how long a
    stopping worker waits for its running handlers before handing their steps
    back; ``request_timeout`` the seconds any other request may take.

    Register handlers with ``task``, then call ``run``. A worker runs once.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        queues: Sequence[str],
        concurrency: int = 8,
        worker_id: str | None = None,
        wait: float = 20.0,
        drain_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        request_timeout: float = 10.0,
    ) -> None:
        if isinstance(queues, str):
            raise TypeError("queues must be a list of queue names, not a string")
        queue_list = list(queues)
        if not 1 <= len(queue_list) <= _MAX_QUEUES:
            raise ValueError(f"queues must name 1 to {_MAX_QUEUES} queues, got {len(queue_list)}")
        for q in queue_list:
            if not isinstance(q, str) or not q:
                raise ValueError(f"a queue name must be a non-empty string, got {q!r}")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
        if worker_id is None:
            worker_id = _default_worker_id()
        elif not isinstance(worker_id, str) or not _NAME.match(worker_id):
            raise ValueError(f"worker_id must match ^[A-Za-z0-9_.:-]{{1,64}}$, got {worker_id!r}")
        if not 0 <= wait <= _MAX_WAIT:
            raise ValueError(f"wait must be 0 to {_MAX_WAIT:g} seconds, got {wait!r}")
        if drain_timeout < 0:
            raise ValueError(f"drain_timeout must be >= 0 seconds, got {drain_timeout!r}")
        if request_timeout <= 0:
            raise ValueError(f"request_timeout must be positive (seconds), got {request_timeout!r}")
        self._transport = _Transport(url, token, ssl_context)
        self._queues = queue_list
        self._concurrency = concurrency
        self._worker_id = worker_id
        self._wait = float(wait)
        self._drain_timeout = float(drain_timeout)
        self._request_timeout = float(request_timeout)
        self._tasks: dict[str, Callable[[TaskContext], Any]] = {}

        lock = threading.RLock()               # guards what follows; two conditions of it:
        self._cond = threading.Condition(lock)  # a slot freed, an outcome sent, a step settled, stop()
        self._beat = threading.Condition(lock)  # for the heartbeat thread: new steps, or its end
        self._steps: dict[str, _Step] = {}     # by token: its handler is still running or reporting (a busy slot)
        self._reporting = 0                    # outcomes being sent
        self._keeper_done = False
        self._beat_at: float | None = None     # when the heartbeat thread waits: until when (inf: for steps)
        self._beat_lease = 0.0                 # and the shortest lease it reckoned with
        self._ran = False
        self._stopping = threading.Event()
        self._cut = _Cut()
        self._error: BaseException | None = None
        self._signals = 0                      # caught by run()'s handlers (touched by nothing else there)
        self._thread_seq = 0
        self._claim_prefix = uuid.uuid4().hex[:16]  # a claim's request_id: this and a count
        self._claims = 0
        self._queue: queue.SimpleQueue[_Step | None] = queue.SimpleQueue()  # for the handler threads

    # ------------------------------------------------------------ public

    @property
    def worker_id(self) -> str:
        """The id this worker claims under (``GET /v1/workers`` lists it)."""
        return self._worker_id

    @property
    def tasks(self) -> tuple[str, ...]:
        """The registered task names, in the order of registration."""
        return tuple(self._tasks)

    def task(self, name: str) -> Callable[[H], H]:
        """A decorator registering a handler for the task ``name`` (the
        ``with: {task: ...}`` of a ``kind: task`` step)::

            @worker.task("summarize")
            def summarize(ctx: TaskContext) -> dict: ...

        The handler takes the ``TaskContext`` and returns the step's output (a
        JSON value), or is an ``async def`` doing the same. It is returned as is.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a task name must be a non-empty string, got {name!r}")

        def register(handler: H) -> H:
            if not callable(handler):
                raise TypeError(f"the handler of task {name!r} is not callable")
            if self._ran:
                raise RuntimeError("tasks must be registered before run()")
            if name in self._tasks:
                raise ValueError(f"task {name!r} is registered already")
            if len(self._tasks) >= _MAX_TASKS:
                raise ValueError(f"a worker has {_MAX_TASKS} tasks at most")
            self._tasks[name] = handler
            return handler

        return register

    def run(self) -> None:
        """Claims steps and runs their handlers until ``stop()`` (or, when called
        in the main thread, SIGTERM or SIGINT); then drains: stops claiming,
        waits up to ``drain_timeout`` for the running handlers, hands back
        (``release``) the steps still running, and returns.

        In the main thread, SIGTERM and SIGINT handlers are installed for the
        time of the call (the previous ones are put back after): the first
        signal stops the worker as ``stop()`` does; a second one during the
        drain ends the drain's wait at once (the steps still running are
        handed back at once and run() returns) rather than killing the
        process.

        Raises ``SteadfastError`` (after draining) if the server refused the
        claims themselves (an error answer that retrying cannot mend, such as
        401, 403, 404 or 400).
        """
        if self._ran:
            raise RuntimeError("a Worker runs once; make a new one")
        if not self._tasks:
            raise ValueError("no task registered: use @worker.task(name) before run()")
        self._ran = True
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._on_signal)
        polling = bool(previous)
        keeper = threading.Thread(target=self._keep, name="steadfast-heartbeat", daemon=True)
        claimer = threading.Thread(target=self._claim_loop, name="steadfast-claim", daemon=True)
        # The handler threads, one per slot, fed by _start through the queue. Daemons: a handler
        # that never returns keeps its slot and its thread but does not keep the process alive.
        handlers = [threading.Thread(target=self._handle, name=f"steadfast-step-{i}", daemon=True)
                    for i in range(1, self._concurrency + 1)]
        try:
            keeper.start()
            for t in handlers:
                t.start()
            claimer.start()
            logger.info("worker %s claiming tasks %s from queues %s (concurrency %d)", self._worker_id,
                        list(self._tasks), self._queues, self._concurrency)
            by_signal = False
            while not self._stopping.wait(_POLL if polling else None):
                if self._signals:
                    by_signal = True
                    logger.info("worker %s: signal received, draining", self._worker_id)
                    self.stop()
            self._drain(claimer, polling, by_signal)
        finally:
            self.stop()
            with self._cond:
                leftovers = self._take_unsettled()
                self._keeper_done = True
                self._beat.notify_all()
                # After the steps _start queued (it queues none from now on): one end for each
                # handler thread, taken when it is idle (a runaway one takes its own when it returns).
                for t in handlers:
                    if t.ident is not None:
                        self._queue.put(None)
            for step in leftovers:  # only after an exception in the drain itself
                self._release(step)
            if keeper.ident is not None:
                keeper.join()
            self._transport.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            logger.info("worker %s stopped", self._worker_id)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Asks ``run()`` to drain and return; returns at once. Safe from any
        thread, a handler included, and before ``run()`` (which then returns
        at once)."""
        self._stopping.set()
        self._cut.cut()
        with self._cond:
            self._cond.notify_all()

    def __repr__(self) -> str:
        return f"Worker(worker_id={self._worker_id!r}, queues={self._queues!r}, tasks={list(self._tasks)!r})"

    # ------------------------------------------------------------ run()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only a counter: a signal handler that took a lock the main thread
        # holds would deadlock. run() looks at it every _POLL seconds.
        self._signals += 1

    def _drain(self, claimer: threading.Thread, polling: bool, by_signal: bool) -> None:
        def cut_short() -> bool:
            return self._signals >= (2 if by_signal else 1)

        deadline = time.monotonic() + self._drain_timeout
        while claimer.is_alive():  # it stops at once but may hand back what a last claim brought
            claimer.join(_POLL if polling else None)
        with self._cond:
            while True:
                busy = self._reporting > 0 or any(not s.settled for s in self._steps.values())
                left = deadline - time.monotonic()
                if not busy or left <= 0 or (polling and cut_short()):
                    break
                self._cond.wait(min(left, _POLL) if polling else left)
            leftovers = self._take_unsettled()
        if leftovers:
            logger.warning("worker %s: handing back %d step(s) still running after the drain", self._worker_id,
                           len(leftovers))
        for step in leftovers:
            self._release(step)

    def _take_unsettled(self) -> list[_Step]:
        """Under the lock: settles the steps still running (to hand back)."""
        leftovers = [s for s in self._steps.values() if not s.settled]
        for s in leftovers:
            s.settled = True
            s.ctx._cancelled = True
        return leftovers

    def _thread(self, target: Callable[..., None], *args: Any, kind: str) -> threading.Thread:
        with self._cond:
            self._thread_seq += 1
            seq = self._thread_seq
        t = threading.Thread(target=target, args=args, name=f"steadfast-{kind}-{seq}", daemon=True)
        t.start()
        return t

    # ------------------------------------------------------------ claims

    def _claim_loop(self) -> None:
        try:
            while not self._stopping.is_set():
                with self._cond:
                    while len(self._steps) >= self._concurrency and not self._stopping.is_set():
                        self._cond.wait()
                    if self._stopping.is_set():
                        break
                    free = min(self._concurrency - len(self._steps), _MAX_CLAIM)
                self._claims += 1
                request_id = f"{self._claim_prefix}{self._claims:016x}"  # new for each claim (no uuid4 each)
                body = {"protocol": PROTOCOL, "worker": self._worker_id, "request_id": request_id,
                        "queues": self._queues, "tasks": list(self._tasks), "max": free,
                        "concurrency": self._concurrency, "wait": f"{round(self._wait * 1000)}ms", "host": _HOST}
                began = time.monotonic()
                steps = self._claim(body)
                if steps:
                    self._start(steps)
                elif time.monotonic() - began < _POLL:
                    self._stopping.wait(_POLL)  # a server that does not hold the poll: no busy loop
        except BaseException as e:  # noqa: BLE001 - the worker stops; run() raises it
            if not isinstance(e, SteadfastError):
                logger.exception("worker %s: the claim loop failed", self._worker_id)
            self._error = e
            self.stop()

    def _claim(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """One claim, asked again under the same request_id until it is
        answered (a lost answer costs no attempt: the server answers the same
        steps again)."""
        data = _dumps(body)
        backoff = _BACKOFF_FIRST
        maybe_sent = False
        while not self._stopping.is_set():
            try:
                reply = self._transport.post("/v1/worker/claim", data, self._wait + self._request_timeout,
                                             cut=self._cut)
            except _TransportError as e:
                maybe_sent = maybe_sent or e.sent
                if self._stopping.is_set():
                    break
                logger.warning("worker %s: claim failed, asking again in %.2f s: %s", self._worker_id, backoff, e)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            maybe_sent = False
            if reply.status == 200:
                got = reply.data.get("steps") if isinstance(reply.data, dict) else None
                if not isinstance(got, list):
                    logger.error("worker %s: a claim's answer has no steps list: %.200r", self._worker_id, reply.data)
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, _BACKOFF_MAX)
                    continue
                return self._valid_steps(got)
            if _retryable_status(reply.status):
                delay = reply.retry_after if reply.retry_after is not None else backoff
                logger.warning("worker %s: claim answered %d, asking again in %.2f s: %s", self._worker_id,
                               reply.status, delay, reply.detail)
                self._stopping.wait(delay)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            problem = reply.data if isinstance(reply.data, dict) else {}
            error = SteadfastError(reply.status, str(problem.get("title") or "claim refused"), reply.detail,
                                   type=str(problem.get("type") or ""), problem=problem or None)
            logger.error("worker %s: the server refused the claim, stopping: %s", self._worker_id, error)
            raise error
        if maybe_sent:
            return self._recover(body)
        return []

    def _recover(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Stopping with a claim that may have been answered unseen: asks for
        it again at once (same request_id, wait 0ms) so that its steps can be
        handed back rather than held until their lease ends."""
        again = dict(body, wait="0ms")
        try:
            reply = self._transport.post("/v1/worker/claim", _dumps(again), self._request_timeout)
        except _TransportError as e:
            logger.warning("worker %s: could not ask again for the claim cut by the stop (its steps, if any, "
                           "come back after their lease): %s", self._worker_id, e)
            return []
        got = reply.data.get("steps") if reply.status == 200 and isinstance(reply.data, dict) else None
        return self._valid_steps(got) if isinstance(got, list) else []

    def _valid_steps(self, got: list[Any]) -> list[dict[str, Any]]:
        steps = []
        for s in got:
            if isinstance(s, dict) and isinstance(s.get("token"), str) and s["token"]:
                steps.append(s)
            else:
                logger.error("worker %s: a claimed step without a token, ignored: %.200r", self._worker_id, s)
        return steps

    def _start(self, claimed: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        started: list[_Step] = []
        refused: list[_Step] = []
        with self._cond:
            for s in claimed:
                step = _Step(s["token"], TaskContext(s, self._cond), now)
                if step.token in self._steps:
                    logger.warning("worker %s: %s was claimed again while running; ignored", self._worker_id,
                                   step.label)
                    continue
                if self._stopping.is_set():
                    step.settled = True
                    refused.append(step)
                    continue
                self._steps[step.token] = step
                started.append(step)
                # Under the lock: before the ends run() queues once it has stopped (then none here).
                self._queue.put(step)
            if started and self._beat_sooner(started):
                self._beat.notify_all()  # the heartbeat thread: it must wake sooner for these
        if started and logger.isEnabledFor(logging.DEBUG):
            for step in started:
                logger.debug("worker %s: running %s (task %s)", self._worker_id, step.label, step.ctx.task)
        for step in refused:  # claimed as the worker stopped: handed back unstarted
            self._release(step)

    def _beat_sooner(self, started: list[_Step]) -> bool:
        """Under the lock, while the heartbeat thread waits: whether new steps
        need it sooner than it will wake. A step's first heartbeat is due a
        third of its lease after the claim, later than those of the steps in
        hand unless its lease is shorter; its timeout may come sooner."""
        at = self._beat_at
        if at is None or at == math.inf:  # (None: awake, it sees them anyway; inf: waiting for steps)
            return at is not None
        return any(s.lease < self._beat_lease or (s.deadline is not None and s.deadline < at) for s in started)

    # ------------------------------------------------------------ steps

    def _handle(self) -> None:
        """A handler thread: runs the steps _start queues, one at a time, until
        run() queues its end."""
        get = self._queue.get
        while True:
            step = get()
            if step is None:
                return
            try:
                self._run_step(step)
            except BaseException:  # noqa: BLE001 - never out of a handler thread (its slot would be lost)
                logger.exception("worker %s: unexpected error", self._worker_id)

    def _run_step(self, step: _Step) -> None:
        """Runs a step's handler and sends its outcome; its slot is busy until then."""
        reporting = False
        try:
            path, data = self._outcome(step)
            with self._cond:
                if step.settled:
                    logger.debug("worker %s: %s ended after it was settled; its outcome is ignored",
                                 self._worker_id, step.label)
                    return
                step.settled = True
                self._reporting += 1
                reporting = True
            self._report(step, path, data)
        except BaseException:  # noqa: BLE001 - never out of a worker thread
            logger.exception("worker %s: %s: unexpected error", self._worker_id, step.label)
        finally:
            with self._cond:
                if reporting:
                    self._reporting -= 1
                self._steps.pop(step.token, None)
                self._cond.notify_all()

    def _outcome(self, step: _Step) -> tuple[str, bytes | dict[str, Any]]:
        """What the step's handler did: the call to send and its body (the
        complete's already encoded: a result that is not JSON fails the step)."""
        ctx = step.ctx
        handler = self._tasks.get(ctx.task)
        if handler is None:
            return "/v1/worker/fail", {"token": step.token, "kind": "retryable",
                                       "error": f"worker {self._worker_id} has no task {ctx.task!r}"}
        try:
            result = handler(ctx)
            if type(result) not in _PLAIN:
                if inspect.iscoroutine(result):
                    result = asyncio.run(result)
                elif inspect.isawaitable(result):
                    result = asyncio.run(_awaited(result))
        except Fatal as e:
            logger.warning("worker %s: %s failed for good: %s", self._worker_id, step.label, _error_text(e))
            return "/v1/worker/fail", {"token": step.token, "kind": "fatal", "error": _error_text(e)}
        except RateLimited as e:
            logger.info("worker %s: %s rate limited (retry after %s s): %s", self._worker_id, step.label,
                        e.retry_after, _error_text(e))
            body: dict[str, Any] = {"token": step.token, "kind": "rate_limited", "error": _error_text(e)}
            if e.retry_after is not None:
                body["retry_after"] = e.retry_after
            return "/v1/worker/fail", body
        except BaseException as e:  # noqa: BLE001 - any failure of the handler is the step's
            logger.warning("worker %s: %s failed: %s", self._worker_id, step.label, _error_text(e), exc_info=e)
            return "/v1/worker/fail", {"token": step.token, "kind": "retryable", "error": _error_text(e)}
        try:
            data = _dumps({"token": step.token, "output": result})  # encoded once: the check and the body
        except (TypeError, ValueError, RecursionError) as e:
            error = f"task {ctx.task!r} returned a {type(result).__name__} that is not JSON: {e}"
            logger.warning("worker %s: %s: %s", self._worker_id, step.label, error)
            return "/v1/worker/fail", {"token": step.token, "kind": "fatal", "error": error[:_MAX_ERROR]}
        return "/v1/worker/complete", data

    def _report(self, step: _Step, path: str, body: bytes | dict[str, Any]) -> None:
        status = self._send(step, path, body, step.lease)
        if path.endswith("/complete") and status in (400, 413, 422):
            # The server refused the output itself (too large, ...): a retry
            # would do the same, so the step fails for good rather than wait
            # for its lease to run out again and again.
            self._send(step, "/v1/worker/fail", {"token": step.token, "kind": "fatal",
                                                 "error": f"the server refused the output ({status})"},
                       step.lease)

    def _release(self, step: _Step) -> None:
        self._send(step, "/v1/worker/release", {"token": step.token}, min(step.lease, _RELEASE_BUDGET))

    def _send(self, step: _Step, path: str, body: bytes | dict[str, Any], budget: float) -> int:
        """Sends an outcome (``body`` encoded already, or to encode), again
        after a failed transport or a 5xx/503 for up to ``budget`` seconds
        (idempotent by token on the server). Returns the final status (0: none
        came); never raises."""
        call = path.rsplit("/", 1)[-1]
        if isinstance(body, bytes):
            data = body
        else:
            try:
                data = _dumps(body)
            except (TypeError, ValueError) as e:  # cannot happen for what _outcome built; never raise anyway
                logger.error("worker %s: %s: %s not sent: %s", self._worker_id, step.label, call, e)
                return 0
        deadline = time.monotonic() + budget
        backoff = _BACKOFF_FIRST
        while True:
            problem: str
            try:
                reply = self._transport.post(path, data, self._request_timeout)
            except _TransportError as e:
                status, problem, delay = 0, str(e), backoff
            else:
                status = reply.status
                if 200 <= status < 300:
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug("worker %s: %s: %s sent", self._worker_id, step.label, call)
                    return status
                if status == 409:
                    logger.warning("worker %s: %s: %s refused, the step is no longer this worker's (stale "
                                   "token): %s", self._worker_id, step.label, call, reply.detail)
                    return status
                if not _retryable_status(status):
                    logger.error("worker %s: %s: %s refused (%d): %s", self._worker_id, step.label, call, status,
                                 reply.detail)
                    return status
                problem = f"{status} {reply.detail}"
                delay = reply.retry_after if reply.retry_after is not None else backoff
            if time.monotonic() + delay > deadline:
                logger.error("worker %s: %s: %s not sent, giving up after %.1f s: %s", self._worker_id,
                             step.label, call, budget, problem)
                return status
            logger.warning("worker %s: %s: %s failed, again in %.2f s: %s", self._worker_id, step.label, call,
                           delay, problem)
            time.sleep(delay)
            backoff = min(backoff * 2, _BACKOFF_MAX)

    # ------------------------------------------------------- heartbeats

    def _keep(self) -> None:
        """The heartbeat thread: renews the leases of the steps in hand (one
        request for all) and times out the handlers that run past their
        step's timeout."""
        retry_at: float | None = None   # after a failed heartbeat
        backoff = _BACKOFF_FIRST
        while True:
            expired: list[_Step] = []
            beat: list[tuple[_Step, dict[str, Any], int]] = []
            with self._cond:
                if self._keeper_done:
                    return
                now = time.monotonic()
                active = [s for s in self._steps.values() if not s.settled]
                for s in active:
                    if s.deadline is not None and s.deadline <= now:
                        s.settled = True
                        s.ctx._cancelled = True
                        expired.append(s)
                        self._reporting += 1
                active = [s for s in active if not s.settled]
                if not expired:
                    if not active:
                        retry_at = None
                        self._beat_at = math.inf
                        self._beat.wait()
                        self._beat_at = None
                        continue
                    shortest = min(s.lease for s in active)
                    interval = min(max(shortest / 3, _BEAT_MIN), _BEAT_MAX)
                    due = min(s.renewed for s in active) + interval
                    if retry_at is not None:  # after a failed heartbeat: its backoff first
                        due = max(due, retry_at)
                    deadlines = [s.deadline for s in active if s.deadline is not None]
                    wake = min([due, *deadlines])
                    if now < wake:
                        self._beat_at, self._beat_lease = wake, shortest
                        self._beat.wait(wake - now)
                        self._beat_at = None
                        continue
                    for s in active:
                        entry: dict[str, Any] = {"token": s.token}
                        version = s.ctx._version
                        if version != s.sent_version:
                            if s.ctx._progress is not None:
                                entry["progress"] = s.ctx._progress
                            if s.ctx._message is not None:
                                entry["message"] = s.ctx._message
                        beat.append((s, entry, version))
            for s in expired:
                logger.warning("worker %s: %s timed out after %d ms", self._worker_id, s.label, s.ctx.timeout_ms)
                self._thread(self._report_timeout, s, kind="timeout")
            if beat:
                if self._heartbeat(beat):
                    retry_at, backoff = None, _BACKOFF_FIRST
                else:
                    retry_at = time.monotonic() + backoff
                    backoff = min(backoff * 2, _BACKOFF_MAX)

    def _report_timeout(self, step: _Step) -> None:
        try:
            self._send(step, "/v1/worker/fail", {"token": step.token, "kind": "retryable",
                                                 "error": f"timed out after {step.ctx.timeout_ms} ms"}, step.lease)
        finally:
            with self._cond:
                self._reporting -= 1
                self._cond.notify_all()

    def _heartbeat(self, beat: list[tuple[_Step, dict[str, Any], int]]) -> bool:
        sent_at = time.monotonic()
        body = {"worker": self._worker_id, "tokens": [entry for _, entry, _ in beat]}
        try:
            reply = self._transport.post("/v1/worker/heartbeat", _dumps(body), self._request_timeout)
        except _TransportError as e:
            logger.warning("worker %s: heartbeat failed: %s", self._worker_id, e)
            return False
        if reply.status != 200:
            logger.warning("worker %s: heartbeat answered %d: %s", self._worker_id, reply.status, reply.detail)
            return False
        results = reply.data.get("results") if isinstance(reply.data, dict) else None
        if not isinstance(results, list) or len(results) != len(beat):
            logger.warning("worker %s: a heartbeat's answer has no result per token: %.200r", self._worker_id,
                           reply.data)
            return False
        with self._cond:
            for (step, _, version), result in zip(beat, results):
                step.renewed = sent_at
                step.sent_version = max(step.sent_version, version)
                if result == "cancel":
                    if not step.ctx._cancelled:
                        logger.info("worker %s: %s: the run was cancelled", self._worker_id, step.label)
                    step.ctx._cancelled = True
                elif result == "lost":
                    step.ctx._cancelled = True
                    if not step.settled:
                        step.settled = True
                        logger.warning("worker %s: %s was lost (its lease ran out or the run is gone); its "
                                       "outcome will not be reported", self._worker_id, step.label)
                elif result != "ok":
                    logger.warning("worker %s: %s: unknown heartbeat result %.50r", self._worker_id, step.label,
                                   result)
            self._cond.notify_all()
        return True


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
