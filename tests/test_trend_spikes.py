"""Issue 13 item 9: pages compare like with like and show the digest's spike of the day.

The agency had 2 complaints two weeks ago, 1 last calendar week and a spike today. The
old pages compared the last two complete calendar weeks and led with a green "turun dari
2 ke 1" while the digest reported a spike; now the agency page and the index compare the
7 days to the report day with the 7 before, and show the spike with the digest's numbers.
"""

from __future__ import annotations

import json
import re
from datetime import date
from types import SimpleNamespace

import pytest

from monitor.report import templates
from monitor.report.digest import build_digest, render_digest
from monitor.report.site import build_site
from monitor.report.trend import build_trend
from monitor.report.trend_render import trend_html, trend_json
from tests.test_trend import AGENCY, MODEL, OTHER, PageParser, put

TODAY = date(2025, 3, 8)  # a Saturday; its calendar week (3-9 March) is still running
WEEKS = 4  # 10 February to 8 March
QUIET = "rsud-sk-lerik"


@pytest.fixture
def spiking(config, store):
    """A real SQLite file: collection ran since January; AGENCY spikes on TODAY."""
    put(store, "2025-01-20", OTHER, 1, 1)  # collection covers every week shown
    put(store, "2025-02-18", AGENCY, 2, 2, {"penundaan": 2})  # two weeks ago
    put(store, "2025-02-26", AGENCY, 1, 1, {"penundaan": 1})  # last calendar week
    put(store, "2025-03-08", AGENCY, 9, 9, {"penundaan": 7, "pungli": 2})  # the spike
    put(store, "2025-03-04", QUIET, 1, 1)
    put(store, "2025-03-08", QUIET, 1, 1)
    for day in ("2025-02-14", "2025-02-21", "2025-02-28", "2025-03-07"):
        put(store, day, OTHER, 2, 2)
    return config, store


def digest_spike(config, store, agency_id: str):
    """The digest's own spike line for the agency: (observed, 'biasanya sekitar' text,
    weekday), as the digest's template prints them."""
    model = SimpleNamespace(version=MODEL, description="model uji", card={})
    digest = build_digest(config, store, model, TODAY)
    name = store.agency_names().get(agency_id, agency_id)  # how the digest names it
    [spike] = [s for s in digest.spikes if s.name == name]
    _, text = render_digest(digest, "grafik.png")
    expected = templates().filters["avg"](spike.expected)
    line = f"{spike.observed} pengaduan hari itu; biasanya sekitar {expected} pada hari "
    assert line + digest.weekday_text in text
    return spike.observed, expected, digest.weekday_text


