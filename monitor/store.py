"""The SQLite store (through sqlite-utils): schema, migrations, writes and report queries.

Times are stored as UTC ISO-8601 text ('2026-11-21T08:15:00Z'), which sorts and
compares correctly as text. Every write is one transaction; a post is stored at
most once per (source, source_id).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.clock import parse_iso, to_iso, utc_now
from monitor.records import Analysis, Post, SourceRun, StoredPost
from monitor.secrets import SecretMask

log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


class CopyFailed(StoreError):
    """Copying a database file failed part-way; the message is the database's own."""


# --- migrations -----------------------------------------------------------------------
# Append only: each function moves the schema one version up. Never edit a released one.


def _v1_initial(db: Database) -> None:
    for statement in (
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            platform TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL DEFAULT '',
            author_key TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            text_display TEXT NOT NULL,
            lang TEXT NOT NULL DEFAULT '',
            region TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            collected_at TEXT NOT NULL,
            is_repost INTEGER NOT NULL DEFAULT 0,
            is_reply INTEGER NOT NULL DEFAULT 0,
            is_quote INTEGER NOT NULL DEFAULT 0,
            parent_source_id TEXT NOT NULL DEFAULT '',
            raw TEXT,
            UNIQUE (source, source_id)
        )""",
        "CREATE INDEX posts_created_at ON posts (created_at)",
        """CREATE TABLE analysis (
            post_id INTEGER NOT NULL REFERENCES posts(id),
            model_version TEXT NOT NULL,
            is_complaint INTEGER NOT NULL,
            complaint_score REAL NOT NULL,
            sector TEXT NOT NULL,
            sector_score REAL NOT NULL,
            topics TEXT NOT NULL,
            topic_scores TEXT NOT NULL,
            agency_id TEXT NOT NULL,
            agency_confidence REAL NOT NULL,
            agency_evidence TEXT NOT NULL,
            needs_review INTEGER NOT NULL,
            processed_at TEXT NOT NULL,
            PRIMARY KEY (post_id, model_version)
        )""",
        """CREATE TABLE agencies (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            short_name TEXT NOT NULL,
            sector TEXT NOT NULL,
            region TEXT NOT NULL,
            aliases TEXT NOT NULL,
            handles TEXT NOT NULL,
            hashtags TEXT NOT NULL
        )""",
        """CREATE TABLE cursors (
            source TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            processed INTEGER NOT NULL DEFAULT 0,
            errors TEXT NOT NULL DEFAULT '[]'
        )""",
        """CREATE TABLE run_sources (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            source TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            fetched INTEGER NOT NULL,
            new INTEGER NOT NULL,
            duplicates INTEGER NOT NULL,
            rejected INTEGER NOT NULL,
            error TEXT NOT NULL,
            duration_s REAL NOT NULL,
            rejections TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (run_id, source)
        )""",
        """CREATE TABLE daily_counts (
            day TEXT NOT NULL,
            agency_id TEXT NOT NULL,
            sector TEXT NOT NULL,
            topic TEXT NOT NULL,
            posts INTEGER NOT NULL,
            complaints INTEGER NOT NULL,
            authors INTEGER NOT NULL,
            model_version TEXT NOT NULL,
            PRIMARY KEY (day, agency_id, sector, topic)
        )""",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            post_id INTEGER NOT NULL REFERENCES posts(id),
            field TEXT NOT NULL,
            value TEXT NOT NULL,
            annotator TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )""",
    ):
        db.execute(statement)


def _v2_normalized_text(db: Database) -> None:
    # The normalised text the model and gazetteer read, kept with each analysis so a
    # result can be explained and re-checked without re-running normalisation.
    db.execute("ALTER TABLE analysis ADD COLUMN text_normalized TEXT NOT NULL DEFAULT ''")


def _v3_cases_and_outbox(db: Database) -> None:
    # case_id: the post that started a case (itself, or the original of a repost or
    # a copy-paste); counts are of cases, so fifty copies are one complaint.
    db.execute("ALTER TABLE posts ADD COLUMN case_id INTEGER")
    db.execute("CREATE INDEX posts_case ON posts (case_id)")
    # A few minimum hashes of each post's word shingles, to find near-duplicates fast.
    db.execute(
        """CREATE TABLE post_sketch (
            hash INTEGER NOT NULL,
            post_id INTEGER NOT NULL REFERENCES posts(id),
            PRIMARY KEY (hash, post_id)
        ) WITHOUT ROWID"""
    )
    # Digests to send: kept until the mail server took them, sent at most once.
    db.execute(
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,
            scope TEXT NOT NULL,
            recipients TEXT NOT NULL,
            subject TEXT NOT NULL,
            message BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (day, scope)
        )"""
    )


def _v4_child_indexes(db: Database) -> None:
    # Deleting posts (retention) must not scan these tables once per post.
    db.execute("CREATE INDEX post_sketch_post ON post_sketch (post_id)")
    db.execute("CREATE INDEX labels_post ON labels (post_id)")


def _v5_sketch_by_time(db: Database) -> None:
    # Near-duplicate search looks only at the 7 days around a post. With the post's
    # time (Unix seconds) in the sketch's key, SQLite reads just that window of each
    # hash; before, it read every post ever stored with the hash and joined posts to
    # filter by time, which grew with the database (a common phrase's hash is shared
    # by thousands of posts).
    db.execute(
        """CREATE TABLE post_sketch_v5 (
            hash INTEGER NOT NULL,
            created INTEGER NOT NULL,
            post_id INTEGER NOT NULL REFERENCES posts(id),
            PRIMARY KEY (hash, created, post_id)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """INSERT INTO post_sketch_v5 (hash, created, post_id)
           SELECT s.hash, CAST(strftime('%s', p.created_at) AS INTEGER), s.post_id
           FROM post_sketch s JOIN posts p ON p.id = s.post_id"""
    )
    db.execute("DROP TABLE post_sketch")
    db.execute("ALTER TABLE post_sketch_v5 RENAME TO post_sketch")
    db.execute("CREATE INDEX post_sketch_post ON post_sketch (post_id)")


