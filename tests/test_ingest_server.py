"""serve-ingest as a server: timeouts, backlog, concurrency and a replay window that
survives a restart. Real sockets on 127.0.0.1 and a real SQLite file; no timings asserted."""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time
from datetime import timedelta

import httpx
import pytest

from monitor.clock import to_iso, utc_now
from monitor.ingest import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    IngestApp,
    serving,
    sign,
)
from monitor.store import Store

SECRET = b"test-shared-secret"
GIVE_UP_SECONDS = 15  # only reached when the server never closes (the fault)


def batch(prefix: str, count: int = 2) -> bytes:
    posts = [
        {"id": f"{prefix}-{n}", "text": f"Air PDAM mati {n}", "created_at": "2026-11-20T09:00:00Z"}
        for n in range(count)
    ]
    return json.dumps({"posts": posts}).encode()


def signed_headers(body: bytes, stamp: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if stamp is None else stamp)
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(SECRET, timestamp, body)}


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed the connection (EOF or reset)."""
    sock.settimeout(GIVE_UP_SECONDS)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


@pytest.fixture
def quick(config):
    """The config with a short connection timeout."""
    config.ingest.timeout_seconds = 0.5
    return config


def test_many_idle_connections_are_closed_and_the_server_still_answers(quick):
    with serving(quick, SECRET, port=0) as server:
        sockets = [socket.create_connection(server.server_address) for _ in range(150)]
        try:
            assert all(closed_by_server(sock) for sock in sockets)
        finally:
            for sock in sockets:
                sock.close()
        assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}


def test_a_body_that_stops_coming_gets_the_connection_closed(quick):
    with serving(quick, SECRET, port=0) as server:
        with socket.create_connection(server.server_address) as sock:
            body = batch("slow")
            head = f"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            headers = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
            sock.sendall((head + headers + "\r\n").encode() + body[:10])
            assert closed_by_server(sock)
        with socket.create_connection(server.server_address) as sock:
            sock.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\n")  # headers never end
            assert closed_by_server(sock)


def test_a_request_trickling_in_byte_by_byte_is_cut_off(quick):
    """Each byte resets an idle timer; the request as a whole still has a deadline."""
    with serving(quick, SECRET, port=0) as server:
        with socket.create_connection(server.server_address) as sock:
            body = b"x" * 100_000
            head = f"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            headers = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
            sock.sendall((head + headers + "\r\n").encode())
            sock.settimeout(0.1)
            closed = False
            for _ in range(GIVE_UP_SECONDS * 10):
                try:
                    sock.send(b"x")
                    closed = sock.recv(1024) == b""
                except TimeoutError:
                    continue
                except OSError:  # reset or broken pipe: closed by the server
                    closed = True
                if closed:
                    break
            assert closed


def test_fifty_concurrent_signed_batches_are_all_taken_and_stored_once(config):
    senders = 50
    start = threading.Barrier(senders)
    statuses: list[int | str] = [0] * senders

    def send(number: int, url: str) -> None:
        body = batch(f"c{number}")
        start.wait()
        try:
            response = httpx.post(
                f"{url}/ingest", content=body, headers=signed_headers(body), timeout=60
            )
            statuses[number] = response.status_code
        except httpx.HTTPError as exc:  # a reset connection: the fault
            statuses[number] = repr(exc)

    with serving(config, SECRET, port=0) as server:
        threads = [threading.Thread(target=send, args=(n, server.url)) for n in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * senders
    with Store.open(config.database) as store:
        assert store.count_posts() == senders * 2
        rows = store.db.execute("SELECT count(*), sum(new) FROM run_sources").fetchone()
    assert rows == (senders, senders * 2)


@pytest.mark.skipif(sys.platform != "linux", reason="reads the backlog through Linux TCP_INFO")
def test_the_listen_backlog_is_the_configured_one(config):
    config.ingest.backlog = 1000
    with serving(config, SECRET, port=0) as server:
        info = server.listening_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    state, *_, max_backlog = struct.unpack_from("8B6I", info)  # tcpi_sacked, when listening
    assert (state, max_backlog) == (10, 1000)  # TCP_LISTEN


def test_an_exact_replay_is_refused_after_a_restart(config):
    body = batch("r")
    now = int(time.time())
    headers = signed_headers(body, now - 10)
    with serving(config, SECRET, port=0) as first:
        response = httpx.post(f"{first.url}/ingest", content=body, headers=headers)
        assert response.status_code == 200 and response.json()["new"] == 2
    with serving(config, SECRET, port=0) as restarted:  # a new server, the same database
        again = httpx.post(f"{restarted.url}/ingest", content=body, headers=headers)
        assert again.status_code == 409
        assert "already received" in again.json()["error"]
        # a new request (another timestamp) with the same posts is taken, as duplicates
        fresh = signed_headers(body, now - 5)
        answer = httpx.post(f"{restarted.url}/ingest", content=body, headers=fresh).json()
        assert (answer["new"], answer["duplicates"]) == (0, 2)
    with Store.open(config.database) as store:
        assert store.count_posts() == 2
        assert store.db.execute("SELECT count(*) FROM run_sources").fetchone() == (2,)


def test_the_replay_window_forgets_only_signatures_older_than_it(tmp_path):
    with Store.open(tmp_path / "monitor.db") as store:
        with store.ingest_request("sha256=old", 600) as first:
            assert first
        with store.ingest_request("sha256=recent", 600) as first:
            assert first
        store.db.execute(
            "UPDATE ingest_seen SET seen_at = ? WHERE signature = 'sha256=old'",
            [to_iso(utc_now() - timedelta(seconds=601))],
        )
        store.db.conn.commit()
        with store.ingest_request("sha256=recent", 600) as first:
            assert not first
        kept = store.db.execute("SELECT signature FROM ingest_seen").fetchall()
    assert kept == [("sha256=recent",)]


def test_a_batch_that_fails_to_store_does_not_use_up_its_signature(tmp_path):
    with Store.open(tmp_path / "monitor.db") as store:
        with pytest.raises(RuntimeError), store.ingest_request("sha256=x", 600):
            raise RuntimeError("the disk filled up while storing")
        with store.ingest_request("sha256=x", 600) as first:
            assert first


@pytest.mark.parametrize("value", ["+12", "12abc", "１２", "1 2", "-1", "0x10", "²"])
def test_a_content_length_that_is_not_ascii_digits_is_a_400(config, value):
    with serving(config, SECRET, port=0) as server:
        with socket.create_connection(server.server_address) as sock:
            sock.sendall(
                b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: "
                + value.encode()
                + b"\r\n\r\n"
                + b"x" * 12
            )
            sock.settimeout(GIVE_UP_SECONDS)
            reply = sock.recv(1024)
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    assert b"Content-Length" in reply


def test_the_app_itself_refuses_such_a_content_length_behind_any_server(config):
    answers = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/ingest", "CONTENT_LENGTH": "１２"}
    body = IngestApp(config, SECRET)(environ, lambda status, headers: answers.append(status))
    assert answers == ["400 Bad Request"]
    assert "ASCII digits" in json.loads(b"".join(body))["error"]
