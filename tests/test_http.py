"""The shared HTTP client against a real local server that misbehaves in scripted ways."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from monitor.collectors import CollectContext, CollectorError
from monitor.collectors import http as http_module
from monitor.collectors.http import Http, SourceStopped, reset_moment, user_agent
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


def test_connection_refused_is_reported_after_retries(sleeps):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Dead:
        url = f"http://127.0.0.1:{port}"

    with pytest.raises(CollectorError, match="cannot connect"):
        client(Dead, sleeps).get("/x")
    assert len(sleeps.waits) == 2


def test_slow_response_times_out(http_server, sleeps):
    http_server.route("GET", "/slow", Reply(json={}, delay=0.6))
    with pytest.raises(CollectorError, match="timed out .after 2 tries"):
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
