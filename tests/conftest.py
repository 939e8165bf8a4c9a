from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import example_config
from monitor.records import Post
from monitor.store import Store


@pytest.fixture
def config(tmp_path: Path):
    """The shipped example config, rooted in a temporary folder, with no sources."""
    cfg = example_config(tmp_path)
    cfg.sources = []
    return cfg


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "test.db") as opened:
        yield opened


def make_post(source_id: str, text: str = "ktp belum jadi", **fields) -> Post:
    values = {
        "source": "test",
        "source_id": source_id,
        "text": text,
        "created_at": datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
        "platform": "x",
        "author_handle": "someone",
    }
    values.update(fields)
    return Post(**values)


@pytest.fixture
def http_server():
    from tests.httpserver import ScriptedServer

    server = ScriptedServer()
    yield server
    server.close()


class SleepRecorder:
    """Stands in for time.sleep in collectors: records the waits, waits for none."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps():
    return SleepRecorder()


def collect_once(config, source, sleeps=None, store_path=None):
    """Run one source through the real pipeline.collect into a real SQLite file.

    Returns (SourceRun, Store); the caller closes the store (or uses it in a `with`).
    """
    from monitor.pipeline import collect

    store = Store.open(store_path or config.database)
    run_id = store.start_run("test")
    [result] = collect(config, store, run_id, [source], sleep=sleeps or (lambda seconds: None))
    return result, store
