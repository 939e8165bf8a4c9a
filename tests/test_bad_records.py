"""Issue 13: one bad record must never stop a source for good.

A record holding a lone surrogate ("\\ud83d", a cut emoji in some exports) or nested
too deeply for the JSON parser, and a CSV row with a quote that is never closed, are
rejected with their line or id; every other record is stored and the cursor moves, so
a second run adds nothing and fails nothing. Real files and a real local HTTP server,
through the real pipeline.
"""

from __future__ import annotations

import json

from tests.conftest import collect_once
from tests.httpserver import Reply, Request
from tests.test_collector_file_import import source_for, stored
from tests.test_collector_mastodon import FakeInstance, load, make_source
from tests.test_collector_mastodon import cursor_of as mastodon_cursor
from tests.test_collector_mastodon import rows as mastodon_rows
from tests.test_collector_x import NAME as X_NAME
from tests.test_collector_x import SEARCH, page_of, x_source
from tests.test_collector_x import cursor_of as x_cursor

LONE = "\ud83d"  # the first half of 😀, cut off
DEEP = "[" * 100_000


def assert_second_run_is_quiet(config, source, sleeps=None) -> None:
    again, store = collect_once(config, source, sleeps)
    store.close()
    assert (again.error, again.new, again.rejected) == ("", 0, 0), again


# --- file import: JSON lines ------------------------------------------------------------


def test_jsonl_lone_surrogate_and_deep_nesting_reject_only_their_lines(config, tmp_path):
    path = tmp_path / "lapor.jsonl"
    good = [
        {"id": f"j{i}", "text": f"Jalan rusak ke-{i}", "created_at": "2026-11-20T08:00:00Z"}
        for i in range(1, 5)
    ]
    lines = [
        json.dumps(good[0]),
        # json.dumps writes the escape "\ud83d": valid JSON, a string SQLite cannot take
        json.dumps({"id": "cut", "text": f"Air mati {LONE}", "created_at": "2026-11-20T08:00:00Z"}),
        json.dumps(good[1]),
        DEEP,
        json.dumps(good[2]),
        json.dumps({"id": "cutkey", "text": "ok", "created_at": "2026-11-20T08:00:00Z", LONE: 1}),
        json.dumps(good[3]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = source_for(path, format="jsonl")
    result, store = collect_once(config, source)
    with store:
        assert set(stored(store)) == {"j1", "j2", "j3", "j4"}
        assert store.get_cursor("file-import")  # the file is recorded as imported
    assert result.error == ""
    assert (result.fetched, result.new, result.rejected) == (7, 4, 3)
    assert [r.split(": ")[0] for r in result.rejections] == [
        "lapor.jsonl:2",
        "lapor.jsonl:4",
        "lapor.jsonl:6",
    ]
    assert "U+D83D" in result.rejections[0] and "nested too deeply" in result.rejections[1]
    assert_second_run_is_quiet(config, source)


# --- file import: CSV with a quote that is never closed ---------------------------------


def csv_rows(count: int, stray_at: int) -> tuple[str, set[str]]:
    """A CSV with ``count`` rows; the row on line ``stray_at`` opens a quote it never closes."""
    lines = ["id,text,created_at"]
    good = set()
    for i in range(1, count + 1):
        line_number = i + 1
        if line_number == stray_at:
            lines.append(f'r{i},"Sampah tidak diangkut seminggu,2026-11-20T08:00:00Z')
        else:
            lines.append(f"r{i},Sampah di Oebobo menumpuk hari ke-{i},2026-11-20T08:00:00Z")
            good.add(f"r{i}")
    return "\n".join(lines) + "\n", good


def test_csv_stray_quote_to_the_end_of_the_file_loses_only_its_row(config, tmp_path):
    text, good = csv_rows(202, stray_at=3)
    path = tmp_path / "facebook.csv"
    path.write_text(text, encoding="utf-8")
    result, store = collect_once(config, source_for(path))
    with store:
        assert set(stored(store)) == good and len(good) == 201
    assert result.error == ""
    assert (result.fetched, result.new, result.rejected) == (202, 201, 1)
    assert result.rejections[0].startswith("facebook.csv:3: not readable as CSV")
    assert_second_run_is_quiet(config, source_for(path))


def test_csv_stray_quote_past_the_line_bound_loses_only_its_row(config, tmp_path):
    """More rows after the stray quote than one record may span (MAX_RECORD_LINES)."""
    text, good = csv_rows(1200, stray_at=5)
    path = tmp_path / "besar.csv"
    path.write_text(text, encoding="utf-8")
    result, store = collect_once(config, source_for(path))
    with store:
        assert set(stored(store)) == good and len(good) == 1199
    assert result.error == ""
    assert result.rejections == [
        "besar.csv:5: not readable as CSV (a quoted cell runs over more than 200 lines or "
        "256 KB: a quote that is never closed?)"
    ]
    assert_second_run_is_quiet(config, source_for(path))


def test_csv_stray_quote_closed_by_a_later_row_keeps_multiline_cells(config, tmp_path):
    """The stray quote is closed by a quoted cell further down: the swallowed rows come
    back; a legitimate cell with line breaks stays one post."""
    path = tmp_path / "campur.csv"
    path.write_text(
        "id,text,created_at\n"
        'm1,"Baris satu\nbaris dua, masih teks",2026-11-20T08:00:00Z\n'  # lines 2-3
        'm2,"kutipan terbuka,2026-11-20T08:00:00Z\n'  # line 4: never closed
        "m3,Jalan berlubang,2026-11-20T08:00:00Z\n"
        "m4,Lampu mati,2026-11-20T08:00:00Z\n"
        'm5,"PDAM, tolong",2026-11-20T08:00:00Z\n'  # its quote "closes" m2's
        "m6,Sampah menumpuk,2026-11-20T08:00:00Z\n",
        encoding="utf-8",
    )
    result, store = collect_once(config, source_for(path))
    with store:
        posts = stored(store)
    assert set(posts) == {"m1", "m3", "m4", "m5", "m6"}
    assert posts["m1"]["text"].count("baris dua") == 1
    assert [r.split(": ")[0] for r in result.rejections] == ["campur.csv:4"]
    assert result.error == ""
    assert_second_run_is_quiet(config, source_for(path))


# --- Mastodon and X: a status with a lone surrogate -------------------------------------


def test_mastodon_status_with_a_lone_surrogate_is_rejected_by_id(config, http_server, sleeps):
    statuses = load("tag_kupang.json")
    bad = statuses[2]  # 113500000000000104
    bad["content"] = f"<p>Jalan rusak {LONE}</p>"
    FakeInstance(http_server, statuses).serve()
    source = make_source(http_server)
    result, store = collect_once(config, source, sleeps)
    with store:
        assert len(mastodon_rows(store)) == 5 and bad["id"] not in mastodon_rows(store)
        assert mastodon_cursor(store) == {"#kupang": "113500000000000106"}
    assert result.error == ""
    assert (result.new, result.rejected) == (5, 1)
    assert "113500000000000104" in result.rejections[0]
    assert "U+D83D" in result.rejections[0]
    assert_second_run_is_quiet(config, source, sleeps)


def test_x_tweet_with_a_lone_surrogate_is_rejected_by_id(config, http_server, sleeps, monkeypatch):
    monkeypatch.setenv("TEST_X_BEARER", "x-test-bearer-AAAA-never-log-me")
    config.http.retries = 2
    page = page_of(5, newest=1991700000000000105)
    page["data"][1]["text"] = f"Air PDAM mati {LONE}"  # tweet 1991700000000000104

    def search(request: Request) -> Reply:
        if request.param("since_id") == "1991700000000000105":
            return Reply(json={"meta": {"result_count": 0}})
        return Reply(json=page)

    http_server.route("GET", SEARCH, search)
    source = x_source(http_server)
    result, store = collect_once(config, source, sleeps)
    with store:
        kept = store.db.execute("SELECT source_id FROM posts WHERE source = ?", [X_NAME])
        assert {r[0] for r in kept} == {str(1991700000000000105 - i) for i in (0, 2, 3, 4)}
        assert x_cursor(store) == {"dukcapil kupang": "1991700000000000105"}
    assert result.error == ""
    assert (result.new, result.rejected) == (4, 1)
    assert result.rejections[0].startswith("tweet 1991700000000000104: ")
    assert_second_run_is_quiet(config, source, sleeps)
