"""Crash safety for real: `python -m monitor run` in a subprocess, SIGKILLed at many points.

Each test builds a replay file of a few thousand posts in the project's post
schema (sorted by time over 30 days, as a backlog arrives), starts real runs and
kills them with SIGKILL while they collect, process, aggregate or write the
digest (where a run is is read from its progress lines on stderr and from the
database), then lets one run finish and checks:

- every post of the input stored exactly once, none twice;
- every post analysed exactly once by the model version;
- daily_counts equal a recomputation from scratch;
- PRAGMA integrity_check is ok;
- the reports folder holds only complete digests and no temporary files;

and that a second run started while one is working exits 3 at once and leaves the
database alone.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.aggregate import aggregate_days, days_of
from monitor.classify import load_model
from monitor.config import example_config_text
from monitor.store import Store

SOURCE = "backlog"
DEMO_POSTS = Path(__file__).parent.parent / "monitor" / "data" / "demo_posts.jsonl"
RUN_TIMEOUT = 120  # seconds; a run of 3,000 posts takes about 10 s
EXIT_LOCKED = 3


# --- the dataset --------------------------------------------------------------------------


def write_dataset(folder: Path, count: int) -> list[str]:
    """A replay file of ``count`` distinct posts over the last 30 days, oldest first, and
    a config reading it. Returns the post ids."""
    demo = [json.loads(line) for line in DEMO_POSTS.read_text(encoding="utf-8").splitlines()]
    words = "antre lama petugas loket sistem offline berkas ditolak pungli biaya obat kamar".split()
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(days=30)
    span = (now - timedelta(hours=2)) - first
    ids = []
    with (folder / "posts.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(count):
            base = demo[i % len(demo)]
            post_id = f"c{i:06d}"
            record = {
                "id": post_id,
                "text": f"{base['text']} {words[i % 12]} {words[(i * 7) % 12]} ({i})",
                "created_at": (first + span * i / count).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "platform": base["platform"],
                "author": f"{base['author']}{i % 97}",
            }
            if i % 23 == 5:
                record["repost_of"] = f"c{i - 3:06d}"
            if i % 31 == 7:
                record["text"] = demo[(i - 1) % len(demo)]["text"]  # a copy: same case
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            ids.append(post_id)
    (folder / "monitor.toml").write_text(
        example_config_text()
        + f'\n[[sources]]\nname = "{SOURCE}"\ntype = "replay"\npath = "posts.jsonl"\n',
        encoding="utf-8",
    )
    return ids


# --- running and killing ------------------------------------------------------------------


@dataclass
class Run:
    """A `monitor run` subprocess whose stderr lines are collected as they come."""

    folder: Path
    process: subprocess.Popen
    started: float
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, folder: Path, command: list[str] | None = None) -> Run:
        command = command or [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(folder / "monitor.toml"),
            "run",
        ]
        process = subprocess.Popen(
            command,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        started = cls(folder, process, time.monotonic())
        threading.Thread(target=started._read, daemon=True).start()
        return started

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def saw(self, prefix: str) -> bool:
        return any(line.startswith(prefix) for line in list(self.lines))

    def wait_until(self, condition: Callable[[], bool], poll: float = 0.002) -> bool:
        """True once ``condition`` holds; False if the run ended first."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            if condition():
                return True
            if self.process.poll() is not None:
                return condition()
            time.sleep(poll)
        self.process.kill()
        pytest.fail(f"run did not reach the kill point within {RUN_TIMEOUT} s: {self.lines}")

    def kill(self) -> bool:
        """SIGKILL; True if the run was still working when it got it."""
        alive = self.process.poll() is None
        if alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        return alive

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"run did not finish within {RUN_TIMEOUT} s")


def counts(folder: Path) -> tuple[int, int, int]:
    """(posts, analyses, daily_counts rows) as a reader sees them now; zeros before the
    database exists."""
    database = folder / "monitor.db"
    if not database.exists():
        return 0, 0, 0
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            return tuple(
                connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("posts", "analysis", "daily_counts")
            )
        finally:
            connection.close()
    except sqlite3.Error:
        return 0, 0, 0


