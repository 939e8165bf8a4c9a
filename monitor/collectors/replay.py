"""Replay: posts from a JSON-lines file, through the same interface as live sources.

Used by the offline demo (the bundled ``demo_posts.jsonl``) and for replaying
exports. Each line is an object with ``id`` and ``text`` and either
``created_at`` (ISO-8601; UTC when no offset is given) or ``days_ago`` plus
``time`` ("HH:MM", local time), which places the post relative to the run, so
the demo always shows the last 30 days. Optional: ``platform``, ``author``,
``url``, ``lang``, ``reply_to``, ``repost_of``. The cursor is the number of
lines already read. Only the bundled demo's invented posts get a made-up
``demo.invalid`` link; a post without ``url`` from anywhere else has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.clock import parse_iso, to_iso
from monitor.collectors import (
    Batch,
    CollectContext,
    CollectorError,
    SourceType,
    parse_record,
    value_problem,
)
from monitor.config.keys import Key
from monitor.config.sections import SourceConfig
from monitor.records import Post
from monitor.text.html import html_to_text

# A replay source takes only the common keys (``path`` names its file).
OPTIONS: dict[str, Key] = {}

BATCH_SIZE = 500
DEMO_URL = "https://demo.invalid/{platform}/{id}"


def bundled_demo_path() -> Path:
    return Path(str(resources.files("monitor.data").joinpath("demo_posts.jsonl")))


# Timestamps outside this range are rejected: a clock or a parser went wrong.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)


def time_problem(created_at: datetime, now: datetime) -> str:
    """Why a post's time cannot be right ("" when it can): before 2000 or more than a day
    after ``now``. The one rule for pushed, replayed and imported posts alike."""
    if created_at > now + FUTURE_TOLERANCE:
        return f"created_at {to_iso(created_at)} is in the future"
    if created_at < EARLIEST:
        return f"created_at {to_iso(created_at)} is before 2000"
    return ""


def post_from_record(
    record: object,
    *,
    source: str,
    region: str,
    now: datetime,
    timezone: str,
    relative_times: bool = False,
    default_platform: str = "replay",
    demo_links: bool = False,
) -> Post:
    """A Post from a JSON object in the project's post schema; ValueError names what is wrong.

    Schema: ``id`` and ``text`` (required), ``created_at`` (ISO-8601; UTC when no
    offset), or with ``relative_times`` ``days_ago`` + ``time`` ("HH:MM" local);
    optional ``platform`` (else ``default_platform``), ``author``, ``author_id``,
    ``url`` (else none; a made-up ``demo.invalid`` link only with ``demo_links``),
    ``lang``, ``reply_to``, ``repost_of``.
    """
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    post_id, text = record.get("id"), record.get("text")
    if not isinstance(post_id, str | int) or isinstance(post_id, bool) or str(post_id) == "":
        raise ValueError("missing 'id'")
    if not isinstance(text, str):
        raise ValueError(f"post {post_id}: missing 'text'")
    if problem := value_problem(record):  # the collectors' shared check, one walk
        raise ValueError(f"post {post_id}: not valid UTF-8 text or a non-finite number ({problem})")
    try:
        created_at = _created_at(record, now, timezone, relative_times)
    except OverflowError:
        raise ValueError(f"post {post_id}: time out of range") from None
    if problem := time_problem(created_at, now):
        raise ValueError(f"post {post_id}: {problem}")
    platform = str(record.get("platform") or default_platform)
    url = str(record.get("url") or "")
    if not url and demo_links:
        url = DEMO_URL.format(platform=platform, id=post_id)
    repost_of = record.get("repost_of") or ""
    reply_to = record.get("reply_to") or ""
    return Post(
        source=source,
        source_id=str(post_id),
        text=html_to_text(text),
        created_at=created_at,
        url=url,
        author_id=str(record.get("author_id") or ""),
        author_handle=str(record.get("author") or ""),
        lang=str(record.get("lang") or "id"),
        platform=platform,
        region=region,
        is_repost=bool(repost_of),
        is_reply=bool(reply_to),
        parent_source_id=str(repost_of or reply_to),
        raw=record,
    )


def _created_at(record: dict, now: datetime, timezone: str, relative: bool) -> datetime:
    post_id = record.get("id")
    if "created_at" in record:
        try:
            return parse_iso(str(record["created_at"]))
        except ValueError:
            raise ValueError(
                f"post {post_id}: created_at {str(record['created_at'])[:40]!r} is not ISO-8601"
            ) from None
    if not relative:
        raise ValueError(f"post {post_id}: missing 'created_at'")
    try:
        zone = ZoneInfo(timezone)
        today = now.astimezone(zone).date()
        hour, minute = (int(part) for part in str(record["time"]).split(":"))
        local = datetime(today.year, today.month, today.day, hour, minute, tzinfo=zone)
        days_ago = int(record["days_ago"])
        if days_ago < 0:
            raise ValueError(f"post {post_id}: days_ago {days_ago} is in the future")
        moment = local - timedelta(days=days_ago)
    except ValueError as exc:
        if "days_ago" in str(exc):
            raise
        raise ValueError(f"post {post_id}: needs created_at, or days_ago and time") from None
    except (KeyError, TypeError, OverflowError):
        raise ValueError(f"post {post_id}: needs created_at, or days_ago and time") from None
    # A post "today" later than now would be in the future: keep it just before now.
    return min(moment, now - timedelta(minutes=1))


class ReplayCollector:
    def __init__(self, source: SourceConfig, context: CollectContext):
        self.source = source
        self.context = context
        self.path = Path(source.path) if source.path else bundled_demo_path()
        self.demo = not source.path  # invented posts: links that say so

    def _post(self, record: object) -> Post:
        return post_from_record(
            record,
            source=self.source.name,
            region=self.source.region,
            now=self.context.now,
            timezone=self.context.timezone,
            relative_times=True,
            demo_links=self.demo,
        )

    def fetch(self, cursor: str | None) -> Iterator[Batch]:
        start = int(cursor) if cursor and cursor.isdigit() else 0
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise CollectorError(f"cannot read replay file {self.path}: {exc.strerror}") from None
        with handle:
            posts: list[Post] = []
            rejected: list[str] = []
            line_number = 0
            for line_number, raw_line in enumerate(handle, start=1):
                if line_number <= start or not raw_line.strip():
                    continue
                try:
                    # post_from_record walks the record once (the shared check)
                    posts.append(self._post(parse_record(raw_line.decode("utf-8"), check=False)))
                except (ValueError, OverflowError, RecursionError) as exc:  # bad UTF-8, JSON
                    rejected.append(f"{self.path.name}:{line_number}: {exc}")
                if len(posts) + len(rejected) >= BATCH_SIZE:
                    yield Batch(posts, str(line_number), rejected)
                    posts, rejected = [], []
            if posts or rejected or line_number > start:
                yield Batch(posts, str(max(line_number, start)), rejected)


SOURCE_TYPE = SourceType("replay", OPTIONS, ReplayCollector)
