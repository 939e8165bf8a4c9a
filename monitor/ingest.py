"""The push endpoint (`monitor serve-ingest`): partners POST batches of posts.

    POST /ingest
    X-Monitor-Timestamp: 1795219200              (Unix seconds, the sender's clock)
    X-Monitor-Signature: sha256=<hex>            (HMAC-SHA256 of "<timestamp>.<body>")
    Content-Type: application/json
    {"posts": [{"id": "...", "text": "...", "created_at": "2026-11-21T08:15:00+08:00", ...}]}

Checks, in this order, so nothing unauthenticated is ever parsed: path and
method; a Content-Length of ASCII digits (400 otherwise, 411 when missing) within
``ingest.max_body_bytes`` (413, and the body is not read); a timestamp within
``ingest.max_clock_skew_seconds``; the signature (constant-time compare); only
then the JSON. The same signature seen before within twice the clock skew is a
replay (409): the window is kept in the database, and the signature is recorded
in the same transaction that stores the batch's posts, so a restart does not
forget it and a batch is never half taken. Each post follows the replay schema
(see collectors/replay.py) and the collectors' shared bad-record check: a bad
post (broken or too deeply nested JSON, a lone surrogate, NaN, a time before
2000 or in the future) is rejected with its index and reason, the rest are
stored, duplicates are counted, never stored twice. Each request is recorded as
a run.

The app is plain WSGI, served by waitress: connections are handled without a
thread each, an idle connection or a request still arriving after
``ingest.timeout_seconds`` is closed, the listen backlog is ``ingest.backlog``,
and ``ingest.threads`` requests are handled at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from http import HTTPStatus
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.server import TcpWSGIServer

from monitor.clock import utc_now
from monitor.collectors import parse_record
from monitor.collectors.replay import post_from_record
from monitor.config import Config
from monitor.intake import Intake
from monitor.records import SourceRun
from monitor.runs import open_store
from monitor.store import StoreError

log = logging.getLogger(__name__)

PATH = "/ingest"
TIMESTAMP_HEADER = "X-Monitor-Timestamp"
SIGNATURE_HEADER = "X-Monitor-Signature"
ASCII_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() also takes "１２" and "²"
DRAIN_SECONDS = 10.0  # on stop, time given to requests already received to be answered

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value a sender puts on a request."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class AlreadyReceived(Exception):
    """This exact request (its signature) was stored before, within the replay window."""


# --- the WSGI application ---------------------------------------------------------------


class IngestApp:
    """The push endpoint as a WSGI application: ``app(environ, start_response)``."""

    def __init__(self, config: Config, secret: bytes):
        self.config = config
        self.secret = secret

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, payload = self.answer(environ)
        body = json.dumps(payload, ensure_ascii=False).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    def answer(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one request; the checks in the module docstring's order."""
        settings = self.config.ingest
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if method in ("GET", "HEAD") and path == "/health":
            return 200, {"status": "ok"}
        if path != PATH or method in ("GET", "HEAD"):
            return 404, {"error": "not found; POST batches to /ingest"}
        if method != "POST":
            return 405, {"error": "method not allowed; POST batches to /ingest"}
        length_header = environ.get("CONTENT_LENGTH") or ""
        if not length_header:
            return 411, {"error": "Content-Length required"}
        if not ASCII_DIGITS.fullmatch(length_header):
            return 400, {
                "error": f"Content-Length {length_header[:20]!r} is not a number of bytes "
                "(ASCII digits only)"
            }
        length = int(length_header)
        if length > settings.max_body_bytes:
            return 413, {"error": f"body of {length} bytes exceeds {settings.max_body_bytes}"}
        timestamp = environ.get("HTTP_" + TIMESTAMP_HEADER.upper().replace("-", "_"), "")
        signature = environ.get("HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"), "")
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            return 401, {"error": f"{TIMESTAMP_HEADER} (Unix seconds) required"}
        if skew > settings.max_clock_skew_seconds:
            return 401, {"error": f"timestamp {skew:.0f} s away from server time; check the clock"}
        body = environ["wsgi.input"].read(length)
        if len(body) != length:
            return 400, {"error": f"body ended after {len(body)} of {length} bytes"}
        expected = sign(self.secret, timestamp, body)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return 401, {"error": "signature does not match"}
        try:
            raw_posts = split_batch(body)
        except ValueError as exc:
            return 400, {"error": f'body must be {{"posts": [...]}}: {exc}'}
        try:
            return 200, store_batch(self.config, raw_posts, request_id=signature)
        except AlreadyReceived:
            return 409, {"error": "this exact request was already received"}
        except (StoreError, sqlite3.Error) as exc:
            log.error("ingest: cannot store a batch: %s", exc)
            return 503, {"error": "the database is not available; send the batch again later"}


