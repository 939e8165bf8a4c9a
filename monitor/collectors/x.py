"""X (Twitter) recent search: ``GET /2/tweets/search/recent`` with an app bearer token.

Each configured query gets ``lang:<options.lang>`` (and ``-is:retweet`` when
``options.exclude_retweets``) and is paged with ``next_token``. Between runs a
query starts after the newest post it has seen (``since_id``); the cursor is a
JSON object ``{query: newest_id}`` and a query's entry moves only in the batch
that carries its last page.

X bills every post it returns, so a run stops cleanly when it has read
``options.max_posts_per_run`` posts or when the month's reads reach
``options.max_posts_per_month``. The run's budget is shared fairly between the
queries first, and what quiet queries leave is then given to busy ones. A query
the budget cuts short still moves its cursor to the newest post read: its older,
unread posts of that window are skipped rather than paid for again in the next
runs (a log line names such queries).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
from monitor.collectors.http import Http, parse_json
from monitor.config.keys import Key, at_least, positive, with_defaults
from monitor.config.sections import SourceConfig
from monitor.records import Post
from monitor.text.html import html_to_text

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.x.com"
SEARCH_PATH = "/2/tweets/search/recent"
TWEET_FIELDS = "created_at,lang,author_id,conversation_id,referenced_tweets,public_metrics"
USER_FIELDS = "username,name"
MIN_RESULTS = 10  # X refuses max_results below 10 ...
MAX_RESULTS = 100  # ... and above 100
# X's own language codes that are not ISO 639-1, and codes that mean "no language".
LANG_ALIASES = {"in": "id", "iw": "he", "ji": "yi"}
NO_LANGUAGE = {"und", "zxx", "art"}
# referenced_tweets type -> Post flag; the first present also names the parent.
REFERENCE_FLAGS = (("retweeted", "is_repost"), ("quoted", "is_quote"), ("replied_to", "is_reply"))

# The keys a source of type "x" takes besides the common ones.
OPTIONS = {
    # X answers at least 10 posts a request: a smaller budget would fetch nothing.
    "max_posts_per_run": Key(int, 500, check=at_least(MIN_RESULTS)),
    "max_posts_per_month": Key(int, 10_000, check=positive),
    "exclude_retweets": Key(bool, False),
    "lang": Key(str, "id"),
}


def iso_lang(code: Any) -> str:
    """X's language code as ISO 639-1 ("in" -> "id"); "" for undetermined ones ("und", "qme")."""
    if not isinstance(code, str) or not code:
        return ""
    primary = code.strip().lower().split("-")[0]
    if primary in NO_LANGUAGE or (len(primary) == 3 and primary.startswith("q")):
        return ""
    return LANG_ALIASES.get(primary, primary)


def search_query(query: str, lang: str, exclude_retweets: bool) -> str:
    """The configured query with the source's language and retweet operators added."""
    # Implicit AND binds tighter than OR in X's query language, so an OR query is
    # grouped before operators are appended to it.
    text = f"({query})" if " OR " in query else query
    if lang and "lang:" not in query:
        text += f" lang:{lang}"
    if exclude_retweets and "is:retweet" not in query:
        text += " -is:retweet"
    return text


def _newer(a: str | None, b: str | None) -> str | None:
    """The later of two post ids (ids grow with time; compared as numbers)."""
    if not a or not b:
        return a or b
    try:
        return a if int(a) >= int(b) else b
    except ValueError:
        return max(a, b)


@dataclass
class _Budget:
    per_run: int
    per_month: int
    month_before: int  # posts this source read earlier this month
    used: int = 0

    def remaining(self) -> int:
        return min(self.per_run - self.used, self.per_month - self.month_before - self.used)

    def reason(self) -> str:
        month_left = self.per_month - self.month_before - self.used
        if month_left <= self.per_run - self.used:
            return (
                f"monthly budget reached: {self.month_before + self.used} posts read this "
                f"month, max_posts_per_month = {self.per_month}"
            )
        return f"run budget reached: {self.used} posts read, max_posts_per_run = {self.per_run}"

    def describe(self) -> str:
        left = self.remaining()
        if left <= 0:
            return self.reason()
        return f"{self.reason()} ({left} left, fewer than X's smallest page of {MIN_RESULTS})"


@dataclass
class _Query:
    query: str
    since_id: str | None
    next_token: str | None = None
    newest_id: str | None = None
    read: int = 0
    started: bool = False
    done: bool = False
    failed: bool = False  # X refused the query: its cursor stays


@dataclass
class _Page:
    posts: list[Post] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    count: int = 0  # records X returned (and billed)


