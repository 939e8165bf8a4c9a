"""The run as the cron job does it: incremental counts, escaping, records."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from monitor.aggregate import aggregate_days
from monitor.classify import load_model
from monitor.config import SourceConfig
from monitor.pipeline import run
from monitor.store import Store


def replay_source(tmp_path: Path, lines: list[dict], name: str = "r") -> SourceConfig:
    path = tmp_path / f"{name}.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")
    return SourceConfig(name=name, type="replay", path=str(path), region="kota-kupang")


def post(i: int, days_ago: int, text: str, **extra) -> dict:
    return {"id": f"p{i}", "days_ago": days_ago, "time": "09:00", "text": text, **extra}


COMPLAINT = "sudah 3 bulan ktp belum jadi di dukcapil kota kupang, tolong"
WHAT = ["ktp", "kartu keluarga", "akta kelahiran", "kia", "surat pindah"]
HOW = [
    "belum jadi",
    "ditolak tanpa alasan",
    "disuruh kembali lagi",
    "blanko habis",
    "sistem offline",
]


def distinct_complaint(i: int) -> str:
    """Different complaints about the same agency (not copies of one another)."""
    return (
        f"urus {WHAT[i % 5]} di dukcapil kota kupang {HOW[i // 5 % 5]}, "
        f"sudah {i + 2} kali datang sejak {['senin', 'selasa', 'rabu', 'kamis', 'jumat'][i % 5]}"
    )


def daily_rows(path: Path):
    with Store.open(path) as store:
        return store.db.execute("SELECT * FROM daily_counts ORDER BY 1, 2, 3, 4").fetchall()


def test_incremental_counts_equal_a_full_recompute(tmp_path, config):
    config.sources = [
        replay_source(tmp_path, [post(i, i % 5 + 1, distinct_complaint(i)) for i in range(10)])
    ]
    run(config)
    replay_source(tmp_path, [post(i, i % 7 + 1, distinct_complaint(i)) for i in range(10, 25)])
    run(config)
    incremental = daily_rows(config.database)
    with Store.open(config.database) as store:
        store.db.execute("DELETE FROM daily_counts")
        days = {date.fromisoformat(r[0]) for r in incremental}
        aggregate_days(store, days, config.timezone, load_model().version)
    assert daily_rows(config.database) == incremental
    total = sum(r[5] for r in incremental if r[3] == "" and r[1] == "disdukcapil-kota-kupang")
    with Store.open(config.database) as store:
        # the same figure straight from posts and analyses: distinct cases per day
        expected = store.db.execute(
            """SELECT count(*) FROM (
                   SELECT DISTINCT date(p.created_at, '+8 hours'), coalesce(p.case_id, p.id)
                   FROM posts p JOIN analysis a ON a.post_id = p.id
                   WHERE a.is_complaint = 1 AND a.agency_id = 'disdukcapil-kota-kupang')"""
        ).fetchone()[0]
    assert total == expected and 15 <= total <= 25


def test_reposts_do_not_count_as_new_complaints(tmp_path, config):
    config.sources = [
        replay_source(
            tmp_path,
            [post(1, 1, COMPLAINT, author="a"), post(2, 1, COMPLAINT, author="b", repost_of="p1")],
        )
    ]
    run(config)
    with Store.open(config.database) as store:
        totals = store.totals_by_agency("0000-01-01", "9999-12-31")
    # every daily_counts row counts at least one post, so one post in all is one row
    assert [(r["agency_id"], r["posts"], r["complaints"]) for r in totals] == [
        ("disdukcapil-kota-kupang", 1, 1)
    ]


def test_hostile_post_text_is_shown_as_text(tmp_path, config):
    hostile = (
        "Sudah 3 bulan KTP belum jadi di dukcapil kota kupang, petugas tidak pernah respon, "
        "tolong! &lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(2)>"
    )
    config.sources = [replay_source(tmp_path, [post(1, 1, hostile)])]
    report = run(config)
    html = Path(report.digest_paths[0]).read_text(encoding="utf-8")
    assert "Sudah 3 bulan KTP belum jadi" in html  # the post is shown ...
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # ... and its markup as text
    assert "<script" not in html and "onerror" not in html


def test_run_record_says_what_happened(tmp_path, config):
    config.sources = [replay_source(tmp_path, [post(1, 1, COMPLAINT), post(2, 2, "halo")])]
    report = run(config)
    with Store.open(config.database) as store:
        runs = store.db.execute(
            "SELECT command, status, processed, finished_at FROM runs"
        ).fetchall()
        sources = store.db.execute(
            "SELECT source, fetched, new, duplicates, error FROM run_sources"
        ).fetchall()
    assert runs[0][:3] == ("run", "ok", 2) and runs[0][3]
    assert sources == [("r", 2, 2, 0, "")]
    assert report.processed == 2


def test_process_stores_normalised_text_redacted_display_and_agency(tmp_path, config):
    text = "Beta su antre di capil kota kupang dari pagi, sonde dilayani. WA 0812-3456-7890"
    config.sources = [replay_source(tmp_path, [post(1, 1, text)])]
    run(config)
    with Store.open(config.database) as store:
        row = store.db.execute(
            "SELECT a.text_normalized, p.text_display, a.agency_id, a.agency_evidence "
            "FROM analysis a JOIN posts p ON p.id = a.post_id"
        ).fetchone()
    normalized, display, agency, evidence = row
    assert normalized.startswith("saya sudah antre di dukcapil kota kupang")
    assert "[TELEPON]" in display and "0812" not in display
    assert agency == "disdukcapil-kota-kupang" and "dukcapil kota kupang" in evidence


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path, config):
    import signal
    import subprocess
    import sys

    config.sources = [replay_source(tmp_path, [post(1, 1, COMPLAINT)])]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from monitor.pipeline import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
            str(config.database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert Path(f"{config.database}.lock").exists()  # the file stays, the lock does not
    report = run(config)
    assert report.processed == 1


def test_only_web_addresses_become_links(tmp_path, config):
    complaint = "Sudah 3 bulan KTP belum jadi di dukcapil kota kupang, petugas tidak pernah respon"
    config.sources = [
        replay_source(
            tmp_path,
            [
                post(1, 1, complaint, url="javascript:alert(document.cookie)"),
                post(2, 1, complaint + " lagi, tolong dibantu", url="https://example.org/p/2"),
            ],
        )
    ]
    report = run(config)
    html = Path(report.digest_paths[0]).read_text(encoding="utf-8")
    assert "javascript:" not in html
    assert 'href="https://example.org/p/2"' in html


def test_a_post_from_an_agencys_own_account_is_not_a_complaint_against_it(tmp_path, config):
    """The handle is read at intake (before pseudonymising): the agency's apology, full of
    complaint words, is tied to it but never counted as a complaint; a citizen's
    complaint about the same outage still is."""
    pdam = next(a for a in config.agencies if a.id == "pdam-kota-kupang")
    pdam.handles = ["@perumdaam_contoh"]
    apology = (
        "Mohon maaf atas gangguan air mati di Oebobo sejak kemarin, pipa bocor sedang "
        "diperbaiki, air belum mengalir sampai sore. Terima kasih atas kesabarannya -Admin"
    )
    citizen = "air pdam mati dari kemarin di oebobo, sudah lapor belum ada perbaikan, tolong"
    config.sources = [
        replay_source(
            tmp_path,
            [
                post(1, 1, apology, author="@PerumdaAM_Contoh"),
                post(2, 1, citizen, author="warga_oebobo"),
            ],
        )
    ]
    run(config)
    with Store.open(config.database) as store:
        rows = dict(
            store.db.execute(
                """SELECT p.source_id,
                          a.is_complaint || ' ' || a.agency_id || ' ' || p.author_agency
                   FROM posts p JOIN analysis a ON a.post_id = p.id"""
            ).fetchall()
        )
    assert rows["p1"] == "0 pdam-kota-kupang pdam-kota-kupang"
    assert rows["p2"] == "1 pdam-kota-kupang "
