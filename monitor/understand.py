"""Posts in, Analyses out: classify, normalise, tie to an agency. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitor.agencies import NAMED_CONFIDENCE, Gazetteer
from monitor.records import AgencyMatch, Analysis, Prediction, StoredPost
from monitor.text.normalize import normalize


class Model(Protocol):
    version: str
    description: str

    def predict(self, texts: list[str]) -> list[Prediction]: ...


def understand_batch(
    posts: Sequence[StoredPost], model: Model, gazetteer: Gazetteer
) -> list[Analysis]:
    """One Analysis per post; the model sees the whole batch at once (much faster)."""
    predictions = model.predict([post.text for post in posts])
    return [
        _analysis(post, prediction, gazetteer, model.version)
        for post, prediction in zip(posts, predictions, strict=True)
    ]


def resolve(
    text: str, result: Prediction, gazetteer: Gazetteer, region: str = ""
) -> tuple[str, AgencyMatch, str]:
    """(normalised text, agency match, sector) of a post the model has read."""
    normalized = normalize(text)
    match = gazetteer.resolve(normalized, result.sector, region)
    sector = result.sector
    if match.agency_id and match.confidence >= NAMED_CONFIDENCE and sector == "lainnya":
        # A post that names an agency but no service words: the agency tells the sector.
        sector = gazetteer.agencies[match.agency_id].sector
    return normalized, match, sector


def _analysis(
    post: StoredPost, result: Prediction, gazetteer: Gazetteer, model_version: str
) -> Analysis:
    text, match, sector = resolve(post.text, result, gazetteer, post.region)
    return Analysis(
        post_id=post.id,
        model_version=model_version,
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
