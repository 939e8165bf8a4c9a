"""An agency's own complaint trend: per ISO week and topic, with the numbers to download.

Built only from the aggregates (``daily_counts`` via ``Store.agency_daily``) plus the
newest complaints (``Store.latest_complaints``). One ``Trend`` (its records are in
``trend_records``) renders three ways that carry the same numbers (``trend_render``):
``trend_csv`` (one row per week), ``trend_json`` and ``trend_html`` (a standalone
page; its weekly table is the CSV, cell for cell); ``render_trend`` picks one.

Weeks are ISO weeks, Monday to Sunday in local time; the week holding ``today`` is
last and marked partial ("minggu berjalan"): it is shown, never compared. The headline
comparison is like with like: the ``compare_days`` days ending on ``today`` against
the same number of days before them, so a running week can never read as a fall.
Changes are told as counts ("naik dari 2 ke 5"); a percentage is added only when the
earlier count is at least ``PERCENT_MIN_EARLIER``, because a percentage of a handful
misleads.

Spikes are the digest's: ``recent_spikes`` calls ``monitor.report.spikes.detect_spikes``
(the function the digest calls) for the report day and the day before, so a page and
the digest can never disagree about which agency spiked or by how much.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from monitor.clock import day_bounds_utc, local_date, parse_iso, to_iso, utc_now
from monitor.config import Config
from monitor.formatting import format_day_id, format_local, short_date, zone_label
from monitor.labels import (
    TOPICS,
    UNRESOLVED_AGENCY,
    UNRESOLVED_AGENCY_NAME,
    sector_name,
    topic_name,
)
from monitor.report import web_link
from monitor.report.spikes import Spike, detect_spikes
from monitor.report.trend_records import (
    DEFAULT_COMPARE_DAYS,
    LATEST_LIMIT,
    UNRESOLVED_SLUG,
    Change,
    Comparison,
    LatestComplaint,
    SpikeNotice,
    Trend,
    Week,
    WeekRow,
    week_periods,
)
from monitor.report.trend_render import FORMATS, trend_csv, trend_html, trend_json
from monitor.service_standard import count_components
from monitor.store import Store

DEFAULT_WEEKS = 12
# Spikes are shown for the report day and the day(s) before it: the digest usually
# covers yesterday, and a page built this morning must still show what it reported.
SPIKE_DAYS_SHOWN = 2


def _agency_choices(config: Config, store: Store) -> dict[str, tuple[str, str]]:
    """agency id -> (short name, full name): the config's, then any only the store knows."""
    choices = {a.id: (a.label, a.name) for a in config.agencies}
    for agency_id, short in store.agency_names().items():
        choices.setdefault(agency_id, (short, short))
    return choices


def resolve_agency_id(config: Config, store: Store, agency_id: str) -> str:
    """The stored agency id for what a person typed; ValueError lists the valid ids."""
    choices = _agency_choices(config, store)
    if agency_id in choices or agency_id == UNRESOLVED_AGENCY:
        return agency_id
    if agency_id == UNRESOLVED_SLUG:
        return UNRESOLVED_AGENCY
    valid = ", ".join([*sorted(choices), UNRESOLVED_SLUG])
    raise ValueError(f"unknown agency id '{agency_id}'; valid ids: {valid}")


def recent_spikes(
    store: Store, today: date, tz: str, days: int = SPIKE_DAYS_SHOWN
) -> dict[date, list[Spike]]:
    """The digest's spikes (``detect_spikes``, the very function the digest calls) of
    ``today`` and the ``days - 1`` days before it. A site computes this once and hands
    it to every agency's ``build_trend``."""
    return {
        today - timedelta(days=back): detect_spikes(store, today - timedelta(days=back), tz)
        for back in range(days)
    }


def _when_text(day: date, now_local: date) -> str:
    if day == now_local:
        return "hari ini"
    if day == now_local - timedelta(days=1):
        return "kemarin"
    return f"pada {short_date(day)}"


def _spike_notices(
    agency_id: str, spikes: Mapping[date, list[Spike]], now_local: date
) -> list[SpikeNotice]:
    return [
        SpikeNotice(
            day=day,
            observed=spike.observed,
            expected=spike.expected,
            p_value=spike.p_value,
            topic=spike.topic,
            topics=list(spike.topics),
            terms=list(spike.terms),
            when_text=_when_text(day, now_local),
        )
        for day in sorted(spikes, reverse=True)
        for spike in spikes[day]
        if agency_id and spike.agency_id == agency_id
    ]


