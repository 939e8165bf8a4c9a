"""Schema: the append-only migrations, and opening a database at the current version."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Self

from sqlite_utils import Database

from monitor.store.base import StoreBase, StoreError, check_database_folder
from monitor.store.migrations_cases import _v12_case_forwards

log = logging.getLogger(__name__)

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


def _v9_office_labels(db: Database) -> None:
    # Labels an office brings from its own records (case spreadsheets, SP4N-LAPOR!
    # exports): a text and what it was, with no post behind it, so apart from ``labels``.
    # NULL is "not said" (a row may give only a sector). ``label_key`` is a hash of the
    # normalised text and its labels: the same row imported again - from the same
    # file, a re-saved copy or our own export - adds nothing.
    db.execute(
        """CREATE TABLE office_labels (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            is_complaint INTEGER CHECK (is_complaint IN (0, 1)),
            sector TEXT,
            topics TEXT,
            agency TEXT,
            source_file TEXT NOT NULL,
            source_row INTEGER NOT NULL,
            source_sha256 TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL,
            label_key TEXT NOT NULL UNIQUE
        )"""
    )
    db.execute("CREATE INDEX office_labels_source ON office_labels (source_file)")


def _v10_model_activations(db: Database) -> None:
    # Which model this database uses, and since when: one row per activation, the
    # latest row is the active model. ``folder`` is absolute; ``previous_version`` is the
    # version in use before (the shipped one when nothing was activated), which
    # ``monitor model rollback`` goes back to.
    db.execute(
        """CREATE TABLE model_activations (
            id INTEGER PRIMARY KEY,
            version TEXT NOT NULL,
            folder TEXT NOT NULL,
            activated_at TEXT NOT NULL,
            activated_by TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            previous_version TEXT NOT NULL DEFAULT ''
        )"""
    )


def _v11_accounts(db: Database) -> None:
    # Who may use the web app: staff of the Ombudsman office (every agency) and agency
    # staff (their own agency). Only a salted scrypt hash of a password is kept, and only
    # the SHA-256 of an API token. ``login_attempts`` is what the login's rate limit
    # counts; ``audit_log`` is append-only (its triggers refuse changing or deleting a row).
    for statement in (
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('ombudsman', 'agency')), agency_id TEXT,
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            created_at TEXT NOT NULL, CHECK ((role = 'agency') = (agency_id IS NOT NULL))
        )""",
        """CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
            token_sha256 TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
            last_used_at TEXT, revoked_at TEXT
        )""",
        "CREATE INDEX api_tokens_user ON api_tokens (user_id)",
        """CREATE TABLE login_attempts (at TEXT NOT NULL, name TEXT NOT NULL,
            ip TEXT NOT NULL, ok INTEGER NOT NULL CHECK (ok IN (0, 1)))""",
        "CREATE INDEX login_attempts_at ON login_attempts (at)",
        """CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL,
            actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '',
            ip TEXT NOT NULL DEFAULT '')""",
        *(
            f"""CREATE TRIGGER audit_log_no_{change.lower()} BEFORE {change} ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
            for change in ("UPDATE", "DELETE")
        ),
    ):
        db.execute(statement)


MIGRATIONS: list[Callable[[Database], None]] = [
    _v1_initial,
    _v2_normalized_text,
    _v3_cases_and_outbox,
    _v4_child_indexes,
    _v5_sketch_by_time,
    _v6_author_agency_and_region,
    _v7_ingest_seen,
    _v8_source_stops,
    _v9_office_labels,
    _v10_model_activations,
    _v11_accounts,
    _v12_case_forwards,
]
SCHEMA_VERSION = len(MIGRATIONS)


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


class SchemaMixin(StoreBase):
    """Opening, migrating, and the per-database secrets kept in ``meta``."""

    @classmethod
    def open(cls, path: Path, secrets: Iterable[str] = ()) -> Self:
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
        try:
            # Take the write lock first, then re-read: another process may have migrated.
            with self.transaction(immediate=True):
                version = self.schema_version
                self._check_not_newer(version)
                for number in range(version + 1, SCHEMA_VERSION + 1):
                    log.info("migrating %s to schema version %d", self.path, number)
                    MIGRATIONS[number - 1](self.db)
                    # PRAGMA user_version takes no parameters; number is our own int.
                    self.db.execute(f"PRAGMA user_version = {int(number)}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot migrate database {self.path}: {exc}") from None

    def secret(self, key: str) -> str:
        """A random per-database secret, created on first use (see privacy in README)."""
        if existing := self._meta(key):
            return existing
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                [key, secrets.token_hex(32)],
            )
        return self._meta(key) or ""
