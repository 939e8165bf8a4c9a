"""The store's one transaction helper, and the package layout that keeps it the only one."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from monitor.store import Store
from monitor.store.rows import DayAgencyTopic, MailBacklog, SketchMatch, UnfinishedRuns
from tests.conftest import make_post

STORE = Path(__file__).resolve().parent.parent / "monitor" / "store"


def cursor_value(store: Store, source: str = "s") -> str | None:
    return store.get_cursor(source)


def test_a_transaction_commits_what_runs_inside(store):
    with store.transaction():
        store.set_cursor("s", "1")
        store.set_cursor("t", "2")
    assert not store.db.conn.in_transaction
    assert (cursor_value(store), cursor_value(store, "t")) == ("1", "2")


def test_a_failing_transaction_keeps_nothing(store):
    for immediate in (False, True):
        with pytest.raises(KeyboardInterrupt), store.transaction(immediate=immediate):
            store.set_cursor("s", "lost")
            raise KeyboardInterrupt  # also Ctrl-C: rolled back, not left open
        assert not store.db.conn.in_transaction
        assert cursor_value(store) is None


def test_a_deferred_transaction_nests_as_a_savepoint(store):
    with store.transaction():
        store.set_cursor("s", "outer")
        with pytest.raises(ValueError), store.transaction():
            store.set_cursor("t", "inner")
            raise ValueError
        assert store.db.conn.in_transaction  # the outer one is still open
    assert cursor_value(store) == "outer"
    assert cursor_value(store, "t") is None


def test_writes_inside_an_immediate_transaction_commit_with_it(store):
    with store.transaction(immediate=True):
        new, _ = store.add_posts(
            [make_post("1")], display_text=str, author_key=lambda p: "k", keep_raw=False
        )
        store.set_cursor("s", "1")
    assert new == 1 and store.count_posts() == 1 and cursor_value(store) == "1"


def test_an_immediate_transaction_holds_the_write_lock_from_its_start(store):
    other = sqlite3.connect(store.path, timeout=0)
    try:
        with store.transaction(immediate=True):
            # Nothing written yet, and still no other writer gets in.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once committed
        other.rollback()
    finally:
        other.close()


def test_an_immediate_transaction_does_not_nest(store):
    with store.transaction():
        with pytest.raises(sqlite3.OperationalError), store.transaction(immediate=True):
            pass
        store.set_cursor("s", "kept")
    assert cursor_value(store) == "kept"


def test_a_transaction_left_open_implicitly_is_ended_before_the_replay_window(store):
    store.db.conn.execute("INSERT INTO meta (key, value) VALUES ('left', 'open')")
    assert store.db.conn.in_transaction
    with store.ingest_request("signature", 60) as first_time:
        assert first_time
    with store.ingest_request("signature", 60) as first_time:
        assert not first_time
    assert store.db.execute("SELECT value FROM meta WHERE key = 'left'").fetchone() == ("open",)


def transaction_control(source: str) -> list[str]:
    """Every BEGIN/COMMIT/ROLLBACK/SAVEPOINT statement and atomic/commit/rollback call."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("atomic", "commit", "rollback"):
                found.append(f".{node.func.attr}()")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            first = node.value.split(" ")[0]
            if first in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT"):
                found.append(node.value)
    return found


def test_the_store_opens_transactions_in_one_place_only():
    found = {
        path.name: uses
        for path in sorted(STORE.glob("*.py"))
        if (uses := transaction_control(path.read_text(encoding="utf-8")))
    }
    assert ".atomic()" in found.pop("base.py")
    # copy_file's snapshot on the source file's own connection, not the store's.
    assert found == {"maintenance.py": ["BEGIN", "ROLLBACK"]}


def test_no_store_module_is_long():
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in STORE.glob("*.py")}
    assert max(lengths.values()) < 400, lengths


def test_typed_rows_are_still_the_tuples_callers_unpack(store):
    oldest, count = store.unfinished_runs(except_run_id=0)
    assert isinstance(store.unfinished_runs(0), UnfinishedRuns) and (oldest, count) == (None, 0)
    store.add_posts(
        [make_post("1"), make_post("2")], display_text=str, author_key=lambda p: "k", keep_raw=False
    )
    store.save_cases({}, {1: [5, 6, 7], 2: [5, 6, 8]})
    matches = store.sketch_matches([5, 6, 7], "2026-11-19T00:00:00Z", "2026-11-21T00:00:00Z")
    assert matches == [(1, 1, 3), (2, 2, 2)]
    assert matches[1] == SketchMatch(post_id=2, case_id=2, shared=2)
    store.db.execute(
        "INSERT INTO daily_counts VALUES ('2026-11-20', 'a', 'adminduk', '', 3, 2, 2, 'm')"
    )
    [row] = store.complaints_by_day_agency_topic("2026-11-20", "2026-11-20")
    assert row == DayAgencyTopic("2026-11-20", "a", "", 2) == ("2026-11-20", "a", "", 2)
    store.enqueue_mail("2026-11-20", "all", ["a@example.org"], "s", b"m")
    store.set_mail_status(1, "pending", "refused")
    assert store.outbox_backlog() == [MailBacklog("pending", 1, "refused")]


def test_every_part_of_the_store_masks_with_the_one_mask(tmp_path):
    with Store.open(tmp_path / "m.db", secrets=["hunter2-secret"]) as store:
        run_id = store.start_run("test")
        store.finish_run(run_id, "failed", 0, ["login hunter2-secret refused"])
        store.enqueue_mail("2026-11-20", "all", ["a@example.org"], "s", b"m")
        store.set_mail_status(1, "pending", "auth hunter2-secret refused")
        stored = store.db.execute("SELECT errors FROM runs").fetchone()[0]
        stored += store.db.execute("SELECT last_error FROM outbox").fetchone()[0]
        shown = str(store.outbox_backlog()) + str(store.outbox_messages())
    assert "hunter2" not in stored + shown and "refused" in stored
