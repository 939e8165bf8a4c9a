"""An agency's own complaint trend: per ISO week and topic, with the numbers to download.

Built only from the aggregates (``daily_counts`` via ``Store.agency_daily``) plus the
newest complaints (``Store.latest_complaints``). One ``Trend`` renders three ways that
carry the same numbers: ``trend_csv`` (one row per week), ``trend_json`` and
``trend_html`` (a standalone page; its weekly table is the CSV, cell for cell).

Weeks are ISO weeks, Monday to Sunday in local time; the week holding ``today`` is
last and marked partial ("minggu berjalan"): it is shown, never compared. The headline
comparison is like with like: the ``compare_days`` days ending on ``today`` against
the same number of days before them, so a running week can never read as a fall.
Changes are told as counts ("naik dari 2 ke 5"); a percentage is added only when the
earlier count is at least ``PERCENT_MIN_EARLIER``, because a percentage of a handful
misleads.

Spikes are the digest's: ``recent_spikes`` calls ``monitor.aggregate.detect_spikes``
(the function the digest calls) for the report day and the day before, so a page and
the digest can never disagree about which agency spiked or by how much.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment

from monitor import __version__
from monitor.aggregate import (
    SPIKE_ALPHA,
    SPIKE_MIN_COUNT,
    SPIKE_MIN_RATIO,
    SPIKE_WEEKS,
    Spike,
    detect_spikes,
)
from monitor.clock import (
    INDONESIAN_MONTHS,
    INDONESIAN_WEEKDAYS,
    day_bounds_utc,
    format_day_id,
    format_local,
    local_date,
    parse_iso,
    to_iso,
    utc_now,
    zone_label,
)
from monitor.config import Config
from monitor.csvsafe import SafeWriter
from monitor.labels import (
    TOPICS,
    UNRESOLVED_AGENCY,
    UNRESOLVED_AGENCY_NAME,
    sector_name,
    topic_name,
)
from monitor.report import templates
from monitor.report.charts import bar_chart_svg
from monitor.store import Store

DEFAULT_WEEKS = 12
# The N days ending on the report day (inclusive) are compared with the N days before.
DEFAULT_COMPARE_DAYS = 7
# Spikes are shown for the report day and the day(s) before it: the digest usually
# covers yesterday, and a page built this morning must still show what it reported.
SPIKE_DAYS_SHOWN = 2
# Below this earlier count a change is told in counts only, never as a percentage.
PERCENT_MIN_EARLIER = 10
LATEST_LIMIT = 10
# How the "tidak teridentifikasi" bucket (agency id '') is named in file names and on
# the command line; configured agency ids are slugs, so this never means an agency
# unless one is configured with exactly this id (build_site refuses that).
UNRESOLVED_SLUG = "tidak-teridentifikasi"
SAFE_URL_SCHEMES = ("https://", "http://")


# The digest's spike rule in words, from the constants the rule itself uses.
SPIKE_RULE_TEXT = (
    f"Lonjakan = minimal {SPIKE_MIN_COUNT} pengaduan dalam sehari, minimal "
    f"{SPIKE_MIN_RATIO:g} kali perkiraan, dan uji Poisson p < {SPIKE_ALPHA:g}".replace(".", ",")
    + f'. Perkiraan ("biasanya sekitar") = rata-rata harian instansi itu selama '
    f"{SPIKE_WEEKS} minggu sebelumnya, disesuaikan dengan hari dalam pekan; aturan yang "
    "sama dengan ringkasan harian (digest)."
)


# --- records ------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """One ISO week, Monday to Sunday in local time."""

    start: date
    end: date
    partial: bool = False  # the week holding 'today': not over yet

    @property
    def iso_week(self) -> str:
        year, number, _ = self.start.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def range_text(self) -> str:
        """'3–9 Nov 2026', '27 Okt – 2 Nov 2026', '29 Des 2025 – 4 Jan 2026'."""
        return period_text(self.start, self.end)

    @property
    def table_text(self) -> str:
        """Without the year unless the week crosses one: '3–9 Nov', '29 Des 2025 – 4 Jan 2026'."""
        return period_text(self.start, self.end, with_year=self.start.year != self.end.year)

    @property
    def short_label(self) -> str:
        """The chart's x label: the Monday as '3/11', with '*' on the partial week."""
        return f"{self.start.day}/{self.start.month}{'*' if self.partial else ''}"


