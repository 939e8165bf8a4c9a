"""What a review batch is chosen from: the posts a model analysed that no one labelled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from monitor.store.base import StoreBase


@dataclass(frozen=True)
class ReviewCandidate:
    """One original post and what ``model_version`` said of it (redacted text only)."""

    post_id: int
    url: str
    created_at: str
    text_display: str
    is_complaint: bool
    complaint_score: float
    sector: str
    topics: tuple[str, ...]
    agency_id: str
    needs_review: bool
    source: str = ""
    platform: str = ""


_CANDIDATE_SQL = """SELECT p.id, p.url, p.created_at, p.text_display, a.is_complaint,
           a.complaint_score, a.sector, a.topics, a.agency_id, a.needs_review, p.source,
           p.platform
    FROM posts p JOIN analysis a ON a.post_id = p.id AND a.model_version = ?
    WHERE p.is_repost = 0 AND coalesce(p.case_id, p.id) = p.id
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.post_id = p.id)"""


def _candidate(row: tuple[Any, ...]) -> ReviewCandidate:
    return ReviewCandidate(
        post_id=row[0],
        url=row[1],
        created_at=row[2],
        text_display=row[3],
        is_complaint=bool(row[4]),
        complaint_score=float(row[5]),
        sector=row[6],
        topics=tuple(json.loads(row[7]) or ()),
        agency_id=row[8],
        needs_review=bool(row[9]),
        source=row[10],
        platform=row[11],
    )


class ReviewMixin(StoreBase):
    def review_candidates(self, model_version: str) -> Iterator[ReviewCandidate]:
        """Original posts (no reposts, no near-duplicate copies of a case) analysed by
        ``model_version`` and without a row in ``labels``, by post id. Streamed: the
        caller keeps only what it chooses."""
        cursor = self.db.execute(f"{_CANDIDATE_SQL} ORDER BY p.id", [model_version])
        for row in cursor:
            yield _candidate(row)

    def review_candidate(self, model_version: str, post_id: int) -> ReviewCandidate | None:
        """One post as ``review_candidates`` gives it, or None when it is not one (a
        repost, a copy, labelled in ``labels``, or not analysed by ``model_version``)."""
        row = self.db.execute(f"{_CANDIDATE_SQL} AND p.id = ?", [model_version, post_id]).fetchone()
        return None if row is None else _candidate(row)

    def office_label_texts(self) -> Iterator[str]:
        """The text of every office label (as imported, not normalised)."""
        for (text,) in self.db.execute("SELECT text FROM office_labels"):
            yield text
