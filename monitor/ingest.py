"""The push endpoint (`monitor serve-ingest`): partners POST batches of posts.

    POST /ingest
    X-Monitor-Timestamp: 1795219200              (Unix seconds, the sender's clock)
    X-Monitor-Signature: sha256=<hex>            (HMAC-SHA256 of "<timestamp>.<body>")
    Content-Type: application/json
    {"posts": [{"id": "...", "text": "...", "created_at": "2026-11-21T08:15:00+08:00", ...}]}

Checks, in this order, so nothing unauthenticated is ever parsed: path and
method; a Content-Length within ``ingest.max_body_bytes`` (the body is not read
otherwise); a timestamp within ``ingest.max_clock_skew_seconds``; the signature
(constant-time compare); the same signature not seen before (replay); only then
the JSON. Each post follows the replay schema (see collectors/replay.py); bad
posts are rejected with their index and reason, the rest are stored, duplicates
are counted, never stored twice. Each request is recorded as a run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.clock import utc_now
from monitor.collectors.replay import post_from_record
from monitor.config import Config
from monitor.pipeline import author_agency_of, display_redactor, open_store, pseudonym_key
from monitor.records import SourceRun
from monitor.text.redact import pseudonymise

log = logging.getLogger(__name__)

PATH = "/ingest"
TIMESTAMP_HEADER = "X-Monitor-Timestamp"
SIGNATURE_HEADER = "X-Monitor-Signature"
SEEN_SIGNATURES_KEPT = 10_000


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value a sender puts on a request."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class IngestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: Config, secret: bytes, address: tuple[str, int]):
        self.config = config
        self.secret = secret
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._seen_lock = threading.Lock()
        super().__init__(address, IngestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def first_time(self, signature: str) -> bool:
        """True the first time a signature is seen within the clock-skew window."""
        now = time.monotonic()
        window = self.config.ingest.max_clock_skew_seconds * 2
        with self._seen_lock:
            while self._seen and next(iter(self._seen.values())) < now - window:
                self._seen.popitem(last=False)
            if signature in self._seen:
                return False
            self._seen[signature] = now
            while len(self._seen) > SEEN_SIGNATURES_KEPT:
                self._seen.popitem(last=False)
            return True


class IngestHandler(BaseHTTPRequestHandler):
    server: IngestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"error": "not found; POST batches to /ingest"})

    def do_POST(self) -> None:
        settings = self.server.config.ingest
        if self.path != PATH:
            return self._answer(404, {"error": "not found; POST batches to /ingest"})
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            return self._answer(411, {"error": "Content-Length required"})
        length = int(length_header)
        if length > settings.max_body_bytes:
            return self._answer(
                413, {"error": f"body of {length} bytes exceeds {settings.max_body_bytes}"}
            )
        timestamp = self.headers.get(TIMESTAMP_HEADER, "")
        signature = self.headers.get(SIGNATURE_HEADER, "")
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            return self._answer(401, {"error": f"{TIMESTAMP_HEADER} (Unix seconds) required"})
        if skew > settings.max_clock_skew_seconds:
            return self._answer(
                401,
                {"error": f"timestamp {skew:.0f} s away from server time; check the clock"},
            )
        body = self.rfile.read(length)
        expected = sign(self.server.secret, timestamp, body)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return self._answer(401, {"error": "signature does not match"})
        if not self.server.first_time(signature):
            return self._answer(409, {"error": "this exact request was already received"})
        try:
            batch = json.loads(body.decode("utf-8"))
            posts = batch["posts"]
            if not isinstance(posts, list):
                raise TypeError("'posts' must be a list")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            return self._answer(400, {"error": f'body must be {{"posts": [...]}}: {exc}'})
        self._answer(200, store_batch(self.server.config, posts))


def store_batch(config: Config, records: list[Any]) -> dict[str, Any]:
    """Validate and store one pushed batch; record it as a run. Returns the answer body."""
    source = config.ingest.source
    now = utc_now()
    posts, rejected = [], []
    for index, record in enumerate(records):
        try:
            posts.append(
                post_from_record(
                    record,
                    source=source,
                    region=config.default_region,
                    now=now,
                    timezone=config.timezone,
                )
            )
        except (ValueError, OverflowError, RecursionError) as exc:
            rejected.append({"index": index, "reason": str(exc)})
    started = time.monotonic()
    with open_store(config) as store:
        key = pseudonym_key(config, store)
        new, duplicates = store.add_posts(
            posts,
            display_text=display_redactor(config),
            author_key=lambda p: pseudonymise(key, p.platform, p.author_id or p.author_handle),
            author_agency=author_agency_of(config),
            keep_raw=config.privacy.raw_retention_days > 0,
        )
        run_id = store.start_run("ingest")
        store.record_source_run(
            run_id,
            SourceRun(
                source=source,
                fetched=len(records),
                new=new,
                duplicates=duplicates,
                rejected=len(rejected),
                duration_s=time.monotonic() - started,
                rejections=[f"#{r['index']}: {r['reason']}" for r in rejected],
            ),
        )
        store.finish_run(run_id, "ok", 0, [])
    log.info("ingest: %d received, %d new, %d rejected", len(records), new, len(rejected))
    return {"received": len(records), "new": new, "duplicates": duplicates, "rejected": rejected}


def make_server(config: Config, secret: bytes, port: int | None = None) -> IngestServer:
    if not secret:
        raise ValueError(
            f"the environment variable {config.ingest.secret_env} (ingest.secret_env) is not set; "
            "it holds the shared secret partners sign with"
        )
    return IngestServer(
        config, secret, (config.ingest.host, config.ingest.port if port is None else port)
    )
