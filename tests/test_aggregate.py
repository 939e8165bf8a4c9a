"""Cases (reposts and copies collapse), daily counts of cases, and spike detection."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from monitor.aggregate import (
    SPIKE_MIN_COUNT,
    assign_cases,
    detect_spikes,
    is_spike,
    weekday_factors,
)
from monitor.records import StoredPost
from monitor.store import Store
from monitor.text.redact import redact
from tests.conftest import make_post

BASE = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
ORIGINAL = (
    "Sudah tiga bulan KTP saya belum jadi di Dukcapil Kota Kupang, "
    "petugas bilang blanko habis terus"
)


def stored(store: Store) -> list[StoredPost]:
    return [post for batch in store.posts_to_process("none") for post in batch]


def add(store, posts):
    store.add_posts(
        posts, display_text=redact, author_key=lambda p: p.author_handle, keep_raw=False
    )


def cases_of(store):
    return dict(store.db.execute("SELECT source_id, coalesce(case_id, id) FROM posts").fetchall())


def test_reposts_copies_and_near_copies_join_one_case(store):
    add(
        store,
        [
            make_post("1", ORIGINAL, author_handle="a", created_at=BASE),
            make_post(
                "2",
                "RT " + ORIGINAL,
                author_handle="b",
                created_at=BASE + timedelta(minutes=5),
                is_repost=True,
                parent_source_id="1",
            ),
            make_post(
                "3",
                ORIGINAL + " #KupangKotaKasih @dukcapil",
                author_handle="c",
                created_at=BASE + timedelta(hours=1),
            ),
            make_post(
                "4",
                ORIGINAL.replace("tiga", "3").replace("terus", "terus 😡"),
                author_handle="d",
                created_at=BASE + timedelta(hours=2),
            ),
            make_post(
                "5",
                "Air PDAM di Oebobo mati sudah tiga hari, tolong segera diperbaiki",
                author_handle="e",
                created_at=BASE + timedelta(hours=3),
            ),
            make_post("6", ORIGINAL, author_handle="f", created_at=BASE + timedelta(days=10)),
        ],
    )
    assign_cases(store, stored(store))
    cases = cases_of(store)
    first = cases["1"]
    assert cases["2"] == cases["3"] == cases["4"] == first
    assert cases["5"] != first  # a different complaint
    assert cases["6"] != first  # the same words ten days later: a new case
    assert store.case_sizes([first]) == {first: 4}


def test_cases_are_assigned_once_and_across_batches(store):
    add(store, [make_post("1", ORIGINAL, created_at=BASE)])
    assign_cases(store, stored(store))
    add(store, [make_post("2", ORIGINAL + " tolong", created_at=BASE + timedelta(hours=1))])
    assign_cases(store, stored(store))  # post 1 already has its case; 2 joins it
    cases = cases_of(store)
    assert cases["2"] == cases["1"]


def _analysed(store, source_id: str, normalized: str, agency: str = "") -> None:
    store.db.execute(
        "INSERT INTO analysis (post_id, model_version, is_complaint, complaint_score, sector, "
        "sector_score, topics, topic_scores, agency_id, agency_confidence, agency_evidence, "
        "needs_review, processed_at, text_normalized) SELECT id, 'm', 1, 0.9, 'adminduk', 0.9, "
        "'[]', '{}', ?, 0, '', 0, '2026-11-20T00:00:00Z', ? FROM posts WHERE source_id = ?",
        [agency, normalized, source_id],
    )


def test_an_analysed_post_is_compared_by_its_stored_normalised_text(store):
    from monitor.text.normalize import normalize

    add(store, [make_post("1", ORIGINAL, created_at=BASE)])
    assign_cases(store, stored(store))
    _analysed(store, "1", normalize(ORIGINAL))
    add(store, [make_post("2", ORIGINAL + " tolong", created_at=BASE + timedelta(hours=1))])
    assign_cases(store, stored(store))
    assert cases_of(store)["2"] == cases_of(store)["1"]


def test_the_stored_normalised_text_is_what_is_compared(store):
    # Proof that the stored text is read (and the post not normalised again): when it
    # says something else, the copy no longer matches.
    add(store, [make_post("1", ORIGINAL, created_at=BASE)])
    assign_cases(store, stored(store))
    _analysed(store, "1", "air pdam mati sudah tiga hari tolong segera perbaiki")
    add(store, [make_post("2", ORIGINAL + " tolong", created_at=BASE + timedelta(hours=1))])
    assign_cases(store, stored(store))
    assert cases_of(store)["2"] != cases_of(store)["1"]


def test_short_posts_are_never_called_copies(store):
    add(
        store,
        [
            make_post("1", "ktp belum jadi", created_at=BASE),
            make_post("2", "ktp belum jadi", created_at=BASE + timedelta(hours=1)),
        ],
    )
    assign_cases(store, stored(store))
    cases = cases_of(store)
    assert cases["1"] != cases["2"]


# --- spikes ---------------------------------------------------------------------------


def put_daily(
    store: Store, series: dict[date, int], agency: str = "rsud-sk-lerik", topic: str = ""
):
    with store.db.atomic():
        for day, complaints in series.items():
            store.db.execute(
                "INSERT OR REPLACE INTO daily_counts VALUES (?, ?, 'rumah_sakit', ?, ?, ?, ?, 'm')",
                [day.isoformat(), agency, topic, complaints, complaints, complaints],
            )


DAY = date(2026, 11, 21)  # a Saturday


def history(values) -> dict[date, int]:
    return {DAY - timedelta(days=i + 1): v for i, v in enumerate(values)}


def test_a_real_jump_is_flagged(store):
    put_daily(store, {**history([1, 0, 2, 1, 0, 1, 1] * 4), DAY: 12})
    [spike] = detect_spikes(store, DAY, "Asia/Makassar")
    assert spike.agency_id == "rsud-sk-lerik" and spike.observed == 12
    assert spike.expected < 2 and spike.p_value < 0.001


def test_zero_to_one_is_not_an_alarm():
    assert is_spike(1, 0.0) == (False, is_spike(1, 0.0)[1])
    assert not is_spike(SPIKE_MIN_COUNT - 1, 0.0)[0]


def test_noise_around_a_busy_agency_is_not_flagged(store):
    from numpy.random import default_rng

    for trial in range(40):
        draws = default_rng(trial).poisson(8, size=29)  # 28 days of history and the day
        put_daily(
            store, {DAY - timedelta(days=i): int(v) for i, v in enumerate(draws)}, f"a-{trial}"
        )
    # at alpha 0.01 over 40 agencies about 0.4 flags are expected by chance
    assert len(detect_spikes(store, DAY, "Asia/Makassar")) <= 1


def test_a_busy_weekday_is_expected_not_a_spike(store):
    # Busy every Saturday (the day tested), quiet otherwise, for every agency.
    for agency in ("a", "b", "c"):
        series = {}
        for i in range(1, 29):
            day = DAY - timedelta(days=i)
            series[day] = 9 if day.weekday() == DAY.weekday() else 1
        series[DAY] = 10
        put_daily(store, series, agency=agency)
    assert detect_spikes(store, DAY, "Asia/Makassar") == []
    factors = weekday_factors(
        {DAY - timedelta(days=7): 30, DAY - timedelta(days=1): 3}, DAY - timedelta(days=28), 28
    )
    assert factors[DAY.weekday()] > 1 > factors[(DAY - timedelta(days=1)).weekday()]


def test_the_digest_puts_spikes_first_with_their_explanation(tmp_path, config):
    import json

    from monitor.config import SourceConfig
    from monitor.pipeline import run

    lines = []
    texts = [
        "Obat di apotek RSUD S.K. Lerik habis lagi, pasien disuruh beli di luar, tolong",
        "Antre apotek RSUD S.K. Lerik dari jam 6 pagi, obat kosong, ini parah sekali",
        "Stok obat diabetes di RSUD S.K. Lerik habis sudah seminggu, kami harus beli sendiri",
        "RSUD S.K. Lerik obat hipertensi habis, apotek bilang tunggu minggu depan, kecewa",
        "Ibu saya kontrol di RSUD S.K. Lerik, obat tidak ada, disuruh tebus di apotek swasta",
        "Apotek RSUD S.K. Lerik tutup loket jam 12 padahal antre panjang dan obat habis",
    ]
    for i, text in enumerate(texts):
        lines.append({"id": f"s{i}", "days_ago": 1, "time": f"0{i + 1}:00", "text": text})
    path = tmp_path / "spike.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    config.sources = [SourceConfig(name="r", type="replay", path=str(path), region="kota-kupang")]
    report = run(config)
    html = open(report.digest_paths[0], encoding="utf-8").read()
    spike_part = html.split(">Lonjakan<")[1].split("Instansi menurut")[0]
    assert "RSUD S.K. Lerik" in spike_part and "pengaduan hari itu" in spike_part
    assert "obat" in spike_part and "uji Poisson" in spike_part
    assert report.digest_paths[2].endswith("-grafik.png")
    assert 'src="digest-' in html
    # the usual figure is the weekday's, said so; the agency's own name is no news
    from monitor.clock import INDONESIAN_WEEKDAYS

    day = date.fromisoformat(report.digest_paths[0].rsplit("digest-", 1)[1][:10])
    assert f"pada hari {INDONESIAN_WEEKDAYS[day.weekday()]}" in spike_part
    terms = spike_part.split("Kata yang menonjol:")[1].split("<")[0]
    assert "obat" in terms and "lerik" not in terms and "rsud" not in terms


def test_the_spike_box_and_the_table_list_the_same_topics(tmp_path, config):
    """Ties between topics are broken the same way in both places (by topic key)."""
    import json

    from monitor.classify import load_model
    from monitor.config import SourceConfig
    from monitor.pipeline import run
    from monitor.report.digest import build_digest

    texts = [
        "RSUD S.K. Lerik obat habis, antre 4 jam di apotek, petugas judes sekali",
        "Antre di poli RSUD S.K. Lerik dari subuh, obat juga tidak ada",
        "RSUD S.K. Lerik: obat kosong lagi, disuruh beli di luar, biaya mahal",
        "Petugas RSUD S.K. Lerik kasar, antrean panjang, dokter tidak datang",
        "Sudah 5 jam antre di RSUD S.K. Lerik, stok obat habis, tolong",
        "RSUD S.K. Lerik tagih biaya padahal pakai BPJS, obat tidak ada",
    ]
    lines = [
        {"id": f"t{i}", "days_ago": 1, "time": f"0{i + 1}:00", "text": t}
        for i, t in enumerate(texts)
    ]
    path = tmp_path / "topics.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    config.sources = [SourceConfig(name="r", type="replay", path=str(path), region="kota-kupang")]
    report = run(config)
    day = date.fromisoformat(report.digest_paths[0].rsplit("digest-", 1)[1][:10])
    with Store.open(config.database) as store:
        digest = build_digest(config, store, load_model(), day)
    [spike] = digest.spikes
    [row] = [r for r in digest.rows if r.name == spike.name]
    assert spike.topics == row.topics and len(row.topics) == 3


def test_top_topics_breaks_ties_by_key():
    from monitor.aggregate import top_topics

    counts = [("sikap_petugas", 1), ("antrean", 3), ("biaya", 1), ("pungli", 0)]
    assert top_topics(counts) == [("antrean", 3), ("biaya", 1), ("sikap_petugas", 1)]
    assert top_topics(list(reversed(counts))) == top_topics(counts)


def test_distinctive_terms_are_the_days_words_not_everyday_ones(store):
    from monitor.aggregate import background_terms, distinctive_terms

    day = date(2026, 11, 20)
    everyday = "pelayanan kantor lambat sekali petugas"
    posts, texts = [], {}
    for n in range(28 * 4):  # four a day, every day of the four weeks before
        moment = datetime(2026, 10, 22, 17, tzinfo=UTC) + timedelta(hours=6 * n)  # 01:00 WITA
        posts.append(make_post(f"b{n}", created_at=moment))
        texts[f"b{n}"] = (everyday + (" antrean panjang" if n % 2 else " jaringan"), "")
    for n in range(6):  # the day: the agency's complaints about blanko
        posts.append(make_post(f"d{n}", created_at=datetime(2026, 11, 20, 1 + n, tzinfo=UTC)))
        texts[f"d{n}"] = (everyday + " blanko habis", "dukcapil-kota")
    add(store, posts)
    for source_id, (text, agency) in texts.items():
        _analysed(store, source_id, text, agency)
    terms = distinctive_terms(store, "dukcapil-kota", day, "Asia/Makassar")
    assert set(terms[:2]) == {"blanko", "habis"}
    assert "pelayanan" not in terms[:2]
    assert distinctive_terms(store, "rsud-sk-lerik", day, "Asia/Makassar") == []
    background = background_terms(store, day, "Asia/Makassar")
    assert background["pelayanan"] == 28 * 4 and background["blanko"] == 0


def test_the_background_sample_reads_at_most_so_many_complaints_an_hour(store):
    moment = datetime(2026, 11, 10, 3, tzinfo=UTC)
    add(store, [make_post(f"p{n}", created_at=moment + timedelta(seconds=n)) for n in range(40)])
    for n in range(40):
        _analysed(store, f"p{n}", f"kata{n}")
    hour = [("2026-11-10T03:00:00Z", "2026-11-10T04:00:00Z")]
    assert len(store.complaint_text_sample(hour, 24)) == 24
    assert len(store.complaint_text_sample(hour, 100)) == 40


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
