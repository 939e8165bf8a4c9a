"""The text, ingest, process and digest stages (each runs in its own fresh process).

Every timed repetition is cold (see bench.cold): a fresh model and gazetteer, a fresh
copy of the database, every per-text and per-word cache emptied, no warm-up pass.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

from bench.cold import PROBE_TEXT, clear_caches, load_fresh_model
from bench.corpus import synthetic_corpus
from bench.measure import (
    ROOT,
    Throttle,
    bench_config,
    db_bytes,
    measure,
    remove_db,
    spread,
    watch_posts,
)


def bench_text(texts: list[str], repeat: int) -> dict:
    """Redact and resolve the agency of texts a fresh gazetteer and empty caches meet."""
    from monitor.agencies import Gazetteer
    from monitor.config import example_config
    from monitor.text.redact import redact

    config = example_config(ROOT)
    gazetteers = []

    def fresh() -> None:
        gazetteers[:] = [Gazetteer(config.agencies, config.regions, config.default_region)]

    fresh()  # the resources read once per process, on a text outside the corpus
    redact(PROBE_TEXT)
    gazetteers[0].resolve(PROBE_TEXT, "adminduk", "")
    clear_caches()

    def work() -> int:
        gazetteer = gazetteers[0]
        for text in texts:
            redact(text)
            gazetteer.resolve(text, "adminduk", "")
        return len(texts)

    return measure("text: normalise + redact + resolve", work, repeat, fresh)


def stage_text(args: argparse.Namespace, work: Path) -> dict:
    texts = synthetic_corpus(min(args.posts, args.sample), args.seed)
    return {"texts": len(texts), "results": [bench_text(texts, args.repeat)]}


def stage_ingest(args: argparse.Namespace, work: Path) -> dict:
    from monitor.pipeline import collect_job

    corpus = work / "corpus.jsonl"
    database = work / "ingest.db"
    config = bench_config(work, corpus, database)
    outcome: dict = {}

    def prepare() -> None:
        remove_db(database)

    def ingest() -> int:
        with watch_posts(database, "ingest", args.posts):
            (result,) = collect_job(config, command="benchmark")
        if result.error or result.rejected or result.new != args.posts:
            raise SystemExit(
                f"ingest went wrong: {result.new} new of {args.posts}, {result.rejected} "
                f"rejected {result.rejections[:3]}, error {result.error!r}"
            )
        outcome.update(fetched=result.fetched, new=result.new)
        return result.fetched

    rates = measure("ingest: replay -> SQLite, raw payloads off", ingest, args.repeat, prepare)
    size = db_bytes(database)
    kept = work / "ingested.db"
    remove_db(kept)
    database.rename(kept)
    remove_db(database)
    return {
        "results": [rates],
        "posts_stored": outcome["new"],
        "db_bytes": size,
        "db_bytes_per_post": round(size / outcome["new"]),
    }


def stage_process(args: argparse.Namespace, work: Path) -> dict:
    from monitor.pipeline import open_store, process

    corpus = work / "corpus.jsonl"
    ingested = work / "ingested.db"
    if not ingested.exists():
        raise SystemExit(f"{ingested} is missing: run the ingest stage first")
    database = work / "process.db"
    config = bench_config(work, corpus, database)
    models: list = []
    reloads: list[float] = []
    outcome: dict = {}

    def prepare() -> None:
        remove_db(database)
        shutil.copyfile(ingested, database)
        models[:] = [None]  # the last repetition's model goes before the next one loads
        models[:] = [load_fresh_model(reloads)]

    def run_process() -> int:
        throttle = Throttle("process", args.posts)

        def progress(message: str) -> None:
            found = re.search(r"\d+", message)
            if found:
                throttle(int(found.group()))

        with open_store(config) as store:  # process() builds a fresh gazetteer itself
            count, touched = process(config, store, models[0], progress)
        outcome.update(processed=count, days_touched=len(touched))
        return count

    rates = measure(
        "process: cases + classify + normalise + resolve + store", run_process, args.repeat, prepare
    )
    size = db_bytes(database)
    with sqlite3.connect(database) as conn:
        joined, complaints, unresolved = conn.execute(
            """SELECT (SELECT count(*) FROM posts WHERE case_id IS NOT NULL AND case_id != id),
                      (SELECT count(*) FROM analysis WHERE is_complaint = 1),
                      (SELECT count(*) FROM analysis WHERE is_complaint = 1 AND agency_id = '')"""
        ).fetchone()
    kept = work / "processed.db"
    remove_db(kept)
    database.rename(kept)
    remove_db(database)
    return {
        "results": [rates],
        "model_version": models[0].version,
        "model_load_again_s": reloads,
        "processed": outcome["processed"],
        "days_touched": outcome["days_touched"],
        "posts_joining_another_case": joined,
        "complaints": complaints,
        "complaints_without_agency": unresolved,
        "db_bytes": size,
        "db_bytes_per_post": round(size / outcome["processed"]),
    }


def stage_digest(args: argparse.Namespace, work: Path) -> dict:
    """Aggregate every day, then the digest of the last: each repetition with a newly
    opened store (an empty SQLite page cache) and empty caches, as the morning run has."""
    from monitor.aggregate import aggregate_days
    from monitor.classify import load_model
    from monitor.clock import local_date, parse_iso
    from monitor.pipeline import open_store
    from monitor.report.digest import write_digest

    database = work / "processed.db"
    if not database.exists():
        raise SystemExit(f"{database} is missing: run the ingest and process stages first")
    meta = json.loads((work / "corpus.json").read_text())
    config = bench_config(work, work / "corpus.jsonl", database)
    model = load_model()
    day = date.fromisoformat(meta["last_day"])
    with open_store(config) as store:
        first, last = store.db.execute(
            "SELECT min(created_at), max(created_at) FROM posts"
        ).fetchone()
        posts = store.count_posts()
    first_day = local_date(parse_iso(first), config.timezone)
    last_day = local_date(parse_iso(last), config.timezone)
    days = [first_day + timedelta(n) for n in range((last_day - first_day).days + 1)]
    aggregate_s, digest_s, aggregate_cpu, digest_cpu = [], [], [], []
    for _ in range(args.repeat):
        clear_caches()
        with open_store(config) as store:
            started, cpu_started = time.perf_counter(), time.process_time()
            aggregate_days(store, days, config.timezone, model.version)
            aggregate_s.append(round(time.perf_counter() - started, 3))
            aggregate_cpu.append(round(time.process_time() - cpu_started, 3))
        clear_caches()
        with open_store(config) as store:
            started, cpu_started = time.perf_counter(), time.process_time()
            digest, paths = write_digest(config, store, model, day)
            digest_s.append(round(time.perf_counter() - started, 3))
            digest_cpu.append(round(time.process_time() - cpu_started, 3))
    both = [a + d for a, d in zip(aggregate_s, digest_s, strict=True)]
    both_cpu = [a + d for a, d in zip(aggregate_cpu, digest_cpu, strict=True)]
    return {
        "results": [
            spread(aggregate_s, f"aggregate: aggregate_days, all {len(days)} days", aggregate_cpu),
            spread(digest_s, f"digest: write_digest of {day.isoformat()}", digest_cpu),
            spread(both, "aggregate + digest", both_cpu),
        ],
        "posts_in_database": posts,
        "days": len(days),
        "digest_day": day.isoformat(),
        "digest_complaints": digest.complaints,
        "digest_spikes": len(digest.spikes),
        "digest_bytes": sum(p.stat().st_size for p in paths),
    }
