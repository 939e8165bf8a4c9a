"""Numbers, dates and times as Indonesian readers expect them: the one place for display.

Numbers: thousands with '.', decimals with ',' ("1.234", "0,97"). Dates: Indonesian
month and weekday names ("Sabtu, 21 November 2026", "3–9 Nov 2026"). Times: local
time with its zone's usual abbreviation ("21-11-2026 08:15 WITA"). Storage stays
UTC (``monitor.clock``); this module only shows.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.clock import to_utc

_LOCAL_ABBREVIATIONS = {
    "Asia/Makassar": "WITA",
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Jayapura": "WIT",
}

INDONESIAN_MONTHS = (
    "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember"
).split()
INDONESIAN_WEEKDAYS = "Senin Selasa Rabu Kamis Jumat Sabtu Minggu".split()


# --- numbers --------------------------------------------------------------------------


def format_number(value: float) -> str:
    """A whole number with Indonesian thousands separators: 1234 -> '1.234'."""
    return f"{value:,.0f}".replace(",", ".")


def format_decimal(value: float, places: int | None = None) -> str:
    """A decimal number as Indonesian writes it: 0.97 -> '0,97' (``places`` decimals,
    or as short as the value allows when None: 0.01 -> '0,01', 2.0 -> '2')."""
    text = f"{value:g}" if places is None else f"{value:.{places}f}"
    return text.replace(".", ",")


# --- times and dates ------------------------------------------------------------------


def zone_label(tz: str) -> str:
    return _LOCAL_ABBREVIATIONS.get(tz, tz)


def format_local(moment: datetime, tz: str, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """A time as people in the configured zone read it, e.g. '21-11-2026 08:15 WITA'."""
    return f"{to_utc(moment).astimezone(ZoneInfo(tz)).strftime(fmt)} {zone_label(tz)}"


def weekday_name(day: date) -> str:
    """'Sabtu'."""
    return INDONESIAN_WEEKDAYS[day.weekday()]


def format_day_id(day: date) -> str:
    """'Sabtu, 21 November 2026'."""
    return f"{weekday_name(day)}, {day.day} {INDONESIAN_MONTHS[day.month - 1]} {day.year}"


def short_date(day: date, with_year: bool = True) -> str:
    """'3 Nov 2026' (or '3 Nov')."""
    month = INDONESIAN_MONTHS[day.month - 1][:3]
    return f"{day.day} {month} {day.year}" if with_year else f"{day.day} {month}"


def period_text(first: date, last: date, with_year: bool = True) -> str:
    """A date range for people: '3–9 Nov 2026', '27 Okt – 2 Nov 2026', '2 Nov 2026'."""
    if first == last:
        return short_date(first, with_year)
    if first.year != last.year:
        return f"{short_date(first)} – {short_date(last)}"
    if first.month != last.month:
        return f"{short_date(first, with_year=False)} – {short_date(last, with_year)}"
    return f"{first.day}–{short_date(last, with_year)}"
