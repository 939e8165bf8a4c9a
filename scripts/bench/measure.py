"""Timing, memory, progress and the machine: what every stage of the benchmark uses."""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing, contextmanager
from pathlib import Path

from bench.cold import clear_caches, entries_in_caches

ROOT = Path(__file__).resolve().parent.parent.parent
MB = 1_000_000  # memory and storage in SI units: the stricter reading of the targets


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(
    name: str,
    work: Callable[[], int],
    repeat: int,
    prepare: Callable[[], None] | None = None,
) -> dict:
    """Run ``work`` (which returns how many items it handled) ``repeat`` times, each time
    cold: ``prepare`` runs untimed first (a fresh model, a fresh copy of the database),
    then every per-text and per-word cache of ``monitor`` is emptied, so each repetition
    meets its texts as a fresh process meets new posts.

    Rates are per wall-clock second (what a run takes) and per CPU second of this
    process (what the code costs; barely moved by other programs on the machine).
    """
    rates, seconds, cpu_rates, cpu_seconds = [], [], [], []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        clear_caches()
        left = entries_in_caches()
        if left:
            raise SystemExit(f"{name}: {left} cache entries left after clearing")
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
        "cold": True,
        "median_per_s": round(statistics.median(rates)),
        "min_per_s": round(min(rates)),
        "max_per_s": round(max(rates)),
        "seconds": seconds,
        "median_per_cpu_s": round(statistics.median(cpu_rates)),
        "cpu_seconds": cpu_seconds,
    }


def spread(values: list[float], name: str, cpu: list[float]) -> dict:
    """Median and spread of durations in seconds (for stages timed per run, not per post)."""
    return {
        "stage": name,
        "cold": True,
        "median_s": round(statistics.median(values), 3),
        "min_s": min(values),
        "max_s": max(values),
        "seconds": values,
        "median_cpu_s": round(statistics.median(cpu), 3),
        "cpu_seconds": cpu,
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
    from monitor.config import SourceConfig, example_config

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
        return done.stdout.rstrip() if done.returncode == 0 else ""  # status lines start " M"

    changed = git("status", "--porcelain", "--", "monitor", "models", "setup.cfg", "pyproject.toml")
    return {
        "commit": git("rev-parse", "--short=12", "HEAD").strip() or "unknown",
        "uncommitted": [line[3:] for line in changed.splitlines() if line.strip()],
    }
