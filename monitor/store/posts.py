"""Posts as collected, their analyses, the agencies they are tied to, and source cursors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from monitor.clock import parse_iso, to_iso, utc_now
from monitor.records import Analysis, Post, StoredPost
from monitor.store.base import StoreBase


class PostsMixin(StoreBase):
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
        with self.transaction():
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
        with self.transaction():
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
        self,
        model_version: str,
        batch_size: int = 1000,
        *,
        reanalyse_since: str | None = None,
        created_from: str | None = None,
        created_before: str | None = None,
    ) -> Iterator[list[StoredPost]]:
        """Batches of posts without an analysis by ``model_version``, oldest id first.

        ``reanalyse_since`` (UTC ISO): a post analysed by another version is included only
        when created at or after it (posts never analysed always are). ``created_from`` /
        ``created_before``: only posts created in [from, before).
        """
        where = [
            "p.id > :last",
            "NOT EXISTS (SELECT 1 FROM analysis a WHERE a.post_id = p.id "
            "AND a.model_version = :model)",
        ]
        if reanalyse_since is not None:
            where.append(
                "(p.created_at >= :since "
                "OR NOT EXISTS (SELECT 1 FROM analysis o WHERE o.post_id = p.id))"
            )
        if created_from is not None:
            where.append("p.created_at >= :start")
        if created_before is not None:
            where.append("p.created_at < :end")
        params: dict[str, Any] = {
            "model": model_version,
            "since": reanalyse_since,
            "start": created_from,
            "end": created_before,
            "limit": batch_size,
        }
        last_id = 0
        while True:
            rows = self.db.execute(
                f"""SELECT p.id, p.source, p.source_id, p.text, p.created_at, p.region, p.url,
                          p.platform, p.is_repost, p.parent_source_id, p.case_id,
                          p.author_agency
                   FROM posts p WHERE {" AND ".join(where)}
                   ORDER BY p.id LIMIT :limit""",
                {**params, "last": last_id},
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
        with self.transaction():
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

    # --- cursors ----------------------------------------------------------------------

    def get_cursor(self, source: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

    def set_cursor(self, source: str, value: str) -> None:
        with self.transaction():
            self._set_cursor(source, value)

    def _set_cursor(self, source: str, value: str) -> None:
        self.db.execute(
            """INSERT INTO cursors (source, value, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT (source) DO UPDATE SET value = excluded.value,
                   updated_at = excluded.updated_at""",
            [source, value, to_iso(utc_now())],
        )