def kill_run(folder: Path, condition: Callable[[Run], bool], delay: float = 0.0) -> str:
    """Start a run, wait for ``condition``, wait ``delay`` more, SIGKILL it. Returns where it
    was (for messages). The database must be intact after every kill."""
    started = Run.start(folder)
    reached = started.wait_until(lambda: condition(started))
    if delay:
        time.sleep(delay)
    alive = started.kill()
    posts, analyses, daily = counts(folder)
    where = (
        f"killed={alive} after {time.monotonic() - started.started:.2f}s, "
        f"condition reached={reached}, posts={posts}, analyses={analyses}, daily={daily}, "
        f"last line={started.lines[-1] if started.lines else ''!r}"
    )
    if (folder / "monitor.db").exists():
        with Store.open(folder / "monitor.db") as store:
            check = store.db.execute("PRAGMA integrity_check").fetchone()[0]
        assert check == "ok", f"integrity after a kill ({where}): {check}"
    return where


def complete_run(folder: Path) -> None:
    finished = Run.start(folder)
    code = finished.finish()
    assert code == 0, "\n".join(finished.lines[-30:])


# --- the properties -------------------------------------------------------------------------


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.closed_html = False

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)

    def handle_endtag(self, tag):
        if tag == "html":
            self.closed_html = True


def assert_reports_complete(folder: Path) -> None:
    reports = folder / "reports"
    names = sorted(os.listdir(reports))
    leftovers = [name for name in names if ".tmp-" in name or name.startswith(".")]
    assert not leftovers, f"temporary files left in {reports}: {leftovers}"
    pages = [name for name in names if name.startswith("digest-") and name.endswith(".html")]
    assert pages, names
    for name in pages:
        html = (reports / name).read_text(encoding="utf-8")
        page = Page()
        page.feed(html)
        page.close()
        assert page.closed_html and html.rstrip().endswith("</html>"), f"{name} is cut off"
        text = (reports / name.replace(".html", ".txt")).read_text(encoding="utf-8")
        assert "KESEHATAN DATA" in text, f"{name.replace('.html', '.txt')} is cut off"
        png = (reports / name.replace(".html", "-grafik.png")).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")


@functools.cache
def model_version() -> str:
    return load_model().version


