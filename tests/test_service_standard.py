"""The service-standard components: the mapping from topics, the counting, and the
table on the agency page and in the digest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from monitor.labels import TOPICS
from monitor.service_standard import (
    COMPONENTS,
    TOPIC_COMPONENT,
    UNMEASURED,
    component_rows,
    count_components,
    topics_of,
)

AGENCY = "disdukcapil-kota-kupang"
TEXTS = [
    "sudah 3 bulan ktp belum jadi di dukcapil kota kupang, antre dari subuh tidak dilayani",
    "di dukcapil kota kupang diminta uang rokok 50rb biar cepat, tarif tidak sesuai",
    "petugas dukcapil kota kupang judes dan main hp, orang dalam didahulukan",
    "server dukcapil kota kupang down terus, blanko ktp kosong, berkas tidak diproses",
    "urus kk di dukcapil kota kupang dioper ke sana ke mari, syarat berubah-ubah",
]


def test_every_topic_maps_to_exactly_one_existing_component():
    assert set(TOPIC_COMPONENT) == set(TOPICS)
    assert set(TOPIC_COMPONENT.values()) <= set(COMPONENTS)
    assert len(COMPONENTS) == 8
    assert sum(len(topics_of(key)) for key in COMPONENTS) == len(TOPICS)
    assert UNMEASURED == ("persyaratan",)  # no topic tells requirements apart (documented)


def test_a_complaint_counts_once_per_component_and_a_case_once():
    counts = count_components(
        [
            (1, ["pungli", "biaya"]),  # both map to biaya: one complaint
            (1, ["pungli"]),  # a copy of complaint 1: the same case
            (2, ["biaya", "antrean", "penundaan"]),
            (3, []),  # a complaint without a recognised topic touches no component
            (4, ["not-a-topic", "sikap_petugas", "diskriminasi"]),
        ]
    )
    assert set(counts) == set(COMPONENTS)
    assert counts["biaya"] == 2 and counts["waktu"] == 1
    assert counts["perilaku_pelaksana"] == 1 and counts["prosedur"] == 0
    rows = dict((c.key, n) for c, n in component_rows(counts))
    assert rows["persyaratan"] is None and rows["biaya"] == 2


def test_grouping_lies_between_the_largest_topic_and_the_sum_of_topics():
    complaints = [
        (i, topics)
        for i, topics in enumerate(
            [["pungli", "biaya"], ["pungli"], ["antrean"], ["antrean", "penundaan"], ["biaya"]]
        )
    ]
    per_topic = {t: sum(t in topics for _, topics in complaints) for t in TOPICS}
    counts = count_components(complaints)
    for key in COMPONENTS:
        mapped = [per_topic[t] for t in topics_of(key)] or [0]
        assert max(mapped) <= counts[key] <= sum(mapped)
    assert counts["biaya"] == 3 and sum(per_topic[t] for t in topics_of("biaya")) == 4


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The pipeline over five complaints of yesterday: config, model version, report."""
    from monitor.config import example_config_text, load_config
    from monitor.pipeline import run
    from tests.test_trend import replay

    folder = tmp_path_factory.mktemp("standar")
    path = folder / "monitor.toml"
    path.write_text(example_config_text(), encoding="utf-8")
    config = load_config(path)
    lines = [
        {"id": f"s{i}", "days_ago": 1, "time": f"0{i}:00", "text": text}
        for i, text in enumerate(TEXTS, start=1)
    ]
    config.sources = [replay(folder, lines)]
    report = run(config)
    return config, report


def test_the_agency_page_has_the_components_table(demo):
    from monitor.classify import load_model
    from monitor.report.trend import build_trend, render_trend
    from monitor.store import Store

    config, _ = demo
    with Store.open(config.database) as store:
        model = load_model(store=store)
        trend = build_trend(config, store, model.version, AGENCY)
    html = render_trend(trend, "html")
    assert "Menurut komponen standar pelayanan" in html and 'id="komponen-standar"' in html
    for component in COMPONENTS.values():
        assert f'data-component="{component.key}"' in html and component.name in html
    per_topic = {t: sum(row.topics.get(t, 0) for row in trend.rows) for t in TOPICS}
    assert sum(trend.components.values()) > 0
    for key in COMPONENTS:
        mapped = [per_topic[t] for t in topics_of(key)] or [0]
        assert max(mapped) <= trend.components[key] <= sum(mapped)
    data = json.loads(render_trend(trend, "json"))["service_standard_components"]
    assert data["persyaratan"] is None
    assert {k: v for k, v in data.items() if v is not None} == {
        k: v for k, v in trend.components.items() if k != "persyaratan"
    }


def test_the_digest_has_the_components_of_the_day(demo):
    from monitor.classify import load_model
    from monitor.report.digest import build_digest, scoped
    from monitor.store import Store

    config, report = demo
    html = open(report.digest_paths[0], encoding="utf-8").read()
    text = open(report.digest_paths[1], encoding="utf-8").read()
    assert "Menurut komponen standar pelayanan" in html and 'id="komponen-standar"' in html
    assert "MENURUT KOMPONEN STANDAR PELAYANAN" in text
    day = date.fromisoformat(Path(report.digest_paths[0]).stem.removeprefix("digest-"))
    with Store.open(config.database) as store:
        digest = build_digest(config, store, load_model(store=store), day)
        per_topic: dict[str, int] = {}
        for r in store.topics_by_agency(str(day), str(day)):
            per_topic[r["topic"]] = per_topic.get(r["topic"], 0) + r["complaints"]
    shown = {c.key: n for c, n in digest.components}
    assert shown and all(n > 0 for n in shown.values())
    for component, n in digest.components:
        assert f"- {component.name}: {n}" in text
        mapped = [per_topic.get(t, 0) for t in topics_of(component.key)]
        assert max(mapped) <= n <= sum(mapped)
    assert AGENCY in {row.agency_id for row in digest.rows}
    part = scoped(digest, AGENCY)
    own = next(row for row in digest.rows if row.agency_id == AGENCY).components
    assert part.components == [(COMPONENTS[k], n) for k, n in own.items() if n]
