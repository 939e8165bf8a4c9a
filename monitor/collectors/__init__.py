"""Sources as plug-ins behind one small interface.

A collector is built from its SourceConfig and yields ``Batch``es. The pipeline
stores each batch and only then saves the batch's cursor, so a crash re-fetches
and the store's dedup makes collection exactly-once. Adding a source is one new
module and one line in ``REGISTRY``.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitor.config import SOURCE_TYPES, HttpConfig, SourceConfig
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
