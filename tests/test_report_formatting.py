"""Numbers, dates and times as Indonesian readers expect them (``monitor.formatting``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from monitor.formatting import (
    format_day_id,
    format_decimal,
    format_local,
    format_number,
    weekday_name,
    zone_label,
)
from monitor.report import templates


def test_numbers_use_indonesian_separators():
    assert format_number(1234567) == "1.234.567"
    assert format_number(12) == "12"
    assert format_decimal(0.97, 2) == "0,97"
    assert format_decimal(4, 1) == "4,0"
    assert format_decimal(0.01) == "0,01" and format_decimal(2.0) == "2"


def test_the_templates_number_filters_are_the_same_rule():
    env = templates()
    assert env.from_string("{{ 1234|num }} / {{ 2.25|avg }}").render() == "1.234 / 2,2"


def test_dates_and_times_in_bahasa_indonesia_and_local_time():
    assert format_day_id(date(2026, 11, 21)) == "Sabtu, 21 November 2026"
    assert weekday_name(date(2026, 11, 22)) == "Minggu"
    moment = datetime(2026, 11, 21, 0, 15, tzinfo=UTC)
    assert format_local(moment, "Asia/Makassar") == "21-11-2026 08:15 WITA"
    assert format_local(moment, "Asia/Jakarta") == "21-11-2026 07:15 WIB"
    assert zone_label("Europe/Berlin") == "Europe/Berlin"
