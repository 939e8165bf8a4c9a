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


def daily_rows(path: Path):
    with Store.open(path) as store:
        return store.db.execute("SELECT * FROM daily_counts ORDER BY 1, 2, 3, 4").fetchall()


def test_incremental_counts_equal_a_full_recompute(tmp_path, config):
    config.sources = [replay_source(tmp_path, [post(i, i % 5 + 1, COMPLAINT) for i in range(10)])]
    run(config)
    replay_source(tmp_path, [post(i, i % 7 + 1, COMPLAINT) for i in range(10, 25)])
    run(config)
    incremental = daily_rows(config.database)
    with Store.open(config.database) as store:
        store.db.execute("DELETE FROM daily_counts")
        days = {date.fromisoformat(r[0]) for r in incremental}
        aggregate_days(store, days, config.timezone, load_model().version)
    assert daily_rows(config.database) == incremental
    total = sum(r[5] for r in incremental if r[3] == "" and r[1] == "disdukcapil-kota-kupang")
    assert total == 25


def test_reposts_do_not_count_as_new_complaints(tmp_path, config):
    config.sources = [
        replay_source(
            tmp_path,
            [post(1, 1, COMPLAINT, author="a"), post(2, 1, COMPLAINT, author="b", repost_of="p1")],
        )
    ]
    run(config)
    rows = [r for r in daily_rows(config.database) if r[3] == ""]
    assert [(r[1], r[4], r[5]) for r in rows] == [("disdukcapil-kota-kupang", 1, 1)]


def test_hostile_post_text_is_shown_as_text(tmp_path, config):
    hostile = (
        "&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(2)> "
        "ktp belum jadi 3 bulan di dukcapil kota kupang, tolong"
    )
    config.sources = [replay_source(tmp_path, [post(1, 1, hostile)])]
    report = run(config)
    html = Path(report.digest_paths[0]).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
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