@dataclass
class WeekRow:
    """One week's numbers: one CSV row, one row of the page's table, one JSON entry."""

    week: Week
    complaints: int
    topics: dict[str, int]  # topic key -> complaints with that topic (every key of the trend)
    posts: int
    # Whether the database holds data for the whole week: 'full', 'partial' (counting
    # began during the week) or 'none' (before counting began: a 0 there means no
    # data, not no complaints).
    coverage: str = "full"


@dataclass(frozen=True)
class Change:
    """A count in an earlier and a later period, told the way people read small numbers."""

    earlier: int
    later: int

    @property
    def difference(self) -> int:
        return self.later - self.earlier

    @property
    def percent(self) -> int | None:
        """Signed percentage change, only when the earlier count is large enough."""
        if self.earlier < PERCENT_MIN_EARLIER:
            return None
        return round(100 * self.difference / self.earlier)

    @property
    def direction(self) -> str:
        """'naik', 'turun' or 'tetap'."""
        if self.difference > 0:
            return "naik"
        if self.difference < 0:
            return "turun"
        return "tetap"

    @property
    def text(self) -> str:
        """'naik dari 2 ke 5', 'turun 20% (dari 25 ke 20)', 'tetap 4'."""
        if self.difference == 0:
            return f"tetap {self.later}"
        counts = f"dari {self.earlier} ke {self.later}"
        if self.percent is None:
            return f"{self.direction} {counts}"
        size = abs(self.percent)
        share = f"{size}%" if size >= 1 else "kurang dari 1%"
        return f"{self.direction} {share} ({counts})"

    def versus(self, earlier_name: str) -> str:
        """The later count set against a named earlier period: 'naik dari 5 pada 7 hari
        sebelumnya', 'turun 20% dari 25 pada ...', 'sama dengan 7 hari sebelumnya'."""
        if self.difference == 0:
            return f"sama dengan {earlier_name}"
        share = ""
        if self.percent is not None:
            size = abs(self.percent)
            share = f"{size}% " if size >= 1 else "kurang dari 1% "
        return f"{self.direction} {share}dari {self.earlier} pada {earlier_name}"


@dataclass
class Comparison:
    """The ``days`` days ending on the report day (inclusive) against the ``days`` before."""

    days: int
    earlier_first: date
    earlier_last: date
    later_first: date
    later_last: date
    total: Change
    topics: list[tuple[str, Change]]  # (topic key, change), topics counted in either period

    @property
    def earlier_text(self) -> str:
        return period_text(self.earlier_first, self.earlier_last)

    @property
    def later_text(self) -> str:
        return period_text(self.later_first, self.later_last)

    @property
    def later_name(self) -> str:
        return f"{self.days} hari terakhir"

    @property
    def earlier_name(self) -> str:
        return f"{self.days} hari sebelumnya"

    @property
    def window_text(self) -> str:
        return (
            f"{self.later_name} ({self.later_text}) dibanding "
            f"{self.earlier_name} ({self.earlier_text})"
        )

    @property
    def headline(self) -> str:
        """'7 hari terakhir (30 Nov – 6 Des 2026): 12 pengaduan, naik dari 5 pada 7 hari
        sebelumnya'."""
        return (
            f"{self.later_name} ({self.later_text}): {self.total.later} pengaduan, "
            f"{self.total.versus(self.earlier_name)}"
        )