# --- the batch: one post at a time ------------------------------------------------------
#
# The body is split into its posts' raw JSON texts without parsing them, and each post is
# then parsed and checked on its own (``parse_record``, the collectors' shared check), so
# one post nested 100,000 deep, or holding bad UTF-8, is rejected alone with its index.

_WHITESPACE = b" \t\r\n"
_STRUCTURE = re.compile(rb'["\[\]{}]')


def _skip_whitespace(data: bytes, at: int) -> int:
    while at < len(data) and data[at] in _WHITESPACE:
        at += 1
    return at


def _string_end(data: bytes, at: int) -> int:
    """Just past the JSON string that opens at ``at``."""
    quote = at + 1
    while True:
        quote = data.find(b'"', quote)
        if quote < 0:
            raise ValueError("a string is not closed")
        backslashes = 0
        while data[quote - 1 - backslashes] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 0:
            return quote + 1
        quote += 1


def _value_end(data: bytes, at: int) -> int:
    """Just past the JSON value that starts at ``at``, found without recursion. Only the
    boundary: the value itself is parsed (and refused if broken) afterwards."""
    first = data[at : at + 1]
    if first == b'"':
        return _string_end(data, at)
    if first in (b"[", b"{"):
        depth = 0
        while True:
            found = _STRUCTURE.search(data, at)
            if found is None:
                raise ValueError("an array or object is not closed")
            at = found.start()
            if data[at] == 0x22:
                at = _string_end(data, at)
                continue
            depth += 1 if data[at] in b"[{" else -1
            at += 1
            if depth == 0:
                return at
    end = at
    while end < len(data) and data[end] not in b",]}" + _WHITESPACE:
        end += 1
    if end == at:
        raise ValueError(f"unexpected {first.decode('latin-1')!r} at byte {at + 1}")
    return end


def _expect(data: bytes, at: int, allowed: bytes) -> bytes:
    found = data[at : at + 1]
    if not found or found not in [bytes([c]) for c in allowed]:
        what = repr(found.decode("latin-1")) if found else "the end"
        wanted = " or ".join(repr(chr(c)) for c in allowed)
        raise ValueError(f"expected {wanted} at byte {at + 1}, found {what}")
    return found


def split_batch(body: bytes) -> list[bytes]:
    """The raw JSON text of each post in a ``{"posts": [...]}`` body, or ValueError when
    the body itself is not such an object. The posts are not parsed here."""
    at = _skip_whitespace(body, 0)
    _expect(body, at, b"{")
    at = _skip_whitespace(body, at + 1)
    posts: list[bytes] | None = None
    if body[at : at + 1] == b"}":
        at += 1
    else:
        while True:
            _expect(body, at, b'"')
            key_end = _string_end(body, at)
            key = json.loads(body[at:key_end])
            at = _skip_whitespace(body, key_end)
            _expect(body, at, b":")
            at = _skip_whitespace(body, at + 1)
            if at >= len(body):
                raise ValueError(f"no value for {key!r}")
            if key == "posts":
                if posts is not None:
                    raise ValueError("'posts' given twice")
                if body[at : at + 1] != b"[":
                    raise ValueError("'posts' must be a list")
                posts, at = _array_items(body, at)
            else:
                end = _value_end(body, at)
                parse_record(body[at:end])  # other keys are not used, but must be JSON
                at = end
            at = _skip_whitespace(body, at)
            if _expect(body, at, b",}") == b"}":
                at += 1
                break
            at = _skip_whitespace(body, at + 1)
    if _skip_whitespace(body, at) != len(body):
        raise ValueError(f"more data after the object at byte {at + 1}")
    if posts is None:
        raise ValueError("no 'posts'")
    return posts


