"""The one HTTP client every collector uses.

- a timeout on every request and a User-Agent that names the project;
- retries with exponential backoff and jitter on connection errors, timeouts,
  bodies cut off mid-way and 5xx answers, honouring ``Retry-After``;
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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from monitor import __version__
from monitor.clock import format_local, utc_now
from monitor.collectors import CollectContext, CollectorError

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
        self.client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(self.policy.timeout_seconds),
            headers={"User-Agent": user_agent(self.policy.contact), **(headers or {})},
            follow_redirects=True,
            transport=transport,
        )
        self._blocked_until: datetime | None = None
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

    def _wait_or_stop(self, until: datetime, why: str) -> None:
        wait = (until - self._now()).total_seconds()
        if wait <= 0:
            return
        if wait <= self.policy.max_wait_seconds:
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
        what = f"{method} {self.client.base_url.join(url).copy_with(query=None)}"
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._send(method, url, params, headers, json_body)
            except (httpx.TimeoutException, httpx.TransportError, _BodyCutOff) as exc:
                problem = _describe(exc)
                if last:
                    raise CollectorError(f"{what}: {problem} (after {attempts} tries)") from None
                log.warning("%s: %s: %s; retrying", self.source_name, what, problem)
                self.context.sleep(self._backoff(attempt))
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
                self.context.sleep(min(max(delay, 0.0), self.policy.max_wait_seconds))
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