@dataclass(frozen=True)
class SpikeNotice:
    """A spike of the agency as ``detect_spikes`` (the digest's rule) found it."""

    day: date
    observed: int
    expected: float  # what the digest prints as 'biasanya sekitar'
    p_value: float
    topic: str  # '' = the agency's total; else the topic that jumped
    topics: list[tuple[str, int]]  # (topic key, complaints that day)
    terms: list[str]
    when_text: str  # 'hari ini', 'kemarin' or the date

    @property
    def weekday_text(self) -> str:
        return INDONESIAN_WEEKDAYS[self.day.weekday()]

    @property
    def day_text(self) -> str:
        return format_day_id(self.day)

    @property
    def expected_text(self) -> str:
        """One decimal with a comma, as the digest writes it ('2,0')."""
        return f"{self.expected:.1f}".replace(".", ",")

    @property
    def text(self) -> str:
        """'Lonjakan hari ini: 9 pengaduan, biasanya sekitar 2,0 pada hari Sabtu'."""
        about = f" (masalah {topic_name(self.topic)})" if self.topic else ""
        return (
            f"Lonjakan {self.when_text}{about}: {self.observed} pengaduan, biasanya sekitar "
            f"{self.expected_text} pada hari {self.weekday_text}"
        )


@dataclass
class LatestComplaint:
    created_at: str  # UTC ISO-8601, as stored
    time_text: str  # local time, e.g. '21-11-2026 08:15 WITA'
    platform: str
    url: str  # '' unless an http(s) address: never a javascript: link on a page
    text: str  # redacted display text (personal data replaced)
    topics: list[str]  # topic keys
    topic_names: list[str]
    sector_name: str


@dataclass
class Trend:
    agency_id: str  # '' = tidak teridentifikasi
    agency_name: str  # the short name people use
    agency_full_name: str
    sector_text: str  # the agency's sector and region, '' for the unresolved bucket
    timezone: str
    first_day: date  # the window: Monday of the first week ...
    last_day: date  # ... to 'today' (inclusive), local dates
    rows: list[WeekRow]  # oldest first; the partial current week last
    topic_keys: list[str]  # the topic columns, taxonomy order (plus any unknown key found)
    comparison: Comparison | None  # None when collection does not cover both periods
    data_since: date | None  # first day with any counts, when counting began in the window
    latest: list[LatestComplaint]
    window_text: str
    generated_at: datetime  # UTC
    generated_text: str
    model_version: str
    latest_limit: int = LATEST_LIMIT
    version: str = __version__
    notes: list[str] = field(default_factory=list)
    spikes: list[SpikeNotice] = field(default_factory=list)  # newest first
    compare_days: int = DEFAULT_COMPARE_DAYS

    @property
    def running_week(self) -> Week | None:
        return self.rows[-1].week if self.rows and self.rows[-1].week.partial else None

    @property
    def weeks(self) -> list[Week]:
        return [row.week for row in self.rows]

    @property
    def complaints_per_week(self) -> list[int]:
        return [row.complaints for row in self.rows]

    @property
    def posts_per_week(self) -> list[int]:
        return [row.posts for row in self.rows]

    @property
    def total_complaints(self) -> int:
        return sum(self.complaints_per_week)

    @property
    def total_posts(self) -> int:
        return sum(self.posts_per_week)

    @property
    def slug(self) -> str:
        """The agency's name in file names and on the command line."""
        return self.agency_id or UNRESOLVED_SLUG

    @property
    def zone(self) -> str:
        return zone_label(self.timezone)


# --- dates --------------------------------------------------------------------------


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


