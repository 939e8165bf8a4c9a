"""The daily digest for Ombudsman staff: what changed, about whom, with examples.

Built from the aggregates (daily_counts) plus one window query for examples,
rendered with Jinja2 (autoescaped) to HTML and plain text, written under
``reports/`` atomically (a killed run never leaves half a file).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.clock import day_bounds_utc, parse_iso, utc_now
from monitor.config import Config
from monitor.formatting import (
    format_day_id,
    format_decimal,
    format_local,
    format_number,
    weekday_name,
    zone_label,
)
from monitor.labels import UNRESOLVED_AGENCY_NAME, sector_name, topic_name
from monitor.report import templates
from monitor.report.charts import bar_chart_png
from monitor.report.spikes import detect_spikes, top_topics
from monitor.service_standard import COMPONENTS, Component, count_components
from monitor.store import Store

BASELINE_DAYS = 7
CHART_DAYS = 14
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
    # service-standard component key -> complaints (monitor.service_standard)
    components: dict[str, int] = field(default_factory=dict)

    @property
    def change_text(self) -> str:
        if self.baseline_avg == 0:
            return "baru" if self.complaints else "-"
        ratio = self.complaints / self.baseline_avg
        return f"{ratio:.1f}×"


@dataclass
class SpikeView:
    agency_id: str
    name: str
    observed: int
    expected: float
    p_text: str
    topics: list[tuple[str, int]]
    terms: list[str]
    examples: list[dict[str, Any]]


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
    spikes: list[SpikeView]
    examples: list[dict[str, Any]]
    chart_title: str
    chart_png: bytes
    health: list[dict[str, Any]]
    model_text: str
    generated_text: str
    version: str = __version__
    scope_name: str = ""  # set on an agency's own part of the digest
    warning: str = ""  # "Data tidak lengkap: ...": missing data never reads as no complaints
    weekday_text: str = ""  # the report day's weekday, "Sabtu": what spikes are compared with

    @property
    def components(self) -> list[tuple[Component, int]]:
        """Complaints of the day per service-standard component (the rows' sum: an agency's
        complaint counts once per component), components with none left out."""
        totals = {key: sum(row.components.get(key, 0) for row in self.rows) for key in COMPONENTS}
        return [(COMPONENTS[key], n) for key, n in totals.items() if n]


def _p_text(p_value: float) -> str:
    return "p < 0,001" if p_value < 0.001 else f"p = {format_decimal(p_value, 3)}"


def _name(names: dict[str, str], agency_id: str) -> str:
    return names.get(agency_id, agency_id) if agency_id else UNRESOLVED_AGENCY_NAME


def one_per_case(rows: list[dict[str, Any]], per_agency: int) -> list[dict[str, Any]]:
    """Up to ``per_agency`` rows per agency, in the given order (most certain first), one
    per case: a complaint copied or reposted many times is one example, not several."""
    chosen: list[dict[str, Any]] = []
    seen_cases: set[int] = set()
    shown: Counter[str] = Counter()
    for row in rows:
        if row["case_id"] in seen_cases or shown[row["agency_id"]] >= per_agency:
            continue
        seen_cases.add(row["case_id"])
        shown[row["agency_id"]] += 1
        chosen.append(row)
    return chosen


def build_digest(config: Config, store: Store, model: Any, day: date) -> Digest:
    tz = config.timezone
    iso = day.isoformat()
    first_base = (day - timedelta(days=BASELINE_DAYS)).isoformat()
    last_base = (day - timedelta(days=1)).isoformat()
    names = store.agency_names()

    today = {r["agency_id"]: r for r in store.totals_by_agency(iso, iso)}
    base = {r["agency_id"]: r for r in store.totals_by_agency(first_base, last_base)}
    counted: dict[str, list[tuple[str, int]]] = {}
    for r in store.topics_by_agency(iso, iso):
        counted.setdefault(r["agency_id"], []).append((r["topic"], r["complaints"]))
    topics = {
        agency_id: [(topic_name(t), n) for t, n in top_topics(pairs)]
        for agency_id, pairs in counted.items()
    }

    start, end = day_bounds_utc(day, tz)
    candidates = store.complaint_candidates(start, end, model.version)
    complaints_of: dict[str, list[tuple[int, list[str]]]] = {}
    for candidate in candidates:
        complaints_of.setdefault(candidate["agency_id"], []).append(
            (candidate["case_id"], candidate["topics"])
        )
    rows = [
        AgencyRow(
            agency_id=agency_id,
            name=_name(names, agency_id),
            complaints=r["complaints"] or 0,
            posts=r["posts"] or 0,
            authors=r["authors"] or 0,
            baseline_avg=(base.get(agency_id, {}).get("complaints") or 0) / BASELINE_DAYS,
            topics=topics.get(agency_id, []),
            components=count_components(complaints_of.get(agency_id, [])),
        )
        for agency_id, r in today.items()
        if r["complaints"]
    ]
    rows.sort(key=lambda row: (-row.complaints, row.name))

    examples = one_per_case(candidates, EXAMPLES_PER_AGENCY)
    # ``copies``: how many posts the case has in all (copies and reposts), so a complaint
    # posted fifty times is shown once, "diposting 50×".
    sizes = store.case_sizes([example["case_id"] for example in examples])
    for example in examples:
        example["copies"] = sizes.get(example["case_id"], 1)
        example["agency_name"] = _name(names, example["agency_id"])
        example["time_text"] = format_local(parse_iso(example["created_at"]), tz)
        example["topic_names"] = [topic_name(t) for t in example["topics"]]
        example["sector_name"] = sector_name(example["sector"])
    spikes = [
        SpikeView(
            agency_id=spike.agency_id,
            name=_name(names, spike.agency_id),
            observed=spike.observed,
            expected=spike.expected,
            p_text=_p_text(spike.p_value),
            topics=[(topic_name(t), n) for t, n in spike.topics],
            terms=spike.terms,
            examples=[e for e in examples if e["agency_id"] == spike.agency_id],
        )
        for spike in detect_spikes(store, day, tz)
    ]
    spiking = {spike.agency_id for spike in spikes}
    order = {row.agency_id: index for index, row in enumerate(rows)}
    shown_agencies = [
        row.agency_id for row in rows if row.agency_id and row.agency_id not in spiking
    ][:AGENCIES_WITH_EXAMPLES]
    examples = sorted(
        (e for e in examples if e["agency_id"] in shown_agencies),
        key=lambda e: (order.get(e["agency_id"], len(order)), -e["complaint_score"]),
    )
    chart_days = [day - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    per_day = {
        r["day"]: r["complaints"] or 0
        for r in store.complaints_per_day(chart_days[0].isoformat(), iso)
    }
    chart_title = (
        f"Pengaduan per hari, {CHART_DAYS} hari sampai {day.strftime('%d-%m-%Y')} "
        f"({zone_label(tz)})"
    )
    chart_png = bar_chart_png(
        [d.strftime("%d/%m") for d in chart_days],
        [per_day.get(d.isoformat(), 0) for d in chart_days],
        chart_title,
    )

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
            "problem": failure_in_indonesian(h.last_error) if h.last_error else "",
            "stopped": STOPPED_TEXT if h.last_stopped and not h.last_error else "",
        }
        for h in store.source_health(health_since)
    ]

    base_total = sum((r.get("complaints") or 0) for r in base.values())
    warning = incomplete_data_warning(
        [source.name for source in config.sources if source.enabled],
        store.source_health(health_since),
        health_since,
    )
    return Digest(
        warning=warning,
        weekday_text=weekday_name(day),
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
        spikes=spikes,
        examples=examples,
        chart_title=chart_title,
        chart_png=chart_png,
        health=health,
        model_text=_model_text(model),
        generated_text=format_local(utc_now(), tz),
    )


STOPPED_TEXT = (
    "berhenti lebih awal pada run terakhir (batas akses, kuota atau batas waktu sumber); "
    "dilanjutkan otomatis pada run berikutnya, tidak perlu tindakan"
)
# What a source's error text means, for readers of the digest: the first rule whose
# words occur in the (English, technical) error decides. The text itself follows.
_FAILURE_KINDS = (
    (
        ("needs credentials", "environment variable", "credential"),
        "kunci akses (kredensial) belum diisi di server monitor",
    ),
    (("401", "403", "refused the", "token", "api key"), "kunci akses ditolak oleh layanan sumber"),
    (("cannot connect", "not retried", "name or service"), "server sumber tidak dapat dihubungi"),
    (("timed out",), "server sumber terlalu lambat menjawab"),
    (("answered 5",), "server sumber sedang bermasalah"),
    (("404",), "alamat tidak ditemukan di server sumber"),
    (
        ("json", "neither 'data'", "malformed", "not readable", "document refused"),
        "jawaban sumber tidak sesuai format yang diharapkan",
    ),
    (
        ("no such file", "cannot be read", "not found"),
        "berkas sumber tidak ditemukan atau tidak bisa dibaca",
    ),
)


def failure_in_indonesian(error: str) -> str:
    """A short Indonesian meaning of a source's error text (which stays beside it)."""
    lowered = error.lower()
    for words, meaning in _FAILURE_KINDS:
        if any(word in lowered for word in words):
            return meaning
    return "sumber gagal dibaca"


