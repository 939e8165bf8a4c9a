"""The one HTTP client every collector uses.

- a total deadline on every request (``http.timeout_seconds`` for the whole answer,
  connecting and every read included: a server trickling one byte at a time is cut
  off at that total) and a User-Agent that names the project;
- a time budget per source and run (``http.source_budget_seconds``, waits included):
  when it is used up the source stops for this run (``SourceStopped``) and goes on
  from its cursor next run, so one slow API never holds the run lock for long;
- retries with exponential backoff and jitter on timeouts, bodies cut off mid-way
  and 5xx answers, honouring ``Retry-After``; a host that cannot be reached at all
  (DNS failure, connection refused or not answering) is not retried: every later
  request to it in this run fails at once with the first error (``HostUnreachable``);
- rate limits: 429 answers and "remaining: 0" headers of each API (X, Mastodon,
  Bluesky, generic ``Retry-After``) are waited out when the wait is short
  (``http.max_wait_seconds``), otherwise the source stops for this run with
  ``SourceStopped`` saying when it may resume;
- bounded bodies (a huge response is refused, not read into memory);
- JSON answers checked: an HTML error page or malformed JSON is a clear error.

Base URLs come from the source config, so tests point a collector at a local server.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpcore
import httpx

from monitor import __version__
from monitor.clock import utc_now
from monitor.collectors import CollectContext, CollectorError
from monitor.formatting import format_local

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 20 * 1024 * 1024
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
# Header names that say when a rate-limit window resets, per API.
RESET_HEADERS = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")
REMAINING_HEADERS = ("x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")


class SourceStopped(CollectorError):
    """A rate limit or quota stops this source for this run; ``resume_at`` says until when."""

    def __init__(self, message: str, resume_at: datetime | None = None):
        super().__init__(message)
        self.resume_at = resume_at


class HostUnreachable(CollectorError):
    """A host that could not be reached at all (DNS, refused, no answer to connect)."""


class TimeBudgetUsed(SourceStopped):
    """The source's time budget for this run is used up; it goes on next run."""


# --- a deadline on every socket operation ---------------------------------------------


class _Deadline:
    """The moment (time.monotonic) by which the request in flight must be complete."""

    def __init__(self) -> None:
        self.at: float | None = None

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """``timeout`` shortened to what is left before the deadline; ``error`` when none is."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise error("no complete answer before the request's deadline")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline):
        self.inner = inner
        self.deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        timeout = self.deadline.bound(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self.inner.start_tls(ssl_context, server_hostname, timeout), self.deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every connect, read and write bounded by a deadline:
    httpx's own timeouts apply per operation, so a slow trickle never ends without it."""

    def __init__(self, inner: httpcore.NetworkBackend, deadline: _Deadline):
        self.inner = inner
        self.deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = self.deadline.bound(timeout, httpcore.ConnectTimeout)
        stream = self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self.deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = self.deadline.bound(timeout, httpcore.ConnectTimeout)
        stream = self.inner.connect_unix_socket(path, timeout, socket_options)
        return _DeadlineStream(stream, self.deadline)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def deadline_transport(deadline: _Deadline) -> httpx.HTTPTransport:
    """httpx's transport with the deadline backend in its connection pool."""
    transport = httpx.HTTPTransport()
    pool = transport._pool  # httpx builds it; only its socket backend is replaced
    pool._network_backend = _DeadlineBackend(pool._network_backend, deadline)
    return transport


def user_agent(contact: str = "") -> str:
    suffix = f"; {contact}" if contact else ""
    return f"monitor/{__version__} (public-service complaint monitor{suffix})"


