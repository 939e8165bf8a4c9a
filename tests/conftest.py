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


# --- one trained model for the whole session --------------------------------------------


@pytest.fixture(scope="session")
def small_samples():
    """Every 8th labeled sample (sorted by id): enough for every label, quick to fit."""
    from monitor.classify.samples import load_samples, samples_dir

    samples = sorted(load_samples(samples_dir().glob("*.jsonl")).samples, key=lambda s: s.id)
    return samples[::8]


@pytest.fixture(scope="session")
def small_model(small_samples):
    """The one model the tests train, trained once per session on ``small_samples``.
    Shared: a test may save or read it, never change it."""
    import numpy as np

    from monitor.classify.train import train
    from monitor.labels import TOPICS

    return train(small_samples, "test-small", np.full(len(TOPICS), 0.5), {})


@pytest.fixture(scope="session")
def fewest_samples(small_samples):
    """About the fewest samples that still train every head: the first of
    ``small_samples`` that together name every sector, every topic and both answers
    to "a complaint?" (31; one per sector would be 20), for the tests that must
    train models of their own."""
    from monitor.labels import SECTORS, TOPICS

    sectors, topics, answers, chosen = set(SECTORS), set(TOPICS), {True, False}, []
    for sample in small_samples:
        if (
            sample.sector in sectors
            or topics & set(sample.topics)
            or sample.is_complaint in answers
        ):
            chosen.append(sample)
            sectors.discard(sample.sector)
            topics -= set(sample.topics)
            answers.discard(sample.is_complaint)
    assert not sectors and not topics and not answers
    return chosen
