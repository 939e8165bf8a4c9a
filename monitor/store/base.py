"""What every part of the store shares: its errors, the connection, the secret mask and
the one way a transaction is opened."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from sqlite_utils import Database

from monitor.secrets import SecretMask


class StoreError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


class CopyFailed(StoreError):
    """Copying a database file failed part-way; the message is the database's own."""


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


class StoreBase:
    """The connection and the helpers each concern of ``Store`` is written against."""

    def __init__(self, db: Database, path: Path, secrets: Iterable[str] = ()):
        self.db = db
        self.path = path
        # Every error text is masked as it is written and as it is read: the one
        # boundary a secret echoed by a remote server meets (see monitor/secrets.py).
        self.mask = SecretMask(secrets)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions -----------------------------------------------------------------

    @contextmanager
    def transaction(self, *, immediate: bool = False) -> Iterator[None]:
        """The one way the store opens a transaction: what runs inside commits whole or
        is rolled back whole (also on KeyboardInterrupt).

        Deferred (the default): BEGIN, or a savepoint when a transaction is already
        open, so writes nest (``add_posts`` inside ``ingest_request`` commits with it).

        ``immediate``: BEGIN IMMEDIATE, for work that reads and then writes what it
        read (migrating, each purge batch, the push endpoint's replay window). The
        write lock is taken before the first read, so a writer committing in between
        cannot turn the work into a busy-snapshot error, and two processes migrating
        one new file cannot both migrate it. It does not nest: inside an open
        transaction SQLite refuses it (see ``end_implicit_transaction``).
        """
        if not immediate:
            with self.db.atomic():
                yield
            return
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def end_implicit_transaction(self) -> None:
        """Commit a transaction left open implicitly, which would swallow our next BEGIN."""
        if self.db.conn.in_transaction:
            self.db.conn.execute("COMMIT")

    # --- shared helpers ---------------------------------------------------------------

    def _error_text(self, text: str) -> str:
        return _storable(self.mask(text))

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None
