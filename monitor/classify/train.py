"""Training: the same samples give the same model files, byte for byte.

Every estimator is a scikit-learn LogisticRegression with a fixed seed; the
sample order is fixed (sorted by id) before anything is fitted.
"""

from __future__ import annotations

import hashlib
import logging
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TypedDict

import numpy as np
import scipy
import sklearn
from sklearn.model_selection import StratifiedGroupKFold

from monitor import __version__
from monitor.classify.fitting import (
    DEFAULT_SETTINGS,
    REVIEW_BAND,
    REVIEW_SECTOR_BELOW,
    SEED,
    THRESHOLD_GRID,
    Row,
    Settings,
    fit_heads,
)
from monitor.classify.model import TextModel, Vectorizers
from monitor.classify.office import fit_combined
from monitor.classify.samples import Sample, near_duplicate_groups
from monitor.labels import SECTORS, TOPICS

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def samples_sha256(samples: Sequence[Sample]) -> str:
    digest = hashlib.sha256()
    for s in sorted(samples, key=lambda s: s.id):
        digest.update(
            f"{s.id}\t{s.text}\t{s.is_complaint}\t{s.sector}\t{','.join(s.topics)}\n".encode()
        )
    return digest.hexdigest()


def fit(
    samples: Sequence[Sample],
    thresholds: np.ndarray | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    office: Sequence[Row] = (),
) -> TextModel:
    """Fit features and heads on ``samples`` and an office's labels (thresholds given,
    or 0.5 each). How the office's labels are combined with the samples is
    ``settings.office_method`` (``monitor.classify.office``)."""

    rows = [Row.of_sample(s, settings) for s in sorted(samples, key=lambda s: s.id)]
    vectorizers = Vectorizers.new(surface=settings.surface)
    office = list(office)
    matrix = vectorizers.matrix([r.text for r in rows + office], fit=True)
    chosen = thresholds if thresholds is not None else np.full(len(TOPICS), 0.5)
    if office:
        heads = fit_combined(matrix, rows, office, chosen, settings)
    else:
        heads = fit_heads(matrix, rows, chosen, settings)
    return TextModel(vectorizers, heads, {"version": "unsaved"})


