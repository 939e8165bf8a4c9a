"""The long-running mode with a real APScheduler and short intervals; no mocks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from monitor.config import SourceConfig, example_config_text
from monitor.pipeline import run_lock
from monitor.scheduler import Scheduler, trigger_for
from monitor.store import Store


def write_posts(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            line = {"id": f"s{i}", "days_ago": 1, "time": "08:00", "text": f"ktp belum jadi {i}"}
            handle.write(json.dumps(line) + "\n")


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def scalar(db: Path, sql: str):
    if not db.exists():
        return None
    with Store.open(db) as store:
        return store.db.execute(sql).fetchone()[0]


def test_jobs_come_from_the_config(config, tmp_path):
    config.sources = [
        SourceConfig(name="a", type="replay", schedule="every 5m"),
        SourceConfig(name="b", type="replay", schedule="*/30 * * * *"),
        SourceConfig(name="off", type="replay", enabled=False),
    ]
    scheduler = Scheduler(config)
    assert sorted(scheduler.job_ids) == ["collect:a", "collect:b", "digest", "process", "purge"]
    job = scheduler.scheduler.get_job("digest")
    assert "hour='7', minute='0'" in str(job.trigger)
    assert str(job.trigger.timezone) == "Asia/Makassar"
    assert trigger_for("every 5m", "Asia/Makassar").interval.total_seconds() == 300


def test_scheduler_collects_and_processes_then_stops_cleanly(config, tmp_path):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, 5)
    config.sources = [SourceConfig(name="r", type="replay", path=str(posts), schedule="every 1s")]
    config.schedule.process_every = "every 1s"
    scheduler = Scheduler(config)
    scheduler.start()
    try:
        analysed = lambda: scalar(config.database, "SELECT count(*) FROM analysis")  # noqa: E731
        assert wait_until(lambda: analysed() == 5)
    finally:
        scheduler.stop()
    assert not scheduler.scheduler.running
    commands = {
        row[0]
        for row in Store.open(config.database).db.execute("SELECT command FROM runs").fetchall()
    }
    assert {"schedule:collect:r", "schedule:process"} <= commands
    assert scheduler.failures == []


def test_a_failing_job_is_recorded_and_the_others_go_on(config, tmp_path):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, 3)
    config.sources = [SourceConfig(name="r", type="replay", path=str(posts), schedule="every 1s")]
    config.schedule.process_every = "every 1s"
    config.reports_dir = tmp_path / "reports-is-a-file"
    config.reports_dir.write_text("not a folder")
    config.digest.send_time = "07:00"
    scheduler = Scheduler(config)
    scheduler.scheduler.reschedule_job("digest", trigger=trigger_for("every 1s", config.timezone))
    scheduler.start()
    try:
        assert wait_until(
            lambda: (
                scheduler.failures and scalar(config.database, "SELECT count(*) FROM analysis") == 3
            )
        )
        time.sleep(1.2)  # the failing job comes round again; the scheduler is still alive
        assert scheduler.scheduler.running
    finally:
        scheduler.stop()
    assert all(job == "digest" for job, _ in scheduler.failures)
    with Store.open(config.database) as store:
        failed = store.db.execute(
            "SELECT command, errors FROM runs WHERE status = 'failed'"
        ).fetchall()
    assert failed and failed[0][0] == "schedule:digest" and "reports-is-a-file" in failed[0][1]


def test_jobs_skip_while_a_cron_run_holds_the_lock(config, tmp_path):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, 2)
    config.sources = [SourceConfig(name="r", type="replay", path=str(posts), schedule="every 1s")]
    scheduler = Scheduler(config)
    with run_lock(config.database):
        scheduler.start()
        time.sleep(1.5)
        assert scalar(config.database, "SELECT count(*) FROM posts") in (None, 0)
    assert wait_until(lambda: scalar(config.database, "SELECT count(*) FROM posts") == 2)
    scheduler.stop()
    assert scheduler.failures == []


def test_sigterm_finishes_and_exits_0(tmp_path):
    posts = tmp_path / "posts.jsonl"
    write_posts(posts, 4)
    config_path = tmp_path / "monitor.toml"
    config_path.write_text(
        example_config_text().replace('process_every = "every 10m"', 'process_every = "every 1s"')
        + '\n[[sources]]\nname = "r"\ntype = "replay"\npath = "posts.jsonl"\n'
        + 'schedule = "every 1s"\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config_path), "schedule"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        db = tmp_path / "monitor.db"
        assert wait_until(lambda: scalar(db, "SELECT count(*) FROM analysis") == 4, timeout=20)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "scheduler stopped" in err
