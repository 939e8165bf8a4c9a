"""Retention, backup, heartbeat and secrets, on real SQLite files and a real HTTP server."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.aggregate import aggregate_days
from monitor.classify import load_model
from monitor.clock import day_bounds_utc, local_date, to_iso, utc_now
from monitor.config import SourceConfig, example_config_text
from monitor.operations import (
    BackupError,
    PurgeReport,
    backup,
    ping_heartbeat,
    purge,
    purge_job,
)
from monitor.pipeline import RunLocked, run, run_lock
from monitor.secrets import config_secret_warnings, secret_reason, secret_values
from monitor.store import Store
from tests.conftest import make_post
from tests.httpserver import Reply
from tests.test_pipeline import COMPLAINT, distinct_complaint, post, replay_source

NOW = datetime(2026, 11, 21, 8, 15, tzinfo=UTC)


def add(store: Store, posts, keep_raw: bool = True) -> None:
    store.add_posts(
        posts, display_text=str, author_key=lambda p: "k-" + p.source_id, keep_raw=keep_raw
    )


def ids_by_source_id(store: Store) -> dict[str, int]:
    return dict(store.db.execute("SELECT source_id, id FROM posts").fetchall())


def table_rows(store: Store, table: str) -> list[tuple]:
    return store.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4").fetchall()


def orphans(store: Store) -> dict[str, int]:
    return {
        table: store.db.execute(
            f"SELECT count(*) FROM {table} WHERE post_id NOT IN (SELECT id FROM posts)"
        ).fetchone()[0]
        for table in ("analysis", "post_sketch", "labels")
    }


# --- raw payloads ---------------------------------------------------------------------


def test_raw_payloads_are_cleared_only_for_posts_collected_before_the_retention(config, store):
    add(store, [make_post(f"p{i}", raw={"id": f"p{i}", "secret": "payload"}) for i in range(10)])
    ids = ids_by_source_id(store)
    old = [ids[f"p{i}"] for i in range(4)]
    with store.db.atomic():
        store.db.execute("UPDATE posts SET collected_at = ?", [to_iso(NOW - timedelta(days=2))])
        store.db.execute(
            "UPDATE posts SET collected_at = ? WHERE id IN (?, ?, ?, ?)",
            [to_iso(NOW - timedelta(days=31)), *old],
        )
    config.privacy.raw_retention_days = 30

    report = purge(config, store, now=NOW)

    assert report.raw_cleared == 4 and report.posts_deleted == 0
    without_raw = {r[0] for r in store.db.execute("SELECT id FROM posts WHERE raw IS NULL")}
    assert without_raw == set(old)
    assert store.count_posts() == 10
    # a second purge finds nothing more to do
    assert purge(config, store, now=NOW).raw_cleared == 0


def test_raw_retention_zero_clears_every_stored_payload(config, store):
    add(store, [make_post(f"p{i}", raw={"n": i}) for i in range(7)])
    config.privacy.raw_retention_days = 0

    report = purge(config, store, now=utc_now(), batch_size=3)

    assert report.raw_cleared == 7
    assert store.db.execute("SELECT count(*) FROM posts WHERE raw IS NOT NULL").fetchone()[0] == 0


# --- whole posts ----------------------------------------------------------------------


def test_post_retention_deletes_old_posts_with_their_rows_and_keeps_daily_counts(tmp_path, config):
    lines = [post(i, 1 + i % 20, distinct_complaint(i)) for i in range(40)]
    lines += [
        post(100, 15, COMPLAINT, author="a"),  # an old complaint ...
        post(101, 12, COMPLAINT, author="b", repost_of="p100"),  # ... reposted when old
        post(102, 4, COMPLAINT, author="c", repost_of="p100"),  # ... and again recently
        post(103, 3, COMPLAINT, author="d", repost_of="p100"),
        post(104, 2, "halo kak, selamat pagi semua"),
    ]
    config.sources = [replay_source(tmp_path, lines)]
    run(config)
    now = utc_now()
    config.privacy.raw_retention_days = 5
    config.privacy.post_retention_days = 10
    oldest_kept = local_date(now - timedelta(days=10), config.timezone)
    cutoff = day_bounds_utc(oldest_kept, config.timezone)[0]

    with Store.open(config.database) as store:
        ids = ids_by_source_id(store)
        with store.db.atomic():
            store.db.conn.executemany(
                "INSERT INTO labels (post_id, field, value, created_at) VALUES (?, ?, ?, ?)",
                [(ids[f"p{i}"], "sector", "adminduk", to_iso(now)) for i in (100, 102, 3)],
            )
        counts_before = table_rows(store, "daily_counts")
        old_posts = store.db.execute(
            "SELECT count(*) FROM posts WHERE created_at < ?", [cutoff]
        ).fetchone()[0]
        kept_posts = store.count_posts() - old_posts
        assert old_posts >= 10 and kept_posts >= 10
        assert store.case_sizes([ids["p100"]]) == {ids["p100"]: 4}

        report = purge(config, store, now=now, batch_size=7)

        assert report.posts_deleted == old_posts
        assert store.count_posts() == kept_posts
        assert (
            store.db.execute(
                "SELECT count(*) FROM posts WHERE created_at < ?", [cutoff]
            ).fetchone()[0]
            == 0
        )
        # the aggregates outlive the posts: not one row changed, old days included
        assert table_rows(store, "daily_counts") == counts_before
        assert orphans(store) == {"analysis": 0, "post_sketch": 0, "labels": 0}
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("SELECT count(*) FROM labels").fetchone()[0] == 2
        # the recent reposts of the deleted complaint form one case, headed by the oldest
        source = config.sources[0].name
        cases = store.parent_cases([(source, "p102"), (source, "p103")])
        assert cases == {(source, "p102"): ids["p102"], (source, "p103"): ids["p102"]}
        assert report.cases_moved >= 2
        # the remaining days re-aggregated from scratch give the very same numbers
        kept_days = {r[0] for r in counts_before if r[0] >= oldest_kept.isoformat()}
        store.db.execute("DELETE FROM daily_counts WHERE day >= ?", [oldest_kept.isoformat()])
        aggregate_days(
            store,
            {date.fromisoformat(d) for d in kept_days},
            config.timezone,
            load_model().version,
        )
        assert table_rows(store, "daily_counts") == counts_before
        # no raw payload older than its retention survived
        raw_cutoff = to_iso(now - timedelta(days=5))
        assert (
            store.db.execute(
                "SELECT count(*) FROM posts WHERE raw IS NOT NULL AND collected_at < ?",
                [raw_cutoff],
            ).fetchone()[0]
            == 0
        )


def test_deleted_case_head_passes_to_the_oldest_remaining_member(config, store):
    created = {
        "head": NOW - timedelta(days=20),
        "old-copy": NOW - timedelta(days=15),
        "copy-a": NOW - timedelta(days=5),
        "copy-b": NOW - timedelta(days=3),
        "alone": NOW - timedelta(days=2),
    }
    add(store, [make_post(name, created_at=moment) for name, moment in created.items()])
    ids = ids_by_source_id(store)
    head = ids["head"]
    store.save_cases(
        {
            head: head,
            ids["old-copy"]: head,
            ids["copy-b"]: head,
            ids["copy-a"]: head,
            ids["alone"]: ids["alone"],
        },
        {head: [1, 2, 3], ids["copy-a"]: [1, 2, 3], ids["alone"]: [9]},
    )
    config.privacy.post_retention_days = 10
    config.privacy.raw_retention_days = 10

    report = purge(config, store, now=NOW, batch_size=1)

    assert report.posts_deleted == 2
    source = make_post("x").source
    cases = store.parent_cases([(source, name) for name in created])  # the deleted are gone
    assert cases == {
        (source, "copy-a"): ids["copy-a"],
        (source, "copy-b"): ids["copy-a"],
        (source, "alone"): ids["alone"],
    }
    assert store.case_sizes([ids["copy-a"]]) == {ids["copy-a"]: 2}
    assert orphans(store)["post_sketch"] == 0


def test_posts_are_kept_when_post_retention_is_zero(config, store):
    add(store, [make_post("old", created_at=NOW - timedelta(days=3000))])
    config.privacy.post_retention_days = 0
    assert purge(config, store, now=NOW).posts_deleted == 0
    assert store.count_posts() == 1


def test_vacuum_gives_the_space_back_after_a_big_purge(config, tmp_path):
    path = tmp_path / "big.db"
    filler = os.urandom(1500).hex()  # 3 kB of payload a post
    with Store.open(path) as store:
        for start in range(0, 3000, 500):
            add(
                store, [make_post(f"p{i}", raw={"blob": filler}) for i in range(start, start + 500)]
            )
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_before = path.stat().st_size
        assert size_before > 8_000_000
        config.privacy.raw_retention_days = 0

        report = purge(config, store, now=NOW)

        assert report.vacuumed and report.raw_cleared == 3000
        assert report.bytes_after < report.bytes_before / 3
        assert abs(report.bytes_before - size_before) < 100_000
        assert store.count_posts() == 3000
    assert path.stat().st_size < size_before / 3
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_a_small_purge_does_not_vacuum(config, store):
    add(store, [make_post(f"p{i}", raw={"n": i}) for i in range(300)])
    add(store, [make_post("big", raw={"blob": "x" * 4000})])
    config.privacy.raw_retention_days = 30
    with store.db.atomic():
        store.db.execute(
            "UPDATE posts SET collected_at = ? WHERE source_id = 'p1'",
            [to_iso(NOW - timedelta(days=40))],
        )
    report = purge(config, store, now=NOW)
    assert report == PurgeReport(
        raw_cleared=1,
        posts_deleted=0,
        bytes_before=report.bytes_before,
        bytes_after=report.bytes_before,
        vacuumed=False,
    )


def test_purge_job_takes_the_run_lock(config):
    with Store.open(config.database) as store:
        add(store, [make_post("p1", raw={"a": 1})])
    config.privacy.raw_retention_days = 0
    with run_lock(config.database), pytest.raises(RunLocked):
        purge_job(config)
    assert purge_job(config).raw_cleared == 1


# --- backup ---------------------------------------------------------------------------


def fill(path: Path, count: int) -> None:
    with Store.open(path) as store:
        for start in range(0, count, 1000):
            add(
                store,
                [
                    make_post(f"seed{i}", text=f"antre lama di puskesmas nomor {i} " * 8)
                    for i in range(start, min(count, start + 1000))
                ],
            )


def test_backup_while_another_connection_writes_is_consistent(config, tmp_path):
    fill(config.database, 6000)
    stop = threading.Event()
    committed = {"before": 0, "during": 0, "n": 0}
    started = threading.Event()
    errors: list[BaseException] = []

    def writer():
        conn = sqlite3.connect(config.database, timeout=30)
        try:
            while not stop.is_set():
                n = committed["n"]
                with conn:  # one transaction: a pair of posts that must travel together
                    for half in ("a", "b"):
                        conn.execute(
                            """INSERT INTO posts (source, source_id, text, text_display,
                               created_at, collected_at) VALUES ('w', ?, 'x', 'x', ?, ?)""",
                            [f"{n}-{half}", to_iso(NOW), to_iso(NOW)],
                        )
                committed["n"] = n + 1
                if started.is_set():
                    committed["during"] += 1
                time.sleep(0.0005)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    while committed["n"] < 20:
        time.sleep(0.005)
    committed["before"] = committed["n"]
    started.set()
    try:
        copy = backup(config, tmp_path / "copy.db", pages_per_step=4, pause_seconds=0.001)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert committed["during"] > 0  # the writer was never blocked by the backup

    assert copy == tmp_path / "copy.db"
    assert not Path(f"{copy}-wal").exists()
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert (
            conn.execute("SELECT count(*) FROM posts WHERE source = 'test'").fetchone()[0] == 6000
        )
        halves = dict(
            conn.execute(
                "SELECT substr(source_id, -1), count(*) FROM posts WHERE source = 'w' GROUP BY 1"
            ).fetchall()
        )
    finally:
        conn.close()
    assert halves["a"] == halves["b"] >= committed["before"]  # committed rows, whole pairs
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_backup_refuses_to_overwrite_unless_asked(config, tmp_path):
    fill(config.database, 10)
    target = tmp_path / "exists.db"
    target.write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup(config, target)
    assert target.read_text() == "keep me"
    assert backup(config, target, overwrite=True) == target
    with Store.open(target) as copy:
        assert copy.count_posts() == 10


def test_backup_into_a_folder_is_named_by_the_time(config, tmp_path):
    fill(config.database, 3)
    folder = tmp_path / "backups"
    folder.mkdir()
    moment = datetime(2026, 11, 21, 8, 15, 0, tzinfo=UTC)
    path = backup(config, folder, now=moment)
    assert path == folder / "monitor-20261121-081500.db"
    with pytest.raises(BackupError, match="already exists"):
        backup(config, folder, now=moment)
    assert [p.name for p in folder.iterdir()] == ["monitor-20261121-081500.db"]


def test_backup_of_a_missing_database_creates_nothing(config, tmp_path):
    with pytest.raises(BackupError, match="does not exist"):
        backup(config, tmp_path / "copy.db")
    assert not config.database.exists() and not (tmp_path / "copy.db").exists()
    fill(config.database, 1)
    with pytest.raises(BackupError, match="does not exist"):
        backup(config, tmp_path / "no-such-folder" / "copy.db")


# --- heartbeat ------------------------------------------------------------------------


def test_heartbeat_pings_the_configured_url(config, http_server):
    http_server.route("GET", "/ping/5f1c-token", Reply(body="OK"))
    config.operations.heartbeat_url = http_server.url + "/ping/5f1c-token"
    assert ping_heartbeat(config) is None
    [request] = http_server.hits("/ping/5f1c-token")
    assert request.headers["user-agent"].startswith("monitor/")


def test_heartbeat_error_answer_is_reported_without_the_token(config, http_server):
    http_server.route("GET", "/ping/5f1c-token", Reply(status=503, body="down"))
    config.operations.heartbeat_url = http_server.url + "/ping/5f1c-token"
    error = ping_heartbeat(config)
    assert error and "HTTP 503" in error and "5f1c-token" not in error


def test_heartbeat_to_a_dead_address_returns_an_error_and_never_raises(config):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config.operations.heartbeat_url = f"http://127.0.0.1:{port}/ping/5f1c-token"
    error = ping_heartbeat(config)
    assert error and "ConnectError" in error and "5f1c-token" not in error


def test_heartbeat_timeout_is_ten_seconds_and_a_slow_service_is_an_error(config, http_server):
    http_server.route("GET", "/slow", Reply(body="OK", delay=0.5))
    config.operations.heartbeat_url = http_server.url + "/slow"
    seen = {}

    def quick_client(**options):
        seen.update(options)
        return httpx.Client(**{**options, "timeout": 0.1})

    error = ping_heartbeat(config, client_factory=quick_client)
    assert seen["timeout"] == 10
    assert error and "Timeout" in error


def test_heartbeat_without_url_does_nothing_and_a_broken_client_does_not_raise(config):
    assert ping_heartbeat(config) is None

    def broken(**options):
        raise RuntimeError("no client today")

    config.operations.heartbeat_url = "https://hc-ping.invalid/abc"
    assert "no client today" in ping_heartbeat(config, client_factory=broken)


# --- secrets --------------------------------------------------------------------------


def test_secret_values_are_the_set_values_of_every_named_variable(config):
    config.sources = [
        SourceConfig("x", "x", credentials={"bearer_token": "X_TOKEN"}),
        SourceConfig("bsky", "bluesky", credentials={"identifier": "BSKY_ID", "pw": "BSKY_PW"}),
    ]
    config.digest.smtp.username_env = "SMTP_USER"
    config.digest.smtp.password_env = "SMTP_PASS"
    environ = {
        "X_TOKEN": "AAAAAAAAAAAAAAAAAAAAAtokenvalue",
        "BSKY_ID": "abc",  # too short to mask safely
        "BSKY_PW": "",
        "SMTP_USER": "monitor@example.org",
        "SMTP_PASS": "hunter22",
        "MONITOR_PSEUDONYM_KEY": "pseudonym-key-1",
        "MONITOR_INGEST_SECRET": "ingest-secret",
        "UNRELATED": "not-a-secret-of-ours",
    }
    assert secret_values(config, environ) == [
        "AAAAAAAAAAAAAAAAAAAAAtokenvalue",
        "monitor@example.org",
        "pseudonym-key-1",
        "ingest-secret",
        "hunter22",
    ]


TOKENS = [
    "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "xoxb-2364728364-2384723847-aBcDeFgHiJkLmNoP",
    "AIzaSyD3x4mpl3K3yN0tR34lAtAllxYzW1234",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "Zk3dO9qP_vX2mL8nR5tY7uW1aB4cE6gH0jK2lM3nO5p",
    "abcd-2fgh-ij3l-mnop",
]
ORDINARY = [
    "X_BEARER_TOKEN",
    "MONITOR_SMTP_PASSWORD_2",
    "disdukcapil-kota-kupang",
    "Asia/Makassar",
    "data/exports/lapor-2026-11.csv",
    "/srv/monitor/reports/2026/digest-2026-11-21.html",
    "monitor2026@ombudsman.go.id",
    "Ombudsman NTT <monitor@ombudsman.go.id>",
    "*/30 * * * *",
    "every 15m",
    "2026-11-21T08:15:00Z",
    "https://api.x.com/2/abcDEF123456ghiJKL789xyz",
    "ombudsman-ntt.bsky.social",
    "RSUD Prof. Dr. W. Z. Johannes",
]


@pytest.mark.parametrize("value", TOKENS)
def test_token_looking_values_are_recognised(value):
    assert secret_reason(value)


@pytest.mark.parametrize("value", ORDINARY)
def test_ordinary_values_are_not_taken_for_secrets(value):
    assert secret_reason(value) is None


def test_the_shipped_example_config_raises_no_secret_warning(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_text(example_config_text(), encoding="utf-8")
    assert config_secret_warnings(path) == []


def test_config_secret_warnings_name_the_key_and_never_the_value(tmp_path):
    bearer = TOKENS[0]
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
database = "data/monitor-2026.db"
[privacy]
pseudonym_key_env = "{TOKENS[5]}"
[operations]
heartbeat_url = "https://hc-ping.com/5f1c0b5e-1a2b-4c3d-9e8f-0123456789ab"
[[agencies]]
id = "rsud-wz-johannes"
name = "RSUD Prof. Dr. W. Z. Johannes Kupang"
aliases = ["Xk9fQ2mZ7pL4vB8nR3tY", "rsud johannes"]
[[regions]]
id = "kota-kupang"
name = "Kota Kupang"
places = ["oebobo", "kelapa lima"]
[[sources]]
name = "x-kupang"
type = "x"
base_url = "https://api.x.com/v2/AbC123dEf456GhI789"
queries = ["dukcapil kupang lang:id -is:retweet", "Zk3dO9qP_vX2mL8nR5tY7uW1aB4cE6"]
credentials = {{ bearer_token = "{bearer}" }}
[[sources]]
name = "bsky"
type = "bluesky"
credentials = {{ identifier = "BSKY_IDENTIFIER", app_password = "BSKY_APP_PASSWORD" }}
[digest.smtp]
username_env = "MONITOR_SMTP_USER"
password_env = "Sup3r secret passw0rd!"
""",
        encoding="utf-8",
    )
    warnings = config_secret_warnings(path)
    assert len(warnings) == 3, warnings
    assert warnings[0].startswith("privacy.pseudonym_key_env: value '9f86…' looks like")
    assert warnings[1].startswith("sources[0].credentials.bearer_token: value 'AAAA…'")
    assert "X (Twitter) bearer token" in warnings[1]
    assert warnings[2].startswith("digest.smtp.password_env: value 'Sup3…' looks like the secret")
    text = "\n".join(warnings)
    assert bearer[:8] not in text and TOKENS[5][:8] not in text and "secret passw0rd" not in text


def test_config_secret_warnings_on_an_unreadable_file_say_so(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("database = ", encoding="utf-8")
    [warning] = config_secret_warnings(path)
    assert "not checked" in warning


def test_purge_report_summary_reads_well():
    report = PurgeReport(3, 2, 12_000_000, 4_000_000, True)
    assert report.summary() == (
        "raw payloads cleared: 3, posts deleted: 2, database 12.0 MB -> 4.0 MB (compacted)"
    )
    assert json.dumps(report.__dict__)


def test_backup_of_a_rollback_journal_database(config, tmp_path):
    config.database = tmp_path / "plain.db"
    conn = sqlite3.connect(config.database)
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
    conn.commit()
    conn.close()
    copy = backup(config, tmp_path / "copy.db", pages_per_step=1)
    with sqlite3.connect(copy) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 500
    check.close()
