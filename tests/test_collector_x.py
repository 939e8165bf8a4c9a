"""The X recent-search collector against a local server that answers like the X API v2."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.collectors import CollectContext
from monitor.collectors.x import XCollector, iso_lang, search_query
from monitor.config import HttpConfig, SourceConfig
from monitor.store import Store
from tests.conftest import collect_once
from tests.httpserver import Reply

FIXTURES = Path(__file__).parent / "fixtures" / "x"
SEARCH = "/2/tweets/search/recent"
TOKEN = "x-test-bearer-AAAA-never-log-me"
NAME = "x-kupang"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def bearer_token(monkeypatch):
    monkeypatch.setenv("TEST_X_BEARER", TOKEN)


@pytest.fixture
def fast_http(config):
    config.http.retries = 2
    config.http.max_wait_seconds = 60
    return config


def x_source(server, queries=("dukcapil kupang",), **options) -> SourceConfig:
    values = {
        "max_posts_per_run": 500,
        "max_posts_per_month": 10_000,
        "exclude_retweets": False,
        "lang": "id",
        **options,
    }
    return SourceConfig(
        name=NAME,
        type="x",
        region="kota-kupang",
        queries=list(queries),
        base_url=server.url,
        credentials={"bearer_token": "TEST_X_BEARER"},
        options=values,
    )


def rows(store) -> list[dict]:
    cursor = store.db.execute(
        """SELECT source_id, text, lang, url, platform, region, created_at, is_repost, is_reply,
                  is_quote, parent_source_id, raw
           FROM posts WHERE source = ? ORDER BY source_id DESC""",
        [NAME],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def cursor_of(store) -> dict | None:
    value = store.get_cursor(NAME)
    return json.loads(value) if value is not None else None


def run_record(store) -> tuple:
    return store.db.execute(
        """SELECT fetched, new, duplicates, rejected, error FROM run_sources
           WHERE source = ? ORDER BY run_id DESC LIMIT 1""",
        [NAME],
    ).fetchone()


def page_of(count: int, newest: int, next_token: str | None = None) -> dict:
    """A search answer with ``count`` invented posts, ids counting down from ``newest``."""
    data = [
        {
            "id": str(newest - i),
            "text": f"Air PDAM Kupang mati lagi hari ke-{i + 1}, tolong diperbaiki",
            "created_at": "2026-11-21T02:00:00.000Z",
            "lang": "in",
            "author_id": "8810010",
            "conversation_id": str(newest - i),
            "edit_history_tweet_ids": [str(newest - i)],
        }
        for i in range(count)
    ]
    meta: dict = {"result_count": count}
    if data:
        meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
    if next_token:
        meta["next_token"] = next_token
    users = [{"id": "8810010", "name": "Budi", "username": "budi_kpg"}]
    return {"data": data, "includes": {"users": users}, "meta": meta} if data else {"meta": meta}


# --- success, paging, cursor ---------------------------------------------------------------


def test_two_pages_are_stored_marked_and_the_cursor_is_the_newest_id(
    http_server, fast_http, sleeps
):
    http_server.route(
        "GET",
        SEARCH,
        Reply(json=fixture("search_page1.json")),
        Reply(json=fixture("search_page2.json")),
    )
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        stored = rows(store)
        assert (result.fetched, result.new, result.duplicates, result.rejected) == (5, 5, 0, 0)
        assert result.error == ""
        assert run_record(store) == (5, 5, 0, 0, "")
        assert cursor_of(store) == {"dukcapil kupang": "1991500000000000103"}
    by_id = {r["source_id"]: r for r in stored}
    first = by_id["1991500000000000103"]
    assert first["text"] == (
        "Sudah 3 minggu urus KTP di Dukcapil Kota Kupang & belum jadi juga. "
        "Katanya blanko habis >_<"
    )
    assert first["lang"] == "id"  # X says "in"
    assert first["url"] == "https://x.com/warga_oesapa/status/1991500000000000103"
    assert (first["platform"], first["region"]) == ("x", "kota-kupang")
    assert first["created_at"] == "2026-11-21T01:12:05Z"
    assert (first["is_repost"], first["is_reply"], first["is_quote"]) == (0, 0, 0)
    reply = by_id["1991500000000000102"]
    assert (reply["is_reply"], reply["parent_source_id"]) == (1, "1991499999999999001")
    quote = by_id["1991500000000000101"]
    assert (quote["is_quote"], quote["parent_source_id"]) == (1, "1991400000000000777")
    repost = by_id["1991500000000000099"]
    assert (repost["is_repost"], repost["parent_source_id"]) == (1, "1991500000000000050")
    assert by_id["1991500000000000098"]["lang"] == ""  # "qme": media only, no language
    raw = json.loads(first["raw"])
    assert raw["public_metrics"]["like_count"] == 17
    assert TOKEN not in json.dumps([r["raw"] for r in stored])

    first_request, second_request = http_server.hits(SEARCH)
    assert first_request.headers["authorization"] == f"Bearer {TOKEN}"
    assert first_request.param("query") == "dukcapil kupang lang:id"
    assert first_request.param("max_results") == "100"
    assert first_request.param("tweet.fields") == (
        "created_at,lang,author_id,conversation_id,referenced_tweets,public_metrics"
    )
    assert first_request.param("expansions") == "author_id"
    assert first_request.param("user.fields") == "username,name"
    assert first_request.param("since_id") is None and first_request.param("next_token") is None
    assert second_request.param("next_token") == "b26v89c19zqg8o3fpdp5rkg1yd6t0f3hiq0dj3p6wlkhp"
    assert sleeps.waits == []


def test_the_cursor_moves_only_in_the_batch_of_the_last_page(http_server, sleeps):
    http_server.route(
        "GET",
        SEARCH,
        Reply(json=fixture("search_page1.json")),
        Reply(json=fixture("search_page2.json")),
    )
    context = CollectContext(
        now=datetime(2026, 11, 22, tzinfo=UTC),
        timezone="Asia/Makassar",
        http=HttpConfig(timeout_seconds=2, retries=0),
        sleep=sleeps,
        environ={"TEST_X_BEARER": TOKEN},
    )
    batches = list(XCollector(x_source(http_server), context).fetch(None))
    assert [len(b.posts) for b in batches] == [3, 2]
    assert batches[0].cursor is None
    assert json.loads(batches[1].cursor) == {"dukcapil kupang": "1991500000000000103"}


def test_a_second_run_sends_since_id_and_stores_nothing_twice(http_server, fast_http, sleeps):
    http_server.route("GET", SEARCH, Reply(json=fixture("search_page2.json")))
    source = x_source(http_server, queries=("dukcapil kupang", "pdam kupang"))
    first, store = collect_once(fast_http, source, sleeps)
    store.close()
    assert first.new == 2  # both queries found the same two posts
    assert first.duplicates == 2
    second, store = collect_once(fast_http, source, sleeps)
    with store:
        assert (second.fetched, second.new, second.duplicates) == (4, 0, 4)
        assert store.count_posts() == 2
        assert cursor_of(store) == {
            "dukcapil kupang": "1991500000000000099",
            "pdam kupang": "1991500000000000099",
        }
    later = http_server.hits(SEARCH)[2:]
    assert [r.param("since_id") for r in later] == ["1991500000000000099"] * 2
    assert [r.param("query") for r in later] == ["dukcapil kupang lang:id", "pdam kupang lang:id"]


def test_query_operators_for_language_retweets_and_or():
    assert search_query("dukcapil kupang", "id", False) == "dukcapil kupang lang:id"
    assert search_query("pdam OR pln", "id", True) == "(pdam OR pln) lang:id -is:retweet"
    assert search_query("rsud lerik lang:en", "id", False) == "rsud lerik lang:en"


def test_exclude_retweets_is_sent(http_server, fast_http, sleeps):
    http_server.route("GET", SEARCH, Reply(json=fixture("search_empty.json")))
    collect_once(fast_http, x_source(http_server, exclude_retweets=True), sleeps)[1].close()
    assert http_server.hits(SEARCH)[0].param("query") == "dukcapil kupang lang:id -is:retweet"


@pytest.mark.parametrize(
    ("code", "iso"),
    [("in", "id"), ("id", "id"), ("en", "en"), ("und", ""), ("qme", ""), (None, "")],
)
def test_x_language_codes_become_iso_639_1(code, iso):
    assert iso_lang(code) == iso


def test_empty_result_keeps_the_cursor(http_server, fast_http, sleeps):
    http_server.route("GET", SEARCH, Reply(json=fixture("search_empty.json")))
    source = x_source(http_server)
    result, store = collect_once(fast_http, source, sleeps)
    with store:
        assert (result.fetched, result.new, result.error) == (0, 0, "")
        assert cursor_of(store) is None
        store.set_cursor(NAME, json.dumps({"dukcapil kupang": "1991500000000000103"}))
    result, store = collect_once(fast_http, source, sleeps)
    with store:
        assert result.error == ""
        assert cursor_of(store) == {"dukcapil kupang": "1991500000000000103"}
    assert http_server.hits(SEARCH)[1].param("since_id") == "1991500000000000103"


# --- rate limits, server errors, timeouts, malformed answers ---------------------------------


def test_429_with_x_rate_limit_reset_is_waited_out(http_server, fast_http, sleeps):
    reset = int(time.time()) + 5
    http_server.route(
        "GET",
        SEARCH,
        Reply(
            status=429,
            json={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
            headers={
                "x-rate-limit-limit": "450",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        ),
        Reply(json=fixture("search_page2.json")),
    )
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        assert (result.new, result.error) == (2, "")
        assert cursor_of(store) == {"dukcapil kupang": "1991500000000000099"}
    assert len(sleeps.waits) == 1 and 2 <= sleeps.waits[0] <= 6
    assert len(http_server.hits(SEARCH)) == 2


def test_a_long_429_mid_query_keeps_page_one_and_leaves_the_cursor(http_server, fast_http, sleeps):
    reset = int(time.time()) + 15 * 60
    http_server.route(
        "GET",
        SEARCH,
        Reply(json=fixture("search_page1.json")),
        Reply(
            status=429,
            json={"title": "Too Many Requests"},
            headers={"x-rate-limit-reset": str(reset)},
        ),
    )
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        assert result.error == ""
        assert "rate limited (429)" in result.stopped and "may resume at" in result.stopped
        assert (result.fetched, result.new) == (3, 3)
        assert store.count_posts() == 3
        assert cursor_of(store) is None  # the query was not read to its end
    assert sleeps.waits == []


def test_5xx_then_success(http_server, fast_http, sleeps):
    http_server.route(
        "GET",
        SEARCH,
        Reply(status=503, json={"title": "Service Unavailable"}),
        Reply(json=fixture("search_page2.json")),
    )
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        assert (result.new, result.error) == (2, "")
        assert run_record(store) == (2, 2, 0, 0, "")
    assert len(http_server.hits(SEARCH)) == 2
    assert len(sleeps.waits) == 1


def test_timeout_fails_the_source_for_this_run(http_server, config, sleeps):
    config.http.timeout_seconds = 0.2
    config.http.retries = 1
    http_server.route("GET", SEARCH, Reply(json=fixture("search_page2.json"), delay=0.6))
    result, store = collect_once(config, x_source(http_server), sleeps)
    with store:
        assert (
            "timed out (no complete answer within" in result.error
            and "(after 2 tries)" in result.error
        )
        assert store.count_posts() == 0
        assert cursor_of(store) is None
        assert run_record(store)[:2] == (0, 0)


def test_malformed_json_fails_the_source_with_a_clear_error(http_server, fast_http, sleeps):
    http_server.route(
        "GET", SEARCH, Reply(body='{"data": [{"id": "1"', content_type="application/json")
    )
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        assert "malformed JSON" in result.error
        assert store.count_posts() == 0 and cursor_of(store) is None


@pytest.mark.parametrize(
    "answer, said",
    [
        ({}, "keys: none"),
        ({"includes": {"users": []}}, "keys: includes"),
        ({"errors": [{"message": "Service unavailable for this query"}]}, "Service unavailable"),
    ],
    ids=["empty-object", "includes-only", "errors-only"],
)
def test_an_answer_with_neither_data_nor_meta_fails_the_source(
    http_server, fast_http, sleeps, answer, said
):
    # An empty search is {"meta": {"result_count": 0}}; without both keys the answer is
    # not a search result and must not read as "nothing new".
    http_server.route("GET", SEARCH, Reply(json=answer))
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        assert "neither 'data' nor 'meta'" in result.error and said in result.error
        assert store.count_posts() == 0 and cursor_of(store) is None


def test_an_html_error_page_fails_the_source(http_server, fast_http, sleeps):
    http_server.route(
        "GET",
        SEARCH,
        Reply(body="<html><body>Over capacity</body></html>", content_type="text/html"),
    )
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    store.close()
    assert "expected JSON, got 'text/html'" in result.error


def test_a_record_without_text_is_rejected_and_partial_errors_are_logged(
    http_server, fast_http, sleeps, caplog
):
    http_server.route("GET", SEARCH, Reply(json=fixture("search_missing_field.json")))
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.x"):
        result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        assert (result.fetched, result.new, result.rejected, result.error) == (3, 2, 1, "")
        assert result.rejections == ["tweet 1991600000000000209: missing 'text'"]
        assert run_record(store) == (3, 2, 0, 1, "")
        stored = {r["source_id"]: r for r in rows(store)}
        assert cursor_of(store) == {"dukcapil kupang": "1991600000000000210"}
    assert set(stored) == {"1991600000000000210", "1991600000000000208"}
    # The author X could not find: the post is kept, with a URL that needs no username.
    assert stored["1991600000000000208"]["url"] == "https://x.com/i/web/status/1991600000000000208"
    assert "1 partial error(s)" in caplog.text and "Could not find user" in caplog.text


# --- credentials and access ----------------------------------------------------------------


def test_401_says_the_token_is_wrong_without_showing_it(http_server, fast_http, sleeps):
    http_server.route("GET", SEARCH, Reply(status=401, json=fixture("error_401.json")))
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    store.close()
    assert "refused the bearer token (401" in result.error
    assert "TEST_X_BEARER" in result.error and TOKEN not in result.error


def test_403_says_the_token_lacks_access(http_server, fast_http, sleeps):
    http_server.route("GET", SEARCH, Reply(status=403, json=fixture("error_403.json")))
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    store.close()
    assert "403 Forbidden" in result.error and "lacks access to recent search" in result.error
    assert "client-not-enrolled" in result.error and TOKEN not in result.error


def test_missing_token_environment_variable_is_named(http_server, fast_http, sleeps, monkeypatch):
    monkeypatch.delenv("TEST_X_BEARER")
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    store.close()
    assert "TEST_X_BEARER" in result.error and "not set" in result.error
    assert http_server.requests == []


def test_a_since_id_older_than_seven_days_restarts_the_query(http_server, fast_http, sleeps):
    http_server.route(
        "GET",
        SEARCH,
        Reply(status=400, json=fixture("error_400_since_id.json")),
        Reply(json=fixture("search_page2.json")),
    )
    with Store.open(fast_http.database) as store:
        store.set_cursor(NAME, json.dumps({"dukcapil kupang": "1980000000000000000"}))
    result, store = collect_once(fast_http, x_source(http_server), sleeps)
    with store:
        assert (result.new, result.error) == (2, "")
        assert cursor_of(store) == {"dukcapil kupang": "1991500000000000099"}
    first, second = http_server.hits(SEARCH)
    assert first.param("since_id") == "1980000000000000000"
    assert second.param("since_id") is None


def test_a_refused_query_fails_the_source_but_the_others_are_stored(http_server, fast_http, sleeps):
    def answer(request):
        if request.param("query").startswith("(pdam"):
            return Reply(status=400, json=fixture("error_400_query.json"))
        return Reply(json=fixture("search_page2.json"))

    http_server.route("GET", SEARCH, answer)
    source = x_source(http_server, queries=("(pdam kupang", "dukcapil kupang"))
    result, store = collect_once(fast_http, source, sleeps)
    with store:
        assert result.new == 2
        assert "query '(pdam kupang': X refused it (400" in result.error
        assert "Missing closing parenthesis" in result.error
        assert cursor_of(store) == {"dukcapil kupang": "1991500000000000099"}


# --- the paid-read budget ------------------------------------------------------------------


def busy_and_quiet(request):
    """'pdam kupang' always has another full page; 'pln kupang' has five posts."""
    size = int(request.param("max_results"))
    if request.param("query").startswith("pdam"):
        since_id = request.param("since_id")
        newest = int(since_id) + 100_000 if since_id else 1991700000000000000
        token = request.param("next_token")
        page = int(token[1:]) if token else 0
        return Reply(json=page_of(size, newest - page * 1000, f"p{page + 1}"))
    return Reply(json=page_of(5, 1991800000000000000))


def test_run_budget_is_shared_between_queries_and_stops_cleanly(
    http_server, fast_http, sleeps, caplog
):
    http_server.route("GET", SEARCH, busy_and_quiet)
    source = x_source(http_server, queries=("pdam kupang", "pln kupang"), max_posts_per_run=40)
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.x"):
        result, store = collect_once(fast_http, source, sleeps)
    with store:
        assert (result.fetched, result.new, result.error) == (40, 40, "")
        # The busy query was cut short: its cursor still moves to the newest post read.
        assert cursor_of(store) == {
            "pdam kupang": "1991700000000000000",
            "pln kupang": "1991800000000000000",
        }
    sent = [(r.param("query"), r.param("max_results")) for r in http_server.hits(SEARCH)]
    assert sent == [
        ("pdam kupang lang:id", "20"),  # a fair half of 40 first
        ("pln kupang lang:id", "20"),  # returned 5: 15 left for the busy query
        ("pdam kupang lang:id", "15"),
    ]
    assert "run budget reached: 40 posts read, max_posts_per_run = 40" in caplog.text
    assert "not read to the end" in caplog.text and "'pdam kupang'" in caplog.text


def test_month_budget_counts_earlier_runs_and_stops_before_sending(
    http_server, fast_http, sleeps, caplog
):
    http_server.route("GET", SEARCH, busy_and_quiet)
    source = x_source(
        http_server, queries=("pdam kupang",), max_posts_per_run=30, max_posts_per_month=45
    )
    first, store = collect_once(fast_http, source, sleeps)
    store.close()
    assert (first.fetched, first.error) == (30, "")
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.x"):
        second, store = collect_once(fast_http, source, sleeps)
    store.close()
    assert (second.fetched, second.error) == (15, "")  # 45 - 30 left this month
    assert "monthly budget reached: 45 posts read this month" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.x"):
        third, store = collect_once(fast_http, source, sleeps)
    with store:
        assert (third.fetched, third.new, third.error) == (0, 0, "")
        assert store.count_posts() == 45
    sent = [(r.param("max_results"), r.param("since_id")) for r in http_server.hits(SEARCH)]
    assert sent == [("30", None), ("15", "1991700000000000000")]
    assert "no search sent this run" in caplog.text


def test_a_budget_below_ten_stops_before_any_query(http_server, fast_http, sleeps, caplog):
    http_server.route("GET", SEARCH, busy_and_quiet)
    source = x_source(http_server, queries=("pdam kupang", "pln kupang"), max_posts_per_run=25)
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.x"):
        result, store = collect_once(fast_http, source, sleeps)
    store.close()
    # 12 for the first query (a fair half, at least 10), 13 for the second, which
    # returns 5; 8 are left, fewer than X's smallest page, so the run stops there.
    sent = [(r.param("query"), r.param("max_results")) for r in http_server.hits(SEARCH)]
    assert sent == [("pdam kupang lang:id", "12"), ("pln kupang lang:id", "13")]
    assert (result.fetched, result.error) == (17, "")
    assert "run budget reached: 17 posts read" in caplog.text
