"""Sources as plug-ins behind one small interface.

A collector is built from its SourceConfig and yields ``Batch``es. The pipeline
stores each batch and only then saves the batch's cursor, so a crash re-fetches
and the store's dedup makes collection exactly-once. Adding a source is one new
module and one line in ``REGISTRY``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitor.config import SOURCE_TYPES, SourceConfig
from monitor.records import Post

# config type -> "module:Class"; a type not listed here has no collector yet.
REGISTRY: dict[str, str] = {
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
    now: datetime  # UTC; the moment this run started
    timezone: str


class Collector(Protocol):
    def __init__(self, source: SourceConfig, context: CollectContext) -> None: ...

    def fetch(self, cursor: str | None) -> Iterator[Batch]: ...


def build_collector(source: SourceConfig, context: CollectContext) -> Collector:
    target = REGISTRY.get(source.type)
    if target is None:
        assert source.type in SOURCE_TYPES, source.type
        raise CollectorError(
            f"the '{source.type}' collector is not built yet in this version of monitor; "
            f"set enabled = false for source '{source.name}' until it is"
        )
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(source, context)
