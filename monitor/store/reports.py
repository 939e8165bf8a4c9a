"""The report queries over posts and their analyses: example complaints for the digest,
the newest complaints for the trend pages, and the texts the spike check looks into."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from monitor.store.cases import CasesMixin


def _one_per_case(rows: list[dict[str, Any]], per_agency: int) -> list[dict[str, Any]]:
    """Up to ``per_agency`` rows per agency, in the given order, one per case.

    Display policy rather than storage: it belongs with the digest (issue 14) and is
    kept apart here so it can move there without touching the query.
    """
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
    return chosen


class ReportsMixin(CasesMixin):
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
        chosen = _one_per_case(rows, per_agency)
        sizes = self.case_sizes([row["case_id"] for row in chosen])
        for row in chosen:
            row["copies"] = sizes.get(row["case_id"], 1)
        return chosen

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
