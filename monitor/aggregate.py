"""Counts per local day x agency x sector x topic, recomputed only for days a run touched."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from monitor.clock import day_bounds_utc, local_date, parse_iso
from monitor.store import Store


def days_of(created_at: Iterable[str], tz: str) -> set[date]:
    """The local days that posts created at these UTC times fall on."""
    return {local_date(parse_iso(moment), tz) for moment in created_at}


def aggregate_days(store: Store, days: Iterable[date], tz: str, model_version: str) -> list[date]:
    """Recompute daily_counts for each day; the result equals a from-scratch recompute."""
    done = sorted(set(days))
    for day in done:
        start, end = day_bounds_utc(day, tz)
        store.recompute_day(day.isoformat(), start, end, model_version)
    return done
