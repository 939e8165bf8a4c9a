"""The Bluesky collector against a local server that answers like a PDS (bsky.social)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.collectors import CollectContext
from monitor.collectors.bluesky import BlueskyCollector
from monitor.config import HttpConfig, SourceConfig
from monitor.store import Store
from tests.conftest import collect_once
from tests.httpserver import Reply

FIXTURES = Path(__file__).parent / "fixtures" / "bluesky"
LOGIN = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
IDENTIFIER = "pemantau-layanan.bsky.social"
APP_PASSWORD = "kq3x-7yzm-p2ab-9wer"
NAME = "bluesky-kupang"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("TEST_BSKY_ID", IDENTIFIER)
    monkeypatch.setenv("TEST_BSKY_PW", APP_PASSWORD)


@pytest.fixture
def server(http_server):
    """A PDS that logs in and refreshes sessions; each test scripts the search."""
    http_server.route("POST", LOGIN, Reply(json=fixture("session.json")))
    http_server.route("POST", REFRESH, Reply(json=fixture("refresh.json")))
    return http_server


@pytest.fixture
def cfg(config):
    config.http.retries = 2
    config.http.max_wait_seconds = 60
    return config


def bsky_source(server, queries=("pln kupang",), **options) -> SourceConfig:
    return SourceConfig(
        name=NAME,
        type="bluesky",
        region="kota-kupang",
        queries=list(queries),
        base_url=server.url,
        credentials={"identifier": "TEST_BSKY_ID", "app_password": "TEST_BSKY_PW"},
        options={"lang": "id", "max_pages": 10, **options},
    )


def rows(store) -> dict[str, dict]:
    cursor = store.db.execute(
        """SELECT source_id, text, lang, url, platform, region, created_at, is_repost, is_reply,
                  is_quote, parent_source_id, raw
           FROM posts WHERE source = ?""",
        [NAME],
    )
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def cursor_of(store) -> dict | None:
    value = store.get_cursor(NAME)
    return json.loads(value) if value is not None else None


def run_record(store) -> tuple:
    return store.db.execute(
        """SELECT fetched, new, duplicates, rejected, error FROM run_sources
           WHERE source = ? ORDER BY run_id DESC LIMIT 1""",
        [NAME],
    ).fetchone()


def database_text(path: Path) -> str:
    """Every value in the database, to check that no secret was written anywhere."""
    with Store.open(path) as store:
        tables = [
            r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return json.dumps(
            [store.db.execute(f"SELECT * FROM {t}").fetchall() for t in tables], default=str
        )


POST_1 = "at://did:plc:wrg4oebobo7kq2mfs2c00001/app.bsky.feed.post/3lbx7kq2mfs2c"
REPLY = "at://did:plc:kelapalima55vb3q0000000002/app.bsky.feed.post/3lbx6zt4hkk2d"
QUOTE = "at://did:plc:inakupang8h2sx0000000000003/app.bsky.feed.post/3lbx6c2rwe22k"
QUOTE_WITH_MEDIA = "at://did:plc:ulpkupangantre000000000004/app.bsky.feed.post/3lbx4lmnq6s2f"
FEED_LINK = "at://did:plc:infontt77feedpub000000005/app.bsky.feed.post/3lbx2ff5aak2b"
PARENT = "at://did:plc:wrg4oebobo7kq2mfs2c00001/app.bsky.feed.post/3lbx5aa2mfs2c"


# --- success, paging, cursor ---------------------------------------------------------------


def test_login_and_two_pages_are_stored_and_marked(server, cfg, sleeps):
    server.route(
        "GET",
        SEARCH,
        Reply(json=fixture("search_page1.json")),
        Reply(json=fixture("search_page2.json")),
    )
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        stored = rows(store)
        assert (result.fetched, result.new, result.duplicates, result.rejected) == (5, 5, 0, 0)
        assert run_record(store) == (5, 5, 0, 0, "")
        # The newest sortAt (the earlier of createdAt and indexedAt) of the query.
        assert cursor_of(store) == {"pln kupang": "2026-11-21T02:10:11Z"}

    first = stored[POST_1]
    assert first["text"].startswith("Mati lampu lagi di Oebobo, PLN Kupang")
    assert first["url"] == "https://bsky.app/profile/maria-oebobo.bsky.social/post/3lbx7kq2mfs2c"
    assert (first["lang"], first["platform"], first["region"]) == ("id", "bluesky", "kota-kupang")
    assert first["created_at"] == "2026-11-21T02:10:11Z"
    assert (first["is_repost"], first["is_reply"], first["is_quote"]) == (0, 0, 0)
    assert json.loads(first["raw"])["likeCount"] == 6
    assert (stored[REPLY]["is_reply"], stored[REPLY]["parent_source_id"]) == (1, PARENT)
    assert (stored[QUOTE]["is_quote"], stored[QUOTE]["parent_source_id"]) == (1, PARENT)
    with_media = stored[QUOTE_WITH_MEDIA]
    assert with_media["is_quote"] == 1
    assert with_media["parent_source_id"].endswith("/app.bsky.feed.post/3lbx3qq2mfs2a")
    # createdAt lies in the future: the index time bounds it. No handle: the DID names it.
    assert with_media["created_at"] == "2026-11-21T00:40:00Z"
    assert with_media["url"] == (
        "https://bsky.app/profile/did:plc:ulpkupangantre000000000004/post/3lbx4lmnq6s2f"
    )
    assert with_media["lang"] == ""  # the record names no language
    # Embedding a feed generator is not quoting a post.
    assert (stored[FEED_LINK]["is_quote"], stored[FEED_LINK]["parent_source_id"]) == (0, "")

    [login] = server.hits(LOGIN)
    assert json.loads(login.body) == {"identifier": IDENTIFIER, "password": APP_PASSWORD}
    first_search, second_search = server.hits(SEARCH)
    assert first_search.headers["authorization"] == "Bearer test-access-jwt-1"
    assert first_search.query == {
        "q": ["pln kupang"],
        "sort": ["latest"],
        "limit": ["100"],
        "lang": ["id"],
    }
    assert second_search.param("cursor") == "100"
    assert second_search.param("since") is None
    assert APP_PASSWORD not in database_text(cfg.database)
    assert "test-access-jwt" not in database_text(cfg.database)
    assert sleeps.waits == []


def test_the_cursor_moves_only_in_the_batch_of_the_last_page(server, sleeps):
    server.route(
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
        environ={"TEST_BSKY_ID": IDENTIFIER, "TEST_BSKY_PW": APP_PASSWORD},
    )
    batches = list(BlueskyCollector(bsky_source(server), context).fetch(None))
    assert [len(b.posts) for b in batches] == [3, 2]
    assert batches[0].cursor is None
    assert json.loads(batches[1].cursor) == {"pln kupang": "2026-11-21T02:10:11Z"}


def test_a_second_run_asks_since_the_cursor_with_overlap_and_stores_nothing_twice(
    server, cfg, sleeps
):
    server.route("GET", SEARCH, Reply(json=fixture("search_page2.json")))
    source = bsky_source(server, queries=("pln kupang", "pdam kupang"))
    first, store = collect_once(cfg, source, sleeps)
    store.close()
    assert (first.new, first.duplicates) == (2, 2)
    second, store = collect_once(cfg, source, sleeps)
    with store:
        assert (second.fetched, second.new, second.duplicates, second.error) == (4, 0, 4, "")
        assert store.count_posts() == 2
        assert cursor_of(store) == {
            "pdam kupang": "2026-11-21T00:40:00Z",
            "pln kupang": "2026-11-21T00:40:00Z",
        }
    later = server.hits(SEARCH)[2:]
    # 00:40:00 was the newest sortAt; ten minutes earlier catches late-indexed posts.
    assert [r.param("since") for r in later] == ["2026-11-21T00:30:00Z"] * 2
    assert len(server.hits(LOGIN)) == 2  # one session per run


def test_empty_result_keeps_the_cursor(server, cfg, sleeps):
    server.route("GET", SEARCH, Reply(json=fixture("search_empty.json")))
    with Store.open(cfg.database) as store:
        store.set_cursor(NAME, json.dumps({"pln kupang": "2026-11-21T02:10:11Z"}))
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        assert (result.fetched, result.new, result.error) == (0, 0, "")
        assert cursor_of(store) == {"pln kupang": "2026-11-21T02:10:11Z"}
    assert server.hits(SEARCH)[0].param("since") == "2026-11-21T02:00:11Z"


def test_max_pages_stops_the_query_and_says_so(server, cfg, sleeps, caplog):
    server.route("GET", SEARCH, Reply(json=fixture("search_page1.json")))
    with caplog.at_level(logging.WARNING, logger="monitor.collectors.bluesky"):
        result, store = collect_once(cfg, bsky_source(server, max_pages=2), sleeps)
    with store:
        assert (result.fetched, result.new, result.duplicates, result.error) == (6, 3, 3, "")
        assert cursor_of(store) == {"pln kupang": "2026-11-21T02:10:11Z"}
    assert len(server.hits(SEARCH)) == 2
    assert "stopped after max_pages = 2 pages" in caplog.text


# --- rate limits, server errors, timeouts, malformed answers ---------------------------------


def test_429_with_ratelimit_headers_is_waited_out(server, cfg, sleeps):
    reset = int(time.time()) + 5
    server.route(
        "GET",
        SEARCH,
        Reply(
            status=429,
            json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            headers={
                "RateLimit-Limit": "3000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset),
                "RateLimit-Policy": "3000;w=300",
            },
        ),
        Reply(json=fixture("search_page2.json")),
    )
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        assert (result.new, result.error) == (2, "")
        assert cursor_of(store) == {"pln kupang": "2026-11-21T00:40:00Z"}
    assert len(sleeps.waits) == 1 and 2 <= sleeps.waits[0] <= 6


def test_5xx_then_success(server, cfg, sleeps):
    server.route(
        "GET",
        SEARCH,
        Reply(status=502, body="Bad Gateway"),
        Reply(json=fixture("search_page2.json")),
    )
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        assert run_record(store) == (2, 2, 0, 0, "")
    assert len(server.hits(SEARCH)) == 2 and len(sleeps.waits) == 1


def test_timeout_fails_the_source_for_this_run(server, config, sleeps):
    config.http.timeout_seconds = 0.2
    config.http.retries = 1
    server.route("GET", SEARCH, Reply(json=fixture("search_page2.json"), delay=0.6))
    result, store = collect_once(config, bsky_source(server), sleeps)
    with store:
        assert (
            "timed out (no complete answer within" in result.error
            and "(after 2 tries)" in result.error
        )
        assert store.count_posts() == 0 and cursor_of(store) is None


def test_malformed_json_fails_the_source(server, cfg, sleeps):
    server.route("GET", SEARCH, Reply(body='{"posts": [{"uri": ', content_type="application/json"))
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        assert "malformed JSON" in result.error
        assert store.count_posts() == 0 and cursor_of(store) is None


def test_an_answer_without_posts_fails_the_source(server, cfg, sleeps):
    server.route("GET", SEARCH, Reply(json={"cursor": "25"}))
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    store.close()
    assert "no 'posts' list" in result.error


def test_a_post_without_text_is_rejected_and_the_others_stored(server, cfg, sleeps):
    server.route("GET", SEARCH, Reply(json=fixture("search_missing_field.json")))
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        assert (result.fetched, result.new, result.rejected, result.error) == (3, 2, 1, "")
        assert result.rejections == [
            "post at://did:plc:pdamwarga4k2x00000000000007/app.bsky.feed.post/3lby1zz5mfs2c: "
            "missing 'record.text'"
        ]
        assert run_record(store) == (3, 2, 0, 1, "")
        assert cursor_of(store) == {"pln kupang": "2026-11-21T05:00:00Z"}


def test_a_refused_query_fails_the_source_but_the_others_are_stored(server, cfg, sleeps):
    def answer(request):
        if request.param("q").startswith('"'):
            return Reply(status=400, json=fixture("bad_query.json"))
        return Reply(json=fixture("search_page2.json"))

    server.route("GET", SEARCH, answer)
    result, store = collect_once(cfg, bsky_source(server, queries=('"pln', "pdam kupang")), sleeps)
    with store:
        assert result.new == 2
        assert """query '"pln': Bluesky refused the search (400: BadQueryString""" in result.error
        assert cursor_of(store) == {"pdam kupang": "2026-11-21T00:40:00Z"}


# --- sessions ------------------------------------------------------------------------------


def search_by_token(valid: set[str]):
    """Page 1 and 2 for a valid access token, ExpiredToken for any other."""

    def answer(request):
        if request.headers.get("authorization") not in {f"Bearer {t}" for t in valid}:
            return Reply(status=400, json=fixture("expired_token.json"))
        if request.param("cursor") == "100":
            return Reply(json=fixture("search_page2.json"))
        return Reply(json=fixture("search_page1.json"))

    return answer


def test_an_expired_session_mid_run_is_refreshed_and_the_page_retried(server, cfg, sleeps):
    valid = {"test-access-jwt-1"}
    answer = search_by_token(valid)

    def expiring(request):
        reply = answer(request)
        valid.discard("test-access-jwt-1")  # the first access token expires after page 1
        valid.add("test-access-jwt-2")
        return reply

    server.route("GET", SEARCH, expiring)
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        assert (result.fetched, result.new, result.error) == (5, 5, "")
        assert cursor_of(store) == {"pln kupang": "2026-11-21T02:10:11Z"}
    searches = server.hits(SEARCH)
    assert [(r.headers["authorization"], r.param("cursor")) for r in searches] == [
        ("Bearer test-access-jwt-1", None),
        ("Bearer test-access-jwt-1", "100"),  # ExpiredToken
        ("Bearer test-access-jwt-2", "100"),  # the same page again, with the new token
    ]
    [refresh] = server.hits(REFRESH)
    assert refresh.headers["authorization"] == "Bearer test-refresh-jwt-1"
    assert refresh.body == b""
    assert len(server.hits(LOGIN)) == 1


def test_a_refused_refresh_logs_in_again(server, cfg, sleeps):
    server.route(
        "POST", LOGIN, Reply(json=fixture("session.json")), Reply(json=fixture("session_new.json"))
    )
    server.route("POST", REFRESH, Reply(status=400, json=fixture("refresh_refused.json")))

    def answer(request):
        if request.headers.get("authorization") != "Bearer test-access-jwt-3":
            return Reply(
                status=401, json={"error": "AuthMissing", "message": "Authentication Required"}
            )
        return Reply(json=fixture("search_page2.json"))

    server.route("GET", SEARCH, answer)
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    with store:
        assert (result.new, result.error) == (2, "")
    assert len(server.hits(REFRESH)) == 1
    assert len(server.hits(LOGIN)) == 2
    assert [r.headers["authorization"] for r in server.hits(SEARCH)] == [
        "Bearer test-access-jwt-1",
        "Bearer test-access-jwt-3",
    ]


def test_a_session_refused_even_after_renewal_fails_the_source(server, cfg, sleeps):
    server.route("GET", SEARCH, Reply(status=400, json=fixture("expired_token.json")))
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    store.close()
    assert "Bluesky refused a fresh session (400: ExpiredToken" in result.error
    assert len(server.hits(SEARCH)) == 2 and len(server.hits(REFRESH)) == 1


def test_a_refused_login_names_the_variables_but_not_the_secrets(server, cfg, sleeps):
    server.route("POST", LOGIN, Reply(status=401, json=fixture("auth_failed.json")))
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    store.close()
    assert "Bluesky refused the login (401: AuthenticationRequired" in result.error
    assert "TEST_BSKY_ID" in result.error and "TEST_BSKY_PW" in result.error
    assert APP_PASSWORD not in result.error and IDENTIFIER not in result.error
    assert server.hits(SEARCH) == []


def test_a_missing_app_password_variable_is_named(server, cfg, sleeps, monkeypatch):
    monkeypatch.delenv("TEST_BSKY_PW")
    result, store = collect_once(cfg, bsky_source(server), sleeps)
    store.close()
    assert "TEST_BSKY_PW" in result.error and "not set" in result.error
    assert server.requests == []


def test_a_post_with_a_lone_surrogate_is_rejected_by_uri_and_the_cursor_moves(server, cfg, sleeps):
    """Issue 13: "\\ud83d" (a cut emoji) in one post's text cannot be stored as UTF-8;
    that post is named, the other is stored and the cursor moves."""
    page = fixture("search_page2.json")
    bad = page["posts"][1]
    bad["record"]["text"] = "Info gangguan PLN \ud83d"
    server.route("GET", SEARCH, Reply(json=page))
    source = bsky_source(server)
    result, store = collect_once(cfg, source, sleeps)
    with store:
        assert len(rows(store)) == 1 and store.count_posts() == 1
        assert cursor_of(store) == {"pln kupang": "2026-11-21T00:40:00Z"}
    assert (result.new, result.rejected, result.error) == (1, 1, "")
    assert result.rejections[0].startswith(f"post {bad['uri']}: ")
    assert "U+D83D" in result.rejections[0]
    again, store = collect_once(cfg, source, sleeps)
    store.close()
    assert (again.error, again.new) == ("", 0)
