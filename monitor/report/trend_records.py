"""An agency's complaint trend as records: ISO weeks, weekly rows, changes, spikes.

What ``monitor.report.trend`` builds and ``monitor.report.trend_render`` writes out:
plain dataclasses, and the Indonesian wording of a change ("naik dari 2 ke 5").
Changes are told as counts; a percentage is added only when the earlier count is at
least ``PERCENT_MIN_EARLIER``, because a percentage of a handful misleads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from monitor import __version__
from monitor.formatting import (
    format_day_id,
    format_decimal,
    period_text,
    weekday_name,
    zone_label,
)
from monitor.labels import topic_name

# The N days ending on the report day (inclusive) are compared with the N days before.
DEFAULT_COMPARE_DAYS = 7
# Below this earlier count a change is told in counts only, never as a percentage.
PERCENT_MIN_EARLIER = 10
LATEST_LIMIT = 10
# How the "tidak teridentifikasi" bucket (agency id '') is named in file names and on
# the command line; configured agency ids are slugs, so this never means an agency
# unless one is configured with exactly this id (build_site refuses that).
UNRESOLVED_SLUG = "tidak-teridentifikasi"


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
        return weekday_name(self.day)

    @property
    def day_text(self) -> str:
        return format_day_id(self.day)

    @property
    def expected_text(self) -> str:
        """One decimal with a comma, as the digest writes it ('2,0')."""
        return format_decimal(self.expected, 1)

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
    # service-standard component key -> complaints over the window (monitor.service_standard)
    components: dict[str, int] = field(default_factory=dict)

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
