"""Evaluation: per-label precision, recall, F1 and support; macro and micro F1; the
sector confusion matrix; calibration of the complaint score (Brier score and a
reliability table). As Markdown and HTML.

The figures that count come from the blind set (labeled_samples/blind/): posts
written apart from the training samples by other writers and labelled by two
annotators, never trained on. Every table puts the keyword rule beside the model.
Grouped cross-validation on the labeled samples comes second: it measures how
well the model learns the project's own writing (folds keep near-duplicate
groups together; each fold's topic thresholds are chosen on the other folds).

Sector scores are over true complaints (the sector of a complaint is what the
reports count); topic scores over true complaints whose topics are agreed.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from monitor.classify.samples import Sample
from monitor.classify.train import (
    DEFAULT_SETTINGS,
    THRESHOLD_GRID,
    Settings,
    _f1,
    fit,
    group_folds,
)
from monitor.labels import SECTORS, TOPICS
from monitor.records import Prediction

if TYPE_CHECKING:
    from monitor.classify.model import TextModel

Progress = Callable[[str], None]
RELIABILITY_BINS = 10


class Predictor(Protocol):
    """A model to score: the trained ``TextModel`` or the keyword rule."""

    @property
    def version(self) -> str: ...

    def predict(self, texts: list[str]) -> list[Prediction]: ...


@dataclass
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    source: str  # what the figures are from
    complaint: LabelScore
    sectors: list[LabelScore]
    sector_macro_f1: float
    sector_micro_f1: float
    topics: list[LabelScore]
    topic_micro_f1: float
    topic_macro_f1: float
    brier: float
    reliability: list[tuple[str, int, float, float]]  # (bin, count, mean score, observed share)
    confusion: list[list[int]]  # rows: true sector, columns: predicted, in SECTORS order
    count: int
    topic_thresholds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        return {
            "complaint_f1": round(self.complaint.f1, 4),
            "sector_macro_f1": round(self.sector_macro_f1, 4),
            "sector_micro_f1": round(self.sector_micro_f1, 4),
            "topic_micro_f1": round(self.topic_micro_f1, 4),
            "topic_macro_f1": round(self.topic_macro_f1, 4),
            "complaint_brier": round(self.brier, 4),
        }

    def as_card_metrics(self) -> dict:
        return {
            "source": self.source,
            "count": self.count,
            **self.summary(),
            "per_label": {
                "complaint": vars(self.complaint),
                "sectors": [vars(s) for s in self.sectors],
                "topics": [vars(t) for t in self.topics],
            },
        }


def _score(label: str, truth: np.ndarray, predicted: np.ndarray) -> LabelScore:
    tp = int(np.sum(truth & predicted))
    p = tp / max(int(np.sum(predicted)), 1)
    r = tp / max(int(np.sum(truth)), 1)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return LabelScore(label, round(p, 4), round(r, 4), round(f, 4), int(np.sum(truth)))


def score(
    samples: Sequence[Sample],
    complaint_scores: np.ndarray,
    sector_predicted: Sequence[str],
    topic_scores: np.ndarray,
    topic_thresholds: np.ndarray,
    source: str,
    complaint_predicted: np.ndarray | None = None,
) -> Evaluation:
    """Metrics: complaint decisions (default: score >= 0.5) and, for calibration, the
    scores; sectors on true complaints; topics on true complaints with agreed topics,
    at their thresholds."""
    truth_complaint = np.array([s.is_complaint for s in samples], dtype=bool)
    complaint_scores = np.asarray(complaint_scores, dtype=float)
    if complaint_predicted is None:
        complaint_predicted = complaint_scores >= 0.5
    complaint = _score("is_complaint", truth_complaint, np.asarray(complaint_predicted, bool))
    truth_sector = np.array([s.sector for s in samples])[truth_complaint]
    predicted_sector = np.array(sector_predicted)[truth_complaint]
    sectors = [_score(k, truth_sector == k, predicted_sector == k) for k in SECTORS]
    present = [s for s in sectors if s.support]
    sector_macro = float(np.mean([s.f1 for s in present])) if present else 0.0
    sector_micro = float(np.mean(truth_sector == predicted_sector)) if len(truth_sector) else 0.0
    on = truth_complaint & np.array([s.topics_agreed for s in samples], dtype=bool)
    truth_topics = np.array([[t in s.topics for t in TOPICS] for s in samples])[on]
    predicted_topics = (topic_scores >= topic_thresholds)[on]
    topics = [_score(t, truth_topics[:, j], predicted_topics[:, j]) for j, t in enumerate(TOPICS)]
    topic_micro = _f1(truth_topics.ravel(), predicted_topics.ravel())
    present_topics = [t for t in topics if t.support]
    topic_macro = float(np.mean([t.f1 for t in present_topics])) if present_topics else 0.0
    brier = float(np.mean((complaint_scores - truth_complaint) ** 2)) if len(samples) else 0.0
    reliability = []
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (complaint_scores >= low) & (
            (complaint_scores < high) if high < 1 else (complaint_scores <= high)
        )
        if inside.any():
            reliability.append(
                (
                    f"{low:.1f}–{high:.1f}",
                    int(inside.sum()),
                    round(float(complaint_scores[inside].mean()), 3),
                    round(float(truth_complaint[inside].mean()), 3),
                )
            )
    index = {k: i for i, k in enumerate(SECTORS)}
    index.update({k: index["lainnya"] for k in set(predicted_sector) - set(index)})
    confusion = [[0] * len(SECTORS) for _ in SECTORS]
    for t, p in zip(truth_sector, predicted_sector, strict=True):
        confusion[index[t]][index[p]] += 1
    return Evaluation(
        source=source,
        complaint=complaint,
        sectors=sectors,
        sector_macro_f1=sector_macro,
        sector_micro_f1=sector_micro,
        topics=topics,
        topic_micro_f1=topic_micro,
        topic_macro_f1=topic_macro,
        brier=brier,
        reliability=reliability,
        confusion=confusion,
        count=len(samples),
        topic_thresholds={t: float(v) for t, v in zip(TOPICS, topic_thresholds, strict=True)},
    )


def _best_thresholds(
    samples: Sequence[Sample], topic_scores: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    complaints = rows[[samples[i].is_complaint for i in rows]]
    chosen = []
    for j, topic in enumerate(TOPICS):
        truth = np.array([topic in samples[i].topics for i in complaints])
        predicted = topic_scores[complaints, j]
        chosen.append(
            max(THRESHOLD_GRID, key=lambda t: (_f1(truth, predicted >= t), -abs(t - 0.5)))
        )
    return np.array(chosen)


def cross_validate(
    samples: Sequence[Sample],
    folds: int = 5,
    progress: Progress | None = None,
    settings: Settings = DEFAULT_SETTINGS,
) -> tuple[Evaluation, np.ndarray]:
    """Grouped k-fold out-of-fold scores, then metrics; also thresholds from all folds.

    Returns (evaluation, topic thresholds chosen on every out-of-fold score), the
    latter for the final model.
    """
    samples = sorted(samples, key=lambda s: s.id)
    n = len(samples)
    complaint = np.zeros(n)
    sector = np.empty(n, dtype=object)
    topic = np.zeros((n, len(TOPICS)))
    splits = group_folds(samples, folds)
    for number, (train_idx, test_idx) in enumerate(splits, 1):
        if progress:
            progress(f"  cross-validation: fold {number}/{folds}")
        model = fit([samples[i] for i in train_idx], settings=settings)
        matrix = model.vectorizers.matrix([samples[i].text for i in test_idx])
        c, s, t = model.heads.scores(matrix)
        complaint[test_idx] = c
        sector[test_idx] = [model.heads.sectors[k] for k in s.argmax(axis=1)]
        topic[test_idx] = t
    # Each fold's topics are judged with thresholds chosen on the OTHER folds' scores.
    predicted_at = np.zeros_like(topic)
    for _, test_idx in splits:
        others = np.setdiff1d(np.arange(n), test_idx)
        predicted_at[test_idx] = _best_thresholds(samples, topic, others)
    evaluation = score(
        samples,
        complaint,
        list(sector),
        (topic >= predicted_at).astype(float),
        np.full(len(TOPICS), 0.5),
        source=f"{folds}-fold cross-validation on {n} labeled samples, near-duplicates grouped",
    )
    final_thresholds = _best_thresholds(samples, topic, np.arange(n))
    evaluation.topic_thresholds = {
        t: float(v) for t, v in zip(TOPICS, final_thresholds, strict=True)
    }
    return evaluation, final_thresholds


def evaluate_model(model: Predictor, samples: Sequence[Sample], source: str) -> Evaluation:
    """Score a model (trained, or the keyword rule) on samples it never trained on, by
    what it tells a user: ``predict()``'s complaint decision, sector and topics."""
    return _from_predictions(samples, model.predict([s.text for s in samples]), source)


