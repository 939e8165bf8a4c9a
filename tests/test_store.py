from __future__ import annotations

import sqlite3

import pytest

from monitor.store import SCHEMA_VERSION, Store, StoreError
from monitor.text.redact import redact
from tests.conftest import make_post


def add(store, posts, cursor=None):
    return store.add_posts(
        posts,
        display_text=redact,
        author_key=lambda p: "k-" + p.author_handle,
        keep_raw=True,
        cursor=cursor,
    )


def test_new_database_is_migrated_to_current_schema(tmp_path):
    with Store.open(tmp_path / "m.db") as store:
        assert store.schema_version == SCHEMA_VERSION
        tables = set(store.db.table_names())
        assert {"posts", "analysis", "agencies", "cursors", "runs", "run_sources"} <= tables
        assert {"daily_counts", "labels", "meta"} <= tables
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # reopening runs no migration twice
    with Store.open(tmp_path / "m.db") as store:
        assert store.schema_version == SCHEMA_VERSION


def test_database_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this program"):
        Store.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_unwritable_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(blocker / "sub" / "m.db")


def test_a_post_is_never_stored_twice(store):
    assert add(store, [make_post("1"), make_post("2")]) == (2, 0)
    assert add(store, [make_post("2", text="different text, same id"), make_post("3")]) == (1, 1)
    assert store.count_posts() == 3
    text = store.db.execute("SELECT text FROM posts WHERE source_id = '2'").fetchone()[0]
    assert text == "ktp belum jadi"  # the first version stays


def test_same_id_from_another_source_is_another_post(store):
    add(store, [make_post("1")])
    assert add(store, [make_post("1", source="other")]) == (1, 0)


def test_display_text_is_redacted_and_author_pseudonymised(store):
    add(store, [make_post("1", text="hubungi 081234567890 ya", author_handle="nona")])
    row = store.db.execute("SELECT text, text_display, author_key FROM posts").fetchone()
    assert row == ("hubungi 081234567890 ya", "hubungi [TELEPON] ya", "k-nona")


def test_cursor_moves_with_the_posts_and_not_without(store):
    add(store, [make_post("1")], cursor=("test", "c1"))
    assert store.get_cursor("test") == "c1"

    def broken_author_key(post):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.add_posts(
            [make_post("2")],
            display_text=redact,
            author_key=broken_author_key,
            keep_raw=False,
            cursor=("test", "c2"),
        )
    assert store.get_cursor("test") == "c1"
    assert store.count_posts() == 1


def test_raw_payload_kept_only_when_allowed(store):
    store.add_posts(
        [make_post("1", raw={"a": 1})],
        display_text=redact,
        author_key=lambda p: "",
        keep_raw=False,
    )
    assert store.db.execute("SELECT raw FROM posts").fetchone()[0] is None


def test_per_database_secret_is_stable(store):
    assert store.secret("k") == store.secret("k")
    assert len(store.secret("k")) == 64


def test_many_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path):
    import subprocess
    import sys
    import time

    # Each process imports first, then waits for the same moment to open the file.
    code = (
        "import sys, time; from monitor.store import Store; "
        "time.sleep(max(0, float(sys.argv[2]) - time.time())); Store.open(sys.argv[1]).close()"
    )
    for round_number in range(3):
        path = tmp_path / f"race-{round_number}.db"
        start = str(time.time() + 1.5)
        processes = [
            subprocess.Popen([sys.executable, "-c", code, str(path), start], stderr=subprocess.PIPE)
            for _ in range(6)
        ]
        errors = [p.communicate()[1].decode() for p in processes]
        assert [p.returncode for p in processes] == [0] * 6, errors
        with Store.open(path) as store:
            assert store.schema_version == SCHEMA_VERSION


def test_agencies_mirror_the_config_and_resync_only_on_change(store, config):
    store.sync_agencies(config.agencies)
    assert len(store.agency_names()) == len(config.agencies)
    before = store.db.conn.total_changes
    store.sync_agencies(config.agencies)
    assert store.db.conn.total_changes == before  # nothing written
    config.agencies[0].short_name = "Capil Kota"
    store.sync_agencies(config.agencies[:3])
    assert store.agency_names() == {a.id: a.short_name for a in config.agencies[:3]}