def incomplete_data_warning(enabled: list[str], health: list[Any], since: str) -> str:
    """A line that opens the digest when its figures may be too low, else "".

    Missing data must never read as "no complaints": no source enabled, a source that
    failed since ``since`` (the start of the day before the report day, local time), or
    one that has not succeeded since then.
    """
    if not enabled:
        return (
            "Data tidak lengkap: tidak ada sumber data yang aktif, jadi angka di bawah bukan "
            "berarti tidak ada pengaduan. Aktifkan sumber di berkas konfigurasi."
        )
    by_source = {h.source: h for h in health}
    failed = [
        name
        for name in enabled
        if name not in by_source
        or by_source[name].errors_in_window
        or not by_source[name].last_success_at
        or by_source[name].last_success_at < since
    ]
    if not failed:
        return ""
    return (
        f"Data tidak lengkap: {len(failed)} dari {len(enabled)} sumber gagal atau belum "
        f"berhasil sejak kemarin ({', '.join(failed)}). Angka di bawah bisa lebih kecil dari "
        "kenyataan; rinciannya ada di bagian Kesehatan data."
    )


def _model_text(model: Any) -> str:
    """The footer's line on the model: blind-set figures first, the keyword rule beside
    them, cross-validation second."""
    card = getattr(model, "card", None) or {}
    evaluated = card.get("trained_at", "")[:10]
    metrics = card.get("metrics", {})
    text = f"{model.description}, versi {model.version}"
    if not evaluated or not metrics:
        return text
    text += f"; dievaluasi {evaluated}"
    blind, rule = metrics.get("blind"), metrics.get("keyword_rule_blind")
    cv = metrics.get("cross_validation", metrics)
    if blind:
        text += (
            f": uji buta {format_number(blind.get('count', 0))} pos (F1 pengaduan "
            f"{format_decimal(blind.get('complaint_f1', 0), 2)}, F1 sektor "
            f"{format_decimal(blind.get('sector_macro_f1', 0), 2)}, F1 topik "
            f"{format_decimal(blind.get('topic_micro_f1', 0), 2)})"
        )
        if rule:
            text += (
                f"; aturan kata kunci pada uji yang sama: "
                f"{format_decimal(rule.get('complaint_f1', 0), 2)} / "
                f"{format_decimal(rule.get('sector_macro_f1', 0), 2)} / "
                f"{format_decimal(rule.get('topic_micro_f1', 0), 2)}"
            )
        text += f"; validasi silang: {format_decimal(cv.get('complaint_f1', 0), 2)} / "
        text += f"{format_decimal(cv.get('sector_macro_f1', 0), 2)}"
        text += f" / {format_decimal(cv.get('topic_micro_f1', 0), 2)}"
        return text
    return text + (
        f" (validasi silang: F1 pengaduan {format_decimal(cv.get('complaint_f1', 0), 2)}, "
        f"F1 sektor {format_decimal(cv.get('sector_macro_f1', 0), 2)})"
    )


