"""An agency's own complaint trend: per ISO week and topic, with the numbers to download.

Built only from the aggregates (``daily_counts`` via ``Store.agency_daily``) plus the
newest complaints (``Store.latest_complaints``). One ``Trend`` renders three ways that
carry the same numbers: ``trend_csv`` (one row per week), ``trend_json`` and
``trend_html`` (a standalone page; its weekly table is the CSV, cell for cell).

Weeks are ISO weeks, Monday to Sunday in local time; the week holding ``today`` is
last and marked partial. Changes between periods are told as counts ("naik dari 2 ke
5"); a percentage is added only when the earlier count is at least
``PERCENT_MIN_EARLIER``, because a percentage of a handful misleads.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment

from monitor import __version__
from monitor.clock import (
    INDONESIAN_MONTHS,
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
# The last N complete weeks are compared with the N complete weeks before them.
DEFAULT_COMPARE_WEEKS = 4
# Below this earlier count a change is told in counts only, never as a percentage.
PERCENT_MIN_EARLIER = 10
LATEST_LIMIT = 10
# How the "tidak teridentifikasi" bucket (agency id '') is named in file names and on
# the command line; configured agency ids are slugs, so this never means an agency
# unless one is configured with exactly this id (build_site refuses that).
UNRESOLVED_SLUG = "tidak-teridentifikasi"
SAFE_URL_SCHEMES = ("https://", "http://")


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


@dataclass
class Comparison:
    """The last ``weeks`` complete weeks against the ``weeks`` complete weeks before."""

    weeks: int
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
    def window_text(self) -> str:
        return (
            f"{self.weeks} minggu penuh terakhir ({self.later_text}) dibanding "
            f"{self.weeks} minggu sebelumnya ({self.earlier_text})"
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
    comparison: Comparison | None  # None when the window holds too few complete weeks
    data_since: date | None  # first day with any counts, when counting began in the window
    latest: list[LatestComplaint]
    window_text: str
    generated_at: datetime  # UTC
    generated_text: str
    model_version: str
    latest_limit: int = LATEST_LIMIT
    version: str = __version__
    notes: list[str] = field(default_factory=list)

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


def build_trend(
    config: Config,
    store: Store,
    model_version: str,
    agency_id: str,
    weeks: int = DEFAULT_WEEKS,
    today: date | None = None,
    *,
    compare_weeks: int = DEFAULT_COMPARE_WEEKS,
    latest_limit: int = LATEST_LIMIT,
) -> Trend:
    """One agency's complaints per ISO week and topic over ``weeks`` weeks up to ``today``.

    ``agency_id`` is a configured (or stored) agency id, or ``''`` /
    ``'tidak-teridentifikasi'`` for complaints tied to no agency. ``today`` defaults to
    the local date now. Raises ValueError for an unknown agency or ``weeks < 1``.
    """
    tz = config.timezone
    now = utc_now()
    now_local = local_date(now, tz)
    today = today or now_local
    agency_id = resolve_agency_id(config, store, agency_id)
    periods = week_periods(today, weeks, now_local)
    first_day, last_day = periods[0].start, today

    daily = store.agency_daily(agency_id, first_day.isoformat(), last_day.isoformat())
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
        position = index_of[r["day"]]
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

    comparison = _compare(rows, topic_keys, compare_weeks)
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
        if comparison is not None and comparison.weeks < compare_weeks:
            notes.append(
                f"Karena itu perbandingan memakai {comparison.weeks} minggu penuh terakhir "
                f"dibanding {comparison.weeks} minggu sebelumnya, bukan {compare_weeks} minggu."
            )
    if periods[-1].partial:
        notes.append(
            f"Minggu terakhir ({periods[-1].range_text}) masih berjalan: angkanya dihitung "
            f"sampai {format_day_id(today)} dan belum bisa dibandingkan dengan minggu penuh."
        )

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


def _compare(rows: list[WeekRow], topic_keys: list[str], compare_weeks: int) -> Comparison | None:
    # Only complete weeks the database covers whole: a running week or one from before
    # collection began would make any change look like a rise.
    complete = [row for row in rows if not row.week.partial and row.coverage == "full"]
    n = min(compare_weeks, len(complete) // 2)
    if n < 1:
        return None
    later, earlier = complete[-n:], complete[-2 * n : -n]

    def change(count) -> Change:
        return Change(sum(count(r) for r in earlier), sum(count(r) for r in later))

    topic_changes = [(key, change(lambda r, key=key: r.topics[key])) for key in topic_keys]
    topic_changes = [(key, c) for key, c in topic_changes if c.earlier or c.later]
    topic_changes.sort(key=lambda item: (-item[1].later, -item[1].earlier))
    return Comparison(
        weeks=n,
        earlier_first=earlier[0].week.start,
        earlier_last=earlier[-1].week.end,
        later_first=later[0].week.start,
        later_last=later[-1].week.end,
        total=change(lambda r: r.complaints),
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
            "partial": "true for the week still running (counted up to window.last_day)",
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
            "weeks": comparison.weeks,
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
        },
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
