#!/usr/bin/env python3
"""Measure monitor's speed, memory and storage at Ombudsman scale, against a bare baseline.

    python scripts/benchmark.py                     # 10,000 posts, 3 repetitions, < 1 minute
    python scripts/benchmark.py --posts 1000000 --repeat 1 --out results-1m.json
                                                    # Ombudsman scale, about 25 minutes

The corpus is built from the labeled samples' texts with seeded perturbations
(slang and Kupang Malay swaps, typos, elongation, agency mentions from the
default gazetteer, lengths from one line to a paragraph), so every run on every
machine measures the same texts. It is written, line by line (never held in
memory), as raw source payloads: JSON lines in the push/replay post schema
(``id``, ``text``, ``created_at`` spread over the 30 local days before the day
of the run, ``platform``, ``author`` from an invented pool, ``url``, and
``repost_of`` on one post in ten, which carries its original's text). Every
text is one of the 4,713 samples (or two joined), perturbed, so a large corpus
repeats each sample hundreds of times: far more near-copies than real posts
have, which makes case detection (near-duplicate search) work harder than it
would on real data. The same seed gives the same file, only the calendar days
move with the day of the run.

Every stage runs in a fresh subprocess of this script (hidden ``--stage``), so
its peak resident memory (VmHWM, the high-water mark of the stage's own address
space) is its own; inside it the stage runs --repeat times and the median and
the spread (min-max) are reported, per wall-clock second (what a run takes)
and per CPU second of the stage's process (what the code costs, whatever else
the machine runs). Long stages also record their rate per tenth of the corpus:
does it hold up as the database grows?

Stages:
  ingest    the replay collector through monitor.pipeline.collect_job into a fresh
            SQLite file, raw payloads off (privacy.raw_retention_days = 0):
            parse, redact, pseudonymise, dedup, store; then database bytes per post
  process   monitor.pipeline.process on a copy of the ingested database: cases
            (reposts, near-duplicates), classify, normalise, resolve agency, store;
            then database bytes per post
  classify  the `monitor classify` path, monitor.classify.batch.classify_stream over
            the JSONL file to /dev/null, beside a bare baseline (word TF-IDF +
            LinearSVC, no normalisation) reading and writing the same way;
            and, in memory on the first --sample texts, the model's predict in chunks
            of 1,000 beside the bare baseline's predict (the earlier comparison)
  digest    on the processed database: monitor.aggregate.aggregate_days for every
            day, then monitor.report.digest.write_digest for the last day
  text      (in memory, the first --sample texts) normalise + redact + resolve agency

Results: a Markdown table on stdout (machine, command line, each figure beside its
target, met / missed), with --markdown also to a file, and with --out all of it as
JSON. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.agencies import Gazetteer  # noqa: E402
from monitor.config import example_config  # noqa: E402
from monitor.text.normalize import slang_lexicon  # noqa: E402
from monitor.text.redact import redact  # noqa: E402

STAGES = ("ingest", "process", "classify", "digest", "text")
FULL_SCALE = 1_000_000  # the size the digest and memory targets are set for
MB = 1_000_000  # memory and storage in SI units: the stricter reading of the targets

# The project's targets (issue 8); the text target is the README's.
TARGETS = {
    "ingest": 20_000,  # posts/s, at least
    "process": 2_000,  # posts/s, at least
    "classify": 3_000,  # posts/s, at least
    "classify_ratio": 0.3,  # x the bare baseline's speed, at least
    "digest_s": 3.0,  # seconds on a 1,000,000-post database, at most
    "process_rss_mb": 500,  # MB peak while processing 1,000,000 posts, at most
    "db_bytes_per_post": 2_000,  # bytes per post without raw payloads, at most
    "text": 5_000,  # posts/s, at least (README, Text understanding)
}


# --- the corpus -----------------------------------------------------------------------


def sample_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "labeled_samples").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return texts


def iter_texts(size: int, seed: int = 20261122) -> Iterator[str]:
    """``size`` post texts, one at a time, the same for the same seed."""
    rng = random.Random(seed)
    base = sample_texts()
    slang_for: dict[str, list[str]] = {}
    for word, meaning in slang_lexicon().items():
        if " " not in meaning:
            slang_for.setdefault(meaning, []).append(word)
    aliases = [alias for agency in example_config(ROOT).agencies for alias in agency.aliases]
    for _ in range(size):
        words = rng.choice(base).split()
        if rng.random() < 0.2:  # a longer post: two joined
            words += rng.choice(base).split()
        if rng.random() < 0.3:  # a one-liner
            words = words[: rng.randint(4, 10)]
        out = []
        for word in words:
            roll = rng.random()
            lower = word.lower()
            if roll < 0.15 and lower in slang_for:
                word = rng.choice(slang_for[lower])
            elif roll < 0.18 and len(word) > 4:  # a typo: two letters swapped
                i = rng.randrange(len(word) - 1)
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif roll < 0.20 and word[-1:].isalpha():
                word += word[-1] * rng.randint(2, 4)  # elongation
            out.append(word)
        if rng.random() < 0.4:
            out.insert(rng.randrange(len(out) + 1), rng.choice(aliases))
        yield " ".join(out)


def synthetic_corpus(size: int, seed: int = 20261122) -> list[str]:
    """``size`` post texts, the same for the same seed (in memory: for small sizes only)."""
    return list(iter_texts(size, seed))


# Platforms as Ombudsman NTT staff see complaints arrive, with their share and post URL.
PLATFORMS = [
    ("x", 0.35, "https://x.com/{author}/status/{id}"),
    ("facebook", 0.25, "https://www.facebook.com/{author}/posts/{id}"),
    ("instagram", 0.15, "https://www.instagram.com/p/{id}/"),
    ("tiktok", 0.10, "https://www.tiktok.com/@{author}/video/{id}"),
    ("youtube", 0.10, "https://www.youtube.com/watch?v=bench{id}"),
    ("mastodon", 0.05, "https://mastodon.social/@{author}/{id}"),
]
FIRST_NAMES = (
    "yanti ferdi maria yohanes agus melki novi sinta frans dewi rudi ayu kornelis "
    "marlin yosef nona oma ardi siska benny elsa gusti imelda jefri lusi petrus"
).split()
LAST_NAMES = (
    "kupang ndoen manafe tefa lay bessie foeh nope adoe pah oematan liu benu "
    "sabu rote alor flores timor"
).split()
SEPARATORS = ("_", ".", "", "_ntt")
# Local posting hours (WITA): quiet at night, busy from morning to late evening.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 9, 8, 8, 8, 8, 8, 9, 9, 8, 6, 4, 2]
REPOST_SHARE = 0.1
CORPUS_DAYS = 30


def author_name(index: int) -> str:
    """An invented handle, the same for the same index."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    rest, _ = divmod(index, len(FIRST_NAMES))
    last = LAST_NAMES[rest % len(LAST_NAMES)]
    rest //= len(LAST_NAMES)
    separator = SEPARATORS[rest % len(SEPARATORS)]
    number = rest // len(SEPARATORS)
    return f"{first}{separator}{last}{number or ''}"