def build_trend(
    config: Config,
    store: Store,
    model_version: str,
    agency_id: str,
    weeks: int = DEFAULT_WEEKS,
    today: date | None = None,
    *,
    compare_days: int = DEFAULT_COMPARE_DAYS,
    latest_limit: int = LATEST_LIMIT,
    spikes: Mapping[date, list[Spike]] | None = None,
) -> Trend:
    """One agency's complaints per ISO week and topic over ``weeks`` weeks up to ``today``.

    ``agency_id`` is a configured (or stored) agency id, or ``''`` /
    ``'tidak-teridentifikasi'`` for complaints tied to no agency. ``today`` defaults to
    the local date now. ``spikes`` is ``recent_spikes(store, today, tz)`` when the
    caller already has it (a site computes it once). Raises ValueError for an unknown
    agency, ``weeks < 1`` or ``compare_days < 1``.
    """
    if compare_days < 1:
        raise ValueError(f"compare_days must be at least 1, not {compare_days}")
    tz = config.timezone
    now = utc_now()
    now_local = local_date(now, tz)
    today = today or now_local
    agency_id = resolve_agency_id(config, store, agency_id)
    periods = week_periods(today, weeks, now_local)
    first_day, last_day = periods[0].start, today
    compare_first = today - timedelta(days=2 * compare_days - 1)

    daily = store.agency_daily(
        agency_id, min(first_day, compare_first).isoformat(), last_day.isoformat()
    )
    found_topics = {r["topic"] for r in daily if r["topic"]}
    topic_keys = [*TOPICS, *sorted(found_topics - set(TOPICS))]
    index_of = {}
    for position, period in enumerate(periods):
        for offset in range(7):
            index_of[(period.start + timedelta(days=offset)).isoformat()] = position
    complaints = [0] * len(periods)
    posts = [0] * len(periods)
    topics = [dict.fromkeys(topic_keys, 0) for _ in periods]
    for r in daily:
        slot = index_of.get(r["day"])
        if slot is None:
            continue  # before the weekly window: only the comparison reads it
        if r["topic"]:
            topics[slot][r["topic"]] += r["complaints"] or 0
        else:
            complaints[slot] += r["complaints"] or 0
            posts[slot] += r["posts"] or 0
    data_since, no_data = _data_since(store, first_day, last_day)
    rows = [
        WeekRow(
            period,
            complaints[i],
            topics[i],
            posts[i],
            coverage=_coverage(period, data_since, no_data),
        )
        for i, period in enumerate(periods)
    ]

    choices = _agency_choices(config, store)
    if agency_id:
        short, full = choices[agency_id]
        agency = config.agency(agency_id)
        region = {r.id: r.name for r in config.regions}.get(agency.region, "") if agency else ""
        sector_text = " · ".join(
            part for part in (sector_name(agency.sector) if agency else "", region) if part
        )
    else:
        short = full = UNRESOLVED_AGENCY_NAME
        sector_text = ""

    compare_since, compare_no_data = _data_since(store, compare_first, today)
    comparison = None
    if not compare_no_data and compare_since is None:
        comparison = _compare(daily, topic_keys, today, compare_days)
    notes = []
    if no_data:
        notes.append(
            "Belum ada data dalam periode ini: tidak ada posting yang terkumpul untuk "
            "instansi mana pun. Angka 0 di sini berarti belum ada data."
        )
    elif data_since is not None:
        notes.append(
            f"Data baru terkumpul sejak {format_day_id(data_since)}. Minggu sebelumnya "
            "bernilai 0 karena belum ada data, bukan karena tidak ada pengaduan."
        )
    if compare_no_data and not no_data:
        notes.append(
            f"Tidak ada posting yang terkumpul untuk instansi mana pun sejak "
            f"{format_day_id(compare_first)}: {compare_days} hari terakhir tidak dibandingkan, "
            "karena angka 0 di sini bisa berarti tidak ada data."
        )
    if comparison is None and not compare_no_data:
        notes.append(
            f"Perbandingan {compare_days} hari terakhir dengan {compare_days} hari sebelumnya "
            f"memerlukan data sejak {format_day_id(compare_first)}; data baru ada sejak "
            f"{format_day_id(compare_since or compare_first)}, jadi belum dibandingkan."
        )
    if periods[-1].partial:
        notes.append(
            f"Minggu terakhir ({periods[-1].range_text}) adalah minggu berjalan: angkanya "
            f"dihitung sampai {format_day_id(today)}, jadi belum lengkap. Perbandingan memakai "
            f"{compare_days} hari terakhir, bukan minggu kalender."
        )

    if spikes is None:
        spikes = recent_spikes(store, today, tz)
    return Trend(
        agency_id=agency_id,
        agency_name=short,
        agency_full_name=full,
        sector_text=sector_text,
        timezone=tz,
        first_day=first_day,
        last_day=last_day,
        rows=rows,
        topic_keys=topic_keys,
        comparison=comparison,
        data_since=data_since,
        latest=_latest(store, model_version, agency_id, first_day, today, tz, latest_limit),
        window_text=(
            f"{format_day_id(first_day)} s.d. {format_day_id(today)} "
            f"({weeks} minggu, Senin–Minggu, waktu {zone_label(tz)})"
        ),
        generated_at=now,
        generated_text=format_local(now, tz),
        model_version=model_version,
        latest_limit=latest_limit,
        notes=notes,
        spikes=_spike_notices(agency_id, spikes, now_local),
        compare_days=compare_days,
        components=_components(store, model_version, agency_id, first_day, today, tz),
    )


