"""Run records: each command's run, each source's result in it, source health, and the
push endpoint's replay window."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

from monitor.clock import to_iso, utc_now
from monitor.records import SourceRun
from monitor.store.base import StoreBase, StoreError
from monitor.store.rows import SourceHealth, UnfinishedRuns

# Rejection reasons kept per source run: enough to show the operator, bounded in size.
MAX_REJECTIONS_KEPT = 50


class RunsMixin(StoreBase):
    # --- runs -------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (command, started_at) VALUES (?, ?)",
                [command, to_iso(utc_now())],
            )
        if cursor.lastrowid is None:  # never after an INSERT; sqlite3 types it Optional
            raise StoreError("the run record was not written")
        return cursor.lastrowid

    def record_source_run(self, run_id: int, result: SourceRun) -> SourceRun:
        """Store one source's result; returns it as stored (secrets masked): what is
        shown is then never more than what the database holds."""
        result = replace(
            result,
            error=self._error_text(result.error),
            stopped=self._error_text(result.stopped),
            rejections=[self._error_text(r) for r in result.rejections],
        )
        with self.transaction():
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
        with self.transaction():
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

    def record_finished_run(
        self,
        command: str,
        status: str,
        errors: list[str] | None = None,
        sources: list[SourceRun] | None = None,
    ) -> int:
        """A run written already finished, with its sources, in one transaction: it is
        never seen "running", so writers that do not take the run lock (the push endpoint,
        a scheduler job that failed before it could record itself) never look like a run
        that died. Returns its id."""
        with self.transaction():
            run_id = self.start_run(command)
            for result in sources or []:
                self.record_source_run(run_id, result)
            self.finish_run(run_id, status, 0, errors or [])
        return run_id

    def unfinished_runs(self, except_run_id: int) -> UnfinishedRuns:
        """(oldest start, number) of runs still marked 'running', other than ``except_run_id``."""
        oldest, count = self.db.execute(
            "SELECT min(started_at), count(*) FROM runs WHERE status = 'running' AND id != ?",
            [except_run_id],
        ).fetchone()
        return UnfinishedRuns(oldest, count)

    def mark_runs_interrupted(self, except_run_id: int) -> None:
        """Mark every run still 'running', other than ``except_run_id``, as 'interrupted'."""
        with self.transaction():
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

    # --- push endpoint: replay window ------------------------------------------------

    @contextmanager
    def ingest_request(self, signature: str, window_seconds: float) -> Iterator[bool]:
        """One pushed request as one transaction: yields False (and stores nothing) when
        ``signature`` was seen within ``window_seconds``; else True, and what the caller
        stores inside (``add_posts``) commits together with the signature, or neither."""
        now = utc_now()
        self.end_implicit_transaction()
        with self.transaction(immediate=True):
            self.db.execute(
                "DELETE FROM ingest_seen WHERE seen_at < ?",
                [to_iso(now - timedelta(seconds=window_seconds))],
            )
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO ingest_seen (signature, seen_at) VALUES (?, ?)",
                [signature, to_iso(now)],
            ).rowcount
            yield inserted == 1
