"""A static site of every agency's complaint trend, readable straight from the files.

``out_dir/index.html`` lists every agency with its complaints in the window, the
change of its last 7 days against the 7 before, the digest's spike of the day (if
any, also in a box at the top) and a sparkline; ``out_dir/agency/<id>.html`` is
the agency's trend page, with ``<id>.csv`` and ``<id>.json`` beside it holding the
numbers of that page's table. No server, no JavaScript, relative links only: the
folder can be copied to any intranet host or opened from a disk. Every file is
written to a temporary name and renamed; nothing is ever deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from monitor import __version__
from monitor.config import Config
from monitor.formatting import period_text
from monitor.labels import UNRESOLVED_AGENCY
from monitor.report import templates
from monitor.report.charts import sparkline_svg
from monitor.report.digest import write_atomic
from monitor.report.trend import DEFAULT_WEEKS, build_trend, recent_spikes
from monitor.report.trend_records import PERCENT_MIN_EARLIER, UNRESOLVED_SLUG, Change, Trend
from monitor.report.trend_render import SPIKE_RULE_TEXT, trend_csv, trend_html, trend_json
from monitor.store import Store

log = logging.getLogger(__name__)

AGENCY_DIR = "agency"


@dataclass
class IndexRow:
    trend: Trend
    href: str  # relative to index.html
    sparkline: str  # inline SVG

    @property
    def complaints(self) -> int:
        return self.trend.total_complaints


def agency_ids(config: Config, store: Store, first_day: str, last_day: str) -> list[str]:
    """Every configured agency, any other agency with counts in the window, and ''."""
    ids = [agency.id for agency in config.agencies]
    seen = set(ids)
    for row in store.daily_totals(first_day, last_day):
        agency_id = row["agency_id"]
        if agency_id and agency_id not in seen:
            seen.add(agency_id)
            ids.append(agency_id)
    return [*ids, UNRESOLVED_AGENCY]


def _check_slugs(ids: list[str]) -> None:
    if UNRESOLVED_SLUG in ids:
        raise ValueError(
            f"agency id '{UNRESOLVED_SLUG}' is reserved for complaints tied to no agency; "
            "rename that agency in the config"
        )


def build_trends(
    config: Config,
    store: Store,
    model_version: str,
    weeks: int = DEFAULT_WEEKS,
    today: date | None = None,
) -> list[Trend]:
    """Every agency's trend (``agency_ids``), the unresolved bucket last; what the
    site's index and the web app's overview list."""
    first = build_trend(config, store, model_version, UNRESOLVED_AGENCY, weeks, today, spikes={})
    ids = agency_ids(config, store, first.first_day.isoformat(), first.last_day.isoformat())
    _check_slugs(ids)
    # Once for every agency, with the digest's own function: every page agrees with it.
    spikes = recent_spikes(store, first.last_day, config.timezone)
    return [
        first
        if agency_id == UNRESOLVED_AGENCY
        else build_trend(
            config, store, model_version, agency_id, weeks, first.last_day, spikes=spikes
        )
        for agency_id in ids
    ]


def build_site(
    config: Config,
    store: Store,
    model_version: str,
    out_dir: Path,
    weeks: int = DEFAULT_WEEKS,
    today: date | None = None,
) -> list[Path]:
    """Write index.html and agency/<id>.html|.csv|.json under ``out_dir``; returns them.

    The unresolved bucket's files are ``agency/tidak-teridentifikasi.*``. Files from
    earlier builds that this build does not write are left as they are.
    """
    out_dir = Path(out_dir)
    trends = build_trends(config, store, model_version, weeks, today)
    written: list[Path] = []
    for trend in trends:
        base = out_dir / AGENCY_DIR / trend.slug
        pages = {
            base.with_suffix(".csv"): trend_csv(trend),
            base.with_suffix(".json"): trend_json(trend),
            base.with_suffix(".html"): trend_html(
                trend,
                index_href="../index.html",
                downloads={"CSV": f"{trend.slug}.csv", "JSON": f"{trend.slug}.json"},
            ),
        }
        for path, content in pages.items():
            write_atomic(path, content)
            written.append(path)

    index = out_dir / "index.html"
    write_atomic(index, site_index_html(trends))
    written.insert(0, index)
    log.info("site: %d agency pages in %s", len(trends), out_dir)
    return written


def _file_href(trend: Trend) -> str:
    return f"{AGENCY_DIR}/{trend.slug}.html"


def index_rows(trends: list[Trend], href: Callable[[Trend], str] = _file_href) -> list[IndexRow]:
    """Agencies with complaints first (most first), then the rest by name; ``href``
    gives each agency's link (the site's file, or the web app's page)."""
    rows = [
        IndexRow(
            trend=trend,
            href=href(trend),
            sparkline=sparkline_svg(
                trend.complaints_per_week,
                width=112,
                height=28,
                label=(
                    f"Pengaduan per minggu, {trend.agency_name}, "
                    f"{period_text(trend.first_day, trend.last_day)}: "
                    + ", ".join(str(count) for count in trend.complaints_per_week)
                ),
            ),
        )
        for trend in trends
    ]
    rows.sort(key=lambda row: (row.complaints == 0, -row.complaints, row.trend.agency_name.lower()))
    return rows


def site_index_html(
    trends: list[Trend], href: Callable[[Trend], str] = _file_href, body_only: bool = False
) -> str:
    """The index page; ``body_only`` gives only its content (see ``trend_html``)."""
    rows = index_rows(trends, href)
    sample = trends[0]
    comparison = next((t.comparison for t in trends if t.comparison), None)
    template = "_site_index_body.html.j2" if body_only else "site_index.html.j2"
    return (
        templates()
        .get_template(template)
        .render(
            rows=rows,
            spiking=[row for row in rows if row.trend.spikes],
            spike_rule=SPIKE_RULE_TEXT,
            sample=sample,
            comparison=comparison,
            # Every agency's rolling change added up: the whole site's last 7 days.
            recent=Change(
                sum(t.comparison.total.earlier for t in trends if t.comparison),
                sum(t.comparison.total.later for t in trends if t.comparison),
            )
            if comparison
            else None,
            total=sum(row.complaints for row in rows),
            with_complaints=sum(1 for row in rows if row.complaints and row.trend.agency_id),
            agencies=sum(1 for row in rows if row.trend.agency_id),
            period=period_text,
            percent_min=PERCENT_MIN_EARLIER,
            version=__version__,
        )
    )