def _v6_author_agency_and_region(db: Database) -> None:
    # author_agency: the agency whose own account wrote the post (its replies and
    # announcements are not complaints against it); found at intake, before the author
    # is pseudonymised. analysis.region: where a post is about, kept also for posts no
    # agency could be tied to.
    db.execute("ALTER TABLE posts ADD COLUMN author_agency TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE analysis ADD COLUMN region TEXT NOT NULL DEFAULT ''")


def _v7_ingest_seen(db: Database) -> None:
    # The push endpoint's replay window: signatures of requests already stored, kept for
    # twice the allowed clock skew, so a restart does not accept an exact replay again.
    db.execute("CREATE TABLE ingest_seen (signature TEXT PRIMARY KEY, seen_at TEXT NOT NULL)")
    db.execute("CREATE INDEX ingest_seen_at ON ingest_seen (seen_at)")


def _v8_source_stops(db: Database) -> None:
    # A rate limit, quota or time budget that stopped a source is not a failure: kept
    # apart from 'error', so doctor and the digest do not call it one.
    db.execute("ALTER TABLE run_sources ADD COLUMN stopped TEXT NOT NULL DEFAULT ''")


MIGRATIONS: list[Callable[[Database], None]] = [
    _v1_initial,
    _v2_normalized_text,
    _v3_cases_and_outbox,
    _v4_child_indexes,
    _v5_sketch_by_time,
    _v6_author_agency_and_region,
    _v7_ingest_seen,
    _v8_source_stops,
]
SCHEMA_VERSION = len(MIGRATIONS)

# Rejection reasons kept per source run: enough to show the operator, bounded in size.
MAX_REJECTIONS_KEPT = 50


@dataclass
class SourceHealth:
    source: str
    last_run_at: str
    last_success_at: str
    last_error: str
    new_in_window: int
    errors_in_window: int
    last_stopped: str = ""  # the latest run's planned stop (rate limit, quota, budget)