def _parse_moment(value: str, now: datetime) -> datetime | None:
    """A reset moment from a header: delta seconds, epoch seconds, ISO-8601 or HTTP-date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        # Small numbers are seconds from now (Retry-After, IETF RateLimit-Reset);
        # large ones are Unix times (X, Bluesky, some Mastodon servers).
        if number > 1e9:
            return datetime.fromtimestamp(number, UTC)
        return now + timedelta(seconds=max(0.0, number))
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed else None


def reset_moment(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When the API says we may ask again, from whichever header it uses."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after", *RESET_HEADERS):
        if name in lowered and (moment := _parse_moment(lowered[name], now)):
            return moment
    return None


def exhausted(headers: Mapping[str, str]) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    return any(lowered.get(name, "").strip() == "0" for name in REMAINING_HEADERS)


class Http:
    """A client bound to one source: ``get_json``/``post_json``/``get`` with the policy above."""

    def __init__(
        self,
        context: CollectContext,
        base_url: str,
        source_name: str,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.context = context
        self.source_name = source_name
        self.policy = context.http
        self._deadline = _Deadline()
        self.client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(self.policy.timeout_seconds),
            headers={"User-Agent": user_agent(self.policy.contact), **(headers or {})},
            follow_redirects=True,
            transport=transport or deadline_transport(self._deadline),
        )
        self._blocked_until: datetime | None = None
        self._unreachable: dict[str, str] = {}  # host -> the first failure, this run
        self._random = random.Random()

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- waiting --------------------------------------------------------------------

    def _now(self) -> datetime:
        return utc_now()

    def _budget_left(self) -> float | None:
        """Seconds left of this source's time budget for the run (None: no budget)."""
        if self.context.deadline is None:
            return None
        return self.context.deadline - time.monotonic()

    def _check_budget(self, what: str, needed: float = 0.0) -> None:
        """TimeBudgetUsed when less than ``needed`` seconds of the budget are left."""
        left = self._budget_left()
        if left is not None and left <= needed:
            budget = self.policy.source_budget_seconds
            raise TimeBudgetUsed(
                f"{what}: time budget for this run used up ({budget} s, "
                "http.source_budget_seconds); what was read is kept, the rest next run"
            )

    def _pause(self, seconds: float, what: str) -> None:
        """Sleep ``seconds`` (a backoff); stop at once when that would use up the budget,
        rather than wait only to stop."""
        self._check_budget(what, needed=seconds)
        self.context.sleep(seconds)

    def _wait_or_stop(self, until: datetime, why: str) -> None:
        wait = (until - self._now()).total_seconds()
        if wait <= 0:
            return
        left = self._budget_left()
        if wait <= self.policy.max_wait_seconds and (left is None or wait < left):
            log.info("%s: %s; waiting %.0f s", self.source_name, why, wait)
            self.context.sleep(wait)
            return
        raise SourceStopped(
            f"{why}; stopped for this run, may resume at "
            f"{format_local(until, self.context.timezone)}",
            resume_at=until,
        )

    def _backoff(self, attempt: int) -> float:
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        return delay * self._random.uniform(0.5, 1.5)

    # --- requests -------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send with retries; returns a 2xx/3xx response (or one in ``ok_statuses``).

        Raises CollectorError for anything that stays wrong, SourceStopped for long
        rate limits. 4xx answers other than 429 are returned to the caller when
        listed in ``ok_statuses``, else raised, since each API explains them its own way.
        """
        if self._blocked_until:
            self._wait_or_stop(self._blocked_until, "rate limit reached")
            self._blocked_until = None
        attempts = self.policy.retries + 1
        target = self.client.base_url.join(url)
        what = f"{method} {target.copy_with(query=None)}"
        host = target.netloc.decode("ascii", "replace")  # host and port: one server
        if host in self._unreachable:
            raise HostUnreachable(f"{what}: {self._unreachable[host]}")
        for attempt in range(attempts):
            last = attempt == attempts - 1
            self._check_budget(what)
            try:
                response = self._send(method, url, params, headers, json_body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # DNS failure, refused, no answer: retrying costs minutes and never helps
                # within one run. Every later request to this host fails at once.
                problem = f"{_describe(exc)}; not retried, {host} stays skipped for this run"
                self._unreachable[host] = problem
                raise HostUnreachable(f"{what}: {problem}") from None
            except (httpx.TimeoutException, httpx.TransportError, _BodyCutOff) as exc:
                problem = _describe(exc)
                if isinstance(exc, httpx.TimeoutException):
                    problem += f" (no complete answer within {self.policy.timeout_seconds:g} s)"
                if last:
                    raise CollectorError(f"{what}: {problem} (after {attempts} tries)") from None
                log.warning("%s: %s: %s; retrying", self.source_name, what, problem)
                self._pause(self._backoff(attempt), what)
                continue
            status = response.status_code
            now = self._now()
            if status == 429:
                until = reset_moment(response.headers, now) or now + timedelta(seconds=60)
                if last:
                    raise SourceStopped(
                        f"{what}: rate limited (429) after {attempts} tries; may resume at "
                        f"{format_local(until, self.context.timezone)}",
                        resume_at=until,
                    )
                self._wait_or_stop(until, f"{what}: rate limited (429)")
                continue
            if status >= 500:
                if last:
                    raise CollectorError(
                        f"{what}: the server answered {status} {response.reason_phrase} "
                        f"(after {attempts} tries)"
                    )
                retry_at = reset_moment(
                    {"retry-after": response.headers.get("retry-after", "")}, now
                )
                delay = (retry_at - now).total_seconds() if retry_at else self._backoff(attempt)
                log.warning("%s: %s answered %d; retrying", self.source_name, what, status)
                self._pause(min(max(delay, 0.0), self.policy.max_wait_seconds), what)
                continue
            if status >= 400 and status not in ok_statuses:
                raise CollectorError(
                    f"{what}: the server answered {status} {response.reason_phrase}: "
                    f"{_snippet(response.content)}"
                )
            if exhausted(response.headers):
                self._blocked_until = reset_moment(response.headers, now)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method, url, params, headers, json_body) -> httpx.Response:
        request = self.client.build_request(
            method, url, params=params, headers=headers, json=json_body
        )
        total = self.policy.timeout_seconds
        left = self._budget_left()
        self._deadline.at = time.monotonic() + (total if left is None else min(total, left))
        try:
            return self._receive(method, request)
        finally:
            self._deadline.at = None

    def _receive(self, method: str, request: httpx.Request) -> httpx.Response:
        response = self.client.send(request, stream=True)
        try:
            declared = int(response.headers.get("content-length") or 0)
            if declared > MAX_BODY_BYTES:
                raise CollectorError(
                    f"{method} {request.url.copy_with(query=None)}: response of {declared} bytes "
                    f"is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MB limit"
                )
            chunks, size = [], 0
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise CollectorError(
                            f"{method} {request.url.copy_with(query=None)}: response larger "
                            f"than the {MAX_BODY_BYTES // (1024 * 1024)} MB limit"
                        )
                    chunks.append(chunk)
            except httpx.RemoteProtocolError as exc:
                raise _BodyCutOff(str(exc)) from None
        finally:
            response.close()
        response._content = b"".join(chunks)  # the body, read within the limit
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        response = self.request("GET", url, **kwargs)
        return parse_json(response), response

    def post_json(self, url: str, body: Any, **kwargs: Any) -> tuple[Any, httpx.Response]:
        response = self.request("POST", url, json_body=body, **kwargs)
        return parse_json(response), response


class _BodyCutOff(Exception):
    """The connection closed before the whole body arrived."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "cannot connect (no answer)"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, _BodyCutOff):
        return f"response cut off before its end ({exc})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _snippet(content: bytes, limit: int = 120) -> str:
    text = content[:limit].decode("utf-8", "replace")
    return " ".join(text.split()) or "(empty body)"


def parse_json(response: httpx.Response) -> Any:
    """The decoded JSON body, or a CollectorError naming what came instead."""
    where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
    content_type = response.headers.get("content-type", "")
    if content_type and "json" not in content_type.lower():
        raise CollectorError(
            f"{where}: expected JSON, got '{content_type}': {_snippet(response.content)}"
        )
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CollectorError(f"{where}: malformed JSON ({exc})") from None
    except RecursionError:  # named, instead of an "unexpected error"
        raise CollectorError(f"{where}: malformed JSON (nested too deeply)") from None


Getter = Callable[[Mapping[str, Any], str], Any]


def require(record: Mapping[str, Any], *keys: str, what: str = "record") -> list[Any]:
    """Values of required keys, or ValueError naming the missing ones (a rejected record)."""
    missing = [k for k in keys if not isinstance(record, Mapping) or record.get(k) in (None, "")]
    if missing:
        raise ValueError(f"{what} without {', '.join(missing)}")
    return [record[k] for k in keys]
