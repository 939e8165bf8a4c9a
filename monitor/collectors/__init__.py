"""Sources as plug-ins behind one small interface.

A collector is built from its SourceConfig and yields ``Batch``es. The pipeline
stores each batch and only then saves the batch's cursor, so a crash re-fetches
and the store's dedup makes collection exactly-once. Adding a source is one new
module and one line in ``REGISTRY``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from monitor.config import SOURCE_TYPES, HttpConfig, SourceConfig
from monitor.records import Post

log = logging.getLogger(__name__)

# config type -> "module:Class". A type whose module is not there yet is reported
# as "not built yet" when a source of that type runs.
REGISTRY: dict[str, str] = {
    "x": "monitor.collectors.x:XCollector",
    "mastodon": "monitor.collectors.mastodon:MastodonCollector",
    "bluesky": "monitor.collectors.bluesky:BlueskyCollector",
    "youtube": "monitor.collectors.youtube:YouTubeCollector",
    "rss": "monitor.collectors.rss:RssCollector",
    "file_import": "monitor.collectors.file_import:FileImportCollector",
    "replay": "monitor.collectors.replay:ReplayCollector",
}


class CollectorError(Exception):
    """The source failed for this run; the message is shown to the operator."""


@dataclass
class Batch:
    posts: list[Post]
    cursor: str | None = None  # saved once ``posts`` are stored; None = leave as is
    rejected: list[str] = field(default_factory=list)  # one reason per rejected record


@dataclass
class CollectContext:
    """What a collector may know of the world besides its own SourceConfig."""

    now: datetime  # UTC; the moment this run started
    timezone: str
    http: HttpConfig = field(default_factory=HttpConfig)
    sleep: Callable[[float], None] = time.sleep  # tests pass a recorder instead
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    fetched_this_month: int = 0  # records this source fetched in the current UTC month

    def credential(self, source: SourceConfig, name: str) -> str:
        """The secret named ``name`` in the source's credentials, from the environment."""
        env = source.credentials.get(name)
        if not env:
            raise CollectorError(
                f"source '{source.name}' needs credentials.{name}: add "
                f'credentials = {{ {name} = "ENV_VAR_NAME" }} to it in the config'
            )
        value = self.environ.get(env, "")
        if not value:
            raise CollectorError(
                f"source '{source.name}': environment variable {env} (credentials.{name}) "
                "is not set"
            )
        return value


class Collector(Protocol):
    def __init__(self, source: SourceConfig, context: CollectContext) -> None: ...

    def fetch(self, cursor: str | None) -> Iterator[Batch]: ...


def load_json_cursor(cursor: str | None, source_name: str) -> dict[str, Any]:
    """A collector's saved cursor as a JSON object; an unreadable one means a fresh start
    (the store's dedup makes re-fetching harmless)."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        log.warning("%s: saved cursor is not a JSON object; starting afresh", source_name)
        return {}
    return value


def build_collector(source: SourceConfig, context: CollectContext) -> Collector:
    assert set(REGISTRY) == set(SOURCE_TYPES), "every config type needs a registry line"
    target = REGISTRY[source.type]
    module_name, class_name = target.split(":")
    if importlib.util.find_spec(module_name) is None:
        raise CollectorError(
            f"the '{source.type}' collector is not built yet in this version of monitor; "
            f"set enabled = false for source '{source.name}' until it is"
        )
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(source, context)
