"""Training: the same samples give the same model files, byte for byte.

Every estimator is a scikit-learn LogisticRegression with a fixed seed; the
sample order is fixed (sorted by id) before anything is fitted.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from monitor import __version__
from monitor.classify.model import Heads, TextModel, Vectorizers
from monitor.classify.samples import Sample, near_duplicate_groups
from monitor.labels import SECTORS, TOPICS

log = logging.getLogger(__name__)

SEED = 20261122
COMPLAINT_C = 10.0
SECTOR_C = 20.0
TOPIC_C = 10.0
GROUP_JACCARD = 0.3  # stricter than the samples check: near-paraphrases stay together
THRESHOLD_GRID = np.round(np.arange(0.2, 0.81, 0.05), 2)
REVIEW_BAND = (0.35, 0.65)
REVIEW_SECTOR_BELOW = 0.4

Progress = Callable[[str], None]


def samples_sha256(samples: Sequence[Sample]) -> str:
    digest = hashlib.sha256()
    for s in sorted(samples, key=lambda s: s.id):
        digest.update(
            f"{s.id}\t{s.text}\t{s.is_complaint}\t{s.sector}\t{','.join(s.topics)}\n".encode()
        )
    return digest.hexdigest()


def _logistic(c: float, balanced: bool = False) -> LogisticRegression:
    return LogisticRegression(
        C=c,
        class_weight="balanced" if balanced else None,
        max_iter=3000,
        random_state=SEED,
    )


def _fit_heads(matrix, samples: Sequence[Sample], thresholds: np.ndarray) -> Heads:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        complaint = _logistic(COMPLAINT_C, balanced=True).fit(
            matrix, np.array([s.is_complaint for s in samples])
        )
        sector = _logistic(SECTOR_C).fit(matrix, np.array([s.sector for s in samples]))
        is_complaint = np.array([s.is_complaint for s in samples])
        complaints = matrix[is_complaint]
        topic_rows = [s for s in samples if s.is_complaint]
        coefs, intercepts = [], []
        for topic in TOPICS:
            target = np.array([topic in s.topics for s in topic_rows])
            head = _logistic(TOPIC_C, balanced=True).fit(complaints, target)
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


def fit(samples: Sequence[Sample], thresholds: np.ndarray | None = None) -> TextModel:
    """Fit features and heads on ``samples`` (thresholds given, or 0.5 each)."""
    samples = sorted(samples, key=lambda s: s.id)
    vectorizers = Vectorizers.new()
    matrix = vectorizers.matrix([s.text for s in samples], fit=True)
    chosen = thresholds if thresholds is not None else np.full(len(TOPICS), 0.5)
    heads = _fit_heads(matrix, samples, chosen)
    return TextModel(vectorizers, heads, {"version": "unsaved"})


def group_folds(
    samples: Sequence[Sample], folds: int, seed: int = SEED
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds that keep near-duplicate groups together and sectors balanced."""
    groups = near_duplicate_groups([s.text for s in samples], GROUP_JACCARD)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    sectors = [s.sector for s in samples]
    return list(splitter.split(np.zeros(len(samples)), sectors, groups))


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(truth & predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 2 * tp / denominator if denominator else 0.0


def train(
    samples: Sequence[Sample],
    version: str,
    thresholds: np.ndarray,
    metrics: dict | None = None,
) -> TextModel:
    """Fit on every sample with the given topic thresholds and attach the model card.

    The thresholds come from cross-validation (monitor.classify.evaluate), which
    chooses them on out-of-fold predictions.
    """
    model = fit(samples, thresholds)
    model.card = {
        "version": version,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "samples": {"count": len(samples), "sha256": samples_sha256(samples)},
        "features": {
            "word": "TF-IDF of word 1-2-grams of classifier_text "
            "(normalised, stemmed, no stop words)",
            "char": "TF-IDF of character 2-5-grams within words of clean text, at most 80,000",
            "phrase": "TF-IDF of word 1-3-grams of the normalised text, stop words kept",
        },
        "estimators": {
            "complaint": f"LogisticRegression(C={COMPLAINT_C}, class_weight=balanced)",
            "sector": f"LogisticRegression(C={SECTOR_C}), multinomial over {len(SECTORS)} sectors",
            "topics": f"one LogisticRegression(C={TOPIC_C}, class_weight=balanced) per topic, "
            "trained on complaints",
        },
        "thresholds": {
            "complaint": 0.5,
            "review_band": list(REVIEW_BAND),
            "review_sector_below": REVIEW_SECTOR_BELOW,
            "topics": {t: float(v) for t, v in zip(TOPICS, thresholds, strict=True)},
            "needs_review": (
                f"complaint score is within {REVIEW_BAND[0]}-{REVIEW_BAND[1]}, "
                f"or the best sector's probability below {REVIEW_SECTOR_BELOW}"
            ),
        },
        "metrics": metrics or {},
        "library_versions": {
            "monitor": __version__,
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "seed": SEED,
    }
    return model
