"""One post in, one Analysis out: normalise, classify, tie to an agency. Pure."""

from __future__ import annotations

from typing import Protocol

from monitor.agencies import Gazetteer
from monitor.records import Analysis, StoredPost
from monitor.text.normalize import normalize


class Model(Protocol):
    version: str
    description: str

    def predict_normalized(self, text: str): ...


def understand(post: StoredPost, model: Model, gazetteer: Gazetteer) -> Analysis:
    text = normalize(post.text)
    result = model.predict_normalized(text)
    match = gazetteer.resolve(text, result.sector, post.region)
    sector = result.sector
    if match.agency_id and match.confidence >= 0.9 and sector == "lainnya":
        # A post that names an agency but no service words: the agency tells the sector.
        sector = gazetteer.agencies[match.agency_id].sector
    return Analysis(
        post_id=post.id,
        model_version=model.version,
        is_complaint=result.is_complaint,
        complaint_score=result.complaint_score,
        sector=sector,
        sector_score=result.sector_score,
        topics=result.topics,
        topic_scores=result.topic_scores,
        agency_id=match.agency_id,
        agency_confidence=match.confidence,
        agency_evidence=match.evidence,
        needs_review=result.needs_review,
        text_normalized=text,
    )
