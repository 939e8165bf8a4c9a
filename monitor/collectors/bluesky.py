"""Bluesky post search: ``app.bsky.feed.searchPosts`` with an app-password session.

The collector logs in with ``com.atproto.server.createSession`` (credentials
``identifier`` and ``app_password``), searches every configured query with
``sort=latest`` and ``lang=<options.lang>``, and pages with the API's cursor up to
``options.max_pages`` pages a query. When the access token expires mid-run
(400 ``ExpiredToken`` or 401) the session is refreshed with
``com.atproto.server.refreshSession`` (or created anew if that fails) and the
request is sent once more.

One ``base_url`` serves both login and search: the default is the PDS
``https://bsky.social``, which proxies searchPosts to the AppView for logged-in
users. The public AppView (``https://public.api.bsky.app``) is not the default
because it has refused unauthenticated post search and paging at times since
January 2025, and it does not serve createSession.

The cursor is a JSON object ``{query: newest sortAt}``, where sortAt is the earlier
of a post's ``createdAt`` and ``indexedAt`` (what the search's ``since`` filter
compares against). The next run asks ``since`` that moment minus a short overlap,
because posts reach the search index with a delay; the store drops the repeats.
A query's entry moves only in the batch that carries its last page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx

from monitor.clock import parse_iso, to_iso
from monitor.collectors import (
    Batch,
    CollectContext,
    CollectorError,
    SourceType,
    load_json_cursor,
    storable,
)
from monitor.collectors.http import Http, parse_json
from monitor.config.keys import Key, positive, with_defaults
from monitor.config.sections import SourceConfig
from monitor.records import Post

log = logging.getLogger(__name__)

# The keys a source of type "bluesky" takes besides the common ones.
OPTIONS = {
    "lang": Key(str, "id"),
    "max_pages": Key(int, 10, check=positive),
}

DEFAULT_BASE_URL = "https://bsky.social"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
SEARCH_POSTS = "/xrpc/app.bsky.feed.searchPosts"
PAGE_LIMIT = 100  # the most searchPosts returns a page
SINCE_OVERLAP = timedelta(minutes=10)  # posts are searchable a little after their sortAt
EXPIRED_ERRORS = {"ExpiredToken", "InvalidToken"}
POST_COLLECTION = "app.bsky.feed.post"


def _body(response: httpx.Response) -> Any:
    """The JSON of an answer; an error answer that is not JSON gives None (its status speaks)."""
    if response.status_code < 400:
        return parse_json(response)
    try:
        return parse_json(response)
    except CollectorError:
        return None


def _error_name(body: Any) -> str:
    return str(body.get("error") or "") if isinstance(body, dict) else ""


def _error_text(body: Any, status: int) -> str:
    if not isinstance(body, dict):
        return str(status)
    parts = [str(status), str(body.get("error") or ""), str(body.get("message") or "")]
    return ": ".join(p for p in parts if p)[:300]


class _Session:
    """An app-password session: tokens are kept in memory only, never logged."""

    def __init__(self, http: Http, source: SourceConfig, identifier: str, password: str):
        self.http = http
        self.source = source
        self._identifier = identifier
        self._password = password
        self._access = ""
        self._refresh = ""

    def headers(self) -> dict[str, str]:
        if not self._access:
            self.login()
        return {"Authorization": f"Bearer {self._access}"}

    def _take(self, body: Any, what: str) -> None:
        if not (
            isinstance(body, dict)
            and isinstance(body.get("accessJwt"), str)
            and isinstance(body.get("refreshJwt"), str)
        ):
            raise CollectorError(f"Bluesky {what}: the answer has no accessJwt/refreshJwt")
        self._access, self._refresh = body["accessJwt"], body["refreshJwt"]

    def login(self) -> None:
        response = self.http.request(
            "POST",
            CREATE_SESSION,
            json_body={"identifier": self._identifier, "password": self._password},
            ok_statuses=(400, 401),
        )
        body = _body(response)
        if response.status_code in (400, 401):
            id_env = self.source.credentials.get("identifier", "")
            pw_env = self.source.credentials.get("app_password", "")
            raise CollectorError(
                f"Bluesky refused the login ({_error_text(body, response.status_code)}): check "
                f"that {id_env} holds the account's handle or e-mail and {pw_env} an app "
                "password (Settings > Privacy and security > App passwords), not the "
                "account's own password"
            )
        self._take(body, "login")

    def renew(self) -> None:
        """Refresh the session; if the refresh token is refused too, log in again."""
        if self._refresh:
            response = self.http.request(
                "POST",
                REFRESH_SESSION,
                headers={"Authorization": f"Bearer {self._refresh}"},
                ok_statuses=(400, 401),
            )
            body = _body(response)
            if response.status_code < 400:
                self._take(body, "session refresh")
                log.info("%s: Bluesky session refreshed", self.source.name)
                return
            log.info(
                "%s: Bluesky refused the session refresh (%s); logging in again",
                self.source.name,
                _error_text(body, response.status_code),
            )
        self.login()


class BlueskyCollector:
    def __init__(self, source: SourceConfig, context: CollectContext):
        self.source = source
        self.context = context
        self.base_url = source.base_url or DEFAULT_BASE_URL
        options = with_defaults(OPTIONS, source.options)
        self.lang = str(options["lang"])
        self.max_pages = int(options["max_pages"])
        self.failed_queries: list[str] = []

    # --- cursor ---------------------------------------------------------------------

    def _load_cursor(self, cursor: str | None) -> dict[str, str]:
        value = load_json_cursor(cursor, self.source.name)
        positions = {}
        for query, moment in value.items():
            if query not in self.source.queries:
                continue
            try:
                positions[query] = to_iso(parse_iso(str(moment)))
            except ValueError:
                log.warning("%s: ignoring unreadable cursor of '%s'", self.source.name, query)
        return positions

    @staticmethod
    def _dump(positions: dict[str, str]) -> str:
        return json.dumps(positions, ensure_ascii=False, sort_keys=True)

    # --- fetching -------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Iterator[Batch]:
        if not self.source.queries:
            raise CollectorError(
                f"source '{self.source.name}' has no queries: add queries = [...] to it"
            )
        identifier = self.context.credential(self.source, "identifier")
        password = self.context.credential(self.source, "app_password")
        self.failed_queries = []
        positions = self._load_cursor(cursor)
        with Http(self.context, self.base_url, self.source.name) as http:
            session = _Session(http, self.source, identifier, password)
            for query in dict.fromkeys(self.source.queries):
                yield from self._query(http, session, query, positions)
        if self.failed_queries:
            raise CollectorError("; ".join(self.failed_queries))

    def _query(
        self, http: Http, session: _Session, query: str, positions: dict[str, str]
    ) -> Iterator[Batch]:
        params: dict[str, Any] = {"q": query, "sort": "latest", "limit": PAGE_LIMIT}
        if self.lang:
            params["lang"] = self.lang
        if query in positions:
            params["since"] = to_iso(parse_iso(positions[query]) - SINCE_OVERLAP)
        newest: datetime | None = None
        for page_number in range(1, self.max_pages + 1):
            body, problem = self._search(http, session, params)
            if problem:
                self.failed_queries.append(f"query '{query}': {problem}")
                return
            posts_data = body.get("posts")
            if not isinstance(posts_data, list):
                raise CollectorError(f"{SEARCH_POSTS}: the answer has no 'posts' list")
            posts, rejected = [], []
            for record in posts_data:
                uri = record.get("uri", "?") if isinstance(record, dict) else "?"
                try:
                    post, sort_at = self._post(record)
                    storable(post)  # the shared check: UTF-8, nesting
                except ValueError as exc:
                    rejected.append(f"post {uri}: {exc}")
                    continue
                posts.append(post)
                newest = sort_at if newest is None else max(newest, sort_at)
            next_page = body.get("cursor")
            last = not next_page or not posts_data or page_number == self.max_pages
            if last and next_page and posts_data:
                log.warning(
                    "%s: query '%s': stopped after max_pages = %d pages; older posts since "
                    "the last run are skipped (raise max_pages or run the source more often)",
                    self.source.name,
                    query,
                    self.max_pages,
                )
            new_cursor = None
            if last and newest is not None:
                previous = parse_iso(positions[query]) if query in positions else newest
                positions[query] = to_iso(max(newest, previous))
                new_cursor = self._dump(positions)
            yield Batch(posts, new_cursor, rejected)
            if last:
                return
            params["cursor"] = next_page

    def _search(self, http: Http, session: _Session, params: dict[str, Any]) -> tuple[dict, str]:
        """One search answer (or a problem with the query), renewing an expired session once."""
        for attempt in range(2):
            response = http.get(
                SEARCH_POSTS, params=params, headers=session.headers(), ok_statuses=(400, 401)
            )
            body = _body(response)
            status = response.status_code
            expired = status == 401 or (status == 400 and _error_name(body) in EXPIRED_ERRORS)
            if not expired:
                break
            if attempt == 1:
                raise CollectorError(
                    f"Bluesky refused a fresh session ({_error_text(body, status)}); "
                    "check that the app password has not been revoked"
                )
            log.info("%s: Bluesky access token expired; renewing the session", self.source.name)
            session.renew()
        if status == 400:
            return {}, f"Bluesky refused the search ({_error_text(body, status)})"
        if not isinstance(body, dict):
            raise CollectorError(f"{SEARCH_POSTS}: expected a JSON object")
        return body, ""

    def _post(self, view: Any) -> tuple[Post, datetime]:
        """A Post and its sortAt (the earlier of createdAt and indexedAt)."""
        if not isinstance(view, dict):
            raise ValueError("not a JSON object")
        record, author = view.get("record"), view.get("author")
        missing = [k for k in ("uri", "record", "author") if not view.get(k)]
        if isinstance(record, dict) and not isinstance(record.get("text"), str):
            missing.append("record.text")
        if isinstance(author, dict) and not author.get("did"):
            missing.append("author.did")
        if missing:
            raise ValueError("missing " + ", ".join(f"'{k}'" for k in missing))
        if not isinstance(record, dict) or not isinstance(author, dict):
            raise ValueError("'record' or 'author' is not an object")
        moments = []
        for key, value in (
            ("createdAt", record.get("createdAt")),
            ("indexedAt", view.get("indexedAt")),
        ):
            try:
                moments.append(parse_iso(str(value)))
            except ValueError:
                if value:
                    log.debug("unreadable %s '%s' of %s", key, value, view["uri"])
        if not moments:
            raise ValueError("no readable 'record.createdAt' or 'indexedAt'")
        # A client may claim a future createdAt; the index time bounds it.
        created_at = min(moments)
        uri, did = str(view["uri"]), str(author["did"])
        handle = str(author.get("handle") or "")
        profile = handle if handle and handle != "handle.invalid" else did
        reply = record.get("reply")
        reply_to = ""
        if isinstance(reply, dict) and isinstance(reply.get("parent"), dict):
            reply_to = str(reply["parent"].get("uri") or "")
        quoted = _quoted_uri(record.get("embed"))
        langs = record.get("langs")
        lang = ""
        if isinstance(langs, list) and langs and isinstance(langs[0], str):
            lang = langs[0].strip().lower().split("-")[0]
        post = Post(
            source=self.source.name,
            source_id=uri,
            # record.text is plain text on Bluesky (links and mentions are facets beside
            # it), so it is kept as written rather than run through an HTML cleaner.
            text=record["text"].strip(),
            created_at=created_at,
            url=f"https://bsky.app/profile/{profile}/post/{uri.rsplit('/', 1)[-1]}",
            author_id=did,
            author_handle=handle,
            lang=lang,
            platform="bluesky",
            region=self.source.region,
            is_reply=bool(reply_to),
            is_quote=bool(quoted),
            parent_source_id=quoted or reply_to,
            raw=view,
        )
        return post, created_at


def _quoted_uri(embed: Any) -> str:
    """The post a record embeds (a quote), if the embed is a post and not a feed or list."""
    if not isinstance(embed, dict):
        return ""
    kind = embed.get("$type")
    target = embed.get("record")
    if kind == "app.bsky.embed.recordWithMedia" and isinstance(target, dict):
        target = target.get("record")
    elif kind != "app.bsky.embed.record":
        return ""
    uri = str(target.get("uri") or "") if isinstance(target, dict) else ""
    return uri if f"/{POST_COLLECTION}/" in uri else ""


SOURCE_TYPE = SourceType("bluesky", OPTIONS, BlueskyCollector)