def week_periods(today: date, weeks: int, now_local: date | None = None) -> list[Week]:
    """The ``weeks`` ISO weeks ending with the one holding ``today``, oldest first.

    The last week ends on its Sunday but counts only up to ``today``; it is partial
    unless ``today`` is a Sunday that is already over (``now_local`` is later).
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    current_monday = today - timedelta(days=today.weekday())
    complete = today.weekday() == 6 and now_local is not None and today < now_local
    periods = []
    for back in range(weeks - 1, -1, -1):
        monday = current_monday - timedelta(weeks=back)
        periods.append(Week(monday, monday + timedelta(days=6), partial=back == 0 and not complete))
    return periods


# --- building -----------------------------------------------------------------------


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


def _safe_url(url: str) -> str:
    from monitor.text.redact import redact_url  # personal data out of query and fragment

    return redact_url(url) if url.lower().startswith(SAFE_URL_SCHEMES) else ""


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
        position = index_of.get(r["day"])
        if position is None:
            continue  # before the weekly window: only the comparison reads it
        if r["topic"]:
            topics[position][r["topic"]] += r["complaints"] or 0
        else:
            complaints[position] += r["complaints"] or 0
            posts[position] += r["posts"] or 0
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
                url=_safe_url(r["url"] or ""),
                text=r["text_display"],
                topics=list(topics),
                topic_names=[topic_name(t) for t in topics],
                sector_name=sector_name(r["sector"]),
            )
        )
    return latest


# --- the three renderings -----------------------------------------------------------


def csv_header(trend: Trend) -> list[str]:
    return [
        "week_start",
        "week_end",
        "complaints",
        *trend.topic_keys,
        "posts",
        "partial",
        "coverage",
    ]


def csv_rows(trend: Trend) -> list[list[str]]:
    """The weekly table as strings: what the CSV holds and the page's table shows."""
    return [
        [
            row.week.start.isoformat(),
            row.week.end.isoformat(),
            str(row.complaints),
            *(str(row.topics[key]) for key in trend.topic_keys),
            str(row.posts),
            "1" if row.week.partial else "0",
            row.coverage,
        ]
        for row in trend.rows
    ]


def trend_csv(trend: Trend) -> str:
    """One row per week: week_start, week_end, complaints, one column per topic key,
    posts, partial (1 for the current, unfinished week), coverage (full, partial or
    none: whether the database has data for the whole week). Dates are local ISO dates."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\n")
    writer.writerow(csv_header(trend))
    writer.writerows(csv_rows(trend))
    return buffer.getvalue()


def trend_data(trend: Trend) -> dict[str, Any]:
    """The trend as plain data (what ``trend_json`` writes)."""
    comparison = trend.comparison
    return {
        "agency": {
            "id": trend.agency_id,
            "slug": trend.slug,
            "name": trend.agency_name,
            "full_name": trend.agency_full_name,
        },
        "window": {
            "first_day": trend.first_day.isoformat(),
            "last_day": trend.last_day.isoformat(),
            "timezone": trend.timezone,
            "text": trend.window_text,
            "data_since": trend.data_since.isoformat() if trend.data_since else None,
        },
        "definitions": {
            "complaints": "original posts (no reposts) the model classified as complaints "
            "about this agency; copies of one complaint count once per day; weekly = sum "
            "of the local days Monday to Sunday",
            "topics": "complaints with that topic; a complaint may have several topics or none",
            "posts": "all original posts tied to this agency, complaint or not",
            "partial": "true for the week still running (counted up to window.last_day); "
            "shown, never compared",
            "comparison": "the N days ending on window.last_day (inclusive) against the N "
            "days before them, local days",
            "spikes": "the daily digest's spike rule (monitor.aggregate.detect_spikes) on "
            "window.last_day and the day before: observed complaints against what the "
            f"agency's last {SPIKE_WEEKS} weeks lead one to expect on that weekday; at least "
            f"{SPIKE_MIN_COUNT} complaints, at least {SPIKE_MIN_RATIO:g} times the expectation "
            f"and a one-sided Poisson p < {SPIKE_ALPHA:g}",
            "coverage": "full: data for the whole week; partial: collection began during "
            "the week; none: before collection began (0 means no data, not no complaints)",
        },
        "topic_names": {key: topic_name(key) for key in trend.topic_keys},
        "weeks": [
            {
                "week_start": row.week.start.isoformat(),
                "week_end": row.week.end.isoformat(),
                "iso_week": row.week.iso_week,
                "partial": row.week.partial,
                "complaints": row.complaints,
                "topics": {key: row.topics[key] for key in trend.topic_keys},
                "posts": row.posts,
                "coverage": row.coverage,
            }
            for row in trend.rows
        ],
        "totals": {"complaints": trend.total_complaints, "posts": trend.total_posts},
        "comparison": None
        if comparison is None
        else {
            "days": comparison.days,
            "earlier": {
                "first_day": comparison.earlier_first.isoformat(),
                "last_day": comparison.earlier_last.isoformat(),
            },
            "later": {
                "first_day": comparison.later_first.isoformat(),
                "last_day": comparison.later_last.isoformat(),
            },
            "percent_min_earlier": PERCENT_MIN_EARLIER,
            "complaints": _change_data(comparison.total),
            "topics": {key: _change_data(change) for key, change in comparison.topics},
            "text": comparison.window_text,
            "headline": comparison.headline,
        },
        "spikes": [
            {
                "day": spike.day.isoformat(),
                "observed": spike.observed,
                "expected": spike.expected,
                "p_value": spike.p_value,
                "topic": spike.topic,
                "topics": dict(spike.topics),
                "terms": spike.terms,
                "text": spike.text,
            }
            for spike in trend.spikes
        ],
        "latest_complaints": [
            {
                "created_at": item.created_at,
                "time_text": item.time_text,
                "platform": item.platform,
                "url": item.url,
                "text": item.text,
                "topics": item.topics,
            }
            for item in trend.latest
        ],
        "model_version": trend.model_version,
        "generated_at": to_iso(trend.generated_at),
        "monitor_version": trend.version,
    }


def _change_data(change: Change) -> dict[str, Any]:
    return {
        "earlier": change.earlier,
        "later": change.later,
        "percent": change.percent,
        "text": change.text,
    }


def trend_json(trend: Trend) -> str:
    return json.dumps(trend_data(trend), ensure_ascii=False, indent=2) + "\n"


def environment() -> Environment:
    """The report package's one Jinja2 setup (kept under this name for callers)."""
    return templates()


