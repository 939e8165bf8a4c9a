"""Spikes: an agency's day against what its last four weeks lead one to expect."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from monitor.formatting import weekday_name
from monitor.report.spikes import (
    SPIKE_MIN_COUNT,
    background_terms,
    detect_spikes,
    distinctive_terms,
    is_spike,
    top_topics,
    weekday_factors,
)
from monitor.store import Store
from tests.conftest import make_post
from tests.test_aggregate import _analysed, add


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
    day = date.fromisoformat(report.digest_paths[0].rsplit("digest-", 1)[1][:10])
    assert f"pada hari {weekday_name(day)}" in spike_part
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
    [row] = [r for r in digest.rows if r.agency_id == spike.agency_id]
    assert spike.topics == row.topics and len(row.topics) == 3


def test_top_topics_breaks_ties_by_key():
    counts = [("sikap_petugas", 1), ("antrean", 3), ("biaya", 1), ("pungli", 0)]
    assert top_topics(counts) == [("antrean", 3), ("biaya", 1), ("sikap_petugas", 1)]
    assert top_topics(list(reversed(counts))) == top_topics(counts)


def test_distinctive_terms_are_the_days_words_not_everyday_ones(store):
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