def _iso(moment: datetime, local_offset: timedelta | None) -> str:
    if local_offset is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (moment + local_offset).strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def write_corpus(path: Path, size: int, seed: int, anchor: datetime) -> dict:
    """Write ``size`` raw posts as JSON lines, one at a time, in the 30 local days before
    ``anchor`` (a local midnight, in UTC); returns what was written."""
    rng = random.Random(seed + 1)  # not the texts' generator: the texts stay as they were
    platforms, weights = [p[0] for p in PLATFORMS], [p[1] for p in PLATFORMS]
    urls = {p[0]: p[2] for p in PLATFORMS}
    pool = max(200, size // 10)  # invented authors; a few post a lot, most a little
    recent: deque[tuple[str, str, datetime]] = deque(maxlen=5000)  # originals to repost
    wita = timedelta(hours=8)
    reposts = 0
    progress = Throttle("corpus", size)
    with path.open("w", encoding="utf-8") as handle:
        for index, text in enumerate(iter_texts(size, seed)):
            post_id = str(1_860_000_000_000_000_000 + index * 37)
            author = author_name(int(pool * rng.random() ** 3))
            plat = rng.choices(platforms, weights)[0]
            days_back = rng.randrange(CORPUS_DAYS) + 1
            hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
            created = anchor - timedelta(days=days_back, hours=-hour, seconds=-rng.randrange(3600))
            record = {"id": post_id, "text": text}
            if recent and rng.random() < REPOST_SHARE:
                original_id, original_text, original_at = rng.choice(recent)
                record["text"] = original_text
                record["repost_of"] = original_id
                later = original_at + timedelta(seconds=rng.randrange(60, 2 * 86_400))
                created = min(later, anchor - timedelta(seconds=1))
                reposts += 1
            else:
                recent.append((post_id, text, created))
            record["created_at"] = _iso(created, wita if rng.random() < 0.3 else None)
            record["platform"] = plat
            record["author"] = author
            record["url"] = urls[plat].format(author=author, id=post_id)
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            progress(index + 1)
    return {
        "posts": size,
        "reposts": reposts,
        "author_pool": pool,
        "days": CORPUS_DAYS,
        "first_day": (anchor + wita - timedelta(days=CORPUS_DAYS)).date().isoformat(),
        "last_day": (anchor + wita - timedelta(days=1)).date().isoformat(),
        "anchor_utc": anchor.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bytes": path.stat().st_size,
    }


# --- measuring ------------------------------------------------------------------------


def measure(
    name: str,
    work: Callable[[], int],
    repeat: int,
    prepare: Callable[[], None] | None = None,
) -> dict:
    """Run ``work`` (which returns how many items it handled) ``repeat`` times;
    ``prepare`` runs untimed before each repetition.

    Rates are per wall-clock second (what a run takes) and per CPU second of this
    process (what the code costs; barely moved by other programs on the machine).
    """
    rates, seconds, cpu_rates, cpu_seconds = [], [], [], []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        started, cpu_started = time.perf_counter(), time.process_time()
        items = work()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        seconds.append(round(elapsed, 3))
        cpu_seconds.append(round(cpu, 3))
        rates.append(items / elapsed)
        cpu_rates.append(items / max(cpu, 1e-9))
    return {
        "stage": name,
        "items": items,
        "median_per_s": round(statistics.median(rates)),
        "min_per_s": round(min(rates)),
        "max_per_s": round(max(rates)),
        "seconds": seconds,
        "median_per_cpu_s": round(statistics.median(cpu_rates)),
        "cpu_seconds": cpu_seconds,
    }


def peak_rss() -> dict:
    """This process's peak resident memory in bytes.

    VmHWM is the high-water mark of this process's own address space. ru_maxrss is
    also kept, but on Linux it carries over the parent's peak across fork/exec, so
    it can overstate a small stage started from a bigger parent.
    """
    found = {"ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                found["vmhwm_bytes"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    found["peak_rss_bytes"] = found.get("vmhwm_bytes", found["ru_maxrss_bytes"])
    return found


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# label -> [(items done, seconds, CPU seconds)] at each tenth of the work (last repetition)
CHECKPOINTS: dict[str, list[tuple[int, float, float]]] = {}


class Throttle:
    """Progress on stderr for long stages, at most every ``every`` seconds; the moments
    each tenth of the work was done are kept in CHECKPOINTS (does the rate hold up as
    the database grows?)."""

    def __init__(self, label: str, total: int, every: float = 10.0):
        self.label, self.total, self.every = label, total, every
        self.started = self.last = time.monotonic()
        self.cpu_started = time.process_time()
        self.next_tenth = 1
        CHECKPOINTS[label] = [(0, 0.0, 0.0)]

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if self.total and done >= self.next_tenth * self.total / 10:
            cpu = time.process_time() - self.cpu_started
            CHECKPOINTS[self.label].append((done, round(now - self.started, 2), round(cpu, 2)))
            self.next_tenth = int(done * 10 / self.total) + 1
        if now - self.last >= self.every:
            self.last = now
            rate = done / max(now - self.started, 1e-9)
            left = (self.total - done) / rate if rate else 0
            say(
                f"  {self.label}: {done:,}/{self.total:,} ({rate:,.0f}/s, about {left:,.0f} s left)"
            )


@contextmanager
def watch_posts(database: Path, label: str, total: int, every: float = 10.0):
    """Progress of a stage that reports none itself: poll the posts stored so far."""
    stop = threading.Event()
    throttle = Throttle(label, total, every=0)

    def poll() -> None:
        while not stop.wait(every):
            try:
                uri = f"file:{database}?mode=ro"
                with closing(sqlite3.connect(uri, uri=True, timeout=1)) as conn:
                    stored = conn.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()[0]
                throttle(stored)
            except sqlite3.Error:
                pass

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def db_bytes(database: Path) -> int:
    """The database on disk, its write-ahead log folded in first (as a closed database is)."""
    with closing(sqlite3.connect(database)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(
        p.stat().st_size
        for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm"))
        if p.exists()
    )


def remove_db(database: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def bench_config(work: Path, corpus: Path, database: Path):
    """The shipped example config (42 agencies, 3 regions) reading the corpus through a
    replay source into ``database``, raw payloads off."""
    from monitor.config import SourceConfig

    config = example_config(work)
    config.database = database
    config.reports_dir = work / "reports"
    config.privacy.raw_retention_days = 0
    config.sources = [
        SourceConfig(
            name="benchmark", type="replay", region=config.default_region, path=str(corpus)
        )
    ]
    return config


def corpus_lines(corpus: Path, count: int) -> list[dict]:
    records = []
    with corpus.open("rb") as handle:
        for raw in handle:
            records.append(json.loads(raw))
            if len(records) >= count:
                break
    return records


# --- stages (each in its own subprocess) ----------------------------------------------


def bench_text(texts: list[str], repeat: int) -> dict:
    config = example_config(ROOT)
    gazetteer = Gazetteer(config.agencies, config.regions, config.default_region)

    def work() -> int:
        for text in texts:
            redact(text)
            gazetteer.resolve(text, "adminduk", "")
        return len(texts)

    work()  # warm the per-token caches, as a long-running process has them
    return measure("text: normalise + redact + resolve", work, repeat)


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
    texts: list[str], repeat: int, model=None, bare=None, warm: bool = True
) -> list[dict]:
    """Our model (normalisation included) in chunks of 1,000, as `monitor classify`
    runs it, against a bare baseline on the same texts: plain word TF-IDF +
    LinearSVC predict with no normalisation, trained on the same samples."""
    from monitor.classify import load_model

    model = model or load_model()
    bare = bare or train_bare_baseline()
    chunks = [texts[i : i + 1000] for i in range(0, len(texts), 1000)]

    def ours() -> int:
        for chunk in chunks:
            model.predict(chunk)
        return len(texts)

    def baseline() -> int:
        for chunk in chunks:
            bare.predict(chunk)
        return len(texts)

    if warm:
        ours()  # warm the per-token caches
    mine = measure(f"predict: {model.version} (with normalisation)", ours, repeat)
    reference = measure(
        "bare baseline predict: word TF-IDF + LinearSVC, no normalisation", baseline, repeat
    )
    mine["ratio_to_bare_baseline"] = round(mine["median_per_s"] / reference["median_per_s"], 3)
    return [mine, reference]


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
    from monitor.classify import load_model
    from monitor.pipeline import open_store, process
    from monitor.records import StoredPost
    from monitor.understand import understand_batch

    corpus = work / "corpus.jsonl"
    ingested = work / "ingested.db"
    if not ingested.exists():
        raise SystemExit(f"{ingested} is missing: run the ingest stage first")
    database = work / "process.db"
    config = bench_config(work, corpus, database)
    started = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - started
    # Warm the per-token caches, as a long-running process has them (untimed).
    gazetteer = Gazetteer(config.agencies, config.regions, config.default_region)
    warm = [
        StoredPost(
            id=0,
            source="",
            source_id="",
            text=r["text"],
            created_at=datetime.now(UTC),
            region="",
            url="",
            platform="",
            is_repost=False,
            parent_source_id="",
            case_id=None,
        )
        for r in corpus_lines(corpus, min(args.posts, 1000))
    ]
    understand_batch(warm, model, gazetteer)
    outcome: dict = {}

    def prepare() -> None:
        remove_db(database)
        shutil.copyfile(ingested, database)

    def run_process() -> int:
        throttle = Throttle("process", args.posts)

        def progress(message: str) -> None:
            found = re.search(r"\d+", message)
            if found:
                throttle(int(found.group()))

        with open_store(config) as store:
            count, touched = process(config, store, model, progress)
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
        "model_version": model.version,
        "model_load_s": round(load_s, 2),
        "processed": outcome["processed"],
        "days_touched": outcome["days_touched"],
        "posts_joining_another_case": joined,
        "complaints": complaints,
        "complaints_without_agency": unresolved,
        "db_bytes": size,
        "db_bytes_per_post": round(size / outcome["processed"]),
    }


def stage_classify(args: argparse.Namespace, work: Path) -> dict:
    import io

    from monitor.classify import load_model
    from monitor.classify.batch import CHUNK, classify_stream

    corpus = work / "corpus.jsonl"
    model = load_model()
    config = example_config(ROOT)  # what `monitor classify` uses without a config file
    gazetteer = Gazetteer(config.agencies, config.regions, config.default_region)
    bare = train_bare_baseline()

    class Counting:
        """/dev/null that counts the records written, for progress."""

        def __init__(self, sink, label: str):
            self.sink, self.written, self.throttle = sink, 0, Throttle(label, args.posts)

        def write(self, text: str) -> int:
            self.written += 1
            if self.written % 1000 == 0:
                self.throttle(self.written)
            return self.sink.write(text)

    def ours(source, sink) -> int:
        report = classify_stream(source, sink, model, gazetteer, "jsonl")
        if report.rejected:
            raise SystemExit(f"classify rejected {report.rejected} lines")
        return report.classified

    def baseline(source, sink) -> int:
        """Read, predict in chunks of CHUNK, write: the same shape, none of the work."""
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

    def over_corpus(run: Callable, label: str) -> Callable[[], int]:
        def work() -> int:
            with corpus.open("rb") as source, open(os.devnull, "w", encoding="utf-8") as sink:
                return run(source, Counting(sink, label))

        return work

    # Warm both on the first lines (untimed): a long `monitor classify` has warm caches.
    with corpus.open("rb") as handle:
        head = b"".join(islice(handle, min(args.posts, 1000)))
    with open(os.devnull, "w", encoding="utf-8") as sink:
        ours(io.BytesIO(head), sink)
        baseline(io.BytesIO(head), sink)
    mine = measure(
        f"classify: `monitor classify` path, {model.version}",
        over_corpus(ours, "classify"),
        args.repeat,
    )
    reference = measure(
        "bare baseline: word TF-IDF + LinearSVC, no normalisation, same JSONL in and out",
        over_corpus(baseline, "bare baseline"),
        args.repeat,
    )
    mine["ratio_to_bare_baseline"] = round(mine["median_per_s"] / reference["median_per_s"], 3)
    # The earlier comparison, kept: predict alone on texts in memory, no I/O, no gazetteer.
    texts = synthetic_corpus(min(args.posts, args.sample), args.seed)
    return {
        "results": [mine, reference],
        "predict": bench_classify(texts, args.repeat, model, bare, warm=False),  # warm already
        "texts": len(texts),
        "model_version": model.version,
    }


def stage_digest(args: argparse.Namespace, work: Path) -> dict:
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
    started = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - started
    day = date.fromisoformat(meta["last_day"])
    aggregate_s, digest_s, aggregate_cpu, digest_cpu = [], [], [], []
    with open_store(config) as store:
        first, last = store.db.execute(
            "SELECT min(created_at), max(created_at) FROM posts"
        ).fetchone()
        first_day = local_date(parse_iso(first), config.timezone)
        last_day = local_date(parse_iso(last), config.timezone)
        days = [first_day + timedelta(n) for n in range((last_day - first_day).days + 1)]
        posts = store.count_posts()
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            aggregate_days(store, days, config.timezone, model.version)
            aggregate_s.append(round(time.perf_counter() - started, 3))
            aggregate_cpu.append(round(time.process_time() - cpu_started, 3))
            started, cpu_started = time.perf_counter(), time.process_time()
            digest, paths = write_digest(config, store, model, day)
            digest_s.append(round(time.perf_counter() - started, 3))
            digest_cpu.append(round(time.process_time() - cpu_started, 3))
    both = [a + d for a, d in zip(aggregate_s, digest_s, strict=True)]
    both_cpu = [a + d for a, d in zip(aggregate_cpu, digest_cpu, strict=True)]

    def spread(values: list[float], name: str, cpu: list[float]) -> dict:
        return {
            "stage": name,
            "median_s": round(statistics.median(values), 3),
            "min_s": min(values),
            "max_s": max(values),
            "seconds": values,
            "median_cpu_s": round(statistics.median(cpu), 3),
            "cpu_seconds": cpu,
        }

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
        "model_load_s": round(load_s, 2),
    }


STAGE_FUNCTIONS = {
    "ingest": stage_ingest,
    "process": stage_process,
    "classify": stage_classify,
    "digest": stage_digest,
    "text": stage_text,
}


def run_stage_here(args: argparse.Namespace) -> int:
    """The hidden --stage mode: one stage, its result (and peak memory) as JSON."""
    work = Path(args.workdir)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    result = STAGE_FUNCTIONS[args.stage](args, work)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["checkpoints"] = CHECKPOINTS
    result.update(peak_rss())
    Path(args.result).write_text(json.dumps(result, indent=2))
    return 0


# --- the whole benchmark --------------------------------------------------------------


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "scipy", "scikit-learn", "sqlite-utils"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "code": code_version(),
        "ram_bytes": ram,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "system": platform.platform(),
        "machine": platform.machine(),
        "packages": versions,
    }


