"""An agency's trend written out three ways that carry the same numbers.

``trend_csv`` (one row per week), ``trend_json`` (``trend_data`` as JSON) and
``trend_html`` (a standalone page whose weekly table is the CSV, cell for cell: both
come from ``csv_rows``).
"""

from __future__ import annotations

import io
import json
from typing import Any

from monitor.clock import to_iso
from monitor.csvsafe import SafeWriter
from monitor.formatting import format_decimal, period_text
from monitor.labels import topic_name
from monitor.report import templates
from monitor.report.charts import bar_chart_svg
from monitor.report.spikes import SPIKE_ALPHA, SPIKE_MIN_COUNT, SPIKE_MIN_RATIO, SPIKE_WEEKS
from monitor.report.trend_records import PERCENT_MIN_EARLIER, Change, Trend
from monitor.service_standard import COMPONENTS, component_rows, topics_of

FORMATS = ("html", "csv", "json")

# The digest's spike rule in words, from the constants the rule itself uses.
SPIKE_RULE_TEXT = (
    f"Lonjakan = minimal {SPIKE_MIN_COUNT} pengaduan dalam sehari, minimal "
    f"{format_decimal(SPIKE_MIN_RATIO)} kali perkiraan, dan uji Poisson "
    f"p < {format_decimal(SPIKE_ALPHA)}"
    f'. Perkiraan ("biasanya sekitar") = rata-rata harian instansi itu selama '
    f"{SPIKE_WEEKS} minggu sebelumnya, disesuaikan dengan hari dalam pekan; aturan yang "
    "sama dengan ringkasan harian (digest)."
)


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
            "spikes": "the daily digest's spike rule (monitor.report.spikes.detect_spikes) on "
            "window.last_day and the day before: observed complaints against what the "
            f"agency's last {SPIKE_WEEKS} weeks lead one to expect on that weekday; at least "
            f"{SPIKE_MIN_COUNT} complaints, at least {SPIKE_MIN_RATIO:g} times the expectation "
            f"and a one-sided Poisson p < {SPIKE_ALPHA:g}",
            "service_standard_components": "complaints over the whole window per component "
            "of the service standard (UU 25/2009); a complaint counts once per component and "
            "day even when several of its topics map there; null: no topic maps there",
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
        "service_standard_components": {
            key: trend.components.get(key) if topics_of(key) else None for key in COMPONENTS
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
    body_only: bool = False,
) -> str:
    """A standalone page. ``index_href`` adds a link back to a site's index;
    ``downloads`` (label -> href) adds links to the page's numbers as files;
    ``body_only`` gives only the page's content (no head and no inline styles: the
    web app puts it in its own layout, styled by ``page.css``)."""
    template = "_trend_body.html.j2" if body_only else "trend.html.j2"
    return (
        templates()
        .get_template(template)
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
            components=component_rows(trend.components),
            topics_of=topics_of,
        )
    )