def group_folds(
    samples: Sequence[Sample], folds: int, seed: int = SEED
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds that keep near-duplicate groups together (the one rule of
    ``monitor.text.shingles``, as in the samples check and in cases) and sectors
    balanced."""
    groups = near_duplicate_groups([s.text for s in samples])
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    sectors = [s.sector for s in samples]
    return list(splitter.split(np.zeros(len(samples)), sectors, groups))


def _f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(truth & predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 2 * tp / denominator if denominator else 0.0


class ChosenThresholds(TypedDict):
    complaint: float
    topics: np.ndarray
    review_band: tuple[float, float]
    review_band_catches: float
    review_band_flags: float


def choose_thresholds(model: TextModel, blind: Sequence[Sample]) -> ChosenThresholds:
    """The complaint threshold, the topic thresholds and the review band, chosen on the
    blind set (never on the training samples): each threshold where F1 is highest (the
    one nearest 0.5 on a tie); the review band the narrowest one around the complaint
    threshold that holds at least half of the blind set's complaint errors."""
    texts = [s.text for s in blind]
    complaint, _, topic = model.heads.scores(model.vectorizers.matrix(texts))
    truth = np.array([s.is_complaint for s in blind])
    complaint_at = float(
        max(THRESHOLD_GRID, key=lambda t: (_f1(truth, complaint >= t), -abs(t - 0.5)))
    )
    rows = np.array([s.is_complaint and s.topics_agreed for s in blind])
    topic_at = []
    for j, name in enumerate(TOPICS):
        target = np.array([name in s.topics for s in blind])[rows]
        scores = topic[rows, j]
        topic_at.append(
            max(THRESHOLD_GRID, key=lambda t: (_f1(target, scores >= t), -abs(t - 0.5)))
        )
    errors = (complaint >= complaint_at) != truth
    band, caught, flagged = REVIEW_BAND, 0.0, 0.0
    for width in np.round(np.arange(0.05, 0.31, 0.05), 2):
        inside = np.abs(complaint - complaint_at) <= width
        caught = float((errors & inside).sum() / max(errors.sum(), 1))
        flagged = float(inside.mean())
        band = (round(max(0.0, complaint_at - width), 2), round(min(1.0, complaint_at + width), 2))
        if caught >= 0.5:
            break
    return {
        "complaint": round(complaint_at, 2),
        "topics": np.array(topic_at, dtype=float),
        "review_band": band,
        "review_band_catches": round(caught, 3),
        "review_band_flags": round(flagged, 3),
    }


def train(
    samples: Sequence[Sample],
    version: str,
    thresholds: np.ndarray,
    metrics: dict | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    blind: Sequence[Sample] = (),
    office: Sequence[Row] = (),
) -> TextModel:
    """Fit on every sample and attach the model card.

    With a blind set, the complaint threshold, the topic thresholds and the review
    band are chosen on it (choose_thresholds); without one, the topic thresholds
    given (chosen on cross-validation's out-of-fold predictions) and 0.5 are used.
    """
    model = fit(samples, thresholds, settings, office)
    complaint_at, chosen_on = 0.5, "cross-validation"
    band = list(REVIEW_BAND)
    band_figures: dict[str, float] = {}
    if blind:
        chosen = choose_thresholds(model, blind)
        complaint_at, chosen_on = chosen["complaint"], f"blind set ({len(blind)})"
        band = list(chosen["review_band"])
        band_figures = {
            "review_band_catches": chosen["review_band_catches"],
            "review_band_flags": chosen["review_band_flags"],
        }
        model.heads.topic_thresholds = chosen["topics"].astype(np.float32)
    model.card = {
        "version": version,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "samples": {"count": len(samples), "sha256": samples_sha256(samples)},
        "settings": asdict(settings),
        "features": {
            "word": "TF-IDF of word 1-2-grams of classifier_text "
            "(normalised, stemmed, no stop words), the 30,000 most frequent"
            + (
                ", led by surface words (length, leading @, link, question, agent "
                "signature, first person, the keyword rule's sector and complaint words)"
                if settings.surface
                else ""
            ),
            "char": "TF-IDF of character 2-5-grams within words of clean text, at most 80,000",
            "phrase": "TF-IDF of word 1-3-grams of the normalised text, stop words kept, "
            "the 30,000 most frequent",
        },
        "estimators": {
            "complaint": f"LogisticRegression(C={settings.complaint_c}, class_weight=balanced)",
            "sector": f"LogisticRegression(C={settings.sector_c}"
            + (", class_weight=balanced" if settings.sector_balanced else "")
            + f"), multinomial over {len(SECTORS)} sectors",
            "topics": f"one LogisticRegression(C={settings.topic_c}, class_weight=balanced) "
            "per topic, trained on complaints",
            "sample_weights": f"first-generation samples (no channel) weigh "
            f"{settings.first_generation_weight}, the rest 1",
            "office_labels": (
                f"{len(office)} office labels, combined by {settings.office_method} "
                f"(office share of the weight {settings.office_share})"
                if office
                else "none"
            ),
        },
        "thresholds": {
            "complaint": complaint_at,
            "review_band": band,
            "review_sector_below": REVIEW_SECTOR_BELOW,
            "topics": {
                t: float(v) for t, v in zip(TOPICS, model.heads.topic_thresholds, strict=True)
            },
            "chosen_on": chosen_on,
            "needs_review": (
                f"complaint score is within {band[0]}-{band[1]}, "
                f"or the best sector's probability below {REVIEW_SECTOR_BELOW}"
            ),
            **band_figures,
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
    model.complaint_threshold = complaint_at
    model.review_band = (band[0], band[1])
    return model