def _enable_wal(db: Database, attempts: int = 100) -> None:
    """Switch to WAL, which needs a moment's exclusive lock: when several processes
    open a new file at once, one may be refused ("locked") regardless of the busy
    timeout, so it asks again; once set, the mode stays with the file."""
    for attempt in range(attempts):
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _storable(text: str) -> str:
    """Text SQLite can take: a lone surrogate quoted from bad input becomes an escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_database_folder(path: Path) -> None:
    """StoreError unless ``path``'s folder exists and is a folder: a mistyped --db never
    creates folders silently, and never ends in a traceback."""
    folder = Path(path).parent
    if not folder.exists():
        missing = next((p for p in reversed([folder, *folder.parents]) if not p.exists()), folder)
        gap = "" if missing == folder else f" ({missing} is missing)"
        raise StoreError(
            f"cannot open database {path}: the folder {folder} does not exist{gap}. Create it "
            f"first (mkdir -p {folder}) or choose another path with --db or 'database' in "
            "the config."
        )
    if not folder.is_dir():
        raise StoreError(
            f"cannot open database {path}: {folder} is a file, not a folder. Choose another "
            "path with --db or 'database' in the config."
        )


class Store:
    """One SQLite database file. Open with ``Store.open(path)``; close when done."""

    def __init__(self, db: Database, path: Path, secrets: Iterable[str] = ()):
        self.db = db
        self.path = path
        # Every error text is masked as it is written and as it is read: the one
        # boundary a secret echoed by a remote server meets (see monitor/secrets.py).
        self.mask = SecretMask(secrets)

    # --- opening ----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, secrets: Iterable[str] = ()) -> Store:
        """Open (creating if needed) and migrate to the current schema. ``secrets``: the
        values masked in every error text the store keeps or gives back."""
        path = Path(path)
        check_database_folder(path)
        try:
            conn = sqlite3.connect(str(path), timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
            # 64 MiB of page cache instead of SQLite's 2 MiB: at a million posts the
            # indexes no longer fit the default, and every insert re-reads their pages.
            conn.execute("PRAGMA cache_size = -65536")
            # With WAL, NORMAL syncs at checkpoints instead of every commit: a killed
            # process loses nothing; a power cut can undo the last commits, each whole
            # (posts and their cursor together), and collection fetches them again.
            conn.execute("PRAGMA synchronous = NORMAL")
            db = Database(conn)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version <= SCHEMA_VERSION:  # a newer file is refused below, unchanged
                _enable_wal(db)
            db.execute("PRAGMA foreign_keys = ON")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open database {path}: {exc}. Check that the folder exists and is "
                "writable, or choose another path with --db or 'database' in the config."
            ) from None
        store = cls(db, path, secrets)
        try:
            store._migrate()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _check_not_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {version}, newer than this "
                f"program's {SCHEMA_VERSION}. Upgrade monitor (pip install -U) or use "
                "another database file; nothing was changed."
            )

    def _migrate(self) -> None:
        """Bring the schema up to date; safe when several processes open a new file at once."""
        self._check_not_newer(self.schema_version)
        if self.schema_version == SCHEMA_VERSION:
            return
        conn = self.db.conn
        try:
            # Take the write lock first, then re-read: another process may have migrated.
            conn.execute("BEGIN IMMEDIATE")
            version = self.schema_version
            self._check_not_newer(version)
            for number in range(version + 1, SCHEMA_VERSION + 1):
                log.info("migrating %s to schema version %d", self.path, number)
                MIGRATIONS[number - 1](self.db)
                # PRAGMA user_version takes no parameters; number is our own int.
                conn.execute(f"PRAGMA user_version = {int(number)}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"cannot migrate database {self.path}: {exc}") from None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # --- meta -------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def secret(self, key: str) -> str:
        """A random per-database secret, created on first use (see privacy in README)."""
        if existing := self._meta(key):
            return existing
        with self.db.atomic():
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                [key, secrets.token_hex(32)],
            )
        return self._meta(key) or ""

    # --- agencies ---------------------------------------------------------------------

    def sync_agencies(self, agencies: Iterable[Any]) -> None:
        """Make the agencies table mirror the config's gazetteer."""
        rows = [
            {
                "id": a.id,
                "name": a.name,
                "short_name": a.short_name or a.name,
                "sector": a.sector,
                "region": a.region,
                "aliases": json.dumps(a.aliases, ensure_ascii=False),
                "handles": json.dumps(a.handles, ensure_ascii=False),
                "hashtags": json.dumps(a.hashtags, ensure_ascii=False),
            }
            for a in agencies
        ]
        fingerprint = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
        if self._meta("agencies_sha256") == fingerprint:
            return  # unchanged: no write on every open
        with self.db.atomic():
            self.db.execute("DELETE FROM agencies")
            if rows:
                self.db.table("agencies").insert_all(rows)
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('agencies_sha256', ?)",
                [fingerprint],
            )

    def agency_names(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, short_name FROM agencies").fetchall())

    # --- posts ------------------------------------------------------------------------

    def add_posts(
        self,
        posts: Iterable[Post],
        *,
        display_text: Callable[[str], str],
        author_key: Callable[[Post], str],
        keep_raw: bool,
        cursor: tuple[str, str] | None = None,
        author_agency: Callable[[Post], str] = lambda post: "",
    ) -> tuple[int, int]:
        """Insert posts not yet stored and move the source's cursor, in one transaction.

        Returns (new, duplicates). ``cursor`` is (source, value): it moves only if the
        posts it covers are committed with it.
        """
        now = to_iso(utc_now())
        rows = [
            (
                p.source,
                p.source_id,
                p.platform,
                p.url,
                author_key(p),
                p.text,
                display_text(p.text),
                p.lang,
                p.region,
                to_iso(p.created_at),
                now,
                int(p.is_repost),
                int(p.is_reply),
                int(p.is_quote),
                p.parent_source_id,
                json.dumps(p.raw, ensure_ascii=False) if keep_raw and p.raw is not None else None,
                author_agency(p),
            )
            for p in posts
        ]
        with self.db.atomic():
            if cursor is not None:
                self._set_cursor(*cursor)
            if not rows:
                return 0, 0
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                """INSERT OR IGNORE INTO posts (source, source_id, platform, url, author_key,
                   text, text_display, lang, region, created_at, collected_at, is_repost,
                   is_reply, is_quote, parent_source_id, raw, author_agency)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
            new = self.db.conn.total_changes - before
        return new, len(rows) - new

    def count_posts(self) -> int:
        return self.db.execute("SELECT count(*) FROM posts").fetchone()[0]

    def complaint_counts(self) -> tuple[int, int | None]:
        """(complaint analyses, of those tied to an agency: None when there are none)."""
        complaints, with_agency = self.db.execute(
            "SELECT count(*), sum(agency_id != '') FROM analysis WHERE is_complaint = 1"
        ).fetchone()
        return complaints, with_agency

    def posts_to_process(
        self, model_version: str, batch_size: int = 1000
    ) -> Iterator[list[StoredPost]]:
        """Batches of posts without an analysis by ``model_version``, oldest id first."""
        last_id = 0
        while True:
            rows = self.db.execute(
                """SELECT p.id, p.source, p.source_id, p.text, p.created_at, p.region, p.url,
                          p.platform, p.is_repost, p.parent_source_id, p.case_id,
                          p.author_agency
                   FROM posts p
                   WHERE p.id > ? AND NOT EXISTS (
                       SELECT 1 FROM analysis a WHERE a.post_id = p.id AND a.model_version = ?)
                   ORDER BY p.id LIMIT ?""",
                [last_id, model_version, batch_size],
            ).fetchall()
            if not rows:
                return
            last_id = rows[-1][0]
            yield [
                StoredPost(
                    id=r[0],
                    source=r[1],
                    source_id=r[2],
                    text=r[3],
                    created_at=parse_iso(r[4]),
                    region=r[5],
                    url=r[6],
                    platform=r[7],
                    is_repost=bool(r[8]),
                    parent_source_id=r[9],
                    case_id=r[10],
                    author_agency=r[11],
                )
                for r in rows
            ]

    def save_analyses(self, analyses: Iterable[Analysis]) -> list[str]:
        """Store analyses (replacing any for the same post and model version).

        Returns the distinct UTC creation times' posts touched, as created_at strings,
        so the caller can tell which days need re-aggregating.
        """
        now = to_iso(utc_now())
        rows = [
            (
                a.post_id,
                a.model_version,
                int(a.is_complaint),
                a.complaint_score,
                a.sector,
                a.sector_score,
                json.dumps(a.topics),
                json.dumps(a.topic_scores),
                a.agency_id,
                a.agency_confidence,
                a.agency_evidence,
                int(a.needs_review),
                now,
                a.text_normalized,
                a.region,
            )
            for a in analyses
        ]
        if not rows:
            return []
        with self.db.atomic():
            self.db.conn.executemany(
                """INSERT OR REPLACE INTO analysis (post_id, model_version, is_complaint,
                   complaint_score, sector, sector_score, topics, topic_scores, agency_id,
                   agency_confidence, agency_evidence, needs_review, processed_at,
                   text_normalized, region)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
        ids = [r[0] for r in rows]
        placeholders = ",".join("?" * len(ids))
        return [
            r[0]
            for r in self.db.execute(
                f"SELECT DISTINCT created_at FROM posts WHERE id IN ({placeholders})",
                ids,
            ).fetchall()
        ]

    def analysed_created_at(self, model_version: str, since: str) -> list[str]:
        """Distinct created_at of posts analysed by ``model_version`` at or after ``since``."""
        return [
            row[0]
            for row in self.db.execute(
                """SELECT DISTINCT p.created_at FROM analysis a JOIN posts p ON p.id = a.post_id
                   WHERE a.model_version = ? AND a.processed_at >= ?""",
                [model_version, since],
            )
        ]

    # --- push endpoint: replay window ------------------------------------------------

    @contextmanager
    def ingest_request(self, signature: str, window_seconds: float) -> Iterator[bool]:
        """One pushed request as one transaction: yields False (and stores nothing) when
        ``signature`` was seen within ``window_seconds``; else True, and what the caller
        stores inside (``add_posts``) commits together with the signature, or neither."""
        now = utc_now()
        self.end_implicit_transaction()
        with self._immediate_transaction():
            self.db.execute(
                "DELETE FROM ingest_seen WHERE seen_at < ?",
                [to_iso(now - timedelta(seconds=window_seconds))],
            )
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO ingest_seen (signature, seen_at) VALUES (?, ?)",
                [signature, to_iso(now)],
            ).rowcount
            yield inserted == 1

    # --- cursors ----------------------------------------------------------------------

    def get_cursor(self, source: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, value: str) -> None:
        with self.db.atomic():
            self._set_cursor(source, value)

    def _set_cursor(self, source: str, value: str) -> None:
        self.db.execute(
            """INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT (source) DO UPDATE SET value = excluded.value,
                   updated_at = excluded.updated_at""",
            [source, value, to_iso(utc_now())],
        )

    # --- runs -------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO runs (command, started_at) VALUES (?, ?)",
                [command, to_iso(utc_now())],
            )
        return int(cursor.lastrowid)

    def _error_text(self, text: str) -> str:
        return _storable(self.mask(text))

    def record_source_run(self, run_id: int, result: SourceRun) -> SourceRun:
        """Store one source's result; returns it as stored (secrets masked): what is
        shown is then never more than what the database holds."""
        result = replace(
            result,
            error=self._error_text(result.error),
            stopped=self._error_text(result.stopped),
            rejections=[self._error_text(r) for r in result.rejections],
        )
        with self.db.atomic():
            self.db.execute(
                """INSERT OR REPLACE INTO run_sources (run_id, source, finished_at, fetched, new,
                   duplicates, rejected, error, duration_s, rejections, stopped)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    run_id,
                    result.source,
                    to_iso(utc_now()),
                    result.fetched,
                    result.new,
                    result.duplicates,
                    result.rejected,
                    result.error,
                    round(result.duration_s, 3),
                    json.dumps(result.rejections[:MAX_REJECTIONS_KEPT], ensure_ascii=False),
                    result.stopped,
                ],
            )
        return result

    def finish_run(self, run_id: int, status: str, processed: int, errors: list[str]) -> list[str]:
        """Close a run record; returns its errors as stored (secrets masked)."""
        errors = [self._error_text(e) for e in errors]
        with self.db.atomic():
            self.db.execute(
                """UPDATE runs SET finished_at = ?, status = ?, processed = ?, errors = ?
                   WHERE id = ?""",
                [
                    to_iso(utc_now()),
                    status,
                    processed,
                    json.dumps(errors),
                    run_id,
                ],
            )
        return errors

    def unfinished_runs(self, except_run_id: int) -> tuple[str | None, int]:
        """(oldest start, number) of runs still marked 'running', other than ``except_run_id``."""
        oldest, count = self.db.execute(
            "SELECT min(started_at), count(*) FROM runs WHERE status = 'running' AND id != ?",
            [except_run_id],
        ).fetchone()
        return oldest, count

    def mark_runs_interrupted(self, except_run_id: int) -> None:
        """Mark every run still 'running', other than ``except_run_id``, as 'interrupted'."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET status = 'interrupted' WHERE status = 'running' AND id != ?",
                [except_run_id],
            )

    def fetched_since(self, source: str, since: str) -> int:
        """Records a source fetched in runs finished since ``since`` (for paid-read budgets)."""
        row = self.db.execute(
            """SELECT coalesce(sum(fetched), 0) FROM run_sources
               WHERE source = ? AND finished_at >= ?""",
            [source, since],
        ).fetchone()
        return int(row[0])

    def source_health(self, since: str) -> list[SourceHealth]:
        """Per source ever run: last run, last success, last error, and counts since ``since``."""
        rows = self.db.execute(
            """SELECT source,
                      max(finished_at),
                      max(CASE WHEN error = '' THEN finished_at END),
                      (SELECT error FROM run_sources r2 WHERE r2.source = r.source
                       ORDER BY finished_at DESC LIMIT 1),
                      (SELECT stopped FROM run_sources r3 WHERE r3.source = r.source
                       ORDER BY finished_at DESC LIMIT 1),
                      sum(CASE WHEN finished_at >= ? THEN new ELSE 0 END),
                      sum(CASE WHEN finished_at >= ? AND error != '' THEN 1 ELSE 0 END)
               FROM run_sources r GROUP BY source ORDER BY source""",
            [since, since],
        ).fetchall()
        return [
            SourceHealth(
                r[0],
                r[1] or "",
                r[2] or "",
                self.mask(r[3] or ""),
                r[5] or 0,
                r[6] or 0,
                self.mask(r[4] or ""),
            )
            for r in rows
        ]

    # --- cases (reposts and near-duplicates collapse into one) ------------------------

    def parent_cases(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Case of each stored post named by (source, source_id)."""
        found: dict[tuple[str, str], int] = {}
        for source, source_id in keys:
            row = self.db.execute(
                "SELECT coalesce(case_id, id) FROM posts WHERE source = ? AND source_id = ?",
                [source, source_id],
            ).fetchone()
            if row:
                found[(source, source_id)] = row[0]
        return found

    def sketch_matches(
        self, hashes: list[int], since: str, until: str, per_hash: int = 50
    ) -> list[tuple[int, int, int]]:
        """(post_id, case_id, shared hashes) of the 20 posts created in [since, until]
        sharing most of ``hashes`` (at least two).

        Each hash contributes at most ``per_hash`` posts, the latest in the window: a
        phrase everyone writes is shared by thousands of posts a week and tells nothing,
        and reading all of them made processing slower the more posts a week holds.
        A true copy shares most of its hashes, so the rarer ones still find it.
        """
        if not hashes:
            return []
        window = [int(parse_iso(since).timestamp()), int(parse_iso(until).timestamp())]
        one_hash = """SELECT post_id FROM (
                        SELECT post_id FROM post_sketch WHERE hash = ? AND created BETWEEN ? AND ?
                        ORDER BY created DESC LIMIT ?)"""
        return self.db.execute(
            f"""SELECT g.post_id, coalesce(p.case_id, p.id), g.shared
                FROM (SELECT post_id, count(*) AS shared
                      FROM ({" UNION ALL ".join([one_hash] * len(hashes))})
                      GROUP BY post_id HAVING shared >= 2
                      ORDER BY shared DESC, post_id LIMIT 20) g
                JOIN posts p ON p.id = g.post_id
                ORDER BY g.shared DESC, g.post_id""",
            [value for h in hashes for value in (h, *window, per_hash)],
        ).fetchall()

    def post_texts(self, ids: list[int]) -> dict[int, tuple[str, str | None]]:
        """{post id: (text, normalised text from an analysis, or None if not analysed)}."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"""SELECT p.id, p.text,
                       (SELECT a.text_normalized FROM analysis a WHERE a.post_id = p.id LIMIT 1)
                FROM posts p WHERE p.id IN ({marks})""",
            ids,
        )
        return {post_id: (text, normalized) for post_id, text, normalized in rows.fetchall()}

    def save_cases(self, cases: dict[int, int], sketches: dict[int, list[int]]) -> None:
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE posts SET case_id = ? WHERE id = ?",
                [(case, post) for post, case in cases.items()],
            )
            self.db.conn.executemany(
                """INSERT OR IGNORE INTO post_sketch (hash, created, post_id)
                   SELECT ?, CAST(strftime('%s', created_at) AS INTEGER), id
                   FROM posts WHERE id = ?""",
                [(h, post) for post, hashes in sketches.items() for h in hashes],
            )

    def case_sizes(self, case_ids: list[int]) -> dict[int, int]:
        """How many posts (copies and reposts included) each case has."""
        if not case_ids:
            return {}
        marks = ",".join("?" * len(case_ids))
        rows = self.db.execute(
            f"""SELECT coalesce(case_id, id), count(*) FROM posts
                WHERE coalesce(case_id, id) IN ({marks}) GROUP BY 1""",
            case_ids,
        )
        return dict(rows.fetchall())

    # --- aggregates -------------------------------------------------------------------

    def recompute_day(self, day: str, start: str, end: str, model_version: str) -> None:
        """Replace the daily_counts rows of one local day from posts in [start, end).

        Reposts are not counted as posts of their own (they amplify the original);
        complaints are distinct cases, so copies of one complaint count once; topic ''
        holds the all-topics total of each agency and sector.
        """
        params = {"model": model_version, "start": start, "end": end, "day": day}
        window = """p.created_at >= :start AND p.created_at < :end AND p.is_repost = 0"""
        with self.db.atomic():
            self.db.execute("DELETE FROM daily_counts WHERE day = :day", params)
            self.db.execute(
                f"""INSERT INTO daily_counts
                    SELECT :day, a.agency_id, a.sector, '', count(*),
                           count(DISTINCT CASE WHEN a.is_complaint = 1
                                 THEN coalesce(p.case_id, p.id) END),
                           count(DISTINCT CASE WHEN a.is_complaint = 1 THEN p.author_key END),
                           :model
                    FROM posts p
                    JOIN analysis a ON a.post_id = p.id AND a.model_version = :model
                    WHERE {window}
                    GROUP BY a.agency_id, a.sector""",
                params,
            )
            self.db.execute(
                f"""INSERT INTO daily_counts
                    SELECT :day, a.agency_id, a.sector, t.value, count(*),
                           count(DISTINCT coalesce(p.case_id, p.id)),
                           count(DISTINCT p.author_key), :model
                    FROM posts p
                    JOIN analysis a ON a.post_id = p.id AND a.model_version = :model
                    JOIN json_each(a.topics) t
                    WHERE {window} AND a.is_complaint = 1
                    GROUP BY a.agency_id, a.sector, t.value""",
                params,
            )

    def totals_by_agency(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Posts, complaints and authors per agency over local days [first_day, last_day]."""
        return self.db.execute_returning_dicts(
            """SELECT agency_id, sum(posts) AS posts, sum(complaints) AS complaints,
                      sum(authors) AS authors
               FROM daily_counts WHERE topic = '' AND day BETWEEN ? AND ?
               GROUP BY agency_id ORDER BY complaints DESC, posts DESC""",
            [first_day, last_day],
        )

    def topics_by_agency(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        return self.db.execute_returning_dicts(
            """SELECT agency_id, topic, sum(complaints) AS complaints
               FROM daily_counts WHERE topic != '' AND day BETWEEN ? AND ?
               GROUP BY agency_id, topic ORDER BY agency_id, complaints DESC, topic""",
            [first_day, last_day],
        )

    def complaint_examples(
        self, start: str, end: str, model_version: str, per_agency: int = 3
    ) -> list[dict[str, Any]]:
        """The most certain complaints per agency in [start, end), one per case.

        ``copies`` is how many posts the case has in all (copies and reposts), so a
        complaint posted fifty times is shown once, "diposting 50×".
        """
        rows = self.db.execute_returning_dicts(
            """SELECT p.id, p.source, p.platform, p.url, p.created_at, p.text_display,
                      coalesce(p.case_id, p.id) AS case_id, a.agency_id, a.sector, a.topics,
                      a.complaint_score
               FROM posts p JOIN analysis a ON a.post_id = p.id AND a.model_version = ?
               WHERE p.created_at >= ? AND p.created_at < ? AND a.is_complaint = 1
                 AND p.is_repost = 0
               ORDER BY a.agency_id, a.complaint_score DESC, p.created_at""",
            [model_version, start, end],
        )
        chosen: list[dict[str, Any]] = []
        seen_cases: set[int] = set()
        shown: Counter[str] = Counter()
        for row in rows:
            if row["case_id"] in seen_cases or shown[row["agency_id"]] >= per_agency:
                continue
            seen_cases.add(row["case_id"])
            shown[row["agency_id"]] += 1
            row["topics"] = json.loads(row["topics"])
            chosen.append(row)
        sizes = self.case_sizes([row["case_id"] for row in chosen])
        for row in chosen:
            row["copies"] = sizes.get(row["case_id"], 1)
        return chosen

    # --- agency trends ----------------------------------------------------------------

    def agency_daily(self, agency_id: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Per local day and topic ('' = all topics): complaints, posts, authors of one agency."""
        return self.db.execute_returning_dicts(
            """SELECT day, topic, sum(complaints) AS complaints, sum(posts) AS posts,
                      sum(authors) AS authors
               FROM daily_counts WHERE agency_id = ? AND day BETWEEN ? AND ?
               GROUP BY day, topic ORDER BY day, topic""",
            [agency_id, first_day, last_day],
        )

    def daily_totals(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Per local day and agency: complaints (all topics)."""
        return self.db.execute_returning_dicts(
            """SELECT day, agency_id, sum(complaints) AS complaints, sum(posts) AS posts
               FROM daily_counts WHERE topic = '' AND day BETWEEN ? AND ?
               GROUP BY day, agency_id ORDER BY day, agency_id""",
            [first_day, last_day],
        )

    def complaints_per_day(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Per local day with counts: complaints of all agencies and topics."""
        return self.db.execute_returning_dicts(
            """SELECT day, sum(complaints) AS complaints FROM daily_counts
               WHERE topic = '' AND day BETWEEN ? AND ? GROUP BY day""",
            [first_day, last_day],
        )

    def complaints_by_day_agency_topic(
        self, first_day: str, last_day: str
    ) -> list[tuple[str, str, str, int]]:
        """(day, agency_id, topic, complaints) over local days [first_day, last_day]."""
        return self.db.execute(
            """SELECT day, agency_id, topic, sum(complaints) FROM daily_counts
               WHERE day BETWEEN ? AND ? GROUP BY day, agency_id, topic""",
            [first_day, last_day],
        ).fetchall()

    def complaint_texts(self, start: str, end: str, agency_id: str) -> list[str]:
        """Normalised texts of an agency's original complaints created in [start, end)."""
        rows = self.db.execute(
            """SELECT a.text_normalized
               FROM posts p JOIN analysis a ON a.post_id = p.id
               WHERE a.is_complaint = 1 AND p.is_repost = 0 AND a.agency_id = ?
                 AND p.created_at >= ? AND p.created_at < ?""",
            [agency_id, start, end],
        )
        return [text for (text,) in rows.fetchall()]

    def complaint_text_sample(self, hours: list[tuple[str, str]], per_hour: int) -> list[str]:
        """Normalised texts of up to ``per_hour`` original complaints (any agency) created
        in each [start, end) of ``hours``: a bounded sample, read through the time index."""
        texts: list[str] = []
        for start, end in hours:
            rows = self.db.execute(
                """SELECT a.text_normalized
                   FROM posts p JOIN analysis a ON a.post_id = p.id
                   WHERE p.created_at >= ? AND p.created_at < ?
                     AND a.is_complaint = 1 AND p.is_repost = 0
                   LIMIT ?""",
                [start, end, per_hour],
            )
            texts.extend(text for (text,) in rows.fetchall())
        return texts

    def latest_complaints(
        self, agency_id: str, model_version: str, limit: int = 10, until: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest complaints about an agency (originals only), redacted text."""
        return self.db.execute_returning_dicts(
            """SELECT p.id, p.platform, p.url, p.created_at, p.text_display, a.sector, a.topics,
                      a.complaint_score
               FROM posts p JOIN analysis a ON a.post_id = p.id AND a.model_version = ?
               WHERE a.agency_id = ? AND a.is_complaint = 1 AND p.is_repost = 0
                 AND coalesce(p.case_id, p.id) = p.id AND p.created_at <= ?
               ORDER BY p.created_at DESC LIMIT ?""",
            [model_version, agency_id, until or "9999", limit],
        )

    # --- outbox -----------------------------------------------------------------------

    def enqueue_mail(
        self, day: str, scope: str, recipients: list[str], subject: str, message: bytes
    ) -> bool:
        """Queue one digest e-mail; False when that day's digest for that scope is queued."""
        with self.db.atomic():
            cursor = self.db.execute(
                """INSERT OR IGNORE INTO outbox (day, scope, recipients, subject, message,
                   created_at) VALUES (?, ?, ?, ?, ?, ?)""",
                [day, scope, json.dumps(recipients), subject, message, to_iso(utc_now())],
            )
        return cursor.rowcount == 1

    def outbox(self, statuses: tuple[str, ...] = ("pending",)) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(statuses))
        return self.db.execute_returning_dicts(
            f"""SELECT id, day, scope, recipients, subject, message, status, attempts,
                       last_error, created_at, sent_at
                FROM outbox WHERE status IN ({marks}) ORDER BY id""",
            list(statuses),
        )

    def outbox_backlog(self) -> list[tuple[str, int, str]]:
        """(status, count, greatest last_error) of the mail not sent, per status."""
        rows = self.db.execute(
            "SELECT status, count(*), max(last_error) FROM outbox "
            "WHERE status != 'sent' GROUP BY status"
        ).fetchall()
        return [(status, count, self.mask(error or "")) for status, count, error in rows]

    def outbox_messages(self) -> list[dict[str, Any]]:
        """Every outbox row without its message bytes, newest day first (for listing)."""
        rows = self.db.execute_returning_dicts(
            """SELECT id, day, scope, recipients, subject, status, attempts, last_error,
                      created_at, sent_at
               FROM outbox ORDER BY day DESC, scope"""
        )
        return [{**row, "last_error": self.mask(row["last_error"] or "")} for row in rows]

    def outbox_message(self, day: str, scope: str) -> dict[str, Any] | None:
        """One day's outbox row for ``scope`` (without the message bytes), or None."""
        rows = self.db.execute_returning_dicts(
            """SELECT id, day, scope, recipients, subject, status, attempts, last_error,
                      created_at, sent_at
               FROM outbox WHERE day = ? AND scope = ?""",
            [day, scope],
        )
        return rows[0] if rows else None

    def set_mail_status(self, mail_id: int, status: str, error: str = "") -> None:
        """pending -> sending -> sent | pending (failed, retried next run) | unconfirmed."""
        with self.db.atomic():
            self.db.execute(
                """UPDATE outbox SET status = ?, last_error = ?,
                       attempts = attempts + (CASE WHEN ? = 'sending' THEN 1 ELSE 0 END),
                       sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                   WHERE id = ?""",
                [status, self._error_text(error), status, status, to_iso(utc_now()), mail_id],
            )

    # --- maintenance (retention, compaction, integrity, backup) -----------------------

    def integrity_check(self) -> str:
        """SQLite's integrity verdict: 'ok', or the first problem it found."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def size_bytes(self) -> int:
        """Size of the database: pages x page size."""
        conn = self.db.conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        return pages * conn.execute("PRAGMA page_size").fetchone()[0]

    def free_bytes(self) -> int:
        """Bytes in free pages (freelist x page size), which VACUUM would give back."""
        conn = self.db.conn
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return free * conn.execute("PRAGMA page_size").fetchone()[0]

    def end_implicit_transaction(self) -> None:
        """Commit a transaction left open implicitly, which would swallow our next BEGIN."""
        if self.db.conn.in_transaction:
            self.db.conn.execute("COMMIT")

    @contextmanager
    def _immediate_transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: each batch reads ids and writes them under the same write lock,
        so a writer committing in between cannot turn the batch into a busy-snapshot error."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def expire_raw_in_batches(
        self, cutoff: str | None, batch_size: int
    ) -> Iterator[tuple[int, int]]:
        """NULL raw payloads collected before ``cutoff`` (all if None); yields (posts, bytes)."""
        # Walks the rowid upwards, so the whole table is read once however many batches;
        # each batch is its own transaction and is yielded once committed.
        conn = self.db.conn
        when = "AND collected_at < :cutoff" if cutoff else ""
        last_id = 0
        while True:
            with self._immediate_transaction():
                ids = [
                    row[0]
                    for row in conn.execute(
                        f"""SELECT id FROM posts WHERE id > :last AND raw IS NOT NULL {when}
                            ORDER BY id LIMIT :limit""",
                        {"last": last_id, "cutoff": cutoff, "limit": batch_size},
                    )
                ]
                if not ids:
                    return
                batch = _json_ids(ids)
                freed = conn.execute(
                    f"SELECT coalesce(sum(length(CAST(raw AS BLOB))), 0) FROM posts "
                    f"WHERE {_IN_BATCH}",
                    [batch],
                ).fetchone()[0]
                conn.execute(f"UPDATE posts SET raw = NULL WHERE {_IN_BATCH}", [batch])
            yield len(ids), freed
            last_id = ids[-1]

    def delete_posts_in_batches(
        self, cutoff: str, batch_size: int
    ) -> Iterator[tuple[int, int, int]]:
        """Delete posts created before ``cutoff`` and their rows; yields (posts, moved, bytes)."""
        # Each batch is its own transaction and is yielded once committed: (posts deleted,
        # posts moved to another case, bytes of text and payload removed).
        conn = self.db.conn
        # The children are deleted explicitly in the same transaction. With foreign keys
        # on, SQLite would also search post_sketch and labels (no index on post_id) once
        # per deleted post: a full scan each, which makes a large purge take hours.
        foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            while True:
                with self._immediate_transaction():
                    ids = [
                        row[0]
                        for row in conn.execute(
                            """SELECT id FROM posts WHERE created_at < ?
                               ORDER BY created_at, id LIMIT ?""",
                            [cutoff, batch_size],
                        )
                    ]
                    if not ids:
                        break
                    batch = _json_ids(ids)
                    for table in ("analysis", "post_sketch", "labels"):
                        conn.execute(
                            f"DELETE FROM {table} WHERE post_id IN "
                            "(SELECT value FROM json_each(?))",
                            [batch],
                        )
                    freed = conn.execute(
                        f"SELECT {_ROW_BYTES} FROM posts WHERE {_IN_BATCH}", [batch]
                    ).fetchone()[0]
                    conn.execute(f"DELETE FROM posts WHERE {_IN_BATCH}", [batch])
                    moved = self._rehome_cases(batch)
                yield len(ids), moved, freed
        finally:
            conn.execute(f"PRAGMA foreign_keys = {1 if foreign_keys else 0}")

    def _rehome_cases(self, deleted_ids: str) -> int:
        """Point remaining members of cases whose head was deleted at their oldest member."""
        conn = self.db.conn
        rows = conn.execute(
            """SELECT case_id, id FROM posts
               WHERE case_id IN (SELECT value FROM json_each(?))
               ORDER BY case_id, created_at, id""",
            [deleted_ids],
        ).fetchall()
        new_head: dict[int, int] = {}
        for old_case, post_id in rows:
            new_head.setdefault(old_case, post_id)  # the first row of each case is its oldest
        conn.executemany(
            "UPDATE posts SET case_id = ? WHERE case_id = ?",
            [(head, old_case) for old_case, head in new_head.items()],
        )
        return len(rows)

    def vacuum(self) -> None:
        """VACUUM and give the space back; sqlite3.OperationalError when it cannot (disk full)."""
        self.db.conn.execute("VACUUM")
        # In WAL mode VACUUM writes the new file into the WAL; fold it back now so
        # the space is really returned to the disk.
        self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @staticmethod
    def copy_file(source: Path, target: Path, pages_per_step: int, pause_seconds: float) -> None:
        """Online-backup the database file ``source`` into ``target``; CopyFailed if it fails."""
        # SQLite's backup API, ``pages_per_step`` pages at a time with a pause between
        # steps; why and how it stays consistent: see ``monitor.operations.backup``.
        # mode=rw: never create an empty database where the real one was expected.
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
        dst = sqlite3.connect(str(target))
        try:
            src.execute("PRAGMA busy_timeout = 30000")
            if src.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                # One snapshot for the whole copy: see monitor.operations.backup.
                src.execute("BEGIN")
                src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            else:
                pages_per_step = -1

            def between_steps(status: int, remaining: int, total: int) -> None:
                if remaining and pause_seconds:
                    time.sleep(pause_seconds)

            src.backup(dst, pages=pages_per_step or -1, progress=between_steps)
            if src.in_transaction:
                src.execute("ROLLBACK")
            # The copy keeps the source's WAL flag; make it one file that opens anywhere.
            dst.execute("PRAGMA journal_mode = DELETE").fetchone()
        except sqlite3.Error as exc:
            raise CopyFailed(str(exc)) from None
        finally:
            dst.close()
            src.close()

    @staticmethod
    def file_integrity(path: Path) -> list[str]:
        """Integrity check of the file at ``path``, opened read only: ['ok'] or the problems."""
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return [row[0] for row in conn.execute("PRAGMA integrity_check")]
        except sqlite3.Error as exc:
            return [str(exc)]
        finally:
            conn.close()


# Purge batches name their posts as one JSON array parameter: no limit on variables.
_IN_BATCH = "id IN (SELECT value FROM json_each(?))"
_ROW_BYTES = """coalesce(sum(length(CAST(text AS BLOB)) + length(CAST(text_display AS BLOB))
                + coalesce(length(CAST(raw AS BLOB)), 0)), 0)"""


def _json_ids(ids: list[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"
