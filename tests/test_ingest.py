"""The push endpoint over real HTTP on 127.0.0.1: authentication first, then parsing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from monitor.config import example_config_text
from monitor.ingest import SIGNATURE_HEADER, TIMESTAMP_HEADER, make_server, sign
from monitor.store import Store

SECRET = b"test-shared-secret"


@pytest.fixture
def server(config):
    config.ingest.max_body_bytes = 5000
    srv = make_server(config, SECRET, port=0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield srv
    srv.shutdown()
    thread.join()
    srv.server_close()


def post_signed(url, payload, *, secret=SECRET, timestamp=None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
        "Content-Type": "application/json",
    }
    return httpx.post(f"{url}/ingest", content=body, headers=headers)


POSTS = {
    "posts": [
        {
            "id": "L-1",
            "text": "Sudah 2 bulan KTP belum jadi, NIK 5371012345678901",
            "created_at": "2026-11-20T08:00:00+08:00",
            "platform": "lapor",
        },
        {
            "id": "L-2",
            "text": "Air PDAM mati 3 hari",
            "created_at": "2026-11-20T09:00:00Z",
            "author": "warga1",
        },
        {"id": "L-3", "created_at": "2026-11-20T09:00:00Z"},
        {"id": "L-4", "text": "dari masa depan", "created_at": "2099-01-01T00:00:00Z"},
    ]
}


def test_signed_batch_is_stored_with_rejections_named(server, config):
    response = post_signed(server.url, POSTS)
    assert response.status_code == 200
    answer = response.json()
    assert (answer["received"], answer["new"], answer["duplicates"]) == (4, 2, 0)
    assert [r["index"] for r in answer["rejected"]] == [2, 3]
    assert "missing 'text'" in answer["rejected"][0]["reason"]
    assert "in the future" in answer["rejected"][1]["reason"]
    with Store.open(config.database) as store:
        rows = store.db.execute(
            "SELECT source, source_id, text_display, created_at FROM posts ORDER BY source_id"
        ).fetchall()
        run = store.db.execute("SELECT fetched, new, rejected FROM run_sources").fetchone()
    assert rows[0] == (
        "ingest",
        "L-1",
        "Sudah 2 bulan KTP belum jadi, NIK [NIK]",
        "2026-11-20T00:00:00Z",
    )
    assert len(rows) == 2 and run == (4, 2, 2)


def test_same_posts_again_are_duplicates_not_new(server, config):
    now = int(time.time())
    post_signed(server.url, POSTS, timestamp=now - 10)
    # a new request (another timestamp), not a replay of the first
    answer = post_signed(server.url, POSTS, timestamp=now - 5).json()
    assert (answer["new"], answer["duplicates"]) == (0, 2)
    with Store.open(config.database) as store:
        assert store.count_posts() == 2


def test_wrong_signature_is_refused_before_the_body_is_parsed(server, config):
    response = post_signed(server.url, None, secret=b"wrong", raw=b"{not json at all")
    assert response.status_code == 401  # not 400: the JSON was never looked at
    assert "signature" in response.json()["error"]
    assert not config.database.exists()


def test_missing_or_stale_timestamp_is_refused(server):
    body = json.dumps(POSTS).encode()
    no_stamp = httpx.post(
        f"{server.url}/ingest", content=body, headers={SIGNATURE_HEADER: "sha256=00"}
    )
    assert no_stamp.status_code == 401
    stale = post_signed(server.url, POSTS, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and "clock" in stale.json()["error"]


def test_an_exact_replay_is_refused(server):
    stamp = str(int(time.time()))
    body = json.dumps(POSTS).encode()
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, body)}
    assert httpx.post(f"{server.url}/ingest", content=body, headers=headers).status_code == 200
    assert httpx.post(f"{server.url}/ingest", content=body, headers=headers).status_code == 409


def test_oversized_body_is_refused_unread(server):
    big = {"posts": [{"id": "x", "text": "a" * 6000, "created_at": "2026-11-20T00:00:00Z"}]}
    response = post_signed(server.url, big)
    assert response.status_code == 413


def test_body_without_content_length_is_refused(server):
    with socket.create_connection(server.server_address[:2]) as sock:
        sock.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = sock.recv(200).decode()
    assert reply.startswith("HTTP/1.1 411")


def test_a_chunked_body_is_read_within_the_limit_and_checked_like_any_other(server, config):
    body = json.dumps(POSTS).encode()
    stamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, body)}
    response = httpx.post(f"{server.url}/ingest", content=iter([body]), headers=headers)
    assert response.status_code == 200 and response.json()["new"] == 2
    too_big = iter([b"x" * 4000, b"x" * 4000])
    response = httpx.post(f"{server.url}/ingest", content=too_big, headers=headers)
    assert response.status_code == 413


def test_signed_but_malformed_json_is_a_400(server):
    response = post_signed(server.url, None, raw=b'{"posts": [')
    assert response.status_code == 400


def test_other_paths_are_404(server):
    assert httpx.get(f"{server.url}/ingest").status_code == 404
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}


def test_without_a_secret_the_server_does_not_start(config):
    with pytest.raises(ValueError, match="MONITOR_INGEST_SECRET"):
        make_server(config, b"", port=0)


def test_serve_ingest_command_runs_and_stops_on_sigterm(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config_path = tmp_path / "monitor.toml"
    config_path.write_text(example_config_text(), encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(config_path),
            "serve-ingest",
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MONITOR_INGEST_SECRET": SECRET.decode(), "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/health")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert post_signed(url, POSTS).json()["new"] == 2
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    with Store.open(tmp_path / "monitor.db") as store:
        assert store.count_posts() == 2