def assert_exactly_once(folder: Path, ids: list[str], kills: list[str]) -> None:
    where = "\n  ".join(kills)
    version = model_version()
    with Store.open(folder / "monitor.db") as store:
        db = store.db
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [
            r[0] for r in db.execute("SELECT source_id FROM posts WHERE source = ?", [SOURCE])
        ]
        assert len(stored) == len(ids), (
            f"{len(stored)} posts stored of {len(ids)}; kills:\n  {where}"
        )
        assert sorted(stored) == ids
        twice = db.execute(
            "SELECT source, source_id FROM posts GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall()
        assert not twice
        analysed = db.execute(
            "SELECT count(*), count(DISTINCT post_id) FROM analysis WHERE model_version = ?",
            [version],
        ).fetchone()
        assert analysed == (len(ids), len(ids)), f"analyses {analysed}; kills:\n  {where}"
        assert store.get_cursor(SOURCE) == str(len(ids))

        query = "SELECT * FROM daily_counts ORDER BY day, agency_id, sector, topic"
        incremental = db.execute(query).fetchall()
        created = [r[0] for r in db.execute("SELECT DISTINCT created_at FROM posts")]
        days = days_of(created, "Asia/Makassar")
        with db.atomic():
            db.execute("DELETE FROM daily_counts")
        aggregate_days(store, days, "Asia/Makassar", version)
        scratch = db.execute(query).fetchall()
    stale = sorted({r[0] for r in set(scratch) ^ set(incremental)})
    assert incremental == scratch, (
        f"daily_counts differ from a recomputation on {len(stale)} day(s) {stale[:5]}...; "
        f"kills:\n  {where}"
    )


# --- the tests ---------------------------------------------------------------------------------


def test_killed_while_collecting(tmp_path):
    ids = write_dataset(tmp_path, 3000)
    kills = [
        kill_run(tmp_path, lambda run: time.monotonic() - run.started > 0.3),  # starting up
        kill_run(tmp_path, lambda run: 0 < counts(tmp_path)[0]),  # first batches stored
    ]
    stored_before = counts(tmp_path)[0]
    kills.append(kill_run(tmp_path, lambda run: counts(tmp_path)[0] > stored_before))
    assert any(0 < int(k.split("posts=")[1].split(",")[0]) < len(ids) for k in kills), (
        f"no kill landed while posts were being stored: {kills}"
    )
    complete_run(tmp_path)
    assert_exactly_once(tmp_path, ids, kills)
    assert_reports_complete(tmp_path)


def test_killed_while_processing(tmp_path):
    ids = write_dataset(tmp_path, 3000)
    kills = [
        kill_run(tmp_path, lambda run: run.saw("processed: 1000"), delay=0.3),
        kill_run(tmp_path, lambda run: run.saw("processed: "), delay=0.8),
        kill_run(tmp_path, lambda run: run.saw("source "), delay=0.2),
    ]
    assert any(0 < int(k.split("analyses=")[1].split(",")[0]) < len(ids) for k in kills), kills
    complete_run(tmp_path)
    assert_exactly_once(tmp_path, ids, kills)
    assert_reports_complete(tmp_path)


def test_killed_while_aggregating_and_writing_the_digest(tmp_path):
    ids = write_dataset(tmp_path, 2500)
    kills = [
        # the first day's counts are committed, the other days' not yet
        kill_run(tmp_path, lambda run: counts(tmp_path)[2] > 0),
        # everything is processed now: each run goes straight to aggregating and the digest
        kill_run(tmp_path, lambda run: run.saw("source "), delay=0.15),
        kill_run(tmp_path, lambda run: run.saw("source "), delay=0.4),
        kill_run(tmp_path, lambda run: (tmp_path / "reports").exists(), delay=0.0),
    ]
    complete_run(tmp_path)
    assert_exactly_once(tmp_path, ids, kills)
    assert_reports_complete(tmp_path)


KILL_AT_RENAME = """
import os, signal, sys
from monitor.cli import main

real_replace = os.replace


def replace(source, target, *args, **kwargs):
    if str(target).endswith(".html"):  # the page is written, not yet renamed: die here
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(source, target, *args, **kwargs)


os.replace = replace
sys.exit(main(sys.argv[1:]))
"""


def test_killed_between_writing_and_renaming_the_digest(tmp_path):
    """The exact worst moment for the report: its temporary file is complete, the rename
    has not happened. The next run must leave a complete digest and no temporary file."""
    ids = write_dataset(tmp_path, 300)
    config = str(tmp_path / "monitor.toml")
    killed = Run.start(tmp_path, [sys.executable, "-c", KILL_AT_RENAME, "--config", config, "run"])
    assert killed.finish() == -signal.SIGKILL, killed.lines[-20:]
    complete_run(tmp_path)
    assert_exactly_once(tmp_path, ids, ["killed between write and rename of the HTML digest"])
    assert_reports_complete(tmp_path)


def test_a_second_run_exits_3_at_once_while_the_first_works(tmp_path):
    ids = write_dataset(tmp_path, 2500)
    first = Run.start(tmp_path)
    lock = tmp_path / "monitor.db.lock"
    first.wait_until(lambda: lock.exists() and lock.read_text().strip() == str(first.process.pid))
    second = Run.start(tmp_path)
    code = second.finish()
    # "At once" is behaviour, not a stopwatch: the second run was refused while the
    # first still held the lock and worked, so it did not wait for the lock to free.
    still_working = first.process.poll() is None
    assert code == EXIT_LOCKED, second.lines
    assert any("another monitor run" in line for line in second.lines), second.lines
    assert still_working, "the first run ended before the second was refused: test too short"
    assert first.finish() == 0, first.lines[-20:]
    with Store.open(tmp_path / "monitor.db") as store:
        runs = store.db.execute("SELECT command, status FROM runs").fetchall()
    assert runs == [("run", "ok")], "the refused run left a run record"
    assert_exactly_once(tmp_path, ids, [])


def test_a_refused_run_does_not_create_or_open_the_database(tmp_path):
    write_dataset(tmp_path, 10)
    holder = Run.start(
        tmp_path,
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from monitor.pipeline import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n"
            "    print('locked', file=sys.stderr, flush=True); time.sleep(60)",
            str(tmp_path / "monitor.db"),
        ],
    )
    try:
        holder.wait_until(lambda: holder.saw("locked"))
        refused = Run.start(tmp_path)
        assert refused.finish() == EXIT_LOCKED, refused.lines
    finally:
        holder.kill()
    left = sorted(os.listdir(tmp_path))
    assert left == ["monitor.db.lock", "monitor.toml", "posts.jsonl"], left