def code_version() -> dict:
    """The commit measured, and any uncommitted change to the code or the model."""

    def git(*command: str) -> str:
        try:
            done = subprocess.run(
                ["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "monitor", "models", "setup.cfg", "pyproject.toml")
    return {
        "commit": git("rev-parse", "--short=12", "HEAD") or "unknown",
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def run_stage(name: str, args: argparse.Namespace, work: Path) -> dict:
    result_path = work / f"stage-{name}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--stage",
        name,
        "--workdir",
        str(work),
        "--result",
        str(result_path),
        "--posts",
        str(args.posts),
        "--repeat",
        str(args.repeat),
        "--seed",
        str(args.seed),
        "--sample",
        str(args.sample),
    ]
    say(f"stage {name} ...")
    started = time.perf_counter()
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise SystemExit(f"stage {name} failed (exit {done.returncode})")
    result = json.loads(result_path.read_text())
    say(f"stage {name}: {time.perf_counter() - started:.0f} s")
    return result


def local_midnight_utc(tz: str) -> datetime:
    """The start of today in the configured zone, in UTC: the corpus ends there, so its
    last day is yesterday's complete local day (the one the morning digest reports)."""
    from monitor.clock import day_bounds_utc, local_date, parse_iso, utc_now

    return parse_iso(day_bounds_utc(local_date(utc_now(), tz), tz)[0])


def _rate(value: float) -> str:
    return f"{value:,.0f} posts/s"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def judge(report: dict) -> list[dict]:
    """Each target with its figure and verdict."""
    stages, posts = report["stages"], report["posts"]
    at_scale = posts >= FULL_SCALE
    small = f"measured on {posts:,} posts; the target is for {FULL_SCALE:,}"
    rows = []

    def add(what: str, figure: str, target: str, ok: bool, note: str = "") -> None:
        rows.append({"what": what, "figure": figure, "target": target, "met": ok, "note": note})

    if "ingest" in stages:
        r = stages["ingest"]["results"][0]
        add(
            "ingest",
            _rate(r["median_per_s"]),
            f"≥ {TARGETS['ingest']:,} posts/s",
            r["median_per_s"] >= TARGETS["ingest"],
        )
    if "process" in stages:
        s = stages["process"]
        r = s["results"][0]
        add(
            "process",
            _rate(r["median_per_s"]),
            f"≥ {TARGETS['process']:,} posts/s",
            r["median_per_s"] >= TARGETS["process"],
        )
        mb = s["peak_rss_bytes"] / MB
        add(
            "peak RSS while processing",
            f"{mb:,.0f} MB",
            f"≤ {TARGETS['process_rss_mb']} MB on {FULL_SCALE:,} posts",
            mb <= TARGETS["process_rss_mb"],
            "" if at_scale else small,
        )
        per_post = s["db_bytes_per_post"]
        add(
            "database per post, raw payloads off (after processing)",
            f"{per_post:,} bytes",
            f"≤ {TARGETS['db_bytes_per_post']:,} bytes",
            per_post <= TARGETS["db_bytes_per_post"],
        )
    if "classify" in stages:
        r = stages["classify"]["results"][0]
        add(
            "classify (`monitor classify` path)",
            _rate(r["median_per_s"]),
            f"≥ {TARGETS['classify']:,} posts/s",
            r["median_per_s"] >= TARGETS["classify"],
        )
        ratio = r["ratio_to_bare_baseline"]
        add(
            "classify ÷ bare baseline",
            f"{ratio:.3f}×",
            f"≥ {TARGETS['classify_ratio']}×",
            ratio >= TARGETS["classify_ratio"],
        )
    if "digest" in stages:
        r = stages["digest"]["results"][1]
        add(
            "digest (write_digest, one day)",
            f"{r['median_s']:.2f} s",
            f"≤ {TARGETS['digest_s']:.0f} s on {FULL_SCALE:,} posts",
            r["median_s"] <= TARGETS["digest_s"],
            "" if at_scale else small,
        )
    if "text" in stages:
        r = stages["text"]["results"][0]
        add(
            "normalise + redact + resolve (README)",
            _rate(r["median_per_s"]),
            f"≥ {TARGETS['text']:,} posts/s",
            r["median_per_s"] >= TARGETS["text"],
        )
    return rows


def tenth_rates(points: list, column: int = 1) -> list[float]:
    """Items per second (column 1: wall clock, 2: CPU) between consecutive checkpoints."""
    return [
        (later[0] - earlier[0]) / (later[column] - earlier[column])
        for earlier, later in zip(points, points[1:], strict=False)
        if later[column] > earlier[column]
    ]


def markdown(report: dict) -> str:
    m, corpus, stages = report["machine"], report["corpus"], report["stages"]
    lines = [
        f"## monitor benchmark: {report['posts']:,} posts, {report['repeat']} repetitions",
        "",
        f"- Command: `{report['command']}`",
        f"- Code: commit {m['code']['commit']}"
        + (
            f" with uncommitted changes to {', '.join(m['code']['uncommitted'])}"
            if m["code"]["uncommitted"]
            else " (no uncommitted change to monitor/ or models/)"
        ),
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_bytes'] / 2**30:.1f} GiB RAM; "
        f"Python {m['python']}, SQLite {m['sqlite']}, "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f"; {m['system']}",
        f"- Corpus: {corpus['posts']:,} raw posts ({corpus['reposts']:,} reposts) as JSON lines, "
        f"{corpus['bytes'] / MB:,.1f} MB, local days {corpus['first_day']} to "
        f"{corpus['last_day']}, {corpus['author_pool']:,} invented authors, seed "
        f"{report['seed']}; written in {corpus['seconds']:.1f} s",
        f"- Run {report['started_at']}, {report['seconds']:,.0f} s in all. Each stage in a "
        "fresh process; median and spread (min–max) of the repetitions; peak RSS is the "
        "stage process's high-water mark (VmHWM); MB = 10^6 bytes. Verdicts use the "
        "wall-clock median; the rate per CPU second of the stage's process is what the code "
        "costs whatever else the machine runs.",
        "",
        "| stage | median | spread (min–max) | median per CPU second | peak RSS | target | |",
        "|---|---:|---:|---:|---:|---|---|",
    ]

    def row(*cells: str) -> None:
        cells = (*cells, *[""] * (7 - len(cells)))
        lines.append("| " + " | ".join(cells) + " |")

    def rss(stage: str) -> str:
        return f"{stages[stage]['peak_rss_bytes'] / MB:,.0f} MB"

    def rate_row(stage: str, r: dict, target: str = "", verdict: str = "") -> None:
        row(
            r["stage"],
            _rate(r["median_per_s"]),
            f"{r['min_per_s']:,}–{r['max_per_s']:,}",
            _rate(r["median_per_cpu_s"]),
            rss(stage),
            target,
            verdict,
        )

    verdicts = {row["what"]: row for row in judge(report)}

    def target_of(what: str) -> tuple[str, str]:
        found = verdicts[what]
        note = f" ({found['note']})" if found["note"] else ""
        return found["target"], _verdict(found["met"]) + note

    if "ingest" in stages:
        s = stages["ingest"]
        rate_row("ingest", s["results"][0], *target_of("ingest"))
        row(
            "database after ingest (raw payloads off)",
            f"{s['db_bytes_per_post']:,} bytes/post",
            "",
            "",
            "",
            f"{s['db_bytes'] / MB:,.1f} MB for {s['posts_stored']:,} posts",
        )
    if "process" in stages:
        s = stages["process"]
        rate_row("process", s["results"][0], *target_of("process"))
        row(
            "peak RSS while processing",
            rss("process"),
            "",
            "",
            "",
            *target_of("peak RSS while processing"),
        )
        row(
            "database after processing",
            f"{s['db_bytes_per_post']:,} bytes/post",
            "",
            "",
            "",
            *target_of("database per post, raw payloads off (after processing)"),
        )
    if "classify" in stages:
        s = stages["classify"]
        ours, bare = s["results"]
        rate_row("classify", ours, *target_of("classify (`monitor classify` path)"))
        rate_row("classify", bare)
        cpu_ratio = ours["median_per_cpu_s"] / bare["median_per_cpu_s"]
        row(
            "classify ÷ bare baseline",
            f"{ours['ratio_to_bare_baseline']:.3f}×",
            "",
            f"{cpu_ratio:.3f}×",
            "",
            *target_of("classify ÷ bare baseline"),
        )
        note = f" (in memory, {s['texts']:,} texts, chunks of 1,000)"
        for r in s["predict"]:
            rate_row("classify", dict(r, stage=r["stage"] + note))
        row(
            "predict ÷ bare baseline predict (in memory)",
            f"{s['predict'][0]['ratio_to_bare_baseline']:.3f}×",
        )
    if "digest" in stages:
        s = stages["digest"]
        for index, r in enumerate(s["results"]):
            target, verdict = (
                target_of("digest (write_digest, one day)") if index == 1 else ("", "")
            )
            row(
                r["stage"],
                f"{r['median_s']:.2f} s",
                f"{r['min_s']:.2f}–{r['max_s']:.2f} s",
                f"{r['median_cpu_s']:.2f} CPU s",
                rss("digest"),
                target,
                verdict,
            )
    if "text" in stages:
        s = stages["text"]
        note = f" (in memory, {s['texts']:,} texts)"
        r = dict(s["results"][0], stage=s["results"][0]["stage"] + note)
        rate_row("text", r, *target_of("normalise + redact + resolve (README)"))
    lines.append("")
    notes = []
    if "process" in stages:
        s = stages["process"]
        notes.append(
            f"process: {s['processed']:,} posts, {s['complaints']:,} complaints "
            f"({s['complaints_without_agency']:,} without an agency), "
            f"{s['posts_joining_another_case']:,} posts joined another post's case "
            f"(reposts and near-copies); model {s['model_version']} loads in "
            f"{s['model_load_s']} s (not timed)"
        )
    if "digest" in stages:
        s = stages["digest"]
        notes.append(
            f"digest: {s['posts_in_database']:,} posts in the database, {s['days']} local days "
            f"aggregated, digest of {s['digest_day']} ({s['digest_complaints']:,} complaints, "
            f"{s['digest_spikes']} spikes); first (cold) run {s['results'][1]['seconds'][0]:.2f} s"
        )
    for stage in stages.values():
        for label, points in stage.get("checkpoints", {}).items():
            rates, cpu_rates = tenth_rates(points, 1), tenth_rates(points, 2)
            if len(rates) >= 3 and points[-1][1] >= 30:  # long enough to tell a trend
                notes.append(
                    f"{label}, posts/s per tenth of the corpus (last repetition): "
                    + ", ".join(f"{r:,.0f}" for r in rates)
                    + "; per CPU second: "
                    + ", ".join(f"{r:,.0f}" for r in cpu_rates)
                )
    loads = [v for s in stages.values() for v in s.get("load_average_1min", [])]
    if loads:
        notes.append(
            f"machine load (1-minute load average at the start and end of each stage): "
            f"{min(loads):.1f} to {max(loads):.1f} on {m['cores']} cores"
        )
    met = judge(report)
    notes.append(
        f"targets: {sum(r['met'] for r in met)} met, {sum(not r['met'] for r in met)} missed"
        + (
            ": "
            + "; ".join(
                f"{r['what']} {r['figure']} (target {r['target']})" for r in met if not r["met"]
            )
            if any(not r["met"] for r in met)
            else ""
        )
    )
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000, help="corpus size (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per stage (default 3)")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--markdown", type=Path, help="also write the Markdown table here (it is printed anyway)"
    )
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"comma-separated subset of {','.join(STAGES)} (process needs ingest; digest "
        "needs process, or a --workdir kept from an earlier run)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=2_000,
        help="texts held in memory by the in-memory text and predict measures (default 2000)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="folder for the corpus and databases (default: a temp folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        return run_stage_here(args)

    chosen = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(chosen) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    command = shlex.join(["python", "scripts/benchmark.py", *sys.argv[1:]])
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus.jsonl"
    meta_path = work / "corpus.json"
    try:
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if not (
            meta.get("posts") == args.posts and meta.get("seed") == args.seed and corpus.exists()
        ):
            say(f"writing a corpus of {args.posts:,} posts (seed {args.seed}) to {corpus} ...")
            began = time.perf_counter()
            meta = write_corpus(
                corpus, args.posts, args.seed, local_midnight_utc(example_config(ROOT).timezone)
            )
            meta.update(seed=args.seed, seconds=round(time.perf_counter() - began, 1))
            meta_path.write_text(json.dumps(meta, indent=2))
        stages = {name: run_stage(name, args, work) for name in STAGES if name in chosen}
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            say(f"kept {work}")

    report = {
        "benchmark": "monitor scripts/benchmark.py",
        "command": command,
        "started_at": started_at,
        "seconds": round(time.perf_counter() - started, 1),
        "posts": args.posts,
        "repeat": args.repeat,
        "seed": args.seed,
        "machine": machine_info(),
        "corpus": meta,
        "targets": TARGETS,
        "stages": stages,
    }
    report["verdicts"] = judge(report)
    # The flat list of rate results, as earlier versions of this script wrote them.
    report["results"] = [r for s in stages.values() for r in [*s["results"], *s.get("predict", [])]]
    table = markdown(report)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        say(f"wrote {args.out}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
        say(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
