"""The classify stage: `monitor classify` beside a bare baseline, and predict in memory.

Our side is cold in every repetition (a fresh model and gazetteer, every per-text and
per-word cache emptied, no warm-up pass); the bare baseline keeps no cache.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

from bench.cold import load_fresh_model
from bench.corpus import synthetic_corpus
from bench.measure import ROOT, Throttle, measure


def train_bare_baseline():
    """Plain word TF-IDF + LinearSVC (complaint or not), no normalisation, trained on
    the same samples as the model."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from monitor.classify.samples import load_samples, samples_dir

    samples = load_samples(samples_dir().glob("*.jsonl")).samples
    bare = make_pipeline(TfidfVectorizer(), LinearSVC())
    bare.fit([s.text for s in samples], [s.is_complaint for s in samples])
    return bare


def bench_classify(
    texts: list[str], repeat: int, bare=None, reloads: list[float] | None = None
) -> list[dict]:
    """Our model (normalisation included) in chunks of 1,000, as `monitor classify`
    runs it, against a bare baseline on the same texts: plain word TF-IDF +
    LinearSVC predict with no normalisation, trained on the same samples."""
    bare = bare or train_bare_baseline()
    reloads = [] if reloads is None else reloads
    chunks = [texts[i : i + 1000] for i in range(0, len(texts), 1000)]
    models: list = []

    def fresh() -> None:
        models[:] = [None]
        models[:] = [load_fresh_model(reloads)]

    def ours() -> int:
        for chunk in chunks:
            models[0].predict(chunk)
        return len(texts)

    def baseline() -> int:
        for chunk in chunks:
            bare.predict(chunk)
        return len(texts)

    mine = measure("predict: shipped model (with normalisation)", ours, repeat, fresh)
    mine["stage"] = f"predict: {models[0].version} (with normalisation)"
    reference = measure(
        "bare baseline predict: word TF-IDF + LinearSVC, no normalisation", baseline, repeat
    )
    mine["ratio_to_bare_baseline"] = round(mine["median_per_s"] / reference["median_per_s"], 3)
    return [mine, reference]


class Counting:
    """/dev/null that counts the records written, for progress."""

    def __init__(self, sink, label: str, total: int):
        self.sink, self.written, self.throttle = sink, 0, Throttle(label, total)

    def write(self, text: str) -> int:
        self.written += 1
        if self.written % 1000 == 0:
            self.throttle(self.written)
        return self.sink.write(text)


def bare_stream(bare, source, sink) -> int:
    """Read, predict in chunks of CHUNK, write: the shape of `monitor classify`, none of
    its work."""
    from monitor.classify.batch import CHUNK

    done = 0
    chunk: list[dict] = []

    def flush() -> None:
        for record, label in zip(chunk, bare.predict([r["text"] for r in chunk]), strict=True):
            sink.write(json.dumps({"id": record["id"], "is_complaint": bool(label)}) + "\n")
        chunk.clear()

    for raw in source:
        if raw.strip():
            chunk.append(json.loads(raw.decode("utf-8")))
            done += 1
            if len(chunk) >= CHUNK:
                flush()
    if chunk:
        flush()
    return done


def stage_classify(args: argparse.Namespace, work: Path) -> dict:
    from monitor.agencies import Gazetteer
    from monitor.classify.batch import classify_stream
    from monitor.config import example_config

    corpus = work / "corpus.jsonl"
    config = example_config(ROOT)  # what `monitor classify` uses without a config file
    bare = train_bare_baseline()
    fresh_model: list = []
    reloads: list[float] = []

    def fresh() -> None:
        """What a new `monitor classify` has: a model and a gazetteer just loaded."""
        fresh_model[:] = [None, None]
        fresh_model[:] = [
            load_fresh_model(reloads),
            Gazetteer(config.agencies, config.regions, config.default_region),
        ]

    def ours(source, sink) -> int:
        model, gazetteer = fresh_model
        report = classify_stream(source, sink, model, gazetteer, "jsonl")
        if report.rejected:
            raise SystemExit(f"classify rejected {report.rejected} lines")
        return report.classified

    def over_corpus(run: Callable, label: str) -> Callable[[], int]:
        def work() -> int:
            with corpus.open("rb") as source, open(os.devnull, "w", encoding="utf-8") as sink:
                return run(source, Counting(sink, label, args.posts))

        return work

    mine = measure(
        "classify: `monitor classify` path", over_corpus(ours, "classify"), args.repeat, fresh
    )
    version = fresh_model[0].version
    mine["stage"] = f"classify: `monitor classify` path, {version}"
    reference = measure(
        "bare baseline: word TF-IDF + LinearSVC, no normalisation, same JSONL in and out",
        over_corpus(lambda source, sink: bare_stream(bare, source, sink), "bare baseline"),
        args.repeat,
    )
    mine["ratio_to_bare_baseline"] = round(mine["median_per_s"] / reference["median_per_s"], 3)
    # The earlier comparison, kept: predict alone on texts in memory, no I/O, no gazetteer.
    texts = synthetic_corpus(min(args.posts, args.sample), args.seed)
    return {
        "results": [mine, reference],
        "predict": bench_classify(texts, args.repeat, bare, reloads),
        "texts": len(texts),
        "model_version": version,
        "model_load_again_s": reloads,
    }