def _array_items(data: bytes, at: int) -> tuple[list[bytes], int]:
    """The raw items of the array that opens at ``at``, and the index just past it."""
    items: list[bytes] = []
    at = _skip_whitespace(data, at + 1)
    if data[at : at + 1] == b"]":
        return items, at + 1
    while True:
        if at >= len(data):
            raise ValueError("the list of posts is not closed")
        end = _value_end(data, at)
        items.append(data[at:end])
        at = _skip_whitespace(data, end)
        if _expect(data, at, b",]") == b"]":
            return items, at + 1
        at = _skip_whitespace(data, at + 1)


def store_batch(
    config: Config, raw_posts: list[bytes], *, request_id: str | None = None
) -> dict[str, Any]:
    """Validate and store one pushed batch (each post's raw JSON); record it as a run.
    Returns the answer body. With ``request_id`` (the request's signature), raises
    AlreadyReceived, storing nothing, when that request was stored within the replay
    window; otherwise the id is recorded in the transaction that stores the posts."""
    source = config.ingest.source
    now = utc_now()
    posts, rejected = [], []
    for index, raw in enumerate(raw_posts):
        try:
            record = parse_record(raw, check=False)  # post_from_record walks it once
            posts.append(
                post_from_record(
                    record,
                    source=source,
                    region=config.default_region,
                    now=now,
                    timezone=config.timezone,
                    default_platform=source,
                )
            )
        except (ValueError, OverflowError, RecursionError) as exc:
            rejected.append({"index": index, "reason": str(exc)})
    started = time.monotonic()
    window = 2 * config.ingest.max_clock_skew_seconds
    with open_store(config) as store:
        intake = Intake(config, store)
        claim = store.ingest_request(request_id, window) if request_id else nullcontext(True)
        with claim as first_time:
            if not first_time:
                raise AlreadyReceived(request_id)
            new, duplicates = intake.add(posts)
        # Written finished in one go: the push endpoint does not wait for the run lock
        # (a cron run may hold it for minutes), and its run is never seen "running".
        store.record_finished_run(
            "ingest",
            "ok",
            sources=[
                SourceRun(
                    source=source,
                    fetched=len(raw_posts),
                    new=new,
                    duplicates=duplicates,
                    rejected=len(rejected),
                    duration_s=time.monotonic() - started,
                    rejections=[f"#{r['index']}: {r['reason']}" for r in rejected],
                )
            ],
        )
    log.info("ingest: %d received, %d new, %d rejected", len(raw_posts), new, len(rejected))
    return {"received": len(raw_posts), "new": new, "duplicates": duplicates, "rejected": rejected}


# --- the server -------------------------------------------------------------------------


