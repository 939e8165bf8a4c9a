"""RSS / Atom collector against a local server: Google News searches and portal feeds."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.collectors import CollectContext
from monitor.collectors.rss import RssCollector, parse_feed_date, short_id
from monitor.config import HttpConfig, SourceConfig
from tests.conftest import collect_once
from tests.httpserver import Reply, Request

FIXTURES = Path(__file__).parent / "fixtures" / "rss"
RSS_TYPE = "application/rss+xml; charset=UTF-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
NAME = "news-kupang"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_source(server, feeds=(), queries=(), google_news=False) -> SourceConfig:
    return SourceConfig(
        name=NAME,
        type="rss",
        region="kota-kupang",
        queries=list(queries),
        base_url=server.url,
        options={"feeds": [f"{server.url}{path}" for path in feeds], "google_news": google_news},
    )


def context(sleeps) -> CollectContext:
    return CollectContext(
        now=datetime(2026, 11, 21, 0, 0, tzinfo=UTC),
        timezone="Asia/Makassar",
        http=HttpConfig(timeout_seconds=2, retries=2),
        sleep=sleeps,
    )


def rows(store) -> dict[str, dict]:
    cursor = store.db.execute("SELECT * FROM posts ORDER BY source_id")
    names = [c[0] for c in cursor.description]
    return {r[names.index("source_id")]: dict(zip(names, r, strict=True)) for r in cursor}


def cursor_of(store) -> dict | None:
    value = store.get_cursor(NAME)
    return json.loads(value) if value else None


# --- Google News, RSS 2.0, Atom ----------------------------------------------------------


def test_google_news_search_feed(config, http_server, sleeps):
    http_server.route(
        "GET",
        "/rss/search",
        Reply(body=fixture("google_news_disdukcapil.xml"), content_type=RSS_TYPE),
    )
    source = make_source(http_server, queries=["Disdukcapil Kota Kupang"], google_news=True)
    result, store = collect_once(config, source, sleeps)
    with store:
        posts = rows(store)
        feed_url = f"{http_server.url}/rss/search?q=Disdukcapil+Kota+Kupang&hl=id&gl=ID&ceid=ID:id"
        assert cursor_of(store) == {}
    assert (result.fetched, result.new, result.rejected, result.error) == (3, 3, 0, "")
    [request] = http_server.requests
    assert request.query == {
        "q": ["Disdukcapil Kota Kupang"],
        "hl": ["id"],
        "gl": ["ID"],
        "ceid": ["ID:id"],
    }
    assert "if-none-match" not in request.headers
    post = posts["CBMiQmh0dHBzOi8vcG9zZmxvYmFtb3JhLmV4YW1wbGUvYmxhbmtvLWt0cC1rb3Nvbmc"]
    assert post["text"] == (  # the description only repeats title and publisher
        "Blanko KTP-el di Disdukcapil Kota Kupang Kosong, Warga Diminta Bersabar - Pos Flobamora"
    )
    assert post["url"].startswith("https://news.google.com/rss/articles/CBMiQmh0")
    assert post["created_at"] == "2026-11-20T07:00:00Z"
    assert (post["platform"], post["lang"], post["region"]) == ("news", "id", "kota-kupang")
    assert (post["is_repost"], post["is_reply"], post["is_quote"]) == (0, 0, 0)
    raw = json.loads(post["raw"])
    assert raw["feed"] == feed_url
    assert raw["source"] == {"url": "https://posflobamora.example", "text": "Pos Flobamora"}


def test_google_news_publisher_is_the_author(http_server, sleeps):
    http_server.route(
        "GET",
        "/rss/search",
        Reply(body=fixture("google_news_disdukcapil.xml"), content_type=RSS_TYPE),
    )
    source = make_source(http_server, queries=["Disdukcapil Kota Kupang"], google_news=True)
    [batch] = RssCollector(source, context(sleeps)).fetch(None)
    assert [p.author_handle for p in batch.posts] == [
        "Pos Flobamora",
        "Suara Timor Daring",
        "Kabar Kupang",
    ]


def test_portal_rss_feed_with_bad_items(config, http_server, sleeps, caplog):
    http_server.route(
        "GET", "/kategori/kota-kupang/feed/", Reply(body=fixture("portal_kupang.xml"))
    )
    source = make_source(http_server, feeds=["/kategori/kota-kupang/feed/"])
    before = datetime.now(UTC).replace(microsecond=0)
    with caplog.at_level(logging.DEBUG, logger="monitor.collectors.rss"):
        result, store = collect_once(config, source, sleeps)
    with store:
        posts = rows(store)
    assert (result.fetched, result.new, result.rejected, result.error) == (6, 4, 2, "")
    feed = f"feed {http_server.url}/kategori/kota-kupang/feed/"
    assert result.rejections == [
        f"{feed}: item 4: unreadable date 'kemarin sore'",
        f"{feed}: item 5: item 'Samsat Kupang Perpanjang Jam Layanan' has neither guid nor link",
    ]
    first = posts["https://suaratimor.example/?p=48211"]
    assert first["text"] == (
        "RSUD S.K. Lerik Tambah Loket, Antrean Pasien BPJS Masih Mengular\n\n"
        "Pasien BPJS di RSUD S.K. Lerik masih antre sejak subuh meski loket ditambah. "
        "Direktur rumah sakit berjanji menambah petugas."
    )
    assert first["created_at"] == "2026-11-20T01:30:00Z"  # 09:30 +0800
    assert first["lang"] == "id"  # from <language>id-ID</language>
    assert json.loads(first["raw"])["dc:creator"] == "Redaksi"

    long_guid = next(k for k in posts if k.startswith("sha256:"))
    assert len(long_guid) == 71
    assert posts[long_guid]["created_at"] == "2026-11-20T00:05:00Z"  # 08:05 WITA
    assert json.loads(posts[long_guid]["raw"])["guid"]["text"].startswith("https://suaratimor")

    undated = posts["https://suaratimor.example/2026/11/19/posko-pengaduan-bansos/"]
    assert undated["url"] == "https://suaratimor.example/2026/11/19/posko-pengaduan-bansos/"
    created = datetime.fromisoformat(undated["created_at"].replace("Z", "+00:00"))
    assert before <= created <= datetime.now(UTC)
    assert any("has no date; using the run time" in r.message for r in caplog.records)


def test_portal_feed_title_is_the_author(http_server, sleeps):
    http_server.route("GET", "/feed/", Reply(body=fixture("portal_kupang.xml")))
    [batch] = RssCollector(make_source(http_server, feeds=["/feed/"]), context(sleeps)).fetch(None)
    assert {p.author_handle for p in batch.posts} == {"Suara Timor Daring – Kota Kupang"}
    undated = [p for p in batch.posts if "posko" in p.url]
    assert undated[0].created_at == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # context.now


def test_atom_feed(config, http_server, sleeps):
    http_server.route(
        "GET", "/atom.xml", Reply(body=fixture("portal_atom.xml"), content_type=ATOM_TYPE)
    )
    source = make_source(http_server, feeds=["/atom.xml"])
    result, store = collect_once(config, source, sleeps)
    with store:
        posts = rows(store)
    assert (result.fetched, result.new, result.rejected, result.error) == (3, 3, 0, "")
    power = posts["tag:kabarkupang.example,2026:berita-7741"]
    assert power["text"] == (
        "PLN UP3 Kupang: Pemadaman Bergilir di Maulafa & Alak Berakhir Pekan Ini\n\n"
        "Warga Maulafa mengeluh pemadaman hingga enam jam sehari."
    )
    assert power["url"] == "https://kabarkupang.example/2026/11/20/pemadaman-bergilir/"
    assert power["created_at"] == "2026-11-20T02:15:00Z"  # published, not updated
    assert power["lang"] == "id"
    medicine = posts["tag:kabarkupang.example,2026:berita-7730"]
    assert medicine["text"] == (
        "Puskesmas Bakunase Kekurangan Obat Anak\n\n"
        "Orang tua pasien diminta membeli obat sirup di apotek luar."
    )
    assert medicine["created_at"] == "2026-11-19T14:00:00Z"  # only <updated>
    port = posts["tag:kabarkupang.example,2026:berita-7702"]
    assert port["lang"] == "en"


def test_atom_authors_are_the_feed_or_the_entry_source(http_server, sleeps):
    http_server.route("GET", "/atom.xml", Reply(body=fixture("portal_atom.xml")))
    source = make_source(http_server, feeds=["/atom.xml"])
    [batch] = RssCollector(source, context(sleeps)).fetch(None)
    assert [p.author_handle for p in batch.posts] == ["Kabar Kupang", "Kabar Kupang", "NTT Today"]


def test_several_feeds_each_in_its_own_batch_with_the_cursor(http_server, sleeps):
    http_server.route(
        "GET",
        "/feed/",
        Reply(body=fixture("portal_kupang.xml"), headers={"ETag": '"portal-1"'}),
    )
    http_server.route(
        "GET",
        "/atom.xml",
        Reply(
            body=fixture("portal_atom.xml"),
            headers={"Last-Modified": "Fri, 20 Nov 2026 03:00:00 GMT"},
        ),
    )
    http_server.route("GET", "/rss/search", Reply(body=fixture("google_news_disdukcapil.xml")))
    source = make_source(
        http_server,
        feeds=["/feed/", "/atom.xml"],
        queries=["Disdukcapil Kota Kupang"],
        google_news=True,
    )
    batches = list(RssCollector(source, context(sleeps)).fetch(None))
    assert [len(b.posts) for b in batches] == [4, 3, 3]
    portal, atom = f"{http_server.url}/feed/", f"{http_server.url}/atom.xml"
    assert [json.loads(b.cursor) for b in batches] == [
        {portal: {"etag": '"portal-1"'}},
        {portal: {"etag": '"portal-1"'}, atom: {"last_modified": "Fri, 20 Nov 2026 03:00:00 GMT"}},
        {portal: {"etag": '"portal-1"'}, atom: {"last_modified": "Fri, 20 Nov 2026 03:00:00 GMT"}},
    ]


# --- conditional GET and the cursor ----------------------------------------------------

NEW_ITEM = """
    <item>
      <title>Antrean KIA di Disdukcapil Kota Kupang Dikeluhkan Orang Tua - Kabar Kupang</title>
      <link>https://news.google.com/rss/articles/CBMiNEW?oc=5</link>
      <guid isPermaLink="false">CBMiNEW</guid>
      <pubDate>Sat, 21 Nov 2026 01:10:00 GMT</pubDate>
      <description>Antrean KIA</description>
      <source url="https://kabarkupang.example">Kabar Kupang</source>
    </item>"""


def test_etag_and_304_round_trip(config, http_server, sleeps):
    feed_v1 = fixture("google_news_disdukcapil.xml")
    feed_v2 = feed_v1.replace(b"<item>", NEW_ITEM.encode() + b"\n    <item>", 1)
    version = {"current": 1}

    def answer(request: Request) -> Reply:
        etag = f'"v{version["current"]}"'
        if request.headers.get("if-none-match") == etag:
            return Reply(status=304)
        body = feed_v1 if version["current"] == 1 else feed_v2
        modified = f"Sat, 21 Nov 2026 0{version['current']}:00:00 GMT"
        return Reply(
            body=body, content_type=RSS_TYPE, headers={"ETag": etag, "Last-Modified": modified}
        )

    http_server.route("GET", "/rss/search", answer)
    source = make_source(http_server, queries=["Disdukcapil Kota Kupang"], google_news=True)
    feed_url = f"{http_server.url}/rss/search?q=Disdukcapil+Kota+Kupang&hl=id&gl=ID&ceid=ID:id"

    result, store = collect_once(config, source, sleeps)
    with store:
        first_cursor = cursor_of(store)
    assert first_cursor == {
        feed_url: {"etag": '"v1"', "last_modified": "Sat, 21 Nov 2026 01:00:00 GMT"}
    }
    assert (result.fetched, result.new) == (3, 3)

    result, store = collect_once(config, source, sleeps)
    with store:
        assert cursor_of(store) == first_cursor
        assert len(rows(store)) == 3
    assert (result.fetched, result.new, result.duplicates, result.error) == (0, 0, 0, "")
    sent = http_server.requests[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Sat, 21 Nov 2026 01:00:00 GMT"

    version["current"] = 2
    result, store = collect_once(config, source, sleeps)
    with store:
        assert cursor_of(store) == {
            feed_url: {"etag": '"v2"', "last_modified": "Sat, 21 Nov 2026 02:00:00 GMT"}
        }
        assert rows(store)["CBMiNEW"]["created_at"] == "2026-11-21T01:10:00Z"
    assert (result.fetched, result.new, result.duplicates) == (4, 1, 3)


def test_a_server_without_conditional_get_stores_nothing_twice(config, http_server, sleeps):
    http_server.route("GET", "/feed/", Reply(body=fixture("portal_kupang.xml")))
    source = make_source(http_server, feeds=["/feed/"])
    collect_once(config, source, sleeps)[1].close()
    result, store = collect_once(config, source, sleeps)
    with store:
        assert len(rows(store)) == 4
        assert cursor_of(store) == {}
    assert (result.new, result.duplicates, result.rejected) == (0, 4, 2)
    assert "if-none-match" not in http_server.requests[-1].headers


def test_the_same_article_in_two_feeds_is_stored_once(config, http_server, sleeps):
    body = fixture("google_news_disdukcapil.xml")
    http_server.route("GET", "/rss/search", Reply(body=body))
    source = make_source(
        http_server, queries=["Disdukcapil Kota Kupang", "KTP-el Kupang"], google_news=True
    )
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert (result.fetched, result.new, result.duplicates) == (6, 3, 3)


def test_empty_feed(config, http_server, sleeps):
    http_server.route(
        "GET",
        "/rss/search",
        Reply(body=fixture("empty_channel.xml"), headers={"ETag": 'W/"kosong"'}),
    )
    source = make_source(http_server, queries=["Ombudsman NTT"], google_news=True)
    result, store = collect_once(config, source, sleeps)
    with store:
        assert rows(store) == {}
        [validators] = cursor_of(store).values()
    assert validators == {"etag": 'W/"kosong"'}
    assert (result.fetched, result.new, result.error) == (0, 0, "")


# --- failures ---------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out(config, http_server, sleeps):
    http_server.route(
        "GET",
        "/rss/search",
        Reply(status=429, body="Too Many Requests", headers={"Retry-After": "12"}),
        Reply(body=fixture("google_news_disdukcapil.xml"), content_type=RSS_TYPE),
    )
    source = make_source(http_server, queries=["Disdukcapil Kota Kupang"], google_news=True)
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert (result.new, result.error) == (3, "")
    assert sleeps.waits == [pytest.approx(12, abs=1)]


def test_a_long_429_stops_the_source(config, http_server, sleeps):
    http_server.route("GET", "/feed/", Reply(body=fixture("portal_kupang.xml")))
    http_server.route("GET", "/rss/search", Reply(status=429, headers={"Retry-After": "3600"}))
    source = make_source(
        http_server, feeds=["/feed/"], queries=["Disdukcapil Kota Kupang"], google_news=True
    )
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert result.new == 4
    assert result.stopped.startswith("feed Google News 'Disdukcapil Kota Kupang': ")
    assert result.error == ""
    assert "rate limited (429)" in result.stopped and "may resume at" in result.stopped


def test_5xx_then_success(config, http_server, sleeps):
    http_server.route(
        "GET",
        "/feed/",
        Reply(status=503, body="Service Unavailable"),
        Reply(body=fixture("portal_kupang.xml")),
    )
    result, store = collect_once(config, make_source(http_server, feeds=["/feed/"]), sleeps)
    store.close()
    assert (result.new, result.error) == (4, "")
    assert len(sleeps.waits) == 1


def test_timeout_is_reported_and_other_feeds_still_read(config, http_server, sleeps):
    config.http.timeout_seconds = 0.2
    config.http.retries = 1
    http_server.route("GET", "/slow.xml", Reply(body=fixture("portal_atom.xml"), delay=0.5))
    http_server.route("GET", "/feed/", Reply(body=fixture("portal_kupang.xml")))
    source = make_source(http_server, feeds=["/slow.xml", "/feed/"])
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert result.new == 4
    assert result.error.startswith(f"feed {http_server.url}/slow.xml: ")
    assert (
        "timed out (no complete answer within" in result.error and "(after 2 tries)" in result.error
    )


def test_malformed_xml_names_the_feed_and_keeps_the_others(config, http_server, sleeps):
    http_server.route(
        "GET", "/feed/", Reply(body=fixture("portal_kupang.xml"), headers={"ETag": '"a"'})
    )
    http_server.route(
        "GET", "/broken.xml", Reply(body=fixture("malformed.xml"), headers={"ETag": '"b"'})
    )
    http_server.route("GET", "/atom.xml", Reply(body=fixture("portal_atom.xml")))
    source = make_source(http_server, feeds=["/feed/", "/broken.xml", "/atom.xml"])
    result, store = collect_once(config, source, sleeps)
    with store:
        assert cursor_of(store) == {f"{http_server.url}/feed/": {"etag": '"a"'}}
        assert len(rows(store)) == 7
    assert result.error.startswith(f"feed {http_server.url}/broken.xml: malformed XML (")
    assert "text/plain" in result.error


def test_an_html_page_is_not_a_feed(config, http_server, sleeps):
    http_server.route(
        "GET",
        "/feed/",
        Reply(body=fixture("not_a_feed.html"), content_type="text/html; charset=utf-8"),
    )
    result, store = collect_once(config, make_source(http_server, feeds=["/feed/"]), sleeps)
    store.close()
    assert "not an RSS 2.0 or Atom 1.0 feed" in result.error and "<html>" in result.error


def test_an_entity_bomb_is_refused_quickly(config, http_server, sleeps):
    http_server.route("GET", "/bomb.xml", Reply(body=fixture("entity_bomb.xml")))
    result, store = collect_once(config, make_source(http_server, feeds=["/bomb.xml"]), sleeps)
    with store:
        assert rows(store) == {}
        assert cursor_of(store) is None
    # Refused before any expansion (the reason says so), which is what keeps it quick.
    assert result.error.startswith(f"feed {http_server.url}/bomb.xml: document refused: ")
    assert "internal subset" in result.error and "entity-expansion" in result.error


def test_a_bare_rss_091_doctype_is_accepted(config, http_server, sleeps):
    http_server.route("GET", "/rss091.xml", Reply(body=fixture("rss091_doctype.xml")))
    result, store = collect_once(config, make_source(http_server, feeds=["/rss091.xml"]), sleeps)
    with store:
        [post] = rows(store).values()
    assert result.error == ""
    assert post["source_id"] == "https://oebobo.example/pengumuman/perekaman-ktp"


def test_a_feed_entry_that_is_not_a_url(config, http_server, sleeps):
    source = make_source(http_server)
    source.options["feeds"] = ["suaratimor.example/feed"]
    result, store = collect_once(config, source, sleeps)
    store.close()
    assert "not an http(s) URL" in result.error


def test_nothing_to_read_is_a_clear_error(config, http_server, sleeps):
    result, store = collect_once(config, make_source(http_server), sleeps)
    store.close()
    assert "nothing to read" in result.error
    assert http_server.requests == []


# --- small parts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Fri, 20 Nov 2026 07:00:00 GMT", datetime(2026, 11, 20, 7, 0, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 09:30:00 +0800", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
        ("Fri, 20 Nov 2026 08:05:00 WITA", datetime(2026, 11, 20, 0, 5, tzinfo=UTC)),
        ("20 Nov 2026 10:00:00 WIB", datetime(2026, 11, 20, 3, 0, tzinfo=UTC)),
        ("2026-11-20T10:15:00+08:00", datetime(2026, 11, 20, 2, 15, tzinfo=UTC)),
        ("2026-11-19T14:00:00Z", datetime(2026, 11, 19, 14, 0, tzinfo=UTC)),
    ],
)
def test_feed_dates(value, expected):
    assert parse_feed_date(value) == expected


def test_unreadable_feed_date():
    with pytest.raises(ValueError, match="unreadable date 'kemarin sore'"):
        parse_feed_date("kemarin sore")


def test_long_guids_are_hashed():
    assert short_id("abc") == "abc"
    assert short_id("x" * 201).startswith("sha256:") and len(short_id("x" * 201)) == 71
    assert short_id("x" * 201) == short_id("x" * 201) != short_id("y" * 201)


def test_feeds_no_longer_configured_leave_the_cursor(config, http_server, sleeps):
    http_server.route("GET", "/feed/", Reply(body=fixture("portal_kupang.xml")))
    source = make_source(http_server, feeds=["/feed/"])
    with collect_once(config, source, sleeps)[1] as store:
        store.set_cursor(NAME, json.dumps({"https://gone.example/feed": {"etag": '"x"'}}))
    collect_once(config, source, sleeps)[1].close()
    with collect_once(config, source, sleeps)[1] as store:
        assert cursor_of(store) == {}
