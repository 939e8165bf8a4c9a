"""How an office's own labels are combined with the project's samples.

An office brings a few thousand labelled texts from its own records; the samples
are fourteen thousand written by the project. Pooled as equals, the samples drown
the office's words (measured outside the project: adding 1,000 of a city's labels
lowered its sector score). ``Settings.office_method`` chooses how they meet:

- ``pooled``: one training set, the office's rows weighted to carry
  ``office_share`` of the total weight;
- ``augment``: feature augmentation for domain adaptation (Daumé III, 2007,
  "Frustratingly easy domain adaptation"): every feature gets a second copy that
  only the office's rows switch on, so the heads learn what holds everywhere and
  what holds in this office apart; the office's posts are then scored with both
  copies, which folds back into one linear head of the usual shape;
- ``blend``: a general model on the samples and an office model on its labels, over
  the same features, their log-odds averaged (the office's weight ``office_share``)
  - again one linear head;
- ``general`` / ``office``: one side only, for comparison.

Every method ends in a ``Heads`` of the same shape as a model without office labels,
so saving, loading and predicting do not change. ``scripts/office_learning.py``
measures them; the default is the one that measured best (docs/office_learning.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy import sparse

from monitor.classify.fitting import Row, Settings, fit_heads
from monitor.classify.model import Heads

METHODS = ("augment", "pooled", "blend", "general", "office")
# A class an office never uses gets this log-odds in its office model (blend only).
_ABSENT = -10.0


def office_weight(rows: Sequence[Row], office: Sequence[Row], share: float) -> float:
    """The weight of each office row such that the office carries ``share`` of the total
    weight (1.0 when ``share`` is 0: plain pooling)."""
    if not share or not office:
        return 1.0
    general = sum(r.weight for r in rows)
    return share * general / ((1.0 - share) * len(office))


def fit_combined(
    matrix: sparse.csr_matrix,
    rows: Sequence[Row],
    office: Sequence[Row],
    thresholds: np.ndarray,
    settings: Settings,
) -> Heads:
    """Heads for ``matrix`` (the samples' rows first, then the office's)."""
    method = settings.office_method
    if method not in METHODS:
        raise ValueError(f"unknown office_method {method!r}; one of {', '.join(METHODS)}")
    n = len(rows)
    weight = office_weight(rows, office, settings.office_share)
    weighted = [replace(r, weight=weight) for r in office]
    if method == "general":
        return fit_heads(matrix[:n], rows, thresholds, settings)
    if method == "office":
        return fit_heads(matrix[n:], weighted, thresholds, settings)
    if method == "pooled":
        return fit_heads(matrix, [*rows, *weighted], thresholds, settings)
    if method == "augment":
        switch = sparse.diags(np.r_[np.zeros(n), np.ones(len(office))].astype(np.float32))
        augmented = sparse.hstack([matrix, switch @ matrix], format="csr")
        return _fold(fit_heads(augmented, [*rows, *weighted], thresholds, settings))
    general = fit_heads(matrix[:n], rows, thresholds, settings)
    own = fit_heads(matrix[n:], weighted, thresholds, settings)
    return _blend(general, own, settings.office_share or 0.5)


def _fold(heads: Heads) -> Heads:
    """An augmented model's heads as the office sees them: shared + office copy."""
    width = heads.complaint_coef.shape[0] // 2

    def folded(coef: np.ndarray) -> np.ndarray:
        return (coef[..., :width] + coef[..., width:]).astype(np.float32)

    return replace(
        heads,
        complaint_coef=folded(heads.complaint_coef),
        sector_coef=folded(heads.sector_coef),
        topic_coef=folded(heads.topic_coef),
    )


def _constant(coef: np.ndarray) -> bool:
    return not np.any(coef)


def _blend(general: Heads, own: Heads, share: float) -> Heads:
    """Average the two models' log-odds, head by head; a head the office's labels could
    not train (one answer only) is left to the general model."""

    def mix(g: np.ndarray, o: np.ndarray) -> np.ndarray:
        return ((1 - share) * g + share * o).astype(np.float32)

    complaint_coef, complaint_intercept = general.complaint_coef, general.complaint_intercept
    if not _constant(own.complaint_coef):
        complaint_coef = mix(general.complaint_coef, own.complaint_coef)
        complaint_intercept = (
            1 - share
        ) * general.complaint_intercept + share * own.complaint_intercept
    index = {name: i for i, name in enumerate(own.sectors)}
    sector_coef = np.zeros_like(general.sector_coef)
    sector_intercept = np.full_like(general.sector_intercept, _ABSENT)
    for i, name in enumerate(general.sectors):
        if name in index:
            sector_coef[i] = own.sector_coef[index[name]]
            sector_intercept[i] = own.sector_intercept[index[name]]
    topic_coef, topic_intercept = general.topic_coef.copy(), general.topic_intercept.copy()
    for j in range(len(general.topics)):
        if not _constant(own.topic_coef[j]):
            topic_coef[j] = mix(general.topic_coef[j], own.topic_coef[j])
            topic_intercept[j] = mix(general.topic_intercept[j], own.topic_intercept[j])
    return replace(
        general,
        complaint_coef=complaint_coef,
        complaint_intercept=complaint_intercept,
        sector_coef=mix(general.sector_coef, sector_coef),
        sector_intercept=mix(general.sector_intercept, sector_intercept),
        topic_coef=topic_coef,
        topic_intercept=topic_intercept,
    )