def visible(html: str) -> str:
    """The text a reader sees: no style sheet."""
    parser = PageParser()
    parser.feed(re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    parser.close()
    return parser.visible_text


def spike_boxes(html: str) -> list[str]:
    return re.findall(r'<section class="spike"[^>]*>(.*?)</section>', html, flags=re.S)


def test_the_agency_page_shows_the_digests_spike_and_never_says_turun(spiking):
    config, store = spiking
    observed, expected, weekday = digest_spike(config, store, AGENCY)
    assert (observed, weekday) == (9, "Sabtu")

    trend = build_trend(config, store, MODEL, AGENCY, weeks=WEEKS, today=TODAY)
    html = trend_html(trend)
    text = visible(html)
    assert "turun" not in text
    [box] = spike_boxes(html)
    assert (
        f"Lonjakan pada 8 Mar 2025: {observed} pengaduan, biasanya sekitar {expected} "
        f"pada hari {weekday}"
    ) in box
    assert "Masalah: Penundaan berlarut / proses lambat (7), Pungutan liar, calo, suap (2)." in (
        visible(box)
    )
    # The headline: the 7 days to the report day against the 7 before, running week in.
    assert (
        "9 pengaduan dalam 7 hari terakhir (2–8 Mar 2025): ▲ naik dari 1 pada "
        "7 hari sebelumnya" in text
    )
    assert 'class="big change-naik"' in html
    # The running calendar week is shown (and marked), not compared.
    assert "3–9 Mar minggu berjalan" in text
    data = json.loads(trend_json(trend))
    assert data["comparison"]["complaints"]["text"] == "naik dari 1 ke 9"
    [spike] = data["spikes"]
    assert (spike["day"], spike["observed"], spike["topic"]) == ("2025-03-08", observed, "")
    assert templates().filters["avg"](spike["expected"]) == expected
    assert data["weeks"][-1]["partial"] is True and data["weeks"][-1]["complaints"] == 9


def test_the_index_row_and_summary_show_the_spike(spiking, tmp_path):
    config, store = spiking
    observed, expected, weekday = digest_spike(config, store, AGENCY)
    out = tmp_path / "site"
    build_site(config, store, MODEL, out, weeks=WEEKS, today=TODAY)
    html = (out / "index.html").read_text(encoding="utf-8")
    spike_text = (
        f"Lonjakan pada 8 Mar 2025: {observed} pengaduan, biasanya sekitar {expected} "
        f"pada hari {weekday}"
    )
    [box] = spike_boxes(html)
    assert 'href="agency/disdukcapil-kota-kupang.html"' in box and spike_text in box

    index = PageParser("daftar-instansi")
    index.feed(re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    index.close()
    rows = {cells[0].split()[0] + " " + cells[0].split()[1]: cells for _, cells in index.rows}
    row = " ".join(next(cells for name, cells in rows.items() if name == "Disdukcapil Kota"))
    assert spike_text in row
    assert "turun" not in row
    assert "9 pengaduan, ▲ naik dari 1 pada 7 hari sebelumnya" in row
    assert "turun" not in visible(html)
    assert (
        "13 pengaduan dalam 7 hari terakhir (2–8 Mar 2025), semua instansi: ▲ naik dari 3 "
        "pada 7 hari sebelumnya" in visible(html)
    )
    # The rows of agencies that did not spike have no spike tag.
    assert sum("Lonjakan" in " ".join(cells) for _, cells in index.rows) == 1
    page = (out / "agency" / "disdukcapil-kota-kupang.html").read_text(encoding="utf-8")
    assert spike_text in page and "turun" not in visible(page)


def test_an_agency_without_a_spike_has_no_spike_box(spiking, tmp_path):
    config, store = spiking
    out = tmp_path / "site"
    build_site(config, store, MODEL, out, weeks=WEEKS, today=TODAY)
    for slug in (QUIET, OTHER, "tidak-teridentifikasi"):
        html = (out / "agency" / f"{slug}.html").read_text(encoding="utf-8")
        assert spike_boxes(html) == []
        assert "Lonjakan pada" not in html and "Lonjakan hari" not in html
        assert json.loads((out / "agency" / f"{slug}.json").read_text())["spikes"] == []
    quiet = visible((out / "agency" / f"{QUIET}.html").read_text(encoding="utf-8"))
    assert "2 pengaduan dalam 7 hari terakhir (2–8 Mar 2025): ▲ naik dari 0" in quiet


def test_yesterdays_spike_the_digest_reported_still_shows_the_morning_after(spiking):
    config, store = spiking
    observed, expected, weekday = digest_spike(config, store, AGENCY)
    trend = build_trend(config, store, MODEL, AGENCY, weeks=WEEKS, today=date(2025, 3, 9))
    [spike] = trend.spikes
    assert (spike.day, spike.observed, spike.expected_text) == (TODAY, observed, expected)
    assert f"biasanya sekitar {expected} pada hari {weekday}" in spike.text
    [box] = spike_boxes(trend_html(trend))
    assert "Lonjakan pada 8 Mar 2025" in box


def test_a_rise_is_never_green(spiking):
    config, store = spiking
    html = trend_html(build_trend(config, store, MODEL, AGENCY, weeks=WEEKS, today=TODAY))
    style = dict(re.findall(r"\.(change-naik)\{color:(#[0-9a-f]{6})\}", html))
    red, green, blue = (int(style["change-naik"][i : i + 2], 16) for i in (1, 3, 5))
    assert red > green and red > blue
    for rule in re.findall(r"\.change-turun[^{]*\{color:(#[0-9a-f]{6})\}", html):
        r, g, b = (int(rule[i : i + 2], 16) for i in (1, 3, 5))
        assert not (g > r + 16 and g > b)  # a fall is not shown green either
