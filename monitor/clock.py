"""The one place for time: store UTC, show local time (WITA by default)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Makassar"

_LOCAL_ABBREVIATIONS = {
    "Asia/Makassar": "WITA",
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Jayapura": "WIT",
}


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


def zone_label(tz: str) -> str:
    return _LOCAL_ABBREVIATIONS.get(tz, tz)


def format_local(moment: datetime, tz: str, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """A time as people in the configured zone read it, e.g. '21-11-2026 08:15 WITA'."""
    return f"{to_utc(moment).astimezone(ZoneInfo(tz)).strftime(fmt)} {zone_label(tz)}"


INDONESIAN_MONTHS = (
    "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember"
).split()
INDONESIAN_WEEKDAYS = "Senin Selasa Rabu Kamis Jumat Sabtu Minggu".split()


def format_day_id(day: date) -> str:
    """'Sabtu, 21 November 2026'."""
    weekday = INDONESIAN_WEEKDAYS[day.weekday()]
    return f"{weekday}, {day.day} {INDONESIAN_MONTHS[day.month - 1]} {day.year}"