def scoped(digest: Digest, agency_id: str) -> Digest:
    """One agency's part of the digest: only its own rows, spikes and examples."""
    rows = [row for row in digest.rows if row.agency_id == agency_id]
    spikes = [s for s in digest.spikes if s.agency_id == agency_id]
    return replace(
        digest,
        rows=rows,
        spikes=spikes,
        examples=[e for e in digest.examples if e["agency_id"] == agency_id]
        + [e for s in spikes for e in s.examples],
        complaints=sum(row.complaints for row in rows),
        posts=sum(row.posts for row in rows),
        agencies_with_complaints=len(rows),
        unresolved_complaints=0,
        scope_name=rows[0].name if rows else agency_id,
    )


def render_digest(digest: Digest, chart_src: str) -> tuple[str, str]:
    """(HTML, plain text) of the digest; the chart image is referred to as ``chart_src``
    (a file name beside the archived page, or "cid:..." in an e-mail)."""
    env = templates()
    html = env.get_template("digest.html.j2").render(d=digest, chart_src=chart_src)
    text_env = templates()
    text_env.autoescape = False
    text = text_env.get_template("digest.txt.j2").render(d=digest)
    return html, text


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write via a temporary file and rename, so readers never see half a file; a
    failed write (disk full) leaves neither a partial file nor the temporary one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


CHART_CID = "grafik-harian"


def write_digest(config: Config, store: Store, model: Any, day: date) -> tuple[Digest, list[Path]]:
    """Build, render and archive the digest of one local day: HTML, text and chart."""
    digest = build_digest(config, store, model, day)
    # Callers hold the run lock: a temporary file here is a killed run's leftover.
    for leftover in config.reports_dir.glob(".digest-*.tmp-*"):
        leftover.unlink(missing_ok=True)
    stem = f"digest-{day.isoformat()}"
    chart_path = config.reports_dir / f"{stem}-grafik.png"
    html, text = render_digest(digest, chart_path.name)
    write_atomic(chart_path, digest.chart_png)
    write_atomic(config.reports_dir / f"{stem}.html", html)
    write_atomic(config.reports_dir / f"{stem}.txt", text)
    return digest, [
        config.reports_dir / f"{stem}.html",
        config.reports_dir / f"{stem}.txt",
        chart_path,
    ]


def email_parts(digest: Digest) -> tuple[str, str, dict[str, bytes]]:
    """(HTML with the chart by Content-ID, text, inline images) for sending."""
    html, text = render_digest(digest, f"cid:{CHART_CID}")
    return html, text, {CHART_CID: digest.chart_png}
