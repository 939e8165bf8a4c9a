"""YouTube: comments under recent videos found by search, through the Data API v3.

For each configured query, ``search.list`` finds the newest Indonesian videos
(``regionCode=ID``, ``relevanceLanguage=id``, published within
``published_within_days``); for each channel in ``channels`` it finds that
channel's newest videos. For every video found, ``commentThreads.list`` pages
through the comments, newest first, up to ``max_comment_pages`` pages of 100
threads. Top-level comments and the replies the API includes with them become
posts; replies are marked ``is_reply`` with the top-level comment as parent.

Quota (as documented by Google): a project has 10,000 units a day, a search
costs 100 units, a page of comment threads 1 unit. Every run logs its estimate.
When the daily quota is used up the source stops for this run with
``SourceStopped``, resuming after midnight Pacific Time, when Google resets it.

The API key is sent in the ``X-Goog-Api-Key`` header, which Google's APIs
accept wherever they accept the ``key`` query parameter: a key in the URL would
be written to the log by httpx (it logs every request URL at INFO level).

Cursor: a JSON object {videoId: publishedAt of the newest top-level comment
seen}. A later run stops paging a video once a page reaches comments not newer
than that. The cursor is carried by the batch of a video's last page, so a crash
mid-video re-reads that video instead of skipping its older pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from monitor.clock import parse_iso, to_iso
from monitor.collectors import (
    Batch,
    CollectContext,
    CollectorError,
    SourceType,
    storable,
)
from monitor.collectors.http import Http, SourceStopped, parse_json
from monitor.config.keys import Key, positive, with_defaults
from monitor.config.sections import SourceConfig
from monitor.formatting import format_local
from monitor.records import Post
from monitor.text.html import html_to_text

log = logging.getLogger(__name__)

# The keys a source of type "youtube" takes besides the common ones.
OPTIONS = {
    "channels": Key("list[str]", list),
    "max_videos_per_query": Key(int, 5, check=positive),
    "max_comment_pages": Key(int, 5, check=positive),
    "published_within_days": Key(int, 7, check=positive),
}

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
API_KEY_HEADER = "X-Goog-Api-Key"
SEARCH_COST_UNITS = 100
COMMENT_PAGE_COST_UNITS = 1
MAX_SEARCH_RESULTS = 50  # the API's upper bound for maxResults on search.list
COMMENT_PAGE_SIZE = 100  # the API's upper bound for maxResults on commentThreads.list
QUOTA_ZONE = "America/Los_Angeles"  # Google resets the daily quota at midnight Pacific Time
QUOTA_REASONS = ("quotaExceeded", "dailyLimitExceeded")
SKIP_VIDEO_REASONS = ("commentsDisabled", "videoNotFound")
WATCH_URL = "https://www.youtube.com/watch?v={video}&lc={comment}"


def quota_reset_after(moment: datetime) -> datetime:
    """The next midnight in Pacific Time after ``moment``, in UTC."""
    zone = ZoneInfo(QUOTA_ZONE)
    local = moment.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return midnight.astimezone(UTC)


def _error_details(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) from a Google API error body; empty strings if it has none."""
    try:
        error = json.loads(response.content).get("error") or {}
    except (ValueError, AttributeError):
        return "", ""
    if not isinstance(error, dict):
        return "", ""
    errors = error.get("errors")
    reason = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason") or "")
    message = html_to_text(str(error.get("message") or ""))
    return reason, message


def _parse_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        log.warning("youtube: ignoring a cursor that is not JSON")
        return {}
    if not isinstance(value, dict):
        return {}
    valid = {}
    for video, moment in value.items():
        try:
            valid[str(video)] = to_iso(parse_iso(str(moment)))
        except ValueError:
            log.warning("youtube: ignoring the cursor of video %s: %r is not a time", video, moment)
    return valid


class _QuotaMeter:
    def __init__(self) -> None:
        self.searches = 0
        self.comment_pages = 0

    @property
    def units(self) -> int:
        return self.searches * SEARCH_COST_UNITS + self.comment_pages * COMMENT_PAGE_COST_UNITS


