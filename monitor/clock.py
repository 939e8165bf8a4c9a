"""The one place for time: store UTC, compute local days (WITA by default).

Showing times and dates to people is ``monitor.formatting``'s.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Makassar"


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive input is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_iso(moment: datetime) -> str:
    """The storage form: UTC, second precision, sortable as text."""
    return to_utc(moment).isoformat(timespec="seconds")[:19] + "Z"  # strftime: 5x slower


def parse_iso(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def local_date(moment: datetime, tz: str) -> date:
    return to_utc(moment).astimezone(ZoneInfo(tz)).date()


def day_bounds_utc(day: date, tz: str) -> tuple[str, str]:
    """The [start, end) of a local calendar day as stored UTC strings."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return to_iso(start), to_iso(end)