class XCollector:
    def __init__(self, source: SourceConfig, context: CollectContext):
        self.source = source
        self.context = context
        self.options = with_defaults(OPTIONS, source.options)
        self.base_url = source.base_url or DEFAULT_BASE_URL
        self.lang = str(self.options["lang"])
        self.exclude_retweets = bool(self.options["exclude_retweets"])
        self.failed_queries: list[str] = []

    # --- cursor ---------------------------------------------------------------------

    def _load_cursor(self, cursor: str | None) -> dict[str, str]:
        value = load_json_cursor(cursor, self.source.name)
        return {q: str(v) for q, v in value.items() if q in self.source.queries and v}

    @staticmethod
    def _dump(positions: dict[str, str]) -> str:
        return json.dumps(positions, ensure_ascii=False, sort_keys=True)

    # --- fetching -------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Iterator[Batch]:
        if not self.source.queries:
            raise CollectorError(
                f"source '{self.source.name}' has no queries: add queries = [...] to it"
            )
        token = self.context.credential(self.source, "bearer_token")
        self.failed_queries = []
        positions = self._load_cursor(cursor)
        budget = _Budget(
            per_run=int(self.options["max_posts_per_run"]),
            per_month=int(self.options["max_posts_per_month"]),
            month_before=self.context.fetched_this_month,
        )
        if budget.remaining() < MIN_RESULTS:
            log.warning("%s: %s; no search sent this run", self.source.name, budget.describe())
            return
        queries = [_Query(q, positions.get(q)) for q in dict.fromkeys(self.source.queries)]
        headers = {"Authorization": f"Bearer {token}"}
        with Http(self.context, self.base_url, self.source.name, headers=headers) as http:
            # First a fair share of the budget for every query, then what is left
            # for the queries that still have pages.
            for fair in (True, False):
                pending = [q for q in queries if not q.done]
                for index, state in enumerate(pending):
                    share = budget.remaining() // (len(pending) - index) if fair else 0
                    limit = state.read + max(share, MIN_RESULTS) if fair else None
                    while not state.done:
                        room = budget.remaining()
                        if limit is not None:
                            room = min(room, limit - state.read)
                        if room < MIN_RESULTS:
                            break
                        page = self._page(http, state, min(room, MAX_RESULTS))
                        budget.used += page.count
                        state.read += page.count
                        if state.done and not state.failed and state.newest_id:
                            positions[state.query] = state.newest_id
                            yield Batch(page.posts, self._dump(positions), page.rejected)
                        else:
                            yield Batch(page.posts, None, page.rejected)
            cut_short = [q for q in queries if q.started and not q.done]
            if cut_short or any(not q.started and not q.done for q in queries):
                for state in cut_short:
                    if state.newest_id:
                        positions[state.query] = state.newest_id
                self._log_budget_stop(budget, queries)
                if cut_short:
                    yield Batch([], self._dump(positions))
        if self.failed_queries:
            raise CollectorError("; ".join(self.failed_queries))

    def _log_budget_stop(self, budget: _Budget, queries: list[_Query]) -> None:
        cut_short = [f"'{q.query}'" for q in queries if q.started and not q.done]
        unsearched = [f"'{q.query}'" for q in queries if not q.started and not q.done]
        parts = [f"{self.source.name}: stopped cleanly, {budget.describe()}"]
        if cut_short:
            parts.append(
                f"not read to the end (older posts of this window are skipped): "
                f"{', '.join(cut_short)}"
            )
        if unsearched:
            parts.append(f"not searched this run: {', '.join(unsearched)}")
        log.warning("; ".join(parts))

    def _page(self, http: Http, state: _Query, max_results: int) -> _Page:
        """One request for one query; updates the query's state."""
        params: dict[str, Any] = {
            "query": search_query(state.query, self.lang, self.exclude_retweets),
            "max_results": max_results,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
        }
        if state.since_id:
            params["since_id"] = state.since_id
        if state.next_token:
            params["next_token"] = state.next_token
        response = http.get(SEARCH_PATH, params=params, ok_statuses=(400, 401, 403))
        status = response.status_code
        body = parse_json(response) if status < 400 else _error_body(response)
        if status == 401:
            env = self.source.credentials.get("bearer_token", "")
            raise CollectorError(
                f"X refused the bearer token (401 Unauthorized): check that the environment "
                f"variable {env} holds the app's current bearer token"
            )
        if status == 403:
            raise CollectorError(
                f"X answered 403 Forbidden ({_problem(body)}): the bearer token lacks access to "
                "recent search; the app must belong to a Project on a plan (or with credits) "
                "that includes search"
            )
        if status == 400:
            if state.since_id and _mentions_since_id(body) and not state.started:
                # Recent search only takes a since_id of the last 7 days; after a long
                # pause the query starts over from the oldest post X still searches.
                log.warning(
                    "%s: query '%s': X no longer accepts since_id %s (older than its 7-day "
                    "window); searching the whole window",
                    self.source.name,
                    state.query,
                    state.since_id,
                )
                state.since_id = None
                return self._page(http, state, max_results)
            self.failed_queries.append(
                f"query '{state.query}': X refused it (400: {_problem(body)})"
            )
            state.done = state.failed = True
            return _Page()
        if not isinstance(body, dict):
            raise CollectorError(
                f"{SEARCH_PATH}: expected a JSON object, got {type(body).__name__}"
            )
        if "data" not in body and "meta" not in body:
            # Even an empty search answers {"meta": {"result_count": 0}}: without both,
            # this is not a search result, and counting it as "nothing new" would hide it.
            errors = body.get("errors")
            said = (
                f": {_problem(body)}"
                if isinstance(errors, list) and errors
                else f" (keys: {', '.join(sorted(map(str, body))[:5]) or 'none'})"
            )
            raise CollectorError(
                f"{SEARCH_PATH}: query '{state.query}': the answer holds neither 'data' nor "
                f"'meta'{said}"
            )
        data, meta = body.get("data", []), body.get("meta") or {}
        if not isinstance(data, list) or not isinstance(meta, dict):
            raise CollectorError(f"{SEARCH_PATH}: 'data' or 'meta' of the answer is malformed")
        partial = body.get("errors")
        if isinstance(partial, list) and partial:
            log.warning(
                "%s: query '%s': X reported %d partial error(s), data kept: %s",
                self.source.name,
                state.query,
                len(partial),
                "; ".join(_problem(e) for e in partial[:3]),
            )
        state.started = True
        newest = str(meta["newest_id"]) if meta.get("newest_id") else None
        for record in data if not newest else []:
            if isinstance(record, dict) and record.get("id"):
                newest = _newer(newest, str(record["id"]))
        state.newest_id = _newer(state.newest_id, newest)
        state.next_token = meta.get("next_token") or None
        if not state.next_token or not data:
            state.done = True
        page = _Page(count=len(data))
        users = _users(body.get("includes"))
        for record in data:
            tweet_id = record.get("id", "?") if isinstance(record, dict) else "?"
            try:
                page.posts.append(storable(self._post(record, users)))  # UTF-8, nesting
            except ValueError as exc:
                page.rejected.append(f"tweet {tweet_id}: {exc}")
        return page

    def _post(self, tweet: Any, users: dict[str, dict]) -> Post:
        if not isinstance(tweet, dict):
            raise ValueError("not a JSON object")
        missing = [k for k in ("id", "text", "created_at") if tweet.get(k) in (None, "")]
        if missing:
            raise ValueError("missing " + ", ".join(f"'{k}'" for k in missing))
        tweet_id = str(tweet["id"])
        try:
            created_at = parse_iso(str(tweet["created_at"]))
        except ValueError:
            raise ValueError(f"unreadable created_at '{tweet['created_at']}'") from None
        author_id = str(tweet.get("author_id") or "")
        username = str(users.get(author_id, {}).get("username") or "")
        flags = {"is_repost": False, "is_quote": False, "is_reply": False}
        parent = ""
        references = {
            ref.get("type"): str(ref.get("id") or "")
            for ref in tweet.get("referenced_tweets") or []
            if isinstance(ref, dict)
        }
        for kind, flag in REFERENCE_FLAGS:
            if kind in references:
                flags[flag] = True
                parent = parent or references[kind]
        return Post(
            source=self.source.name,
            source_id=tweet_id,
            text=html_to_text(str(tweet["text"])),  # X escapes &, < and > as entities
            created_at=created_at,
            url=(
                f"https://x.com/{username}/status/{tweet_id}"
                if username
                else f"https://x.com/i/web/status/{tweet_id}"
            ),
            author_id=author_id,
            author_handle=username,
            lang=iso_lang(tweet.get("lang")),
            platform="x",
            region=self.source.region,
            parent_source_id=parent,
            raw=tweet,
            **flags,
        )


def _error_body(response: httpx.Response) -> Any:
    """The JSON of an error answer, or None when it is not JSON (the status says enough)."""
    try:
        return parse_json(response)
    except CollectorError:
        return None


def _users(includes: Any) -> dict[str, dict]:
    if not isinstance(includes, dict) or not isinstance(includes.get("users"), list):
        return {}
    return {str(u["id"]): u for u in includes["users"] if isinstance(u, dict) and u.get("id")}


def _problem(body: Any) -> str:
    """A short human description of an X problem object or error answer."""
    if not isinstance(body, dict):
        return "no details"
    errors = body.get("errors")
    messages = [
        str(e.get("message") or e.get("detail"))
        for e in (errors if isinstance(errors, list) else [])
        if isinstance(e, dict) and (e.get("message") or e.get("detail"))
    ]
    head = " ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    if body.get("reason"):
        head += f" [{body['reason']}]"
    return "; ".join(m for m in [head, *messages] if m)[:300] or "no details"


def _mentions_since_id(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    errors = body.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and (
            "since_id" in (error.get("parameters") or {}) or "since_id" in str(error.get("message"))
        ):
            return True
    return False


SOURCE_TYPE = SourceType("x", OPTIONS, XCollector)
