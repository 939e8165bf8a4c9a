"""The daily digest: what it warns about, its chart, and each agency's own part."""

from __future__ import annotations

import pytest


def test_missing_data_never_reads_as_no_complaints(tmp_path, config):
    """No source enabled, or a source that fails: the digest opens with a warning in
    Bahasa Indonesia instead of a quiet "0 pengaduan"."""
    import json

    from monitor.config import SourceConfig
    from monitor.pipeline import run

    config.sources = []
    report = run(config)
    html = open(report.digest_paths[0], encoding="utf-8").read()
    text = open(report.digest_paths[1], encoding="utf-8").read()
    assert "Data tidak lengkap: tidak ada sumber data yang aktif" in html
    assert html.index("Data tidak lengkap") < html.index("pengaduan hari itu")
    assert text.startswith("RINGKASAN") and "PERHATIAN: Data tidak lengkap" in text

    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps({"id": "g1", "days_ago": 1, "time": "08:00", "text": "ktp belum jadi"}) + "\n",
        encoding="utf-8",
    )
    config.sources = [
        SourceConfig(name="baik", type="replay", path=str(good), region="kota-kupang"),
        SourceConfig(
            name="rusak", type="replay", path=str(tmp_path / "tidak-ada.jsonl"), region=""
        ),
    ]
    report = run(config)
    html = open(report.digest_paths[0], encoding="utf-8").read()
    assert "Data tidak lengkap: 1 dari 2 sumber gagal" in html and "(rusak)" in html

    config.sources = config.sources[:1]
    report = run(config)
    html = open(report.digest_paths[0], encoding="utf-8").read()
    assert "Data tidak lengkap" not in html  # every enabled source succeeded


def test_an_empty_chart_has_an_axis_from_zero_to_one():
    from monitor.report.charts import y_top

    assert y_top([0, 0, 0]) == pytest.approx(1.05)
    assert y_top([]) == pytest.approx(1.05)
    assert y_top([3, 7]) == pytest.approx(7.35)


def test_an_agencys_part_of_the_digest_is_chosen_by_id_not_by_name():
    """Two offices people call by one name ("Dukcapil") each get only their own spike
    and examples."""
    from datetime import date

    from monitor.report.digest import AgencyRow, Digest, SpikeView, scoped

    def example(agency_id):
        return {"agency_id": agency_id, "text": f"contoh {agency_id}"}

    def spike(agency_id):
        return SpikeView(agency_id, "Dukcapil", 9, 2.0, "p < 0,001", [], [], [example(agency_id)])

    rows = [
        AgencyRow("dukcapil-kota", "Dukcapil", 9, 9, 7, 2.0),
        AgencyRow("dukcapil-kab", "Dukcapil", 8, 8, 6, 1.0),
    ]
    digest = Digest(
        day=date(2026, 11, 21),
        day_text="",
        window_text="",
        baseline_text="",
        posts=17,
        complaints=17,
        baseline_avg=3.0,
        agencies_with_complaints=2,
        unresolved_complaints=0,
        rows=rows,
        spikes=[spike("dukcapil-kota"), spike("dukcapil-kab")],
        examples=[],
        chart_title="",
        chart_png=b"",
        health=[],
        model_text="",
        generated_text="",
    )
    part = scoped(digest, "dukcapil-kab")
    assert [s.agency_id for s in part.spikes] == ["dukcapil-kab"]
    assert part.examples == [example("dukcapil-kab")]
    assert part.rows == rows[1:] and part.complaints == 8 and part.scope_name == "Dukcapil"


def test_examples_are_one_per_case_and_at_most_n_per_agency_in_the_given_order():
    """Display policy lives with the digest: the store gives every candidate, the digest
    picks the examples (a complaint copied fifty times is one example)."""
    from monitor.report.digest import one_per_case

    rows = [
        {"id": 1, "case_id": 1, "agency_id": "a"},
        {"id": 2, "case_id": 1, "agency_id": "a"},  # a copy of post 1: same case
        {"id": 3, "case_id": 3, "agency_id": "a"},
        {"id": 4, "case_id": 4, "agency_id": "a"},  # over the limit for "a"
        {"id": 5, "case_id": 1, "agency_id": "b"},  # case 1 already shown
        {"id": 6, "case_id": 6, "agency_id": "b"},
    ]
    assert [row["id"] for row in one_per_case(rows, per_agency=2)] == [1, 3, 6]