def _from_predictions(
    samples: Sequence[Sample], predictions: Sequence[Prediction], source: str
) -> Evaluation:
    complaint_scores = np.array([p.complaint_score for p in predictions], dtype=float)
    decided = np.array([p.is_complaint for p in predictions], dtype=bool)
    topics = np.array([[t in p.topics for t in TOPICS] for p in predictions], dtype=float)
    return score(
        samples,
        complaint_scores,
        [p.sector for p in predictions],
        topics.reshape(len(samples), len(TOPICS)),
        np.full(len(TOPICS), 0.5),
        source,
        complaint_predicted=decided,
    )


def cross_fitted_evaluation(model: TextModel, blind: Sequence[Sample], source: str) -> Evaluation:
    """The blind set scored with thresholds chosen on the OTHER half of it.

    The shipped thresholds are chosen on the whole blind set, which flatters the figures
    measured on that same set a little; here each half is predicted with the complaint
    and topic thresholds chosen on the other half (halves by a hash of the id, so the
    split is stable), which is what the choosing procedure is worth on unseen posts.
    """
    import zlib

    from monitor.classify.train import choose_thresholds

    halves = [[s for s in blind if zlib.crc32(s.id.encode()) % 2 == k] for k in (0, 1)]
    saved = (model.complaint_threshold, model.heads.topic_thresholds.copy())
    ordered, predictions = [], []
    try:
        for k in (0, 1):
            chosen = choose_thresholds(model, halves[1 - k])
            model.complaint_threshold = chosen["complaint"]
            model.heads.topic_thresholds = chosen["topics"].astype(np.float32)
            ordered += halves[k]
            predictions += model.predict([s.text for s in halves[k]])
    finally:
        model.complaint_threshold, model.heads.topic_thresholds = saved
    return _from_predictions(ordered, predictions, source)


