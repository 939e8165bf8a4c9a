"""Mastodon: hashtag timelines and (with a token) status search on one instance.

A query that starts with ``#`` reads ``GET /api/v1/timelines/tag/{tag}``, which most
instances serve without a token; any other query uses ``GET /api/v2/search`` with
``type=statuses``, which most instances only answer with a user token (credential
``access_token``). ``source.base_url`` names the instance and is required.

Paging and the cursor (one ``min_id`` per query, kept in a JSON object):

- Tag timelines answer newest first and carry a ``Link`` header whose ``rel="next"``
  (``max_id`` = the page's oldest id) goes older and ``rel="prev"`` (``min_id`` = the
  page's newest id) goes newer. With a saved ``min_id`` the instance returns the
  statuses immediately newer than it, so following ``prev`` walks forward in time
  without gaps: each page's batch carries the cursor (its newest id) and a crash loses
  nothing. On the first run (no cursor) the newest page is read and ``next`` is followed
  backwards; the cursor (the newest id seen) then travels only in the last batch.
- Status search answers newest first and sends no ``Link`` header; it also turns
  ``min_id`` into an ``after:`` date filter. It is paged with ``offset`` (which needs a
  token) below the saved ``min_id``; the cursor moves only after the last page.

At most ``options.max_pages`` pages per query per run. Only the boundary ids of a
``Link`` header are used, against the instance's own path: a header pointing at another
host never receives the token. Rate-limit headers (``X-RateLimit-*``) are handled by Http.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from monitor.clock import parse_iso
from monitor.collectors import (
    Batch,
    CollectContext,
    CollectorError,
    SourceType,
    load_json_cursor,
    storable,
)
from monitor.collectors.http import HostUnreachable, Http, SourceStopped, parse_json, require
from monitor.config.keys import Key, positive, with_defaults
from monitor.config.sections import SourceConfig
from monitor.records import Post
from monitor.text.html import html_to_text

log = logging.getLogger(__name__)

# The keys a source of type "mastodon" takes besides the common ones.
OPTIONS = {
    "max_pages": Key(int, 10, check=positive),
}

PAGE_LIMIT = 40  # the documented maximum of `limit` for timelines and search
TAG_PATH = "/api/v1/timelines/tag/{tag}"
SEARCH_PATH = "/api/v2/search"
LANGUAGE_ALIASES = {"in": "id"}  # the old ISO 639 code for Indonesian
# Mastodon wraps hashtags, mentions and links in inline tags: "#<span>kupang</span>",
# "<span class="invisible">https://</span>...". Unwrapped without a space they stay
# "#kupang" and whole URLs; html_to_text would turn each tag into a space.
_INLINE_TAG = re.compile(r"(?i)<\s*/?\s*(?:span|a)(?:\s[^<>]{0,500})?>")


def content_text(html: str) -> str:
    """Plain text of a status' HTML content."""
    return html_to_text(_INLINE_TAG.sub("", html))


def id_key(status_id: str) -> tuple[int, str]:
    """Sort key for Mastodon ids: strings, newer ones longer or lexically larger."""
    return len(status_id), status_id


def newest(*ids: str | None) -> str | None:
    present = [i for i in ids if i]
    return max(present, key=id_key) if present else None


def link_param(response: httpx.Response, rel: str, name: str) -> str | None:
    """The ``name`` query parameter of the ``Link`` header's ``rel`` target, if any."""
    target = response.links.get(rel, {}).get("url")
    if not target:
        return None
    values = parse_qs(urlsplit(target).query).get(name)
    return values[0] if values else None


def load_cursor(cursor: str | None, source_name: str) -> dict[str, str]:
    value = load_json_cursor(cursor, source_name)
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int) and v != ""}


