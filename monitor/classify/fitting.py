"""Fitting the heads: the settings a model is made of, a training row, and the
logistic regressions fitted on the rows that give each head's answer.

Below ``train`` (the samples, thresholds and the card) and ``office`` (how an office's
labels join the samples), which both fit heads with ``fit_heads``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from monitor.classify.model import Heads
from monitor.classify.samples import Sample
from monitor.labels import TOPICS

SEED = 20261122
COMPLAINT_C = 10.0
SECTOR_C = 20.0
TOPIC_C = 10.0
THRESHOLD_GRID = np.round(np.arange(0.2, 0.81, 0.05), 2)
REVIEW_BAND = (0.35, 0.65)
REVIEW_SECTOR_BELOW = 0.4


@dataclass(frozen=True)
class Settings:
    """What a model is made of; the defaults are the choice made on the blind set
    (scripts/select_model.py prints the comparison)."""

    complaint_c: float = COMPLAINT_C
    sector_c: float = SECTOR_C
    topic_c: float = TOPIC_C
    surface: bool = True  # surface_tokens(): length, @, link, question, signature, keywords
    first_generation_weight: float = 1.0  # samples without a channel: the tidy first set
    sector_on_complaints: bool = False  # fit the sector head on complaints only
    sector_balanced: bool = False
    # An office's own labels (monitor.classify.office): how they are combined with the
    # samples, and the share of the total training weight they carry (0: weight 1 each).
    office_method: str = "augment"
    office_share: float = 0.5


DEFAULT_SETTINGS = Settings()


def _logistic(c: float, balanced: bool = False) -> LogisticRegression:
    return LogisticRegression(
        C=c,
        class_weight="balanced" if balanced else None,
        max_iter=3000,
        random_state=SEED,
    )


@dataclass(frozen=True)
class Row:
    """One training text: a labeled sample or an office's label. None is
    "not said": an office row may give only a sector, and each head learns from the rows
    that give its answer."""

    text: str
    is_complaint: bool | None
    sector: str | None
    topics: tuple[str, ...] | None
    weight: float = 1.0

    @classmethod
    def of_sample(cls, sample: Sample, settings: Settings = DEFAULT_SETTINGS) -> Row:
        weight = 1.0 if sample.channel else settings.first_generation_weight
        return cls(sample.text, sample.is_complaint, sample.sector, tuple(sample.topics), weight)

    @property
    def complaint(self) -> bool:
        """A complaint, said or implied (topics are only given to complaints)."""
        return bool(self.is_complaint) or (self.is_complaint is None and bool(self.topics))


@dataclass
class _Constant:
    """The head of a target with one answer (an office's labels may all be complaints):
    it always gives that answer."""

    classes_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray


def _fit_linear(matrix, target: np.ndarray, weights: np.ndarray, c: float, balanced: bool):
    classes = np.unique(target)
    if len(classes) < 2:
        binary = target.dtype == bool
        sure = 10.0 if (binary and classes.size and classes[0]) else -10.0
        return _Constant(
            classes,
            np.zeros((1, matrix.shape[1])),
            np.array([sure if binary else 0.0]),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _logistic(c, balanced).fit(matrix, target, sample_weight=weights)


def fit_heads(matrix, rows: Sequence[Row], thresholds: np.ndarray, settings: Settings) -> Heads:
    """The three heads, each fitted on the rows that give its answer."""
    weights = np.array([r.weight for r in rows])
    said = np.array([r.is_complaint is not None for r in rows])
    complaint = _fit_linear(
        matrix[said],
        np.array([bool(r.is_complaint) for r in rows])[said],
        weights[said],
        settings.complaint_c,
        balanced=True,
    )
    has_sector = np.array(
        [r.sector is not None and (r.complaint or not settings.sector_on_complaints) for r in rows]
    )
    sector = _fit_linear(
        matrix[has_sector],
        np.array([r.sector or "" for r in rows])[has_sector],
        weights[has_sector],
        settings.sector_c,
        settings.sector_balanced,
    )
    on = np.array([r.complaint and r.topics is not None for r in rows])
    coefs, intercepts = [], []
    for topic in TOPICS:
        target = np.array([topic in (r.topics or ()) for r in rows])[on]
        head = _fit_linear(matrix[on], target, weights[on], settings.topic_c, balanced=True)
        coefs.append(head.coef_[0])
        intercepts.append(head.intercept_[0])
    sector_order = [str(c) for c in sector.classes_]
    return Heads(
        complaint_coef=complaint.coef_[0].astype(np.float32),
        complaint_intercept=float(complaint.intercept_[0]),
        sectors=sector_order,
        sector_coef=sector.coef_.astype(np.float32),
        sector_intercept=sector.intercept_.astype(np.float32),
        topics=list(TOPICS),
        topic_coef=np.array(coefs, dtype=np.float32),
        topic_intercept=np.array(intercepts, dtype=np.float32),
        topic_thresholds=thresholds.astype(np.float32),
    )