def test_a_version_1_database_is_migrated_keeping_its_data(tmp_path):
    from monitor.store import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    from sqlite_utils import Database

    MIGRATIONS[0](Database(conn))
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO posts (source, source_id, text, text_display, created_at, collected_at) "
        "VALUES ('s', '1', 't', 't', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO analysis VALUES (1, 'm', 1, 0.9, 'adminduk', 0.8, '[]', '{}', '', 0, '', 0, "
        "'2026-01-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.count_posts() == 1
        row = store.db.execute("SELECT sector, text_normalized FROM analysis").fetchone()
        assert row == ("adminduk", "")


def test_a_version_4_database_keeps_its_sketches_with_their_posts_times(tmp_path):
    from sqlite_utils import Database

    from monitor.store import MIGRATIONS

    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    for migration in MIGRATIONS[:4]:
        migration(Database(conn))
    conn.execute("PRAGMA user_version = 4")
    for i, created in enumerate(["2026-11-01T00:00:00Z", "2026-11-20T10:30:00Z"], start=1):
        conn.execute(
            "INSERT INTO posts (id, source, source_id, text, text_display, created_at, "
            "collected_at) VALUES (?, 's', ?, 't', 't', ?, ?)",
            (i, str(i), created, created),
        )
        conn.executemany(
            "INSERT INTO post_sketch (hash, post_id) VALUES (?, ?)", [(7, i), (100 + i, i)]
        )
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        rows = store.db.execute(
            "SELECT hash, created, post_id FROM post_sketch ORDER BY post_id, hash"
        ).fetchall()
        assert rows == [
            (7, 1793491200, 1),
            (101, 1793491200, 1),
            (7, 1795170600, 2),
            (102, 1795170600, 2),
        ]
        # the window now comes from the sketch itself: only post 2 is within it
        found = store.sketch_matches([7, 102], "2026-11-15T00:00:00Z", "2026-11-22T00:00:00Z")
        assert found == [(2, 2, 2)]


def test_near_duplicate_search_reads_only_the_window_of_each_hash(tmp_path):
    """sketch_matches must read an index range on (hash, time): a scan of all of a
    hash's posts grows with the database (it made processing slow down as it grew)."""
    with Store.open(tmp_path / "m.db") as store:
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        store.sketch_matches([1, 2], "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z")
        store.db.conn.set_trace_callback(None)
        (query,) = [q for q in statements if "post_sketch" in q]
        plan = " ".join(row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN " + query))
    assert "SEARCH post_sketch USING PRIMARY KEY (hash=? AND created>? AND created<?)" in plan
    assert "SCAN post_sketch" not in plan, plan


def test_a_hash_everyone_shares_contributes_only_its_latest_posts(tmp_path):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 20, tzinfo=UTC)
    with Store.open(tmp_path / "m.db") as store:
        add(store, [make_post(str(i), created_at=start + timedelta(minutes=i)) for i in range(60)])
        add(store, [make_post("copy", created_at=start + timedelta(hours=2))])
        ids = dict(store.db.execute("SELECT source_id, id FROM posts").fetchall())
        # sixty posts share two common hashes; one true copy shares three rarer ones too
        sketches = {ids[str(i)]: [7, 8] for i in range(60)}
        sketches[ids["copy"]] = [7, 8, 90, 91, 92]
        store.save_cases({post: post for post in sketches}, sketches)
        since, until = "2026-11-19T00:00:00Z", "2026-11-21T00:00:00Z"

        found = store.sketch_matches([7, 8, 90, 91, 92], since, until, per_hash=50)
        assert found[0] == (ids["copy"], ids["copy"], 5)  # the copy is found first
        # of the popular posts, only the latest 50 of each hash were read
        assert {post for post, _, _ in found[1:]} <= {ids[str(i)] for i in range(10, 60)}
        assert len(found) == 20

        everything = store.sketch_matches([7, 8], since, until, per_hash=1000)
        assert [post for post, _, _ in everything] == [ids[str(i)] for i in range(20)]