class _Listener(TcpWSGIServer):
    """waitress's server, with connections closed when idle for ``timeout`` seconds or
    when a request is still arriving ``timeout`` seconds after it began: a client that
    sends one byte now and then cannot hold a connection for ever."""

    def __init__(self, app: IngestApp, *, timeout: float, adj: Adjustments):
        self.timeout = timeout
        self._next_check = 0.0
        self._arriving: dict[int, tuple[object, float]] = {}  # fd -> (request, first seen)
        super().__init__(app, adj=adj)

    def maintenance(self, now: float) -> None:
        if now < self._next_check:
            return
        self._next_check = now + min(1.0, self.timeout / 4)
        arriving: dict[int, tuple[object, float]] = {}
        closed = 0
        for fd, channel in list(self.active_channels.items()):
            if channel.requests or channel.will_close:
                continue  # being answered, or closing anyway
            request = channel.request
            too_slow = False
            if request is not None:
                seen = self._arriving.get(fd)
                if seen is None or seen[0] is not request:
                    seen = (request, now)
                arriving[fd] = seen
                too_slow = now - seen[1] > self.timeout
            if too_slow or channel.last_activity < now - self.timeout:
                channel.will_close = True
                closed += 1
        self._arriving = arriving
        if closed:
            log.info("ingest: closed %d idle or too slow connection(s)", closed)


class IngestServer:
    """The push endpoint on a socket: ``serve_forever()`` in one thread, ``shutdown()``
    from another (it lets requests already received finish), then ``server_close()``."""

    def __init__(self, config: Config, secret: bytes, host: str, port: int):
        settings = config.ingest
        adjustments = Adjustments(
            host=host,
            port=port,
            threads=settings.threads,
            backlog=settings.backlog,
            connection_limit=settings.max_connections,
            # waitress refuses a Content-Length of this or more before reading the body
            max_request_body_size=settings.max_body_bytes + 1,
            channel_timeout=max(1, round(settings.timeout_seconds)),
            cleanup_interval=0,  # _Listener.maintenance keeps its own pace
            ident="monitor-ingest",
            expose_tracebacks=False,
            log_socket_errors=False,  # clients that hang up are no server fault
            asyncore_use_poll=True,
        )
        self.config = config
        self.app = IngestApp(config, secret)
        self._listener = _Listener(self.app, timeout=settings.timeout_seconds, adj=adjustments)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()  # not serving yet

    @property
    def server_address(self) -> tuple[str, int]:
        return self._listener.effective_host, int(self._listener.effective_port)

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}"

    @property
    def listening_socket(self) -> socket.socket:
        return self._listener.socket

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        """Serve until ``shutdown()``; then answer what was received and close."""
        self._stopped.clear()
        try:
            socket_map = self._listener._map
            while not self._stop.is_set():
                wasyncore.loop(timeout=poll_interval, map=socket_map, use_poll=True, count=1)
            self._drain(socket_map)
        finally:
            self.server_close()
            self._stopped.set()

    def _drain(self, socket_map: dict[int, Any]) -> None:
        wasyncore.dispatcher.close(self._listener)  # accept no more; the trigger stays
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and any(_busy(ch) for ch in list(socket_map.values())):
            wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)

    def shutdown(self) -> None:
        """Stop ``serve_forever`` (called from another thread) and wait until it returns."""
        self._stop.set()
        if not self._stopped.is_set():
            self._listener.pull_trigger()
        self._stopped.wait()

    def server_close(self) -> None:
        """Close the socket and every connection; stop the worker threads. Idempotent."""
        self._stop.set()
        self._listener.task_dispatcher.shutdown(timeout=5)
        wasyncore.close_all(self._listener._map)


def _busy(channel: Any) -> bool:
    """A connection with a request being answered or an answer still being sent."""
    return bool(getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0))


@contextmanager
def serving(config: Config, secret: bytes, port: int | None = None) -> Iterator[IngestServer]:
    """A running server for the ``with`` block (tests, notebooks); stopped after it."""
    server = make_server(config, secret, port)
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    worker.start()
    try:
        yield server
    finally:
        server.shutdown()
        worker.join()


def make_server(config: Config, secret: bytes, port: int | None = None) -> IngestServer:
    if not secret:
        raise ValueError(
            f"the environment variable {config.ingest.secret_env} (ingest.secret_env) is not set; "
            "it holds the shared secret partners sign with"
        )
    return IngestServer(
        config, secret, config.ingest.host, config.ingest.port if port is None else port
    )