class YouTubeCollector:
    def __init__(self, source: SourceConfig, context: CollectContext):
        self.source = source
        self.context = context
        self.base_url = (source.base_url or DEFAULT_BASE_URL).rstrip("/")
        options = with_defaults(OPTIONS, source.options)
        self.channels: list[str] = list(options["channels"] or [])
        self.max_videos = min(int(options["max_videos_per_query"]), MAX_SEARCH_RESULTS)
        self.max_comment_pages = int(options["max_comment_pages"])
        self.published_within_days = int(options["published_within_days"])

    # --- the run --------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Iterator[Batch]:
        key = self.context.credential(self.source, "api_key")
        meter = _QuotaMeter()
        http = Http(self.context, self.base_url, self.source.name, headers={API_KEY_HEADER: key})
        try:
            yield from self._run(http, _parse_cursor(cursor), meter)
        except SourceStopped as exc:
            raise SourceStopped(_without(str(exc), key), exc.resume_at) from None
        except CollectorError as exc:
            raise CollectorError(_without(str(exc), key)) from None
        finally:
            http.close()
            log.info(
                "%s: about %d YouTube quota units used this run (%d searches x %d, "
                "%d comment pages x %d)",
                self.source.name,
                meter.units,
                meter.searches,
                SEARCH_COST_UNITS,
                meter.comment_pages,
                COMMENT_PAGE_COST_UNITS,
            )

    def _run(self, http: Http, newest: dict[str, str], meter: _QuotaMeter) -> Iterator[Batch]:
        videos, rejected = self._find_videos(http, meter)
        if rejected:
            yield Batch([], None, rejected)
        # Videos no longer found by any search drop out of the cursor, which stays small.
        cursor = {video: newest[video] for video in videos if video in newest}
        if not videos:
            yield Batch([], json.dumps(cursor, sort_keys=True))
            return
        for video in videos:
            yield from self._comments(http, video, cursor, meter)

    # --- search ---------------------------------------------------------------------

    def _find_videos(self, http: Http, meter: _QuotaMeter) -> tuple[list[str], list[str]]:
        """Video ids in the order found (each once), and reasons for unusable results."""
        published_after = to_iso(self.context.now - timedelta(days=self.published_within_days))
        searches: list[tuple[str, dict[str, Any]]] = [
            (
                f"query '{query}'",
                {
                    "part": "snippet",
                    "q": query,
                    "type": "video",
                    "order": "date",
                    "publishedAfter": published_after,
                    "regionCode": "ID",
                    "relevanceLanguage": "id",
                    "maxResults": self.max_videos,
                },
            )
            for query in self.source.queries
        ]
        searches += [
            (
                f"channel {channel}",
                {
                    "part": "snippet",
                    "channelId": channel,
                    "type": "video",
                    "order": "date",
                    "maxResults": self.max_videos,
                },
            )
            for channel in self.channels
        ]
        videos: dict[str, None] = {}
        rejected: list[str] = []
        for what, params in searches:
            meter.searches += 1
            data = self._get(http, "/search", params, meter, what=f"search for {what}")
            for index, item in enumerate(_items(data, f"search for {what}")):
                ids = item.get("id") if isinstance(item, dict) else None
                video = ids.get("videoId") if isinstance(ids, dict) else None
                if isinstance(video, str) and video:
                    videos.setdefault(video)
                else:
                    rejected.append(f"search for {what}: result {index + 1} without id.videoId")
        log.info("%s: %d videos to read comments of", self.source.name, len(videos))
        return list(videos), rejected

    # --- comments -------------------------------------------------------------------

    def _comments(
        self, http: Http, video: str, cursor: dict[str, str], meter: _QuotaMeter
    ) -> Iterator[Batch]:
        known = cursor.get(video)
        known_at = parse_iso(known) if known else None
        newest_at: datetime | None = known_at
        page_token = ""
        pending: Batch | None = None
        for _page in range(self.max_comment_pages):
            params: dict[str, Any] = {
                "part": "snippet,replies",
                "videoId": video,
                "order": "time",
                "textFormat": "plainText",
                "maxResults": COMMENT_PAGE_SIZE,
            }
            if page_token:
                params["pageToken"] = page_token
            meter.comment_pages += 1
            try:
                data = self._get(
                    http, "/commentThreads", params, meter, what=f"comments of video {video}"
                )
            except CollectorError:
                if pending is not None:  # store what was read; the cursor stays put
                    yield pending
                raise
            if data is None:  # comments disabled or video gone: nothing to read here
                break
            posts: list[Post] = []
            rejected: list[str] = []
            oldest_at: datetime | None = None
            for item in _items(data, f"comments of video {video}"):
                try:
                    thread, problems = self._thread_posts(item, video)
                except (ValueError, TypeError, AttributeError) as exc:
                    rejected.append(f"video {video}: {exc}")
                    continue
                posts.extend(thread)
                rejected.extend(problems)
                top_at = thread[0].created_at
                oldest_at = top_at if oldest_at is None else min(oldest_at, top_at)
                newest_at = top_at if newest_at is None else max(newest_at, top_at)
            # The batch before this one can go now: it is not the video's last.
            if pending is not None:
                yield pending
            pending = Batch(posts, None, rejected)
            page_token = str(data.get("nextPageToken") or "")
            if not page_token or (known_at and oldest_at and oldest_at <= known_at):
                break
        if newest_at is not None:
            cursor[video] = to_iso(newest_at)
        final = pending or Batch([])
        final.cursor = json.dumps(cursor, sort_keys=True)
        yield final

    def _thread_posts(self, item: Any, video: str) -> tuple[list[Post], list[str]]:
        """The top-level comment of a thread and the replies included with it.

        Raises ValueError when the top-level comment is unusable; a broken reply is
        only reported (second value), the rest of the thread is kept.
        """
        if not isinstance(item, dict):
            raise ValueError("comment thread is not a JSON object")
        thread_id = str(item.get("id") or "?")
        snippet = item.get("snippet")
        if not isinstance(snippet, dict) or not isinstance(snippet.get("topLevelComment"), dict):
            raise ValueError(f"comment thread {thread_id} without snippet.topLevelComment")
        video = str(snippet.get("videoId") or video)
        top = storable(self._post(snippet["topLevelComment"], video, parent=""))
        posts, problems = [top], []
        replies = item.get("replies")
        replies = replies.get("comments") if isinstance(replies, dict) else None
        for reply in replies if isinstance(replies, list) else []:
            try:
                posts.append(storable(self._post(reply, video, parent=top.source_id)))
            except (ValueError, TypeError, AttributeError) as exc:
                problems.append(f"video {video}: {exc}")
        return posts, problems

    def _post(self, comment: Any, video: str, parent: str) -> Post:
        what = "reply" if parent else "comment"
        if not isinstance(comment, dict):
            raise ValueError(f"{what} is not a JSON object")
        comment_id = comment.get("id")
        if not isinstance(comment_id, str) or not comment_id:
            raise ValueError(f"{what} without id")
        snippet = comment.get("snippet")
        if not isinstance(snippet, dict):
            raise ValueError(f"{what} {comment_id} without snippet")
        raw_text = snippet.get("textDisplay") or snippet.get("textOriginal")
        if not isinstance(raw_text, str) or not raw_text.strip():
            raise ValueError(f"{what} {comment_id} without textDisplay")
        published = snippet.get("publishedAt")
        if not isinstance(published, str) or not published:
            raise ValueError(f"{what} {comment_id} without publishedAt")
        try:
            created_at = parse_iso(published)
        except ValueError:
            raise ValueError(f"{what} {comment_id}: unreadable publishedAt {published!r}") from None
        text = html_to_text(raw_text)
        if not text:
            raise ValueError(f"{what} {comment_id}: empty text")
        author = snippet.get("authorChannelId")
        author_id = str(author.get("value") or "") if isinstance(author, dict) else ""
        return Post(
            source=self.source.name,
            source_id=comment_id,
            text=text,
            created_at=created_at,
            url=WATCH_URL.format(video=video, comment=comment_id),
            author_id=author_id,
            author_handle=str(snippet.get("authorDisplayName") or ""),
            platform="youtube",
            region=self.source.region,
            is_reply=bool(parent),
            parent_source_id=parent or str(snippet.get("parentId") or ""),
            raw=comment,
        )

    # --- requests -------------------------------------------------------------------

    def _get(
        self,
        http: Http,
        path: str,
        params: Mapping[str, Any],
        meter: _QuotaMeter,
        what: str,
    ) -> dict[str, Any] | None:
        """The JSON answer; None when a video's comments cannot be read (skip the video)."""
        response = http.get(self.base_url + path, params=params, ok_statuses=(400, 401, 403, 404))
        if response.status_code < 400:
            data = parse_json(response)
            if not isinstance(data, dict):
                raise CollectorError(f"{what}: malformed answer from YouTube (not a JSON object)")
            return data
        reason, message = _error_details(response)
        status = response.status_code
        if status == 403 and reason in QUOTA_REASONS:
            resume_at = quota_reset_after(self.context.now)
            raise SourceStopped(
                f"YouTube daily quota exceeded ({reason}) during {what}, after about "
                f"{meter.units} units this run; the quota resets at midnight Pacific Time, "
                f"so the source may resume at {format_local(resume_at, self.context.timezone)}. "
                "Lower max_videos_per_query or the number of queries/channels, or run it "
                "less often (each search costs 100 units of the daily quota)",
                resume_at=resume_at,
            )
        if path == "/commentThreads" and reason in SKIP_VIDEO_REASONS:
            log.info("%s: %s skipped: %s (%s)", self.source.name, what, reason, message)
            return None
        if path == "/commentThreads" and status == 403 and reason == "forbidden":
            log.info("%s: %s skipped: not readable (%s)", self.source.name, what, message)
            return None
        hint = ""
        if reason in ("keyInvalid", "keyExpired") or "API key" in message:
            env = self.source.credentials.get("api_key", "")
            hint = f"; check the API key in environment variable {env}"
        elif reason == "accessNotConfigured":
            hint = "; enable 'YouTube Data API v3' for the key's Google Cloud project"
        raise CollectorError(
            f"{what}: YouTube answered {status} {reason or response.reason_phrase}: "
            f"{message or '(no message)'}{hint}"
        )


def _items(data: Mapping[str, Any] | None, what: str) -> list[Any]:
    items = (data or {}).get("items", [])
    if not isinstance(items, list):
        raise CollectorError(f"{what}: malformed answer from YouTube ('items' is not a list)")
    return items


def _without(message: str, secret: str) -> str:
    """The message with the secret blanked out, in case a server ever echoes it back."""
    return message.replace(secret, "***") if secret else message


SOURCE_TYPE = SourceType("youtube", OPTIONS, YouTubeCollector)
