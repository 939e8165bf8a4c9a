"""Mastodon collector against a local server that pages like a real instance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.collectors import CollectContext
from monitor.collectors import mastodon as mastodon_module
from monitor.collectors.mastodon import MastodonCollector
from monitor.config import HttpConfig, SourceConfig
from tests.conftest import collect_once
from tests.httpserver import Reply, Request

FIXTURES = Path(__file__).parent / "fixtures" / "mastodon"
TAG_PATH = "/api/v1/timelines/tag/kupang"
SEARCH_PATH = "/api/v2/search"
TOKEN = "masto-test-token-5f1c"  # a fake secret: it must never reach the store or errors


def load(name: str):
    return json.loads((FIXTURES / name).read_text("utf-8"))


def id_key(status: dict) -> int:
    return int(status["id"])


class FakeInstance:
    """A tag timeline and a status search that page the way Mastodon documents it.

    Timelines: newest first; ``max_id`` = older than, ``since_id`` = newer than,
    ``min_id`` = the statuses immediately newer than it (still newest first); a
    ``Link`` header with rel="next" (max_id = the page's oldest) and rel="prev"
    (min_id = the page's newest), left out when the page is empty.
    Search: newest first, ``min_id`` as a lower bound, ``offset``; no Link header.
    """

    def __init__(self, server, statuses=(), search=()):
        self.server = server
        self.statuses = sorted(statuses, key=id_key, reverse=True)
        self.search_statuses = sorted(search, key=id_key, reverse=True)
        self.link_host = server.url

    def add(self, statuses) -> None:
        self.statuses = sorted([*self.statuses, *statuses], key=id_key, reverse=True)

    def timeline(self, request: Request) -> Reply:
        limit = min(int(request.param("limit", "20")), 40)
        items = self.statuses
        if max_id := request.param("max_id"):
            items = [s for s in items if int(s["id"]) < int(max_id)]
        if since_id := request.param("since_id"):
            items = [s for s in items if int(s["id"]) > int(since_id)]
        if min_id := request.param("min_id"):
            page = [s for s in items if int(s["id"]) > int(min_id)][-limit:]
        else:
            page = items[:limit]
        headers = {}
        if page:
            base = f"{self.link_host}{request.path}"
            headers["Link"] = (
                f'<{base}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                f'<{base}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return Reply(json=page, headers=headers)

    def search(self, request: Request) -> Reply:
        assert request.param("type") == "statuses"
        limit = min(int(request.param("limit", "20")), 40)
        offset = int(request.param("offset", "0"))
        items = self.search_statuses
        if min_id := request.param("min_id"):
            items = [s for s in items if int(s["id"]) > int(min_id)]
        page = items[offset : offset + limit]
        return Reply(json={"accounts": [], "statuses": page, "hashtags": []})

    def serve(self) -> FakeInstance:
        self.server.route("GET", TAG_PATH, self.timeline)
        self.server.route("GET", SEARCH_PATH, self.search)
        return self


def make_source(server, queries=("#kupang",), max_pages=10, **fields) -> SourceConfig:
    return SourceConfig(
        name="mastodon-kupang",
        type="mastodon",
        region="kota-kupang",
        queries=list(queries),
        base_url=server.url,
        options={"max_pages": max_pages},
        **fields,
    )


def context(sleeps, environ=None) -> CollectContext:
    return CollectContext(
        now=datetime.now(UTC),
        timezone="Asia/Makassar",
        http=HttpConfig(timeout_seconds=2, retries=2, max_wait_seconds=60),
        sleep=sleeps,
        environ=environ or {},
    )


def rows(store) -> dict[str, dict]:
    cursor = store.db.execute("SELECT * FROM posts ORDER BY source_id")
    names = [c[0] for c in cursor.description]
    return {r[names.index("source_id")]: dict(zip(names, r, strict=True)) for r in cursor}


def cursor_of(store) -> dict | None:
    value = store.get_cursor("mastodon-kupang")
    return json.loads(value) if value else None


@pytest.fixture
def small_pages(monkeypatch):
    """Two statuses a page, so a handful of fixtures spans several pages."""
    monkeypatch.setattr(mastodon_module, "PAGE_LIMIT", 2)


# --- first run, paging, cursor ----------------------------------------------------------


def test_first_run_reads_newest_pages_backwards_and_saves_the_newest_id(
    config, http_server, sleeps, small_pages
):
    FakeInstance(http_server, load("tag_kupang.json")).serve()
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        posts = rows(store)
        assert cursor_of(store) == {"#kupang": "113500000000000106"}
    assert (result.fetched, result.new, result.duplicates, result.rejected) == (6, 6, 0, 0)
    assert result.error == ""
    sent = [(r.param("min_id"), r.param("max_id"), r.param("limit")) for r in http_server.requests]
    assert sent == [
        (None, None, "2"),
        (None, "113500000000000105", "2"),
        (None, "113500000000000103", "2"),
        (None, "113500000000000101", "2"),
    ]
    assert all("authorization" not in r.headers for r in http_server.requests)

    plain = posts["113500000000000102"]
    assert plain["text"] == (
        "Su tiga minggu beta urus KTP di Dukcapil Kota Kupang, blanko habis terus. "
        "Sonde ada kepastian & sonde ada info. #kupang"
    )
    assert plain["created_at"] == "2026-11-20T01:15:42Z"
    assert plain["url"] == "https://mastodon.example/@yohanes_oebobo/113500000000000102"
    assert (plain["platform"], plain["lang"], plain["region"]) == ("mastodon", "id", "kota-kupang")
    assert (plain["is_repost"], plain["is_reply"], plain["parent_source_id"]) == (0, 0, "")

    boost = posts["113500000000000104"]
    assert (boost["is_repost"], boost["parent_source_id"]) == (1, "113500000000000150")
    assert boost["text"].startswith("Air PDAM di Oesapa Barat mati dari hari Senin")
    assert boost["lang"] == "id"  # from the boosted status; the boost itself has none
    assert boost["url"] == "https://fedi.example.id/@nona_oesapa/113500000000000150"
    assert json.loads(boost["raw"])["reblog"]["id"] == "113500000000000150"

    reply = posts["113500000000000103"]
    assert (reply["is_reply"], reply["parent_source_id"]) == (1, "113500000000000102")
    assert reply["text"].startswith("@yohanes_oebobo sama, beta pung adik juga.")

    warned = posts["113500000000000105"]
    assert warned["text"].startswith("keluhan layanan rumah sakit\n\nAntrean di poli")
    assert posts["113500000000000101"]["lang"] == "id"  # the old code "in"
    assert "<" not in "".join(p["text"] for p in posts.values())


def test_first_run_moves_the_cursor_only_after_its_last_page(http_server, sleeps, small_pages):
    FakeInstance(http_server, load("tag_kupang.json")).serve()
    batches = list(MastodonCollector(make_source(http_server), context(sleeps)).fetch(None))
    assert [len(b.posts) for b in batches] == [2, 2, 2, 0]
    assert [b.cursor for b in batches[:-1]] == [None, None, None]
    assert json.loads(batches[-1].cursor) == {"#kupang": "113500000000000106"}
    post = {p.source_id: p for b in batches for p in b.posts}["113500000000000104"]
    assert (post.author_id, post.author_handle) == (
        "110200300400500602",
        "maria_lasiana@kupang.social",
    )


def test_second_run_pages_forward_from_the_saved_min_id(config, http_server, sleeps, small_pages):
    instance = FakeInstance(http_server, load("tag_kupang.json")).serve()
    collect_once(config, make_source(http_server), sleeps)[1].close()
    instance.add(load("tag_kupang_newer.json"))
    http_server.requests.clear()

    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert cursor_of(store) == {"#kupang": "113500000000000109"}
        assert len(rows(store)) == 9
    assert (result.fetched, result.new, result.duplicates, result.error) == (3, 3, 0, "")
    sent = [(r.param("min_id"), r.param("max_id")) for r in http_server.requests]
    assert sent == [
        ("113500000000000106", None),  # the saved cursor
        ("113500000000000108", None),  # rel="prev" of the first page: newer
        ("113500000000000109", None),  # ... and again, until an empty page
    ]

    http_server.requests.clear()
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert cursor_of(store) == {"#kupang": "113500000000000109"}
    assert (result.fetched, result.new, result.duplicates) == (0, 0, 0)
    assert [r.param("min_id") for r in http_server.requests] == ["113500000000000109"]


def test_forward_pages_each_carry_their_cursor(http_server, sleeps, small_pages):
    FakeInstance(http_server, load("tag_kupang.json") + load("tag_kupang_newer.json")).serve()
    cursor = json.dumps({"#kupang": "113500000000000104"})
    batches = list(MastodonCollector(make_source(http_server), context(sleeps)).fetch(cursor))
    assert [sorted(p.source_id[-3:] for p in b.posts) for b in batches] == [
        ["105", "106"],
        ["107", "108"],
        ["109"],
    ]
    assert [json.loads(b.cursor)["#kupang"][-3:] for b in batches] == ["106", "108", "109"]


def test_max_pages_stops_the_run_and_the_next_run_goes_on(config, http_server, sleeps, small_pages):
    FakeInstance(http_server, load("tag_kupang.json") + load("tag_kupang_newer.json")).serve()
    with collect_once(config, make_source(http_server), sleeps)[1] as store:
        store.set_cursor("mastodon-kupang", json.dumps({"#kupang": "113500000000000104"}))
    http_server.requests.clear()

    result, store = collect_once(config, make_source(http_server, max_pages=2), sleeps)
    with store:
        assert cursor_of(store) == {"#kupang": "113500000000000108"}
    assert (result.fetched, result.new, result.duplicates) == (4, 0, 4)
    assert len(http_server.requests) == 2

    result, store = collect_once(config, make_source(http_server, max_pages=2), sleeps)
    store.close()
    assert (result.fetched, result.duplicates) == (1, 1)
    assert http_server.requests[2].param("min_id") == "113500000000000108"


def test_empty_timeline(config, http_server, sleeps):
    FakeInstance(http_server, []).serve()
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert cursor_of(store) is None
        assert rows(store) == {}
    assert (result.fetched, result.new, result.error) == (0, 0, "")
    assert http_server.requests[0].param("limit") == "40"


def test_a_link_to_another_host_never_receives_the_token(
    config, http_server, sleeps, small_pages, monkeypatch
):
    instance = FakeInstance(http_server, load("tag_kupang.json")).serve()
    instance.link_host = "http://elsewhere.invalid"
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    source = make_source(http_server, credentials={"access_token": "MASTODON_TOKEN"})
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert (result.new, result.error) == (6, "")
    assert [r.param("max_id") for r in http_server.requests][1:] == [
        "113500000000000105",
        "113500000000000103",
        "113500000000000101",
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in http_server.requests)


# --- search ------------------------------------------------------------------------------


def test_search_with_a_token_pages_with_offset_and_keeps_min_id(
    config, http_server, sleeps, small_pages, monkeypatch
):
    instance = FakeInstance(
        http_server, load("tag_kupang.json"), load("search_dukcapil.json")["statuses"]
    ).serve()
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    source = make_source(
        http_server,
        queries=("dukcapil kupang", "#kupang"),
        credentials={"access_token": "MASTODON_TOKEN"},
    )
    result, store = collect_once(config, source, sleeps)
    with store:
        assert cursor_of(store) == {
            "dukcapil kupang": "113500000000000214",
            "#kupang": "113500000000000106",
        }
        posts = rows(store)
        assert TOKEN not in json.dumps([p["raw"] for p in posts.values()])
    assert (result.new, result.error) == (9, "")
    searches = http_server.hits(SEARCH_PATH)
    assert [(r.param("q"), r.param("offset"), r.param("min_id")) for r in searches] == [
        ("dukcapil kupang", None, None),
        ("dukcapil kupang", "2", None),
        ("dukcapil kupang", "3", None),
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in http_server.requests)
    assert posts["113500000000000213"]["text"].startswith("Loket online Dukcapil Kupang error")

    instance.search_statuses.insert(
        0, {**load("search_dukcapil.json")["statuses"][0], "id": "113500000000000215"}
    )
    http_server.requests.clear()
    result, store = collect_once(config, source, sleeps)
    with store:
        assert cursor_of(store)["dukcapil kupang"] == "113500000000000215"
    assert (result.new, result.duplicates) == (1, 0)
    assert [r.param("min_id") for r in http_server.hits(SEARCH_PATH)] == [
        "113500000000000214",
        "113500000000000214",
    ]


def test_search_without_token_401_fails_that_query_but_hashtags_are_kept(
    config, http_server, sleeps
):
    FakeInstance(http_server, load("tag_kupang.json")).serve()
    http_server.route(
        "GET",
        SEARCH_PATH,
        Reply(status=401, json={"error": "This method requires an authenticated user"}),
    )
    source = make_source(http_server, queries=("dukcapil kupang", "#kupang"))
    result, store = collect_once(config, source, sleeps)
    with store:
        assert cursor_of(store) == {"#kupang": "113500000000000106"}
        assert len(rows(store)) == 6
    assert result.new == 6
    assert "query 'dukcapil kupang'" in result.error
    assert "without a token (401)" in result.error and "access_token" in result.error
    assert "#kupang" not in result.error


def test_a_refused_token_is_reported_without_the_token(config, http_server, sleeps, monkeypatch):
    http_server.route(
        "GET", TAG_PATH, Reply(status=401, json={"error": "The access token is invalid"})
    )
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    source = make_source(http_server, credentials={"access_token": "MASTODON_TOKEN"})
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert "refused the access token (401)" in result.error
    assert TOKEN not in result.error


def test_missing_base_url_is_a_clear_error(config, sleeps):
    source = SourceConfig(name="mastodon-kupang", type="mastodon", queries=["#kupang"])
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert "needs base_url" in result.error and "https://mastodon.social" in result.error


def test_a_configured_but_unset_token_is_a_clear_error(config, http_server, sleeps, monkeypatch):
    monkeypatch.delenv("MASTODON_TOKEN", raising=False)
    source = make_source(http_server, credentials={"access_token": "MASTODON_TOKEN"})
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert "MASTODON_TOKEN" in result.error and "not set" in result.error
    assert http_server.requests == []


# --- rate limits and failures ---------------------------------------------------------


def reset_header(moment: datetime, form: str) -> str:
    if form == "iso":  # what Mastodon sends
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(int(moment.timestamp()))  # the integer form some servers send


@pytest.mark.parametrize("form", ["iso", "epoch"])
def test_429_with_x_ratelimit_headers_is_waited_out(config, http_server, sleeps, form):
    reset = datetime.now(UTC) + timedelta(seconds=20)
    limited = Reply(
        status=429,
        json={"error": "Too many requests"},
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset_header(reset, form),
        },
    )
    http_server.route(
        "GET", TAG_PATH, limited, Reply(json=load("tag_kupang.json")[:2]), Reply(json=[])
    )
    result, store = collect_once(config, make_source(http_server), sleeps)
    store.close()
    assert (result.new, result.error) == (2, "")
    assert len(sleeps.waits) == 1 and 17 <= sleeps.waits[0] <= 21


@pytest.mark.parametrize("form", ["iso", "epoch"])
def test_remaining_zero_waits_before_the_next_page(config, http_server, sleeps, form):
    statuses = load("tag_kupang.json")
    reset = datetime.now(UTC) + timedelta(seconds=30)
    base = f"{http_server.url}{TAG_PATH}"
    first = Reply(
        json=statuses[:3],
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset_header(reset, form),
            "Link": f'<{base}?max_id={statuses[2]["id"]}>; rel="next", '
            f'<{base}?min_id={statuses[0]["id"]}>; rel="prev"',
        },
    )
    http_server.route("GET", TAG_PATH, first, Reply(json=[]))
    result, store = collect_once(config, make_source(http_server), sleeps)
    store.close()
    assert (result.new, result.error) == (3, "")
    assert len(sleeps.waits) == 1 and 26 <= sleeps.waits[0] <= 31
    assert len(http_server.requests) == 2


def test_a_long_rate_limit_stops_the_source_and_keeps_earlier_pages(
    config, http_server, sleeps, small_pages
):
    statuses = sorted(
        load("tag_kupang.json") + load("tag_kupang_newer.json"), key=id_key, reverse=True
    )
    reset = datetime.now(UTC) + timedelta(minutes=15)

    def answer(request: Request) -> Reply:
        if request.param("min_id") == "113500000000000104":
            page = statuses[-6:-4]  # 105, 106
            prev = f'<{http_server.url}{TAG_PATH}?min_id={page[0]["id"]}>; rel="prev"'
            return Reply(json=page, headers={"Link": prev})
        return Reply(status=429, headers={"X-RateLimit-Reset": reset_header(reset, "iso")})

    http_server.route("GET", TAG_PATH, answer)
    with collect_once(config, make_source(http_server), sleeps)[1] as store:
        store.set_cursor("mastodon-kupang", json.dumps({"#kupang": "113500000000000104"}))
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert cursor_of(store) == {"#kupang": "113500000000000106"}
        assert sorted(rows(store)) == ["113500000000000105", "113500000000000106"]
    assert result.error == ""  # a planned stop, not a failure
    assert "query '#kupang'" in result.stopped and "rate limited (429)" in result.stopped
    assert "may resume at" in result.stopped and "WITA" in result.stopped
    assert sleeps.waits == []


def test_5xx_then_success(config, http_server, sleeps):
    http_server.route(
        "GET",
        TAG_PATH,
        Reply(status=502, body="<html>Bad Gateway</html>", content_type="text/html"),
        Reply(status=503),
        Reply(json=load("tag_kupang.json")[:2]),
        Reply(json=[]),
    )
    result, store = collect_once(config, make_source(http_server), sleeps)
    store.close()
    assert (result.new, result.error) == (2, "")
    assert len(sleeps.waits) == 2


def test_timeout_is_reported(config, http_server, sleeps):
    config.http.timeout_seconds = 0.2
    config.http.retries = 1
    http_server.route("GET", TAG_PATH, Reply(json=[], delay=0.5))
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert cursor_of(store) is None
    assert (
        "query '#kupang'" in result.error
        and "timed out (no complete answer within" in result.error
        and "(after 2 tries)" in result.error
    )


def test_malformed_json_fails_the_query(config, http_server, sleeps):
    http_server.route(
        "GET",
        TAG_PATH,
        Reply(body='[{"id": "113500000000000106", "content": ', content_type="application/json"),
    )
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert rows(store) == {}
        assert cursor_of(store) is None
    assert "malformed JSON" in result.error and result.fetched == 0


def test_an_object_where_a_list_was_expected(config, http_server, sleeps):
    http_server.route("GET", TAG_PATH, Reply(json={"error": "Record not found"}))
    result, store = collect_once(config, make_source(http_server), sleeps)
    store.close()
    assert "expected a list of statuses, got dict" in result.error


def test_records_with_missing_fields_are_rejected_and_the_others_stored(
    config, http_server, sleeps
):
    FakeInstance(http_server, load("tag_with_bad_records.json")).serve()
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert sorted(rows(store)) == ["113500000000000303"]
        assert cursor_of(store) == {"#kupang": "113500000000000303"}
    assert (result.fetched, result.new, result.rejected, result.error) == (3, 1, 2, "")
    assert any("without created_at" in r for r in result.rejections)
    assert any("113500000000000301 without account.id" in r for r in result.rejections)
    assert all(r.startswith("#kupang: record ") for r in result.rejections)


def test_an_unreadable_saved_cursor_starts_afresh(config, http_server, sleeps):
    FakeInstance(http_server, load("tag_kupang.json")).serve()
    with collect_once(config, make_source(http_server), sleeps)[1] as store:
        store.set_cursor("mastodon-kupang", "not json")
    http_server.requests.clear()
    result, store = collect_once(config, make_source(http_server), sleeps)
    with store:
        assert cursor_of(store) == {"#kupang": "113500000000000106"}
    assert http_server.requests[0].param("min_id") is None
    assert result.duplicates == 6


def test_a_quote_post_is_marked_with_the_quoted_status(http_server, sleeps):
    quoted = load("tag_kupang.json")[4]
    status = {
        **load("tag_kupang_newer.json")[0],
        "quote": {"state": "accepted", "quoted_status": quoted},
    }
    shallow = {
        **load("tag_kupang_newer.json")[1],
        "quote": {"state": "accepted", "quoted_status_id": "113500000000000102"},
    }
    FakeInstance(http_server, [status, shallow]).serve()
    [batch, final] = MastodonCollector(make_source(http_server), context(sleeps)).fetch(None)
    assert [(p.is_quote, p.parent_source_id, p.is_repost) for p in batch.posts] == [
        (True, "113500000000000102", False),
        (True, "113500000000000102", False),
    ]
    assert final.posts == [] and json.loads(final.cursor) == {"#kupang": "113500000000000109"}
