"""Sources as plug-ins behind one small interface.

A collector is built from its SourceConfig and yields ``Batch``es. The pipeline
stores each batch and only then saves the batch's cursor, so a crash re-fetches
and the store's dedup makes collection exactly-once.

Each collector module declares ``SOURCE_TYPE``: its type name, the keys a source of
that type takes (with their types, defaults and checks) and its class. The registry
is built from the modules in ``COLLECTOR_MODULES``, so adding a source is one new
module and one line there; config validation asks it for the types and their keys.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

from monitor.config.keys import Key
from monitor.config.sections import HttpConfig, SourceConfig
from monitor.records import Post

log = logging.getLogger(__name__)

# In this order the types are listed in messages ("'twiter' is not one of x, ...").
COLLECTOR_MODULES = (
    "monitor.collectors.x",
    "monitor.collectors.mastodon",
    "monitor.collectors.bluesky",
    "monitor.collectors.youtube",
    "monitor.collectors.rss",
    "monitor.collectors.file_import",
    "monitor.collectors.replay",
)


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
    # time.monotonic() at which this source's share of the run ends (http.source_budget_seconds)
    deadline: float | None = None

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


# --- records that cannot be stored ------------------------------------------------------
#
# Every collector (and ``monitor classify``) turns a raw record into a Post through
# ``storable``/``parse_record``: a record that could be parsed but cannot be stored
# (a string holding a lone surrogate such as "\ud83d", what a cut emoji becomes in
# some exports, cannot be encoded as UTF-8 for SQLite or the output; a payload nested
# deeper than MAX_NESTING would overflow the JSON encoder's recursion) raises
# ``BadRecord``, a ValueError, which the collectors already turn into one rejection
# naming the record's line or id. The rest of the page or file is stored and the
# cursor moves, so one bad record never stops a source for good.

MAX_NESTING = 100  # objects/arrays inside each other in one record; real payloads use < 20


class BadRecord(ValueError):
    """This record cannot be stored; the message says why (without the record's name)."""


def _bad_string(value: str) -> str:
    """Why ``value`` cannot be encoded as UTF-8 ("" when it can)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = value[exc.start]
        return f"lone surrogate U+{ord(char):04X} at character {exc.start + 1} (a cut emoji?)"
    return ""


def value_problem(value: Any, where: str = "record") -> str:
    """Why a decoded JSON-like value cannot be stored ("" when it can): a string (or key)
    that is not encodable as UTF-8, NaN or Infinity, or nesting deeper than MAX_NESTING.
    Walks without recursion, so any depth is safe to check."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            problem = _bad_string(item)
            if problem:
                return f"{path}: {problem}, not valid UTF-8"
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{path}: {item} is not a finite number"
        elif isinstance(item, Mapping | list | tuple):
            if depth >= MAX_NESTING:
                return f"{where} nested deeper than {MAX_NESTING} levels"
            if isinstance(item, Mapping):
                for key, child in item.items():
                    name = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]"
                    if isinstance(key, str) and _bad_string(key):
                        return f"{path}: key {key!r}: {_bad_string(key)}, not valid UTF-8"
                    stack.append((child, name, depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return ""


def storable(post: Post) -> Post:
    """``post`` itself, or BadRecord when a field or its raw payload cannot be stored."""
    for item in fields(post):
        value = getattr(post, item.name)
        if isinstance(value, str) and (problem := _bad_string(value)):
            raise BadRecord(f"{item.name}: {problem}, not valid UTF-8")
    if post.raw is not None and (problem := value_problem(post.raw, "raw")):
        raise BadRecord(problem)
    return post


def parse_record(text: str | bytes, check: bool = True) -> Any:
    """One JSON record (a line of a JSON-lines file), or ValueError saying why not:
    broken JSON, invalid UTF-8, too deeply nested (RecursionError in the parser), or
    (with ``check``) holding values that cannot be stored. ``check=False`` leaves that
    walk to the caller that walks the record anyway (``post_from_record``)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRecord(f"not valid JSON ({exc.msg}, column {exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise BadRecord(f"not valid UTF-8 (byte {exc.start + 1})") from None
    except RecursionError:
        raise BadRecord("not readable JSON (nested too deeply)") from None
    problem = value_problem(value) if check else ""
    if problem:
        raise BadRecord(problem)
    return value


def no_problems(source: SourceConfig) -> list[str]:
    return []


@dataclass(frozen=True)
class SourceType:
    """What a collector module declares as its ``SOURCE_TYPE``."""

    name: str  # the ``type`` of a [[sources]] table
    options: Mapping[str, Key]  # the keys only this type takes; they land in ``options``
    collector: Callable[[SourceConfig, CollectContext], Collector]
    # Problems of a whole source that no single key shows, each "key: problem".
    problems: Callable[[SourceConfig], list[str]] = no_problems


def source_types() -> dict[str, SourceType]:
    """Every source type by name, in the order of COLLECTOR_MODULES."""
    declared = [importlib.import_module(name).SOURCE_TYPE for name in COLLECTOR_MODULES]
    return {source_type.name: source_type for source_type in declared}


def build_collector(source: SourceConfig, context: CollectContext) -> Collector:
    types = source_types()
    if source.type not in types:
        raise CollectorError(
            f"source '{source.name}': type '{source.type}' is not one of {', '.join(types)}"
        )
    return types[source.type].collector(source, context)
