"""The report queries over posts and their analyses: example complaints for the digest,
the newest complaints for the trend pages, and the texts the spike check looks into."""

from __future__ import annotations

import json
from typing import Any

from monitor.store.cases import CasesMixin


class ReportsMixin(CasesMixin):
    def complaint_candidates(
        self, start: str, end: str, model_version: str
    ) -> list[dict[str, Any]]:
        """Original complaints created in [start, end), by agency, most certain first:
        the rows a report chooses its examples from (which ones, and how many per agency,
        is the report's choice)."""
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
        for row in rows:
            row["topics"] = json.loads(row["topics"])
        return rows

    def complaint_topics(
        self, agency_id: str, start: str, end: str, model_version: str
    ) -> list[tuple[str, int, list[str]]]:
        """(created_at, case id, topic keys) of an agency's original complaints created in
        [start, end): what counting complaints per service-standard component needs."""
        rows = self.db.execute(
            """SELECT p.created_at, coalesce(p.case_id, p.id), a.topics
               FROM posts p JOIN analysis a ON a.post_id = p.id AND a.model_version = ?
               WHERE a.agency_id = ? AND a.is_complaint = 1 AND p.is_repost = 0
                 AND p.created_at >= ? AND p.created_at < ?""",
            [model_version, agency_id, start, end],
        )
        return [(created, case, json.loads(topics)) for created, case, topics in rows.fetchall()]

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