def trend_chart_svg(trend: Trend, narrow: bool = False) -> str:
    """The weekly bar chart; ``narrow`` draws it for a phone (fewer x labels, no scaling
    down of the text), the page shows one or the other by screen width."""
    labels = [week.short_label for week in trend.weeks]
    if narrow:
        step = max(1, -(-len(labels) // 6))  # at most about six labels
        last = len(labels) - 1
        labels = [label if (last - i) % step == 0 else "" for i, label in enumerate(labels)]
    return bar_chart_svg(
        labels,
        trend.complaints_per_week,
        f"Pengaduan per minggu, {trend.agency_name}, {trend.window_text}",
        width=340 if narrow else 560,
        height=200 if narrow else 210,
    )


def trend_html(
    trend: Trend,
    *,
    index_href: str | None = None,
    downloads: dict[str, str] | None = None,
) -> str:
    """A standalone page. ``index_href`` adds a link back to a site's index;
    ``downloads`` (label -> relative href) adds links to the page's numbers as files."""
    return (
        environment()
        .get_template("trend.html.j2")
        .render(
            t=trend,
            chart=trend_chart_svg(trend),
            chart_narrow=trend_chart_svg(trend, narrow=True),
            header=csv_header(trend),
            rows=csv_rows(trend),
            topic_name=topic_name,
            index_href=index_href,
            downloads=downloads or {},
            percent_min=PERCENT_MIN_EARLIER,
            spike_rule=SPIKE_RULE_TEXT,
            period=period_text,
            latest_limit=trend.latest_limit,
        )
    )


FORMATS = ("html", "csv", "json")


def render_trend(trend: Trend, fmt: str) -> str:
    """The trend as ``html`` (standalone page), ``csv`` or ``json``."""
    renderers = {"html": trend_html, "csv": trend_csv, "json": trend_json}
    if fmt not in renderers:
        raise ValueError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](trend)