def _components(
    store: Store, model_version: str, agency_id: str, first_day: date, today: date, tz: str
) -> dict[str, int]:
    """Complaints per service-standard component over the window, each complaint once
    per component and local day (as the weekly table counts a complaint once a day)."""
    start, end = day_bounds_utc(first_day, tz)[0], day_bounds_utc(today, tz)[1]
    return count_components(
        ((local_date(parse_iso(created), tz), case), topics)
        for created, case, topics in store.complaint_topics(agency_id, start, end, model_version)
    )


def _data_since(store: Store, first_day: date, last_day: date) -> tuple[date | None, bool]:
    """(first day with counts if counting began inside the window, no counts at all).

    Counts of any agency tell that collection ran; the week before the window is
    looked at so that a quiet first day is not taken for the start of collection.
    """
    before = store.daily_totals(
        (first_day - timedelta(days=7)).isoformat(), (first_day - timedelta(days=1)).isoformat()
    )
    if before:
        return None, False
    days = [row["day"] for row in store.daily_totals(first_day.isoformat(), last_day.isoformat())]
    if not days:
        return None, True
    since = date.fromisoformat(min(days))
    return (since if since > first_day else None), False


def _coverage(week: Week, data_since: date | None, no_data: bool) -> str:
    if no_data or (data_since is not None and data_since > week.end):
        return "none"
    if data_since is not None and data_since > week.start:
        return "partial"
    return "full"


def _compare(
    daily: list[dict[str, Any]], topic_keys: list[str], today: date, days: int
) -> Comparison:
    """The ``days`` days ending on ``today`` (inclusive) against the ``days`` before:
    like with like, whatever weekday ``today`` is."""
    later_first = today - timedelta(days=days - 1)
    earlier_last = later_first - timedelta(days=1)
    earlier_first = later_first - timedelta(days=days)
    totals = {"earlier": 0, "later": 0}
    per_topic = {key: {"earlier": 0, "later": 0} for key in topic_keys}
    for r in daily:
        day = date.fromisoformat(r["day"])
        if earlier_first <= day <= earlier_last:
            period = "earlier"
        elif later_first <= day <= today:
            period = "later"
        else:
            continue
        counts = per_topic[r["topic"]] if r["topic"] else totals
        counts[period] += r["complaints"] or 0

    topic_changes = [
        (key, Change(counts["earlier"], counts["later"]))
        for key, counts in per_topic.items()
        if counts["earlier"] or counts["later"]
    ]
    topic_changes.sort(key=lambda item: (-item[1].later, -item[1].earlier))
    return Comparison(
        days=days,
        earlier_first=earlier_first,
        earlier_last=earlier_last,
        later_first=later_first,
        later_last=today,
        total=Change(totals["earlier"], totals["later"]),
        topics=topic_changes,
    )


def _latest(
    store: Store,
    model_version: str,
    agency_id: str,
    first_day: date,
    today: date,
    tz: str,
    limit: int,
) -> list[LatestComplaint]:
    window_start = day_bounds_utc(first_day, tz)[0]
    window_end = day_bounds_utc(today, tz)[1]
    until = to_iso(parse_iso(window_end) - timedelta(seconds=1))
    latest = []
    for r in store.latest_complaints(agency_id, model_version, limit, until):
        if r["created_at"] < window_start:
            break  # newest first: the rest are older still
        topics = json.loads(r["topics"]) if isinstance(r["topics"], str) else r["topics"]
        latest.append(
            LatestComplaint(
                created_at=r["created_at"],
                time_text=format_local(parse_iso(r["created_at"]), tz),
                platform=r["platform"] or "",
                url=web_link(r["url"]),
                text=r["text_display"],
                topics=list(topics),
                topic_names=[topic_name(t) for t in topics],
                sector_name=sector_name(r["sector"]),
            )
        )
    return latest


def render_trend(trend: Trend, fmt: str) -> str:
    """The trend as ``html`` (standalone page), ``csv`` or ``json``."""
    renderers = {"html": trend_html, "csv": trend_csv, "json": trend_json}
    if fmt not in renderers:
        raise ValueError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](trend)
