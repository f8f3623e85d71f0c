"""``Client``: submit runs, read their status, wait for them, signal and cancel them,
over the HTTP API of ``steadfast serve`` (README, "HTTP API")."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from steadfast.errors import SteadfastError

__version__ = "0.1.0"

#: A run in one of these statuses has ended; ``Client.wait`` returns then.
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

# A kept-alive connection idle this long (seconds) is replaced before a request
# that must not be sent twice: the server may have closed it meanwhile, and a
# request lost on a closed connection cannot be told from one it carried out.
_STALE_AFTER = 1.0


def _segment(value: str) -> str:
    """One path segment, percent-encoded (a name never becomes another path)."""
    return urllib.parse.quote(str(value), safe="")


def _duration(value: dt.timedelta | str) -> str:
    if isinstance(value, dt.timedelta):
        return f"{round(value.total_seconds() * 1000)}ms"
    if isinstance(value, str):
        return value
    raise TypeError(f"delay must be a datetime.timedelta or a string like '10m', not {type(value).__name__}")


def _instant(value: dt.datetime | str) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, dt.datetime):
        raise TypeError(f"run_at must be a datetime.datetime or an RFC 3339 string, not {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("run_at must be timezone-aware (a naive datetime names no instant)")
    utc = value.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class Client:
    """The HTTP API of one ``steadfast serve``.

    ``url`` is its base (``http://127.0.0.1:8080``; ``https://`` verifies the
    certificate with ``ssl_context`` or the system's roots); ``token`` a bearer
    token of the tokens file, or None without tokens; ``timeout`` the seconds
    a request may take (a ``wait`` adds its long poll to it).

    Every method returns the API's JSON answer as a dict and raises
    ``SteadfastError`` for an error answer or a failed transport. One
    keep-alive connection per client, one request at a time: safe to share
    between threads, which then take turns (a client per thread runs them in
    parallel). When a kept-alive connection turns out closed, a request is
    sent again once on a fresh one if it never got through, or if it cannot
    have a second effect (reads, cancel, anything with an idempotency key);
    otherwise its error says it may have been carried out (``applied``).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http://host[:port] or https://host[:port], not {url!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive (seconds)")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._ssl = ssl_context
        self._timeout = timeout
        self._headers = {"User-Agent": f"steadfast-python/{__version__}", "Accept": "application/json"}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    # ------------------------------------------------------------------ runs

    def submit(
        self,
        workflow: str,
        input: Any = None,  # noqa: A002 - the API's name
        *,
        idempotency_key: str | None = None,
        metadata: Mapping[str, str] | None = None,
        delay: dt.timedelta | str | None = None,
        run_at: dt.datetime | str | None = None,
        priority: int | None = None,
    ) -> dict[str, Any]:
        """Starts a run of ``workflow``: ``{"run_id", "status_url"}`` (and ``"run_at"``
        for a delayed one). ``input`` None sends none (an empty object for the
        workflow); a repeat of ``idempotency_key`` with the same input answers
        the first run, with another input raises ``idempotency-conflict`` (409).
        ``delay`` (``timedelta`` or ``"10m"``) or ``run_at`` (an aware
        ``datetime`` or RFC 3339 text) starts it later. ``priority`` 0 (lowest)
        to 9 (highest; None: the default, 5): an ordered queue hands out a
        higher one first."""
        body = self._submit_body(input, metadata, delay, run_at, priority)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
        return self._call("POST", f"/v1/workflows/{_segment(workflow)}/runs", body, headers,
                          repeatable=idempotency_key is not None)

    def submit_many(self, workflow: str, runs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Submits 1 to 1,000 runs in one request: each item a submit's body
        (``input``, ``metadata``, ``priority``, ``delay``/``run_at``) plus an optional
        ``idempotency_key``. Answers ``{"created", "refused", "runs": [...]}``,
        per item in order a run or ``{"error": problem}``: a refused item
        writes nothing and never stops the others."""
        items = [dict(r) for r in runs]
        repeatable = bool(items) and all("idempotency_key" in r for r in items)
        return self._call("POST", f"/v1/workflows/{_segment(workflow)}/runs:batch", {"runs": items},
                          repeatable=repeatable)

    def status(self, run_id: str) -> dict[str, Any]:
        """The run's status JSON (as ``steadfast status --json``)."""
        return self._call("GET", f"/v1/runs/{_segment(run_id)}")

    def wait(self, run_id: str, timeout: float | None = None, *, poll: float = 30.0) -> dict[str, Any]:
        """Waits until the run has ended (``TERMINAL_STATUSES``) and returns its
        status JSON, by long polls of at most ``poll`` seconds each. Raises
        ``TimeoutError`` when ``timeout`` seconds pass first (None: no limit);
        the run goes on."""
        if poll <= 0:
            raise ValueError("poll must be positive (seconds)")
        deadline = None if timeout is None else time.monotonic() + timeout
        path = f"/v1/runs/{_segment(run_id)}"
        last: dict[str, Any] = {}
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"run {run_id} did not end within {timeout} s (it is {last.get('status')!r})")
            ask = poll if left is None else min(poll, left)
            started = time.monotonic()
            last = self._call("GET", f"{path}?wait={max(1, int(ask * 1000))}ms", timeout=self._timeout + ask)
            if last.get("status") in TERMINAL_STATUSES:
                return last
            if time.monotonic() - started < 0.05:  # a server that does not hold the poll: no busy loop
                time.sleep(0.05)

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Cancels a run: ``{"run_id", "result": "cancelled"|"cancelling", "status_url"}``;
        409 when it had ended. Needs the ``admin`` role."""
        return self._call("POST", f"/v1/runs/{_segment(run_id)}/cancel", repeatable=True)

    def signal(self, run_id: str, name: str, payload: Any = None, *,
               idempotency_key: str | None = None) -> dict[str, Any]:
        """Sends the signal ``name`` to a run: ``payload`` (JSON, at most 64 KiB)
        becomes the output of the step waiting on it (``"result": "delivered"``)
        or is kept for the first one to wait on it (``"kept"``)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
        return self._call("POST", f"/v1/runs/{_segment(run_id)}/signals/{_segment(name)}", payload, headers,
                          repeatable=idempotency_key is not None, send_null=True)

    def runs(
        self,
        *,
        status: str | None = None,
        workflow: str | None = None,
        meta: Mapping[str, str] | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A page of runs, newest first: ``{"runs": [...], "next_cursor"}``
        (``next_cursor`` is the ``cursor`` of the next page, None at the end)."""
        query: list[tuple[str, str]] = []
        for key, value in (("status", status), ("workflow", workflow), ("created_after", created_after),
                           ("created_before", created_before), ("cursor", cursor)):
            if value is not None:
                query.append((key, value))
        if limit is not None:
            query.append(("limit", str(limit)))
        for key, value in (meta or {}).items():
            query.append((f"meta.{key}", value))
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return self._call("GET", f"/v1/runs{suffix}")

    # ------------------------------------------------------------- plumbing

    def close(self) -> None:
        """Closes the kept-alive connection (a later call opens another)."""
        with self._lock:
            self._drop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _submit_body(input: Any, metadata: Mapping[str, str] | None,  # noqa: A002
                     delay: dt.timedelta | str | None, run_at: dt.datetime | str | None,
                     priority: int | None = None) -> dict[str, Any]:
        if delay is not None and run_at is not None:
            raise ValueError("give delay or run_at, not both")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)
                                     or not 0 <= priority <= 9):
            raise ValueError(f"priority must be a whole number from 0 to 9, got {priority!r}")
        body: dict[str, Any] = {}
        if input is not None:
            body["input"] = input
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if delay is not None:
            body["delay"] = _duration(delay)
        if run_at is not None:
            body["run_at"] = _instant(run_at)
        if priority is not None:
            body["priority"] = priority
        return body

    def _call(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None, *,
              repeatable: bool | None = None, timeout: float | None = None, send_null: bool = False) -> Any:
        data: bytes | None = None
        if body is not None or send_null:
            # allow_nan=False: NaN is no JSON; a ValueError here names it.
            data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        all_headers = dict(self._headers)
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        if repeatable is None:
            repeatable = method == "GET"
        status, content_type, answer = self._send(method, self._base + path, data, all_headers,
                                                  timeout or self._timeout, repeatable)
        if 200 <= status < 300:
            if not answer:
                return {}
            try:
                return json.loads(answer)
            except ValueError as e:
                raise SteadfastError(status, "the answer is not JSON", f"{method} {path}: {e}") from e
        raise self._problem(status, content_type, answer)

    @staticmethod
    def _problem(status: int, content_type: str, answer: bytes) -> SteadfastError:
        problem: Any = None
        if "json" in content_type:
            try:
                problem = json.loads(answer)
            except ValueError:
                problem = None
        if isinstance(problem, dict):
            return SteadfastError(status, str(problem.get("title", "")), str(problem.get("detail", "")),
                                  type=str(problem.get("type", "")), problem=problem)
        text = answer.decode("utf-8", "replace").strip()[:512]
        return SteadfastError(status, http.client.responses.get(status, "error"), text)

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout,
                                               context=self._ssl or ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _send(self, method: str, path: str, data: bytes | None, headers: Mapping[str, str], timeout: float,
              repeatable: bool) -> tuple[int, str, bytes]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is not None and not repeatable and time.monotonic() - self._last_used > _STALE_AFTER:
                    self._drop()
                reused = self._conn is not None
                if self._conn is None:
                    self._conn = self._connect(timeout)
                conn = self._conn
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                sent = False
                try:
                    conn.putrequest(method, path, skip_accept_encoding=True)
                    for key, value in headers.items():
                        conn.putheader(key, value)
                    if data is not None:
                        conn.putheader("Content-Length", str(len(data)))
                    conn.endheaders(data)
                    sent = True
                    response = conn.getresponse()
                    answer = response.read()
                except (ConnectionRefusedError, socket.gaierror) as e:
                    self._drop()
                    raise SteadfastError(0, "cannot connect", f"{self._origin}: {e}") from e
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                    self._drop()
                    # The server closed a kept-alive connection: once more on a
                    # new one if the request never got through (a failed send
                    # leaves it incomplete there) or may be repeated.
                    if reused and attempt == 1 and (repeatable or not sent):
                        continue
                    raise SteadfastError(0, "connection lost", f"{method} {path}: {e}; the request may have been "
                                         "carried out", applied=sent) from e
                except (OSError, http.client.HTTPException) as e:  # timeouts included
                    self._drop()
                    raise SteadfastError(0, "request failed", f"{method} {path}: {e}", applied=sent) from e
                self._last_used = time.monotonic()
                if response.will_close:
                    self._drop()
                return response.status, response.getheader("Content-Type", ""), answer
        raise AssertionError("unreachable")