class MastodonCollector:
    def __init__(self, source: SourceConfig, context: CollectContext):
        self.source = source
        self.context = context
        if not source.base_url:
            raise CollectorError(
                f"source '{source.name}' (mastodon) needs base_url: the instance to read, "
                'e.g. base_url = "https://mastodon.social"'
            )
        self.max_pages = int(with_defaults(OPTIONS, source.options)["max_pages"])
        self.token = (
            context.credential(source, "access_token")
            if "access_token" in source.credentials
            else ""
        )

    # --- records ----------------------------------------------------------------------

    def _post(self, status: Any) -> Post:
        status_id, created = require(status, "id", "created_at", what="status")
        status_id = str(status_id)
        account = status.get("account")
        if not isinstance(account, Mapping) or account.get("id") in (None, ""):
            raise ValueError(f"status {status_id} without account.id")
        original = status.get("reblog")
        if original is not None and not (isinstance(original, Mapping) and original.get("id")):
            raise ValueError(f"status {status_id}: reblog without id")
        shown: Mapping[str, Any] = original or status
        if not isinstance(shown.get("content"), str):
            raise ValueError(f"status {status_id} without content")
        try:
            created_at = parse_iso(str(created))
        except ValueError:
            raise ValueError(f"status {status_id}: unreadable created_at {created!r:.40}") from None
        text = content_text(shown["content"])
        warning = html_to_text(str(shown.get("spoiler_text") or ""))
        if warning:  # the content warning is part of what the author wrote
            text = f"{warning}\n\n{text}".strip()
        lang = str(shown.get("language") or status.get("language") or "").lower()
        reply_to = str(status.get("in_reply_to_id") or "")
        quoted = _quoted_id(shown.get("quote"))
        parent = str(original["id"]) if original else (reply_to or quoted)
        return Post(
            source=self.source.name,
            source_id=status_id,
            text=text,
            created_at=created_at,
            url=str(status.get("url") or shown.get("url") or status.get("uri") or ""),
            author_id=str(account["id"]),
            author_handle=str(account.get("acct") or account.get("username") or ""),
            lang=LANGUAGE_ALIASES.get(lang, lang),
            platform="mastodon",
            region=self.source.region,
            is_repost=original is not None,
            is_reply=bool(reply_to),
            is_quote=bool(quoted),
            parent_source_id=parent,
            raw=dict(status),
        )

    def _posts(self, statuses: list[Any], query: str) -> tuple[list[Post], list[str]]:
        posts, rejected = [], []
        for index, status in enumerate(statuses):
            try:
                posts.append(storable(self._post(status)))  # the shared check: UTF-8, nesting
            except (ValueError, TypeError, KeyError) as exc:
                status_id = status.get("id") if isinstance(status, Mapping) else None
                named = f" (status {str(status_id)[:40]!a})" if status_id not in (None, "") else ""
                rejected.append(f"{query}: record {index + 1} of the page{named}: {exc}")
        return posts, rejected

    # --- requests ---------------------------------------------------------------------

    def _get(self, http: Http, path: str, params: dict[str, Any]) -> httpx.Response:
        response = http.get(path, params=params, ok_statuses=(401, 403))
        if response.status_code in (401, 403):
            if self.token:
                raise CollectorError(
                    f"{self.source.base_url} refused the access token ({response.status_code}): "
                    "check that it is valid and has the read scope (read:statuses, read:search)"
                )
            if path == SEARCH_PATH:
                raise CollectorError(
                    f"{self.source.base_url} does not allow status search without a token "
                    f"({response.status_code}): add credentials = {{ access_token = "
                    '"MASTODON_TOKEN" }} with a token of an account on that instance, '
                    "or use hashtag queries (#tag)"
                )
            raise CollectorError(
                f"{self.source.base_url} does not show this hashtag timeline without a token "
                f"({response.status_code}): add credentials = {{ access_token = "
                '"MASTODON_TOKEN" }'
            )
        return response

    def _statuses(self, response: httpx.Response, search: bool) -> list[Any]:
        data = parse_json(response)
        statuses = data.get("statuses") if search and isinstance(data, dict) else data
        if not isinstance(statuses, list):
            expected = "an object with a 'statuses' list" if search else "a list of statuses"
            raise CollectorError(
                f"{urlsplit(str(response.request.url)).path}: expected {expected}, "
                f"got {type(data).__name__}"
            )
        return statuses

    # --- paging -----------------------------------------------------------------------

    def _tag_pages(
        self, http: Http, query: str, state: dict[str, str]
    ) -> Iterator[tuple[list[Any], str | None]]:
        """(statuses, cursor to save after them or None) per page of a hashtag timeline."""
        tag = query.lstrip("#").strip()
        if not tag:
            raise CollectorError(f"'{query}' is not a hashtag: write it as #word")
        path = TAG_PATH.format(tag=quote(tag, safe=""))
        saved = state.get(query)
        if saved:
            # Forward: every page holds the statuses immediately newer than min_id.
            min_id = saved
            for _ in range(self.max_pages):
                response = self._get(http, path, {"limit": PAGE_LIMIT, "min_id": min_id})
                statuses = self._statuses(response, search=False)
                if not statuses:
                    return
                ids = [str(s["id"]) for s in statuses if isinstance(s, Mapping) and s.get("id")]
                following = link_param(response, "prev", "min_id") or newest(*ids)
                if not following or id_key(following) <= id_key(min_id):
                    yield statuses, None
                    return
                min_id = following
                yield statuses, min_id
            log.info(
                "%s: %s: read %d pages (max_pages); the next run goes on from %s",
                self.source.name,
                query,
                self.max_pages,
                min_id,
            )
            return
        # First run: newest page, then older ones; the cursor moves only at the end.
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        top: str | None = None
        for page in range(self.max_pages):
            response = self._get(http, path, params)
            statuses = self._statuses(response, search=False)
            if not statuses:
                break
            ids = [str(s["id"]) for s in statuses if isinstance(s, Mapping) and s.get("id")]
            top = newest(top, link_param(response, "prev", "min_id") if page == 0 else None, *ids)
            older = link_param(response, "next", "max_id") or (min(ids, key=id_key) if ids else "")
            if not older or older == params.get("max_id"):
                yield statuses, None
                break
            params = {"limit": PAGE_LIMIT, "max_id": older}
            yield statuses, None
        else:
            log.info(
                "%s: %s: first run read the newest %d pages (max_pages); older statuses "
                "are not fetched",
                self.source.name,
                query,
                self.max_pages,
            )
        if top:
            yield [], top

    def _search_pages(
        self, http: Http, query: str, state: dict[str, str]
    ) -> Iterator[tuple[list[Any], str | None]]:
        """(statuses, cursor or None) per page of a status search, newest first."""
        saved = state.get(query)
        params: dict[str, Any] = {"q": query, "type": "statuses", "limit": PAGE_LIMIT}
        if saved:
            params["min_id"] = saved
        top: str | None = None
        offset = 0
        pages = self.max_pages if self.token else 1  # `offset` needs a user token
        for page in range(pages):
            if offset:
                params["offset"] = offset
            response = self._get(http, SEARCH_PATH, params)
            statuses = self._statuses(response, search=True)
            if not statuses:
                break
            ids = [str(s["id"]) for s in statuses if isinstance(s, Mapping) and s.get("id")]
            top = newest(top, *ids)
            offset += len(statuses)
            yield statuses, None
            if page == pages - 1 and len(statuses) >= PAGE_LIMIT:
                log.info(
                    "%s: %s: stopped after %d page(s) of search results%s; older new "
                    "statuses of this window are not fetched",
                    self.source.name,
                    query,
                    pages,
                    "" if self.token else " (paging needs an access token)",
                )
        if top and id_key(top) > id_key(saved or ""):
            yield [], top

    # --- the interface ----------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Iterator[Batch]:
        if not self.source.queries:
            raise CollectorError(
                f"source '{self.source.name}' has no queries: add hashtags such as "
                '"#kupang" (or search terms, with an access token)'
            )
        state = {  # queries no longer configured are forgotten
            query: value
            for query, value in load_cursor(cursor, self.source.name).items()
            if query in self.source.queries
        }
        if not self.token and any(not q.startswith("#") for q in self.source.queries):
            log.warning(
                "%s: status search without an access token returns nothing on most "
                "instances; add credentials.access_token or use #hashtags",
                self.source.name,
            )
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        failures: list[str] = []
        with Http(self.context, self.source.base_url, self.source.name, headers=headers) as http:
            for query in self.source.queries:
                pages = (
                    self._tag_pages(http, query, state)
                    if query.startswith("#")
                    else self._search_pages(http, query, state)
                )
                try:
                    for statuses, page_cursor in pages:
                        posts, rejected = self._posts(statuses, query)
                        if page_cursor is not None:
                            state[query] = page_cursor
                        yield Batch(
                            posts,
                            json.dumps(state, sort_keys=True) if page_cursor else None,
                            rejected,
                        )
                except SourceStopped as exc:
                    raise SourceStopped(f"query '{query}': {exc}", exc.resume_at) from None
                except HostUnreachable:
                    raise  # one server for every query: the others cannot fare better
                except CollectorError as exc:
                    log.warning("%s: query '%s' failed: %s", self.source.name, query, exc)
                    failures.append(f"query '{query}': {exc}")
        if failures:
            raise CollectorError("; ".join(failures))


def _quoted_id(quote_field: Any) -> str:
    """The quoted status id of a Mastodon 4.4+ Quote / ShallowQuote, if accepted."""
    if not isinstance(quote_field, Mapping):
        return ""
    if quote_field.get("state") not in (None, "accepted"):
        return ""
    inner = quote_field.get("quoted_status")
    if isinstance(inner, Mapping) and inner.get("id"):
        return str(inner["id"])
    return str(quote_field.get("quoted_status_id") or "")


SOURCE_TYPE = SourceType("mastodon", OPTIONS, MastodonCollector)
