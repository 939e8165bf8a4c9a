"""The daily digest for Ombudsman staff: what changed, about whom, with examples.

Built from the aggregates (daily_counts) plus one window query for examples,
rendered with Jinja2 (autoescaped) to HTML and plain text, written under
``reports/`` atomically (a killed run never leaves half a file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from monitor import __version__
from monitor.clock import (
    day_bounds_utc,
    format_day_id,
    format_local,
    parse_iso,
    utc_now,
    zone_label,
)
from monitor.config import Config
from monitor.labels import UNRESOLVED_AGENCY_NAME, sector_name, topic_name
from monitor.store import Store

BASELINE_DAYS = 7
# A change is listed when an agency has at least this many complaints on the day
# and at least twice its daily average over the previous seven days.
CHANGE_MIN_COMPLAINTS = 3
CHANGE_MIN_RATIO = 2.0
EXAMPLES_PER_AGENCY = 2
AGENCIES_WITH_EXAMPLES = 6


@dataclass
class AgencyRow:
    agency_id: str
    name: str
    complaints: int
    posts: int
    authors: int
    baseline_avg: float  # complaints per day over the previous seven days
    topics: list[tuple[str, int]] = field(default_factory=list)  # (topic name, complaints)

    @property
    def change_text(self) -> str:
        if self.baseline_avg == 0:
            return "baru" if self.complaints else "-"
        ratio = self.complaints / self.baseline_avg
        return f"{ratio:.1f}×"


@dataclass
class Digest:
    day: date
    day_text: str
    window_text: str
    baseline_text: str
    posts: int
    complaints: int
    baseline_avg: float
    agencies_with_complaints: int
    unresolved_complaints: int
    rows: list[AgencyRow]
    changes: list[AgencyRow]
    examples: list[dict[str, Any]]
    health: list[dict[str, Any]]
    model_text: str
    generated_text: str
    version: str = __version__


def _name(names: dict[str, str], agency_id: str) -> str:
    return names.get(agency_id, agency_id) if agency_id else UNRESOLVED_AGENCY_NAME


def build_digest(config: Config, store: Store, model: Any, day: date) -> Digest:
    tz = config.timezone
    iso = day.isoformat()
    first_base = (day - timedelta(days=BASELINE_DAYS)).isoformat()
    last_base = (day - timedelta(days=1)).isoformat()
    names = store.agency_names()

    today = {r["agency_id"]: r for r in store.totals_by_agency(iso, iso)}
    base = {r["agency_id"]: r for r in store.totals_by_agency(first_base, last_base)}
    topics: dict[str, list[tuple[str, int]]] = {}
    for r in store.topics_by_agency(iso, iso):
        topics.setdefault(r["agency_id"], []).append((topic_name(r["topic"]), r["complaints"]))

    rows = [
        AgencyRow(
            agency_id=agency_id,
            name=_name(names, agency_id),
            complaints=r["complaints"] or 0,
            posts=r["posts"] or 0,
            authors=r["authors"] or 0,
            baseline_avg=(base.get(agency_id, {}).get("complaints") or 0) / BASELINE_DAYS,
            topics=topics.get(agency_id, [])[:3],
        )
        for agency_id, r in today.items()
        if r["complaints"]
    ]
    rows.sort(key=lambda row: (-row.complaints, row.name))
    changes = [
        row
        for row in rows
        if row.agency_id
        and row.complaints >= CHANGE_MIN_COMPLAINTS
        and row.complaints >= CHANGE_MIN_RATIO * row.baseline_avg
    ]

    start, end = day_bounds_utc(day, tz)
    examples = store.complaint_examples(start, end, model.version, EXAMPLES_PER_AGENCY)
    order = {row.agency_id: index for index, row in enumerate(rows)}
    examples.sort(key=lambda e: (order.get(e["agency_id"], len(order)), -e["complaint_score"]))
    shown_agencies = [row.agency_id for row in rows if row.agency_id][:AGENCIES_WITH_EXAMPLES]
    examples = [e for e in examples if e["agency_id"] in shown_agencies]
    for example in examples:
        example["agency_name"] = _name(names, example["agency_id"])
        example["time_text"] = format_local(parse_iso(example["created_at"]), tz)
        example["topic_names"] = [topic_name(t) for t in example["topics"]]
        example["sector_name"] = sector_name(example["sector"])

    health_since = day_bounds_utc(day - timedelta(days=1), tz)[0]
    health = [
        {
            "source": h.source,
            "last_success": format_local(parse_iso(h.last_success_at), tz)
            if h.last_success_at
            else "belum pernah",
            "new": h.new_in_window,
            "errors": h.errors_in_window,
            "last_error": h.last_error,
        }
        for h in store.source_health(health_since)
    ]

    base_total = sum((r.get("complaints") or 0) for r in base.values())
    return Digest(
        day=day,
        day_text=format_day_id(day),
        window_text=f"{format_day_id(day)}, pukul 00.00–24.00 {zone_label(tz)}",
        baseline_text=(
            f"{BASELINE_DAYS} hari sebelumnya "
            f"({(day - timedelta(days=BASELINE_DAYS)).strftime('%d-%m')} s.d. "
            f"{(day - timedelta(days=1)).strftime('%d-%m-%Y')})"
        ),
        posts=sum((r["posts"] or 0) for r in today.values()),
        complaints=sum(row.complaints for row in rows),
        baseline_avg=base_total / BASELINE_DAYS,
        agencies_with_complaints=sum(1 for row in rows if row.agency_id),
        unresolved_complaints=sum(row.complaints for row in rows if not row.agency_id),
        rows=rows,
        changes=changes,
        examples=examples,
        health=health,
        model_text=f"{model.description} (versi {model.version})",
        generated_text=format_local(utc_now(), tz),
    )


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda value: f"{value:,.0f}".replace(",", ".")
    env.filters["avg"] = lambda value: f"{value:.1f}".replace(".", ",")
    return env


def render_digest(digest: Digest) -> tuple[str, str]:
    """(HTML, plain text) of the digest."""
    env = _environment()
    html = env.get_template("digest.html.j2").render(d=digest)
    text_env = _environment()
    text_env.autoescape = False
    text = text_env.get_template("digest.txt.j2").render(d=digest)
    return html, text


def write_atomic(path: Path, content: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


def write_digest(config: Config, store: Store, model: Any, day: date) -> list[Path]:
    """Build, render and archive the digest for one local day; returns the files written."""
    html, text = render_digest(build_digest(config, store, model, day))
    html_path = config.reports_dir / f"digest-{day.isoformat()}.html"
    text_path = config.reports_dir / f"digest-{day.isoformat()}.txt"
    write_atomic(html_path, html)
    write_atomic(text_path, text)
    return [html_path, text_path]
