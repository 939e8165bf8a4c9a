"""Maintenance: retention (purge in batches), compaction, integrity checks and backup."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from monitor.store.base import CopyFailed, StoreBase
from monitor.store.rows import PostsDeleted, RawExpired

# Purge batches name their posts as one JSON array parameter: no limit on variables.
_IN_BATCH = "id IN (SELECT value FROM json_each(?))"
_ROW_BYTES = """coalesce(sum(length(CAST(text AS BLOB)) + length(CAST(text_display AS BLOB))
                + coalesce(length(CAST(raw AS BLOB)), 0)), 0)"""


def _json_ids(ids: list[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


class MaintenanceMixin(StoreBase):
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

    def expire_raw_in_batches(self, cutoff: str | None, batch_size: int) -> Iterator[RawExpired]:
        """NULL raw payloads collected before ``cutoff`` (all if None); yields (posts, bytes)."""
        # Walks the rowid upwards, so the whole table is read once however many batches;
        # each batch is its own transaction and is yielded once committed.
        conn = self.db.conn
        when = "AND collected_at < :cutoff" if cutoff else ""
        last_id = 0
        while True:
            with self.transaction(immediate=True):
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
            yield RawExpired(len(ids), freed)
            last_id = ids[-1]

    def delete_posts_in_batches(self, cutoff: str, batch_size: int) -> Iterator[PostsDeleted]:
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
                with self.transaction(immediate=True):
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
                yield PostsDeleted(len(ids), moved, freed)
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
