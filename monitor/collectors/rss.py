"""RSS 2.0 and Atom 1.0 feeds: news portals and Google News searches.

Feeds read: every URL in ``options.feeds`` and, when ``options.google_news`` is true,
one Google News search feed per query (``{base}/rss/search?q=...&hl=id&gl=ID&ceid=ID:id``,
base ``source.base_url`` or ``https://news.google.com``).

A feed is one document, so there is no paging; each feed's items travel in one batch
with the cursor after them. The cursor is a JSON object mapping each feed URL to the
``ETag`` / ``Last-Modified`` its last answer carried; the next request sends them back
as ``If-None-Match`` / ``If-Modified-Since`` and a ``304 Not Modified`` means nothing new.
Items are identified by RSS ``guid`` / Atom ``id`` (else their link), so the store's
dedup drops items seen before, also across feeds.

Safety: documents are parsed with the standard library's ElementTree, which never
fetches external entities or DTDs. What remains dangerous is entity expansion
("billion laughs", quadratic blow-up), which needs entities declared in a DOCTYPE's
internal subset. A cheap expat pre-scan, stopped at the root element, refuses any
DOCTYPE with an internal subset (and any entity declaration) before ElementTree sees
the document. A bare ``<!DOCTYPE rss PUBLIC ...>`` as old RSS 0.91 feeds carry it
declares nothing and is accepted.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from xml.parsers import expat

from monitor.clock import to_utc
from monitor.collectors import (
    Batch,
    CollectContext,
    CollectorError,
    SourceType,
    load_json_cursor,
    storable,
)
from monitor.collectors.http import Http, SourceStopped
from monitor.config.keys import Key, with_defaults
from monitor.config.sections import SourceConfig
from monitor.records import Post
from monitor.text.html import html_to_text

log = logging.getLogger(__name__)

# The keys a source of type "rss" takes besides the common ones.
OPTIONS = {
    "feeds": Key("list[str]", list),
    "google_news": Key(bool, True),
}

GOOGLE_NEWS_BASE = "https://news.google.com"
GOOGLE_NEWS_LOCALE = {"hl": "id", "gl": "ID", "ceid": "ID:id"}
MAX_SOURCE_ID_CHARS = 200

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NAMESPACE_PREFIXES = {
    ATOM: "",
    "{http://purl.org/rss/1.0/modules/content/}": "content:",
    "{http://purl.org/dc/elements/1.1/}": "dc:",
    "{http://search.yahoo.com/mrss/}": "media:",
}
# Indonesian feeds sometimes name their zone instead of giving an offset.
ZONE_NAMES = {"WIB": "+0700", "WITA": "+0800", "WIT": "+0900"}
TRAILING_ZONE = re.compile(r"\s(WIB|WITA|WIT)\s*$")
_RUNS_OF_SPACES = re.compile(r"[ \t\u00a0]+")
_NOT_LETTERS = re.compile(r"\W+")


def plain(value: str) -> str:
    """Plain text of feed HTML; no-break spaces (Google News puts two) become spaces."""
    text = html_to_text(value)
    return "\n".join(_RUNS_OF_SPACES.sub(" ", line).strip() for line in text.split("\n"))


@dataclass
class Feed:
    url: str
    label: str  # how messages name it: the URL, or the Google News query


class _RootReached(Exception):
    """The pre-scan saw the root element: no DOCTYPE can follow."""


class _Refused(Exception):
    pass


def refuse_entity_declarations(data: bytes) -> None:
    """Raise _Refused if the document declares a DTD internal subset or entities."""
    scanner = expat.ParserCreate()

    def doctype(name: str, system_id: Any, public_id: Any, has_internal_subset: int) -> None:
        if has_internal_subset:
            raise _Refused(
                f"its DOCTYPE <!DOCTYPE {name} [...]> declares an internal subset, which "
                "can define entities (entity-expansion attack); feeds do not need one"
            )

    def entity(*_: Any) -> None:
        raise _Refused("it declares XML entities (entity-expansion attack)")

    def root(*_: Any) -> None:
        raise _RootReached

    scanner.StartDoctypeDeclHandler = doctype
    scanner.EntityDeclHandler = entity
    scanner.UnparsedEntityDeclHandler = entity
    scanner.StartElementHandler = root
    try:
        scanner.Parse(data, True)
    except _RootReached:
        return


def parse_feed_date(value: str) -> datetime:
    """RFC 822 (RSS pubDate) or ISO-8601 (Atom, dc:date) as an aware UTC datetime."""
    text = TRAILING_ZONE.sub(lambda m: " " + ZONE_NAMES[m.group(1)], value.strip())
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"unreadable date {value.strip()!r:.60}") from None
    return to_utc(parsed)


def short_id(guid: str) -> str:
    if len(guid) <= MAX_SOURCE_ID_CHARS:
        return guid
    return "sha256:" + hashlib.sha256(guid.encode("utf-8")).hexdigest()


def language(value: str) -> str:
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    return "id" if primary == "in" else primary


def _name(tag: str) -> str:
    for namespace, prefix in NAMESPACE_PREFIXES.items():
        if tag.startswith(namespace):
            return prefix + tag[len(namespace) :]
    return tag.rsplit("}", 1)[-1]


def element_record(element: ET.Element) -> dict[str, Any]:
    """An item/entry as a plain dict (the raw payload): child name -> text or attributes."""
    record: dict[str, Any] = {}
    for child in element:
        text = "".join(child.itertext()).strip()
        value: Any = text
        if child.attrib:
            value = {_name(k): v for k, v in child.attrib.items()}
            if text:
                value["text"] = text
        name = _name(child.tag)
        if name in record:
            existing = record[name]
            record[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            record[name] = value
    return record


def _text(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    return (element.findtext(path) or "").strip()


def _atom_text(element: ET.Element | None) -> str:
    """Plain text of an Atom text construct (type text, html or xhtml)."""
    if element is None:
        return ""
    kind = element.get("type", "text")
    if kind == "xhtml":
        return plain(" ".join(element.itertext()))
    if kind == "html":
        return plain(element.text or "")
    return (element.text or "").strip()


def _atom_link(entry: ET.Element) -> str:
    links = entry.findall(f"{ATOM}link")
    for link in links:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href", "")
    return next((link.get("href", "") for link in links if link.get("href")), "")


def _letters(text: str) -> str:
    return _NOT_LETTERS.sub("", text.lower())


def _join(title: str, body: str) -> str:
    """Title and body as one text, without repeating what one already says.

    Google News descriptions are only the title as a link plus the publisher's name.
    """
    if not body or _letters(body) in _letters(title):
        return title
    if not title or _letters(title) in _letters(body):
        return body
    return f"{title}\n\n{body}"


class RssCollector:
    def __init__(self, source: SourceConfig, context: CollectContext):
        self.source = source
        self.context = context
        self.feeds = self._feeds()

    def _feeds(self) -> list[Feed]:
        options = with_defaults(OPTIONS, self.source.options)
        feeds = [Feed(url, url) for url in options["feeds"]]
        if options["google_news"]:
            base = (self.source.base_url or GOOGLE_NEWS_BASE).rstrip("/")
            for query in self.source.queries:
                params = urlencode({"q": query, **GOOGLE_NEWS_LOCALE}, safe=":")
                feeds.append(Feed(f"{base}/rss/search?{params}", f"Google News '{query}'"))
        if not feeds:
            raise CollectorError(
                f"source '{self.source.name}' has nothing to read: list feed URLs in "
                "feeds = [...] or set google_news = true with queries"
            )
        return feeds

    # --- one feed ---------------------------------------------------------------------

    def _document(self, data: bytes, feed: Feed, content_type: str) -> ET.Element:
        try:
            refuse_entity_declarations(data)
            return ET.fromstring(data)
        except _Refused as exc:
            raise CollectorError(f"feed {feed.label}: document refused: {exc}") from None
        except (expat.ExpatError, ET.ParseError) as exc:
            start = " ".join(data[:80].decode("utf-8", "replace").split()) or "(empty body)"
            raise CollectorError(
                f"feed {feed.label}: malformed XML ({exc}); the server sent "
                f"'{content_type or 'no content type'}': {start}"
            ) from None

    def _rss_post(self, item: ET.Element, feed: Feed, feed_title: str, lang: str) -> Post:
        link = _text(item, "link")
        guid = _text(item, "guid") or link
        title = plain(_text(item, "title"))
        if not guid:
            raise ValueError(f"item '{title:.60}' has neither guid nor link")
        body = plain(_text(item, "description") or _text(item, CONTENT_ENCODED))
        if not title and not body:
            raise ValueError(f"item {guid:.80} has neither title nor description")
        # Google News names the article's publisher in <source>; portals are their own.
        publisher = _text(item, "source") or feed_title
        raw = {"feed": feed.url, **element_record(item)}
        date = _text(item, "pubDate") or _text(item, DC_DATE)
        return self._post(guid, _join(title, body), link, date, publisher, lang, raw, feed)

    def _atom_post(self, entry: ET.Element, feed: Feed, feed_title: str, lang: str) -> Post:
        link = _atom_link(entry)
        guid = _text(entry, f"{ATOM}id") or link
        title = _atom_text(entry.find(f"{ATOM}title"))
        if not guid:
            raise ValueError(f"entry '{title:.60}' has neither id nor link")
        summary = entry.find(f"{ATOM}summary")
        body = _atom_text(summary if summary is not None else entry.find(f"{ATOM}content"))
        if not title and not body:
            raise ValueError(f"entry {guid:.80} has neither title nor summary")
        publisher = _text(entry, f"{ATOM}source/{ATOM}title") or feed_title
        lang = language(entry.get(XML_LANG, "")) or lang
        date = _text(entry, f"{ATOM}published") or _text(entry, f"{ATOM}updated")
        raw = {"feed": feed.url, **element_record(entry)}
        return self._post(guid, _join(title, body), link, date, publisher, lang, raw, feed)

    def _post(
        self,
        guid: str,
        text: str,
        link: str,
        date: str,
        publisher: str,
        lang: str,
        raw: dict[str, Any],
        feed: Feed,
    ) -> Post:
        if date:
            created_at = parse_feed_date(date)
        else:
            log.debug("%s: item %s has no date; using the run time", feed.label, guid[:80])
            created_at = self.context.now
        return Post(
            source=self.source.name,
            source_id=short_id(guid),
            text=text,
            created_at=created_at,
            url=link,
            author_handle=publisher,
            lang=lang,
            platform="news",
            region=self.source.region,
            raw=raw,
        )

    def _items(self, root: ET.Element, feed: Feed) -> tuple[list[Post], list[str]]:
        posts: list[Post] = []
        rejected: list[str] = []
        if root.tag == "rss":
            channel = root.find("channel")
            if channel is None:
                raise CollectorError(f"feed {feed.label}: RSS document without <channel>")
            feed_title = plain(_text(channel, "title"))
            lang = language(_text(channel, "language"))
            items = channel.findall("item")
            for number, item in enumerate(items, start=1):
                try:
                    posts.append(storable(self._rss_post(item, feed, feed_title, lang)))
                except ValueError as exc:
                    rejected.append(f"feed {feed.label}: item {number}: {exc}")
        elif root.tag == f"{ATOM}feed":
            feed_title = _atom_text(root.find(f"{ATOM}title"))
            lang = language(root.get(XML_LANG, ""))
            for number, entry in enumerate(root.findall(f"{ATOM}entry"), start=1):
                try:
                    posts.append(storable(self._atom_post(entry, feed, feed_title, lang)))
                except ValueError as exc:
                    rejected.append(f"feed {feed.label}: entry {number}: {exc}")
        else:
            raise CollectorError(
                f"feed {feed.label}: not an RSS 2.0 or Atom 1.0 feed "
                f"(the document's root element is <{_name(root.tag)}>)"
            )
        return posts, rejected

    def _read(self, http: Http, feed: Feed, state: dict[str, dict[str, str]]) -> Batch | None:
        if not feed.url.startswith(("https://", "http://")):
            raise CollectorError(f"feed {feed.label}: not an http(s) URL; fix options.feeds")
        validators = state.get(feed.url, {})
        headers = {}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        response = http.get(feed.url, headers=headers)
        if response.status_code == 304:
            log.info("%s: feed %s not modified since the last run", self.source.name, feed.label)
            return None
        root = self._document(response.content, feed, response.headers.get("content-type", ""))
        posts, rejected = self._items(root, feed)
        fresh = {
            key: value
            for key, value in (
                ("etag", response.headers.get("etag", "")),
                ("last_modified", response.headers.get("last-modified", "")),
            )
            if value
        }
        if fresh:
            state[feed.url] = fresh
        else:
            state.pop(feed.url, None)
        return Batch(posts, json.dumps(state, sort_keys=True), rejected)

    # --- the interface ----------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Iterator[Batch]:
        configured = {feed.url for feed in self.feeds}  # forget feeds no longer configured
        state = {
            url: v for url, v in _load_cursor(cursor, self.source.name).items() if url in configured
        }
        failures: list[str] = []
        with Http(self.context, "", self.source.name) as http:
            for feed in self.feeds:
                try:
                    batch = self._read(http, feed, state)
                except SourceStopped as exc:
                    raise SourceStopped(f"feed {feed.label}: {exc}", exc.resume_at) from None
                except CollectorError as exc:
                    message = str(exc)
                    if not message.startswith("feed "):
                        message = f"feed {feed.label}: {message}"
                    log.warning("%s: %s", self.source.name, message)
                    failures.append(message)
                    continue
                if batch is not None:
                    yield batch
        if failures:
            raise CollectorError("; ".join(failures))


def _load_cursor(cursor: str | None, source_name: str) -> dict[str, dict[str, str]]:
    value = load_json_cursor(cursor, source_name)
    return {
        str(url): {str(k): str(v) for k, v in validators.items() if isinstance(v, str)}
        for url, validators in value.items()
        if isinstance(validators, dict)
    }


SOURCE_TYPE = SourceType("rss", OPTIONS, RssCollector)
