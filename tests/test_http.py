"""The shared HTTP client against a real local server that misbehaves in scripted ways."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from monitor.collectors import CollectContext, CollectorError
from monitor.collectors import http as http_module
from monitor.collectors.http import (
    HostUnreachable,
    Http,
    SourceStopped,
    reset_moment,
    user_agent,
)
from monitor.config import HttpConfig
from tests.httpserver import Reply

NOW = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def client(server, sleeps, **policy) -> Http:
    context = CollectContext(
        now=NOW,
        timezone="Asia/Makassar",
        http=HttpConfig(**{"timeout_seconds": 2, "retries": 2, "max_wait_seconds": 60, **policy}),
        sleep=sleeps,
    )
    return Http(context, server.url, "test-source")


def test_success_sends_the_project_user_agent(http_server, sleeps):
    http_server.route("GET", "/ok", Reply(json={"a": 1}))
    data, _ = client(http_server, sleeps).get_json("/ok", params={"q": "ktp"})
    assert data == {"a": 1}
    request = http_server.requests[0]
    assert request.headers["user-agent"].startswith("monitor/")
    assert request.param("q") == "ktp"
    assert sleeps.waits == []


def test_5xx_then_success_retries_with_backoff(http_server, sleeps):
    http_server.route("GET", "/flaky", Reply(status=502), Reply(status=503), Reply(json=[1]))
    data, _ = client(http_server, sleeps).get_json("/flaky")
    assert data == [1]
    assert len(http_server.hits("/flaky")) == 3
    assert len(sleeps.waits) == 2 and 0.5 <= sleeps.waits[0] <= 1.5 and sleeps.waits[1] >= 1.0


def test_5xx_that_stays_is_an_error_naming_the_status(http_server, sleeps):
    http_server.route("GET", "/down", Reply(status=500))
    with pytest.raises(CollectorError, match="answered 500 Internal Server Error .after 3 tries"):
        client(http_server, sleeps).get("/down")
    assert len(http_server.hits("/down")) == 3


def test_retry_after_on_503_is_honoured(http_server, sleeps):
    http_server.route(
        "GET", "/busy", Reply(status=503, headers={"Retry-After": "7"}), Reply(json={})
    )
    client(http_server, sleeps).get_json("/busy")
    assert sleeps.waits == [pytest.approx(7, abs=1)]


def test_a_refused_connection_is_not_retried_and_the_host_is_skipped_for_the_run(
    http_server, sleeps
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Dead:
        url = f"http://127.0.0.1:{port}"

    http = client(Dead, sleeps)
    with pytest.raises(HostUnreachable, match="cannot connect .*not retried") as first:
        http.get("/x")
    assert sleeps.waits == []  # no backoff: retrying an unreachable host never helps
    # The next request to that host fails at once with the first error, without
    # touching the network (nothing listens there, and the same words come back).
    with pytest.raises(HostUnreachable) as second:
        http.get("/y")
    assert str(first.value).split(": ", 1)[1] == str(second.value).split(": ", 1)[1]
    # Another host is still asked.
    http_server.route("GET", "/ok", Reply(json={"ok": 1}))
    assert http.get_json(f"{http_server.url}/ok")[0] == {"ok": 1}


def trickling_server(headers_slowly: bool, step: float = 0.25, total_bytes: int = 40):
    """A raw server that answers one byte every ``step`` seconds: the head too, or only
    the body. It stops after ``total_bytes`` body bytes, so a client without a total
    deadline gets a whole (slow) answer instead of hanging the test."""
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                head = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {total_bytes}\r\n\r\n".encode()
                )
                body = b'"' + b"x" * (total_bytes - 2) + b'"'
                payload = (head if headers_slowly else b"") + body
                if not headers_slowly:
                    conn.sendall(head)
                try:
                    for i in range(len(payload)):
                        if stop.is_set():
                            return
                        conn.sendall(payload[i : i + 1])
                        time.sleep(step)
                except OSError:
                    continue  # the client gave up: serve the next one

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    class Server:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        @staticmethod
        def close() -> None:
            stop.set()
            listener.close()

    return Server


@pytest.mark.parametrize("headers_slowly", [False, True], ids=["body", "head"])
def test_a_trickling_server_is_cut_off_at_the_total_deadline(sleeps, headers_slowly):
    # Every byte comes well within the 1 s per-read timeout; the whole answer
    # would take 10 s. Only a deadline on the whole request ends it.
    server = trickling_server(headers_slowly)
    try:
        http = client(server, sleeps, timeout_seconds=1, retries=0)
        with pytest.raises(CollectorError, match=r"timed out \(no complete answer within 1 s\)"):
            http.get_json("/search")
    finally:
        server.close()


def test_the_source_time_budget_stops_it_and_says_it_goes_on_next_run(http_server, sleeps):
    import time

    http_server.route("GET", "/page", Reply(json={"next": 1}, delay=0.3))
    http = client(http_server, sleeps, source_budget_seconds=1)
    http.context.deadline = time.monotonic() + 1.0
    pages = 0
    with pytest.raises(SourceStopped, match="time budget for this run used up .1 s") as stop:
        for _ in range(50):
            http.get_json("/page")
            pages += 1
    assert 1 <= pages < 50
    assert "the rest next run" in str(stop.value)


def test_a_rate_limit_wait_longer_than_the_budget_left_stops_instead_of_waiting(
    http_server, sleeps
):
    import time

    http_server.route("GET", "/limited", Reply(status=429, headers={"Retry-After": "30"}))
    http = client(http_server, sleeps, max_wait_seconds=60)
    http.context.deadline = time.monotonic() + 5.0
    with pytest.raises(SourceStopped):
        http.get("/limited")
    assert sleeps.waits == []  # 30 s is within max_wait_seconds but not within the budget


def test_slow_response_times_out(http_server, sleeps):
    http_server.route("GET", "/slow", Reply(json={}, delay=0.6))
    with pytest.raises(
        CollectorError, match=r"timed out \(no complete answer within 0.2 s\) \(after 2 tries"
    ):
        client(http_server, sleeps, timeout_seconds=0.2, retries=1).get("/slow")


def test_body_cut_off_is_retried(http_server, sleeps):
    http_server.route(
        "GET", "/cut", Reply(json={"data": "x" * 500}, cut_off=True), Reply(json={"ok": 1})
    )
    data, _ = client(http_server, sleeps).get_json("/cut")
    assert data == {"ok": 1}


def test_short_429_is_waited_out(http_server, sleeps):
    http_server.route(
        "GET", "/limited", Reply(status=429, headers={"Retry-After": "5"}), Reply(json={"ok": 1})
    )
    assert client(http_server, sleeps).get_json("/limited")[0] == {"ok": 1}
    assert sleeps.waits == [pytest.approx(5, abs=1)]


def test_long_429_stops_the_source_and_says_when(http_server, sleeps):
    reset = datetime.now(UTC) + timedelta(minutes=15)
    http_server.route(
        "GET",
        "/limited",
        Reply(status=429, headers={"x-rate-limit-reset": str(int(reset.timestamp()))}),
    )
    with pytest.raises(SourceStopped, match="may resume at .* WITA") as caught:
        client(http_server, sleeps).get("/limited")
    assert abs((caught.value.resume_at - reset).total_seconds()) <= 1
    assert sleeps.waits == []
    assert len(http_server.hits("/limited")) == 1


def test_remaining_zero_waits_before_the_next_request(http_server, sleeps):
    reset = datetime.now(UTC) + timedelta(seconds=30)
    http_server.route(
        "GET",
        "/page",
        Reply(
            json={},
            headers={"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(reset.timestamp()))},
        ),
        Reply(json={}),
    )
    http = client(http_server, sleeps)
    http.get("/page")
    assert sleeps.waits == []
    http.get("/page")
    assert len(sleeps.waits) == 1 and 25 <= sleeps.waits[0] <= 31


def test_html_error_page_where_json_was_expected(http_server, sleeps):
    http_server.route(
        "GET", "/api", Reply(body="<html><body>Bad gateway</body></html>", content_type="text/html")
    )
    with pytest.raises(CollectorError, match="expected JSON, got 'text/html'.*Bad gateway"):
        client(http_server, sleeps).get_json("/api")


def test_malformed_json(http_server, sleeps):
    http_server.route("GET", "/api", Reply(body='{"data": [1, 2', content_type="application/json"))
    with pytest.raises(CollectorError, match="malformed JSON"):
        client(http_server, sleeps).get_json("/api")


def test_huge_response_is_refused(http_server, sleeps, monkeypatch):
    monkeypatch.setattr(http_module, "MAX_BODY_BYTES", 1024)
    http_server.route("GET", "/huge", Reply(body="x" * 5000))
    with pytest.raises(CollectorError, match="larger than"):
        client(http_server, sleeps).get("/huge")


def test_4xx_is_an_error_unless_the_caller_handles_it(http_server, sleeps):
    http_server.route("GET", "/gone", Reply(status=404, json={"error": "Record not found"}))
    with pytest.raises(CollectorError, match="404 Not Found.*Record not found"):
        client(http_server, sleeps).get("/gone")
    response = client(http_server, sleeps).get("/gone", ok_statuses=(404,))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Retry-After": "120"}, NOW + timedelta(seconds=120)),
        ({"Retry-After": "Sat, 21 Nov 2026 00:05:00 GMT"}, NOW + timedelta(minutes=5)),
        ({"x-rate-limit-reset": "1795219500"}, datetime.fromtimestamp(1795219500, UTC)),
        ({"X-RateLimit-Reset": "2026-11-21T00:10:00.000Z"}, NOW + timedelta(minutes=10)),
        ({"RateLimit-Reset": "1795219800"}, datetime.fromtimestamp(1795219800, UTC)),
        ({"Other": "1"}, None),
    ],
)
def test_reset_headers_of_each_api(headers, expected):
    assert reset_moment(headers, NOW) == expected


def test_user_agent_names_project_and_contact():
    assert user_agent("ops@example.org").endswith("; ops@example.org)")
