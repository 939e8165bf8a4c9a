"""Posts in, Analyses out: classify, normalise, tie to an agency. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from monitor.agencies import NAMED_CONFIDENCE, Gazetteer
from monitor.records import AgencyMatch, Analysis, Prediction, StoredPost
from monitor.text.normalize import normalize

OWN_ACCOUNT_EVIDENCE = "akun resmi instansi ini sendiri (bukan pengaduan terhadapnya)"


class Model(Protocol):
    """What the pipeline needs of a model: the trained ``TextModel`` or the keyword rule.
    ``version`` and ``description`` are read-only (``TextModel`` reads them from its card)."""

    @property
    def version(self) -> str: ...

    @property
    def description(self) -> str: ...

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
    text: str,
    result: Prediction,
    gazetteer: Gazetteer,
    region: str = "",
    author_agency: str = "",
) -> tuple[str, AgencyMatch, str, Prediction]:
    """(normalised text, agency match, sector, prediction) of a post the model has read.

    A post written by an agency's own account (its replies, apologies and
    announcements) is about that agency and is never a complaint against it.
    """
    normalized = normalize(text)
    if author_agency and author_agency in gazetteer.agencies:
        agency = gazetteer.agencies[author_agency]
        match = AgencyMatch(author_agency, 1.0, OWN_ACCOUNT_EVIDENCE, agency.region)
        not_complaint = replace(
            result, is_complaint=False, topics=[], topic_scores={}, needs_review=False
        )
        sector = result.sector if result.sector != "lainnya" else agency.sector
        return normalized, match, sector, not_complaint
    match = gazetteer.resolve(text, result.sector, region)
    sector = result.sector
    if match.agency_id and match.confidence >= NAMED_CONFIDENCE and sector == "lainnya":
        # A post that names an agency but no service words: the agency tells the sector.
        sector = gazetteer.agencies[match.agency_id].sector
    return normalized, match, sector, result


def _analysis(
    post: StoredPost, result: Prediction, gazetteer: Gazetteer, model_version: str
) -> Analysis:
    text, match, sector, result = resolve(
        post.text, result, gazetteer, post.region, post.author_agency
    )
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
        region=match.region,
    )