# --- reports --------------------------------------------------------------------------

HEADLINE = (
    ("complaint_f1", "complaint or not: F1"),
    ("sector_macro_f1", "sector: macro F1 (on complaints)"),
    ("sector_micro_f1", "sector: accuracy (on complaints)"),
    ("topic_micro_f1", "topics: micro F1 (on complaints)"),
    ("complaint_brier", "complaint score: Brier (lower is better)"),
)


def comparison_markdown(columns: list[tuple[str, dict]], note: str = "") -> str:
    """One table, a column per source of figures: blind set first, the keyword rule
    beside it, cross-validation after (each column a ``summary()`` dict)."""
    header = ["measure", *[name for name, _ in columns]]
    rows = [
        [label, *[f"{values[key]:.3f}" if key in values else "-" for _, values in columns]]
        for key, label in HEADLINE
    ]
    return _table(header, rows) + (f"\n\n{note}" if note else "")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _rows(scores: list[LabelScore]) -> list[list[str]]:
    return [
        [s.label, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support)]
        for s in scores
    ]


def to_markdown(evaluation: Evaluation, model_version: str = "") -> str:
    e = evaluation
    head = ["label", "precision", "recall", "F1", "support"]
    parts = [
        f"# Evaluation{f' of {model_version}' if model_version else ''}",
        "",
        f"Data: {e.source}.",
        "",
        "## Summary",
        "",
        _table(
            ["measure", "value"],
            [[k.replace("_", " "), f"{v:.3f}"] for k, v in e.summary().items()],
        ),
        "",
        "## Complaint or not",
        "",
        _table(head, _rows([e.complaint])),
        "",
        "Calibration of the complaint score (Brier score "
        f"{e.brier:.3f}; a calibrated score's mean matches the observed share in each bin):",
        "",
        _table(
            ["score bin", "posts", "mean score", "observed complaint share"],
            [[b, str(n), f"{m:.3f}", f"{o:.3f}"] for b, n, m, o in e.reliability],
        ),
        "",
        f"## Sector (macro F1 {e.sector_macro_f1:.3f}, micro F1 {e.sector_micro_f1:.3f})",
        "",
        _table(head, _rows(e.sectors)),
        "",
        f"## Topics, on complaints (micro F1 {e.topic_micro_f1:.3f}, "
        f"macro F1 {e.topic_macro_f1:.3f})",
        "",
        _table(head, _rows(e.topics)),
        "",
        "## Sector confusion matrix (rows: true, columns: predicted)",
        "",
        _table(
            ["true \\ predicted", *[k[:6] for k in SECTORS]],
            [
                [SECTORS_KEYS[i], *[str(v) if v else "·" for v in row]]
                for i, row in enumerate(e.confusion)
            ],
        ),
        "",
    ]
    return "\n".join(parts)


SECTORS_KEYS = list(SECTORS)


def to_html(evaluation: Evaluation, model_version: str = "") -> str:
    """A standalone HTML page of the same report (escaped, no scripts)."""
    body = []
    for block in to_markdown(evaluation, model_version).split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        if lines[0].startswith("# "):
            body.append(f"<h1>{html.escape(lines[0][2:])}</h1>")
        elif lines[0].startswith("## "):
            body.append(f"<h2>{html.escape(lines[0][3:])}</h2>")
        elif lines[0].startswith("|"):
            rows = [
                [c.strip() for c in line.strip("|").split("|")]
                for line in lines
                if not set(line) <= set("|-")
            ]
            cells = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
            table = [f"<tr>{cells}</tr>"]
            table += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in rows[1:]
            ]
            body.append(f"<table>{''.join(table)}</table>")
        else:
            body.append(f"<p>{html.escape(' '.join(lines))}</p>")
    style = (
        "body{font-family:Arial,sans-serif;max-width:1100px;margin:24px auto;color:#1f2937}"
        "table{border-collapse:collapse;margin:8px 0;font-size:13px}"
        "td,th{border:1px solid #d1d5db;padding:3px 6px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}th{background:#f3f4f6}"
    )
    title = html.escape(f"Evaluation {model_version}".strip())
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )
