"""Pushed posts follow the same record rules as collected ones: one bad post is rejected
alone with its index, times are judged by one rule, and nothing is made up."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from monitor.collectors import CollectContext
from monitor.collectors.file_import import import_file
from monitor.collectors.replay import time_problem
from monitor.config import SourceConfig
from monitor.ingest import SIGNATURE_HEADER, TIMESTAMP_HEADER, serving, sign
from monitor.store import Store

SECRET = b"test-shared-secret"


def push(url: str, body: bytes) -> httpx.Response:
    stamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, body)}
    return httpx.post(f"{url}/ingest", content=body, headers=headers)


def post(post_id: str, **fields) -> dict:
    record = {"id": post_id, "text": "Lampu jalan mati", "created_at": "2026-11-20T09:00:00Z"}
    return {**record, **fields}


def stored_rows(config) -> dict[str, tuple]:
    with Store.open(config.database) as store:
        rows = store.db.execute("SELECT source_id, url, platform FROM posts").fetchall()
    return {row[0]: row[1:] for row in rows}


@pytest.mark.parametrize("moment", ["1900-01-01T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_file_import_and_push_refuse_the_same_years_with_the_same_words(config, tmp_path, moment):
    now = datetime.now(UTC)
    reason = time_problem(datetime.fromisoformat(moment), now)
    assert reason  # the one rule refuses it

    path = tmp_path / "ekspor.jsonl"
    path.write_text(
        json.dumps(post("f1", created_at=moment)) + "\n" + json.dumps(post("f2")) + "\n",
        encoding="utf-8",
    )
    source = SourceConfig(
        name="impor", type="file_import", path=str(path), options={"format": "jsonl"}
    )
    context = CollectContext(now=now, timezone="Asia/Makassar")
    batches = list(import_file(path, source, context))
    assert [p.source_id for b in batches for p in b.posts] == ["f2"]
    assert [r for b in batches for r in b.rejected] == [f"ekspor.jsonl:1: {reason}"]

    with serving(config, SECRET, port=0) as server:
        body = json.dumps({"posts": [post("p1", created_at=moment), post("p2")]}).encode()
        answer = push(server.url, body).json()
    assert answer["rejected"] == [{"index": 0, "reason": f"post p1: {reason}"}]
    assert answer["new"] == 1


def test_a_pushed_post_without_url_gets_no_made_up_link(config):
    body = json.dumps(
        {
            "posts": [
                post("u1"),
                post("u2", platform="lapor"),
                post("u3", url="https://lapor.go.id/laporan/u3", platform="lapor"),
            ]
        }
    ).encode()
    with serving(config, SECRET, port=0) as server:
        assert push(server.url, body).json()["new"] == 3
    assert stored_rows(config) == {
        "u1": ("", "ingest"),  # no platform sent: the ingest source's name
        "u2": ("", "lapor"),
        "u3": ("https://lapor.go.id/laporan/u3", "lapor"),
    }


def test_one_unreadable_post_is_rejected_alone_with_its_index(config):
    good = json.dumps(post("g1")).encode()
    surrogate = b'{"id": "s1", "text": "antre KTP \\ud83d", "created_at": "2026-11-20T09:00:00Z"}'
    not_finite = b'{"id": "n1", "text": "x", "created_at": "2026-11-20T09:00:00Z", "skor": NaN}'
    deep = (
        b'{"id": "d1", "text": "x", "created_at": "2026-11-20T09:00:00Z", "meta": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )
    bad_utf8 = b'{"id": "b1", "text": "caf\xe9", "created_at": "2026-11-20T09:00:00Z"}'
    broken = b'{"id": "j1", "text": tru}'
    last = json.dumps(post("g2")).encode()
    items = [good, surrogate, not_finite, deep, bad_utf8, broken, last]
    body = b'{"sender": {"name": "LAPOR!"}, "posts": [' + b", ".join(items) + b"]}"
    config.ingest.max_body_bytes = len(body) + 1
    with serving(config, SECRET, port=0) as server:
        response = push(server.url, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    reasons = {r["index"]: r["reason"] for r in answer["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert "lone surrogate" in reasons[1]
    assert "not a finite number" in reasons[2]
    assert "nested" in reasons[3]
    assert "UTF-8" in reasons[4]
    assert "not valid JSON" in reasons[5]
    assert (answer["received"], answer["new"]) == (7, 2)
    assert set(stored_rows(config)) == {"g1", "g2"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"posts": [',
        b'{"posts": {"id": 1}}',
        b'{"post": []}',
        b'{"posts": []} trailing',
        b"[]",
        b'{"posts": [], "posts": []}',
        b'{"posts": [{"id": "a"} {"id": "b"}]}',
        b'{"posts": [' + b"[" * 100_000,
    ],
)
def test_a_body_that_is_not_a_batch_is_a_400(config, body):
    with serving(config, SECRET, port=0) as server:
        response = push(server.url, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith('body must be {"posts": [...]}')


def test_a_push_while_a_run_holds_the_lock_is_stored_and_never_looks_like_a_dead_run(config):
    """The push endpoint does not wait for the run lock (a cron run may hold it for
    minutes); its run record is written finished in one go, so the locked run's check
    for runs that died ("still running") never counts it."""
    from monitor.runs import recorded_run

    body = json.dumps({"posts": [post("L1"), post("L2")]}).encode()
    with recorded_run(config, "run") as record:  # a cron run at work
        with serving(config, SECRET, port=0) as server:
            assert push(server.url, body).json()["new"] == 2
        assert record.store.unfinished_runs(except_run_id=record.id)[1] == 0
        record.status = "ok"
    with Store.open(config.database) as store:
        runs = store.db.execute("SELECT command, status, finished_at FROM runs").fetchall()
    assert sorted((c, s) for c, s, _ in runs) == [("ingest", "ok"), ("run", "ok")]
    assert all(finished for _, _, finished in runs)
