"""The YouTube collector against a real local server answering like the Data API v3."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.collectors import CollectContext, CollectorError
from monitor.collectors.http import SourceStopped
from monitor.collectors.youtube import YouTubeCollector, quota_reset_after
from monitor.config import SourceConfig
from tests.conftest import collect_once
from tests.httpserver import Reply, Request

FIXTURES = Path(__file__).parent / "fixtures" / "youtube"
SECRET = "AIzaSy-test-key-that-must-never-leak-0123"
V_ANTRE, V_RSUD, V_PDAM = "kpgAntre01A", "kpgRSUD02Bx", "kpgPDAM03Cy"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text("utf-8"))


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", SECRET)


def youtube_source(server, **options) -> SourceConfig:
    return SourceConfig(
        name="youtube-kupang",
        type="youtube",
        region="kota-kupang",
        queries=["antrean disdukcapil kupang"],
        base_url=server.url,
        credentials={"api_key": "YOUTUBE_API_KEY"},
        options={
            "channels": [],
            "max_videos_per_query": 5,
            "max_comment_pages": 5,
            "published_within_days": 7,
            **options,
        },
    )


def comment_pages(pages: dict[str, list[Reply | str]]):
    """A /commentThreads handler: per video, page N (by pageToken order) gets reply N."""

    def handler(request: Request) -> Reply:
        video = request.param("videoId")
        script = pages.get(video)
        if script is None:
            return Reply(status=404, json=fixture("error_video_not_found.json"))
        tokens = [None] + [
            fixture(name).get("nextPageToken") if isinstance(name, str) else None
            for name in script[:-1]
        ]
        index = (
            tokens.index(request.param("pageToken")) if request.param("pageToken") in tokens else 0
        )
        answer = script[index]
        return Reply(json=fixture(answer)) if isinstance(answer, str) else answer

    return handler


def standard_routes(server, comments=None, search="search_query.json"):
    server.route(
        "GET",
        "/search",
        lambda request: Reply(
            json=fixture("search_channel.json" if request.param("channelId") else search)
        ),
    )
    server.route(
        "GET",
        "/commentThreads",
        comment_pages(
            comments
            or {
                V_ANTRE: ["comments_antre_page1.json", "comments_antre_page2.json"],
                V_RSUD: ["comments_rsud.json"],
                V_PDAM: ["comments_pdam.json"],
            }
        ),
    )


def stored(store) -> dict[str, dict]:
    rows = store.db.execute("SELECT * FROM posts ORDER BY source_id").fetchall()
    columns = [d[0] for d in store.db.execute("SELECT * FROM posts LIMIT 0").description]
    return {row[columns.index("source_id")]: dict(zip(columns, row, strict=True)) for row in rows}


def test_success_collects_comments_and_replies_of_the_videos_found(config, http_server, sleeps):
    standard_routes(http_server)
    source = youtube_source(http_server, channels=["UCombudsmanNTT000000000"])
    before = datetime.now(UTC)
    result, store = collect_once(config, source, sleeps)
    with store:
        posts = stored(store)
        cursor = json.loads(store.get_cursor("youtube-kupang"))

    assert result.error == ""
    assert (result.fetched, result.new, result.duplicates, result.rejected) == (7, 7, 0, 0)
    assert set(posts) == {
        "UgzAntreA1",
        "UgzAntreA1.r1",
        "UgzAntreA2",
        "UgzAntreA3",
        "UgzRsudB1",
        "UgzRsudB2",
        "UgzPdamC1",
    }
    top = posts["UgzAntreA1"]
    assert top["text"].startswith("Beta su antre dari jam 5 pagi")
    assert top["platform"] == "youtube" and top["region"] == "kota-kupang"
    assert top["url"] == f"https://www.youtube.com/watch?v={V_ANTRE}&lc=UgzAntreA1"
    assert top["created_at"] == "2026-11-21T23:40:12Z"
    assert top["is_reply"] == 0 and top["parent_source_id"] == ""
    reply = posts["UgzAntreA1.r1"]
    assert reply["is_reply"] == 1 and reply["parent_source_id"] == "UgzAntreA1"
    assert reply["url"].endswith("&lc=UgzAntreA1.r1")
    # The newest top-level comment per video, not the reply (replies do not order threads).
    assert cursor == {
        V_ANTRE: "2026-11-21T23:40:12Z",
        V_RSUD: "2026-11-19T11:20:00Z",
        V_PDAM: "2026-11-18T03:30:00Z",
    }

    searches = http_server.hits("/search")
    assert len(searches) == 2
    by_query = searches[0]
    assert by_query.param("part") == "snippet"
    assert by_query.param("q") == "antrean disdukcapil kupang"
    assert by_query.param("type") == "video" and by_query.param("order") == "date"
    assert by_query.param("regionCode") == "ID" and by_query.param("relevanceLanguage") == "id"
    assert by_query.param("maxResults") == "5"
    published_after = datetime.fromisoformat(by_query.param("publishedAfter"))
    assert abs(published_after - (before - timedelta(days=7))) < timedelta(minutes=1)
    by_channel = searches[1]
    assert by_channel.param("channelId") == "UCombudsmanNTT000000000"
    assert by_channel.param("order") == "date" and by_channel.param("type") == "video"
    assert by_channel.param("q") is None
    # The video found by both the query and the channel is read once.
    videos = [r.param("videoId") for r in http_server.hits("/commentThreads")]
    assert videos == [V_ANTRE, V_ANTRE, V_RSUD, V_PDAM]
    first = http_server.hits("/commentThreads")[0]
    assert first.param("part") == "snippet,replies"
    assert first.param("order") == "time" and first.param("textFormat") == "plainText"
    assert first.param("maxResults") == "100" and first.param("pageToken") is None
    # The key goes in a header, never in the URL.
    for request in http_server.requests:
        assert request.headers["x-goog-api-key"] == SECRET
        assert "key" not in request.query
    assert sleeps.waits == []


def test_comment_pages_are_followed_up_to_max_comment_pages(config, http_server, sleeps):
    standard_routes(http_server)
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        assert "UgzAntreA3" in stored(store)  # from page 2
    antre = [r for r in http_server.hits("/commentThreads") if r.param("videoId") == V_ANTRE]
    assert [r.param("pageToken") for r in antre] == [None, "QURTSl9pMnBhZ2Uy"]
    assert result.new == 6

    http_server.requests.clear()
    config.database = config.database.with_name("other.db")
    result, store = collect_once(config, youtube_source(http_server, max_comment_pages=1), sleeps)
    with store:
        assert "UgzAntreA3" not in stored(store)
    antre = [r for r in http_server.hits("/commentThreads") if r.param("videoId") == V_ANTRE]
    assert len(antre) == 1
    assert result.new == 5


def test_empty_search_result_reads_no_comments(config, http_server, sleeps):
    standard_routes(http_server, search="search_empty.json")
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        assert store.count_posts() == 0
        assert json.loads(store.get_cursor("youtube-kupang")) == {}
    assert (result.fetched, result.new, result.error) == (0, 0, "")
    assert http_server.hits("/commentThreads") == []


def test_second_run_stops_paging_at_the_saved_cursor_and_stores_nothing_twice(
    config, http_server, sleeps
):
    standard_routes(http_server)
    collect_once(config, youtube_source(http_server), sleeps)[1].close()
    http_server.requests.clear()
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        saved = json.loads(store.get_cursor("youtube-kupang"))
        assert store.count_posts() == 6
    assert (result.new, result.duplicates, result.error) == (0, 5, "")
    # Page 1 of the busy video already reaches comments the cursor covers: no page 2.
    antre = [r for r in http_server.hits("/commentThreads") if r.param("videoId") == V_ANTRE]
    assert [r.param("pageToken") for r in antre] == [None]
    assert saved[V_ANTRE] == "2026-11-21T23:40:12Z"


def test_quota_exceeded_stops_the_source_until_midnight_pacific(config, http_server, sleeps):
    standard_routes(
        http_server,
        comments={
            V_ANTRE: ["comments_antre_page1.json", "comments_antre_page2.json"],
            V_RSUD: [Reply(status=403, json=fixture("error_quota_exceeded.json"))],
        },
    )
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        posts = stored(store)
        cursor = json.loads(store.get_cursor("youtube-kupang"))
    # What came before the quota ran out is kept, with its cursor.
    assert set(posts) == {"UgzAntreA1", "UgzAntreA1.r1", "UgzAntreA2", "UgzAntreA3"}
    assert cursor == {V_ANTRE: "2026-11-21T23:40:12Z"}
    assert result.error == ""  # a planned stop, not a failure
    assert "quota exceeded (quotaExceeded)" in result.stopped
    assert "midnight Pacific Time" in result.stopped and "WITA" in result.stopped
    assert "about 103 units" in result.stopped
    assert SECRET not in result.stopped
    assert len(http_server.hits("/commentThreads")) == 3  # stopped: PDAM never asked
    assert sleeps.waits == []


def test_quota_exceeded_says_when_the_quota_resets(http_server, sleeps):
    http_server.route(
        "GET", "/search", Reply(status=403, json=fixture("error_quota_exceeded.json"))
    )
    now = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # 20 Nov 19:00 in Los Angeles (PST)
    context = CollectContext(
        now=now, timezone="Asia/Makassar", sleep=sleeps, environ={"YOUTUBE_API_KEY": SECRET}
    )
    collector = YouTubeCollector(youtube_source(http_server), context)
    with pytest.raises(SourceStopped) as caught:
        list(collector.fetch(None))
    assert caught.value.resume_at == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert "21-11-2026 16:00 WITA" in str(caught.value)


def test_quota_reset_follows_daylight_saving_time():
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 05:00 PDT
    assert quota_reset_after(summer) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 7, 59, tzinfo=UTC)  # 23:59 PST on 30 Nov
    assert quota_reset_after(winter) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_daily_limit_exceeded_also_stops(config, http_server, sleeps):
    body = fixture("error_quota_exceeded.json")
    body["error"]["errors"][0]["reason"] = "dailyLimitExceeded"
    http_server.route("GET", "/search", Reply(status=403, json=body))
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    store.close()
    assert result.error == ""
    assert "dailyLimitExceeded" in result.stopped and "midnight Pacific Time" in result.stopped


def test_comments_disabled_skips_only_that_video(config, http_server, sleeps, caplog):
    standard_routes(
        http_server,
        comments={
            V_ANTRE: [Reply(status=403, json=fixture("error_comments_disabled.json"))],
            V_RSUD: ["comments_rsud.json"],
        },
    )
    with caplog.at_level(logging.INFO, logger="monitor.collectors.youtube"):
        result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        posts = stored(store)
        cursor = json.loads(store.get_cursor("youtube-kupang"))
    assert set(posts) == {"UgzRsudB1", "UgzRsudB2"}
    assert (result.error, result.rejected) == ("", 0)
    assert cursor == {V_RSUD: "2026-11-19T11:20:00Z"}
    assert any("commentsDisabled" in r.getMessage() for r in caplog.records)


def test_video_not_found_is_skipped(config, http_server, sleeps):
    standard_routes(
        http_server,
        comments={V_RSUD: ["comments_rsud.json"]},  # the other video answers 404
    )
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        assert store.count_posts() == 2
    assert (result.error, result.rejected) == ("", 0)


def test_rate_limited_429_is_waited_out(config, http_server, sleeps):
    standard_routes(http_server)
    http_server.route(
        "GET",
        "/search",
        Reply(status=429, headers={"Retry-After": "4"}),
        Reply(json=fixture("search_query.json")),
    )
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    store.close()
    assert (result.new, result.error) == (6, "")
    assert sleeps.waits == [pytest.approx(4, abs=1)]
    assert len(http_server.hits("/search")) == 2


def test_server_error_then_success(config, http_server, sleeps):
    standard_routes(http_server)
    http_server.route(
        "GET",
        "/search",
        Reply(status=503, json={"error": {"code": 503, "message": "Backend Error"}}),
        Reply(json=fixture("search_query.json")),
    )
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    store.close()
    assert (result.new, result.error) == (6, "")
    assert len(sleeps.waits) == 1


def test_timeout_fails_the_source_with_a_clear_error(config, http_server, sleeps):
    config.http.timeout_seconds = 0.1
    config.http.retries = 1
    http_server.route("GET", "/search", Reply(json=fixture("search_query.json"), delay=0.3))
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        assert store.count_posts() == 0
        assert store.get_cursor("youtube-kupang") is None
    assert (
        "timed out (no complete answer within" in result.error and "(after 2 tries)" in result.error
    )
    assert "/search" in result.error


def test_malformed_json_fails_the_source_and_keeps_what_was_stored(config, http_server, sleeps):
    standard_routes(
        http_server,
        comments={
            V_ANTRE: ["comments_antre_page1.json", "comments_antre_page2.json"],
            V_RSUD: [Reply(body='{"items": [', content_type="application/json")],
        },
    )
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        assert store.count_posts() == 4
        assert json.loads(store.get_cursor("youtube-kupang")) == {V_ANTRE: "2026-11-21T23:40:12Z"}
    assert "malformed JSON" in result.error


def test_malformed_json_mid_video_keeps_the_pages_read_but_not_the_cursor(
    config, http_server, sleeps
):
    standard_routes(
        http_server,
        comments={
            V_ANTRE: [
                "comments_antre_page1.json",
                Reply(body="<html>oops</html>", content_type="text/html"),
            ],
        },
    )
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        assert store.count_posts() == 3  # page 1 is stored ...
        assert store.get_cursor("youtube-kupang") is None  # ... but page 2 will be read again
    assert "expected JSON" in result.error


def test_a_comment_without_a_field_is_rejected_and_the_others_kept(config, http_server, sleeps):
    standard_routes(http_server, comments={V_RSUD: ["comments_rsud_broken.json"]})
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    with store:
        assert set(stored(store)) == {"UgzRsudB1", "UgzRsudB2"}
    assert (result.new, result.rejected, result.error) == (2, 1, "")
    assert result.rejections == [f"video {V_RSUD}: comment UgzRsudBad without publishedAt"]


def test_the_api_key_never_reaches_the_run_record_or_the_log(config, http_server, sleeps, caplog):
    body = fixture("error_key_invalid.json")
    body["error"]["message"] += f" (key {SECRET})"  # a server or proxy that echoes the key
    http_server.route("GET", "/search", Reply(status=400, json=body))
    # at DEBUG for httpx too (the CLI quiets it), so its request lines are seen
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        result, store = collect_once(config, youtube_source(http_server), sleeps)
    store.close()
    assert "API key not valid" in result.error
    assert "YOUTUBE_API_KEY" in result.error  # names where the key comes from
    assert SECRET not in result.error and "***" in result.error
    assert not any(SECRET in record.getMessage() for record in caplog.records)
    # httpx logs every request URL at INFO: the URL must not carry the key.
    assert any("HTTP Request" in record.getMessage() for record in caplog.records)


def test_missing_api_key_names_the_environment_variable(config, http_server, sleeps, monkeypatch):
    monkeypatch.delenv("YOUTUBE_API_KEY")
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    store.close()
    assert "YOUTUBE_API_KEY" in result.error
    assert http_server.requests == []


def test_quota_estimate_is_logged(config, http_server, sleeps, caplog):
    standard_routes(http_server)
    with caplog.at_level(logging.INFO, logger="monitor.collectors.youtube"):
        collect_once(config, youtube_source(http_server), sleeps)[1].close()
    assert any("about 103 YouTube quota units" in r.getMessage() for r in caplog.records)


def test_search_result_without_video_id_is_rejected(config, http_server, sleeps):
    search = fixture("search_query.json")
    del search["items"][1]["id"]["videoId"]
    http_server.route("GET", "/search", Reply(json=search))
    http_server.route(
        "GET",
        "/commentThreads",
        comment_pages({V_ANTRE: ["comments_antre_page1.json", "comments_antre_page2.json"]}),
    )
    result, store = collect_once(config, youtube_source(http_server), sleeps)
    store.close()
    assert result.rejections == [
        "search for query 'antrean disdukcapil kupang': result 2 without id.videoId"
    ]
    assert (result.new, result.error) == (4, "")


def test_unreadable_cursor_is_ignored_and_only_a_videos_last_batch_moves_it(http_server, sleeps):
    standard_routes(http_server)
    context = CollectContext(
        now=datetime.now(UTC),
        timezone="Asia/Makassar",
        sleep=sleeps,
        environ={"YOUTUBE_API_KEY": SECRET},
    )
    collector = YouTubeCollector(youtube_source(http_server), context)
    batches = list(collector.fetch('{"kpgRSUD02Bx": "kemarin", "x": 1}'))
    assert [len(b.posts) for b in batches] == [3, 1, 2]
    antre_page1, antre_page2, rsud = batches
    assert antre_page1.cursor is None  # a crash here must not skip page 2 next time
    assert json.loads(antre_page2.cursor) == {V_ANTRE: "2026-11-21T23:40:12Z"}
    assert json.loads(rsud.cursor) == {
        V_ANTRE: "2026-11-21T23:40:12Z",
        V_RSUD: "2026-11-19T11:20:00Z",
    }


def test_without_credentials_configured_the_error_says_what_to_add(http_server):
    source = youtube_source(http_server)
    source.credentials = {}
    context = CollectContext(now=datetime.now(UTC), timezone="Asia/Makassar", environ={})
    with pytest.raises(CollectorError, match="credentials.api_key"):
        list(YouTubeCollector(source, context).fetch(None))
