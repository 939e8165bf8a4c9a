"""A real HTTP server on 127.0.0.1 (random port) that replays scripted answers.

Collector tests point a source's ``base_url`` at ``server.url`` and script what
each path answers, shaped like the real API's documentation:

    server.route("GET", "/2/tweets/search/recent", Reply(json={...}), Reply(status=429, ...))
    server.route("GET", "/feed.xml", lambda request: Reply(body=...))

A list of replies is served in order and the last one repeats; a callable gets
the recorded request and returns the reply. Every request is recorded in
``server.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    json: Any = None  # serialised as the body, content type application/json
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    cut_off: bool = False  # announce the full length, send half, close the connection


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


Handler = Callable[[Request], Reply]


class ScriptedServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply] | Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = server._reply_for(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.json is not None:
                    payload = json.dumps(reply.json).encode()
                    content_type = reply.content_type or "application/json; charset=utf-8"
                else:
                    payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                    content_type = reply.content_type or "text/plain; charset=utf-8"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if reply.cut_off:
                        self.wfile.write(payload[: len(payload) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, *replies: Reply | Handler) -> None:
        if len(replies) == 1 and callable(replies[0]):
            self.routes[(method, path)] = replies[0]
        else:
            self.routes[(method, path)] = list(replies)  # type: ignore[arg-type]

    def _reply_for(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            script = self.routes.get((request.method, request.path))
            if script is None:
                return Reply(
                    status=404, json={"error": f"no route {request.method} {request.path}"}
                )
            if callable(script):
                return script(request)
            return script.pop(0) if len(script) > 1 else script[0]

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
