"""The command layer: exit codes, messages, and config handling as a user meets them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from monitor.cli import EXIT_LOCKED, EXIT_SOURCES_FAILED, EXIT_USAGE, main
from monitor.config import example_config_text
from monitor.pipeline import run_lock
from monitor.store import Store


def replay_config(tmp_path: Path, lines: list[dict], extra: str = "") -> Path:
    """The shipped example config plus one replay source reading ``lines``."""
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    path = tmp_path / "monitor.toml"
    path.write_text(
        example_config_text()
        + f'\n[[sources]]\nname = "replay-test"\ntype = "replay"\npath = "{posts.name}"\n'
        + extra,
        encoding="utf-8",
    )
    return path


X_SOURCE = """
[[sources]]
name = "x-test"
type = "x"
credentials = { bearer_token = "X_BEARER_TOKEN" }
"""

POSTS = [
    {
        "id": "p1",
        "days_ago": 1,
        "time": "08:00",
        "text": "beta su antre dari pagi di capil kota kupang, sonde dilayani",
    },
    {
        "id": "p2",
        "days_ago": 1,
        "time": "09:00",
        "text": "obat habis lagi di rsud sk lerik, antre apotek 3 jam",
    },
    {
        "id": "p3",
        "days_ago": 2,
        "time": "10:00",
        "text": "Disdukcapil Kota Kupang buka layanan Sabtu",
    },
]


def test_missing_config_explains_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    assert main(["run"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "monitor init" in err and "monitor demo" in err


def test_config_errors_exit_2_naming_the_key(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[[sources]]\nname = "s"\ntype = "twiter"\n', encoding="utf-8")
    assert main(["--config", str(path), "run"]) == EXIT_USAGE
    assert "sources[0].type: 'twiter' is not one of x, mastodon" in capsys.readouterr().err
    assert not (tmp_path / "monitor.db").exists()  # nothing half-written


def test_init_writes_the_example_and_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "monitor.toml"
    assert main(["init", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == example_config_text()
    assert main(["init", str(target)]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err


def test_config_option_works_before_and_after_the_command(tmp_path):
    path = replay_config(tmp_path, POSTS)
    assert main(["--config", str(path), "collect", "-q"]) == 0
    assert main(["collect", "--config", str(path), "-q"]) == 0
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.count_posts() == 3


def test_db_option_overrides_the_config(tmp_path):
    path = replay_config(tmp_path, POSTS)
    other = tmp_path / "elsewhere" / "other.db"
    other.parent.mkdir()  # monitor never creates a missing folder on its own
    assert main(["--config", str(path), "--db", str(other), "collect", "-q"]) == 0
    assert other.exists() and not (tmp_path / "monitor.db").exists()


def test_run_with_a_failing_source_stores_the_others_and_exits_1(tmp_path, capsys):
    failing = X_SOURCE
    path = replay_config(tmp_path, POSTS, extra=failing)
    assert main(["--config", str(path), "run", "-q"]) == EXIT_SOURCES_FAILED
    out = capsys.readouterr().out
    assert "SOURCE FAILED: x-test" in out
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.count_posts() == 3
        replay, x = store.source_health(since="")  # one run: its figures, per source
        assert (replay.source, replay.new_in_window, replay.last_error) == ("replay-test", 3, "")
        assert x.source == "x-test" and x.last_error  # failed, with a reason
        assert store.db.execute("SELECT status FROM runs").fetchone()[0] == "partial"


def test_second_run_while_one_holds_the_lock_exits_3(tmp_path, capsys):
    path = replay_config(tmp_path, POSTS)
    with run_lock(tmp_path / "monitor.db"):
        assert main(["--config", str(path), "run", "-q"]) == EXIT_LOCKED
    assert "another monitor run" in capsys.readouterr().err
    assert not (tmp_path / "monitor.db").exists()
    assert main(["--config", str(path), "run", "-q"]) == 0


def test_run_twice_adds_nothing_the_second_time(tmp_path):
    path = replay_config(tmp_path, POSTS)
    assert main(["--config", str(path), "run", "-q"]) == 0
    with Store.open(tmp_path / "monitor.db") as store:
        counts = store.db.execute("SELECT * FROM daily_counts ORDER BY 1, 2, 3, 4").fetchall()
    assert main(["--config", str(path), "run", "-q"]) == 0
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.count_posts() == 3
        assert store.db.execute("SELECT count(*) FROM analysis").fetchone()[0] == 3
        assert (
            store.db.execute("SELECT * FROM daily_counts ORDER BY 1, 2, 3, 4").fetchall() == counts
        )


def test_broken_replay_lines_are_rejected_with_line_numbers(tmp_path):
    path = replay_config(tmp_path, POSTS)
    posts = tmp_path / "posts.jsonl"
    posts.write_bytes(posts.read_bytes() + b'{"id": "p4"}\n\xff\xfe broken\n')
    assert main(["--config", str(path), "collect", "-q"]) == 0
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.count_posts() == 3
        fetched, rejected, reasons = store.db.execute(
            "SELECT fetched, rejected, rejections FROM run_sources"
        ).fetchone()
    assert (fetched, rejected) == (5, 2)
    assert "posts.jsonl:4: post p4: missing 'text'" in reasons
    assert "posts.jsonl:5:" in reasons


def test_digest_for_a_given_date(tmp_path, capsys):
    path = replay_config(tmp_path, POSTS)
    assert main(["--config", str(path), "run", "-q"]) == 0
    assert main(["--config", str(path), "digest", "--date", "2026-01-15"]) == 0
    assert (tmp_path / "reports" / "digest-2026-01-15.html").exists()
    assert main(["--config", str(path), "digest", "--date", "15-01-2026"]) == EXIT_USAGE


def test_doctor_reports_missing_credentials(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    failing = X_SOURCE
    path = replay_config(tmp_path, POSTS, extra=failing)
    assert main(["--config", str(path), "doctor"]) == EXIT_SOURCES_FAILED
    assert "credentials not set: X_BEARER_TOKEN" in capsys.readouterr().out
    monkeypatch.setenv("X_BEARER_TOKEN", "t")
    path.write_text(path.read_text().replace(failing, ""))
    assert main(["--config", str(path), "doctor"]) == 0


def test_python_dash_m_monitor_works():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("monitor ")


def test_database_from_a_newer_version_exits_2_untouched(tmp_path, capsys):
    import sqlite3

    path = replay_config(tmp_path, POSTS)
    db = tmp_path / "monitor.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    assert main(["--config", str(path), "run"]) == EXIT_USAGE
    assert "newer than this program" in capsys.readouterr().err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


FACEBOOK_IMPORT = """
[[sources]]
name = "fb-import"
type = "file_import"
enabled = false
format = "csv"
delimiter = ";"
time_format = "%d/%m/%Y %H:%M"
platform = "facebook"
[sources.columns]
id = "ID Komentar"
text = "Isi Komentar"
created_at = "Waktu"
author = "Nama Akun"
url = "Tautan"
reply_to = "Balasan Untuk"
"""


def test_import_command_reports_rows_and_adds_nothing_the_second_time(tmp_path, capsys):
    import shutil

    fixture = Path(__file__).parent / "fixtures" / "file_import" / "facebook_kupang.csv"
    export = tmp_path / "export.csv"
    shutil.copy(fixture, export)
    path = replay_config(tmp_path, POSTS, extra=FACEBOOK_IMPORT)
    assert main(["--config", str(path), "import", str(export), "--source", "fb-import", "-q"]) == 0
    out = capsys.readouterr().out
    new = int(re.search(r"(\d+) new", out).group(1))
    assert new > 0 and "rejected: export.csv:" in out
    with Store.open(tmp_path / "monitor.db") as store:
        assert (
            store.db.execute("SELECT count(*) FROM posts WHERE source = 'fb-import'").fetchone()[0]
            == new
        )
    assert main(["--config", str(path), "import", str(export), "--source", "fb-import"]) == 0
    assert "already imported" in capsys.readouterr().out
    assert main(["--config", str(path), "import", str(export), "--source", "replay-test"]) == 2


def test_trend_and_site_commands(tmp_path, capsys):
    path = replay_config(tmp_path, POSTS)
    assert main(["--config", str(path), "run", "-q"]) == 0
    out = tmp_path / "lerik.csv"
    args = ["--config", str(path), "trend", "--agency", "rsud-sk-lerik", "--format", "csv"]
    assert main([*args, "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("week_start,week_end,complaints")
    assert main(["--config", str(path), "trend", "--agency", "nope"]) == EXIT_USAGE
    assert "unknown agency id 'nope'" in capsys.readouterr().err
    assert main(["--config", str(path), "site", "--out", str(tmp_path / "site")]) == 0
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "agency" / "rsud-sk-lerik.csv").exists()


def test_backup_purge_and_json_logs_from_the_command_line(tmp_path, capsys):
    import json as _json

    path = replay_config(tmp_path, POSTS)
    assert main(["--config", str(path), "run", "-q"]) == 0
    assert main(["--config", str(path), "backup", str(tmp_path / "copy.db")]) == 0
    with Store.open(tmp_path / "copy.db") as copy:
        assert copy.count_posts() == 3
    assert main(["--config", str(path), "backup", str(tmp_path / "copy.db")]) == EXIT_USAGE
    assert main(["--config", str(path), "purge"]) == 0
    assert "raw" in capsys.readouterr().out.lower()
    assert main(["--config", str(path), "--log-format", "json", "-v", "run"]) == 0
    # Every stderr line is a JSON object, the progress lines included.
    lines = capsys.readouterr().err.splitlines()
    entries = [_json.loads(line) for line in lines]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["message"].startswith("source ") for e in entries)  # a source's progress
    # ... and so is a refusal, at level ERROR.
    assert main(["--config", str(tmp_path / "absent.toml"), "--log-format", "json", "run"]) == 2
    [refusal] = [_json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert refusal["level"] == "ERROR" and "absent.toml" in refusal["message"]


def test_a_secret_in_the_environment_never_reaches_the_logs(tmp_path, monkeypatch, capsys):
    secret = "s3cr3t-token-value-123456"
    monkeypatch.setenv("X_BEARER_TOKEN", secret)
    path = replay_config(tmp_path, POSTS, extra=X_SOURCE)
    main(["--config", str(path), "-vv", "run"])
    captured = capsys.readouterr()
    assert secret not in captured.err and secret not in captured.out
    # nor the run records, nor anything else in the database
    with Store.open(tmp_path / "monitor.db") as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert secret.encode() not in (tmp_path / "monitor.db").read_bytes()


def test_a_digest_of_a_future_day_is_refused(tmp_path, capsys):
    """An empty digest of a day that has not begun would read as "no complaints"."""
    from datetime import timedelta

    from monitor.clock import local_date, utc_now

    config = tmp_path / "monitor.toml"
    assert main(["init", str(config)]) == 0
    tomorrow = local_date(utc_now(), "Asia/Makassar") + timedelta(days=2)
    for command in (["digest"], ["run"]):
        code = main([*command, "--config", str(config), "--date", tomorrow.isoformat()])
        assert code == 2
        assert "in the future" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
    assert not (tmp_path / "monitor.db").exists()  # refused before anything ran


@pytest.mark.parametrize("where", ["under-a-file", "missing-folder", "proc"])
def test_a_bad_database_path_is_one_clear_line_and_exit_2(tmp_path, capsys, where):
    """Cron reads exit 1 as "sources failed": a wrong --db is a usage error, said in one
    line, and no folder is created on the way."""
    config = tmp_path / "monitor.toml"
    assert main(["init", str(config)]) == 0
    capsys.readouterr()
    bad = {
        "under-a-file": config / "sub" / "x.db",
        "missing-folder": tmp_path / "tidak" / "ada" / "x.db",
        "proc": Path("/proc/monitor-test-x.db"),
    }[where]
    for command in (["run"], ["collect"]):
        code = main(["--config", str(config), "--db", str(bad), *command, "-q"])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.count("\n") == 1 and "Traceback" not in err and str(bad.parent) in err
    if where != "proc":  # doctor names a missing folder before the first run needs it
        assert main(["--config", str(config), "--db", str(bad), "doctor"]) == 1
        out = capsys.readouterr().out
        assert "database" in out and "FAIL" in out and "does not exist" in out
    assert not (tmp_path / "tidak").exists()


def test_a_run_with_no_source_enabled_exits_1_and_says_why(tmp_path, capsys):
    config = tmp_path / "monitor.toml"
    assert main(["init", str(config)]) == 0  # the example enables no source
    capsys.readouterr()
    assert main(["--config", str(config), "run", "-q"]) == 1
    assert "no source is enabled" in capsys.readouterr().err
