"""Training on an office's own labels: held-out scores, the comparison, the gate.

``monitor train`` adds the labels an office imported (``office_labels``) to the
samples. What such a model is worth for that office is measured on the office's own
labels by grouped k-fold (near-duplicates kept together): each fold is predicted by a
model trained on the samples and the other folds. Beside it stand the active model
and the keyword rule, on the same labels.

The gate (``monitor train --activate``) compares the new model's held-out answers
with the active model's on the office labels the active model never trained on,
head by head, with a paired bootstrap over near-duplicate groups: it refuses when the
new model is worse beyond the noise of the estimate (the upper end of the 95%
interval of the difference below zero), and says which head and by how much.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.classify.train import DEFAULT_SETTINGS, SEED, Row, Settings, fit
from monitor.labels import TOPICS
from monitor.records import Prediction

if TYPE_CHECKING:
    from monitor.classify.samples import Sample
    from monitor.store import OfficeLabel

Progress = Callable[[str], None]
KEYS_FILE = "office_label_keys.txt"
HEADS = ("complaint_f1", "sector_macro_f1", "topic_micro_f1")
HEAD_NAMES = {
    "complaint_f1": "complaint F1",
    "sector_macro_f1": "sector macro F1",
    "topic_micro_f1": "topic micro F1",
}
MIN_ROWS = 20  # fewer held-out labels than this for a head: the gate cannot judge it
BOOTSTRAP = 1000


@dataclass(frozen=True)
class OfficeSet:
    """An office's labels as training rows, with the key each was stored under."""

    rows: list[Row]
    keys: list[str]

    @classmethod
    def of(cls, labels: Sequence[OfficeLabel]) -> OfficeSet:
        ordered = sorted(labels, key=lambda label: label.label_key)
        return cls(
            [
                Row(
                    label.text,
                    label.is_complaint,
                    label.sector,
                    None if label.topics is None else tuple(label.topics),
                )
                for label in ordered
            ],
            [label.label_key for label in ordered],
        )

    def __len__(self) -> int:
        return len(self.rows)


def trained_keys(folder: Path | None) -> set[str]:
    """The office label keys the model in ``folder`` trained on (none for the shipped
    model or the keyword rule)."""
    path = Path(folder) / KEYS_FILE if folder else None
    if path is None or not path.exists():
        return set()
    return {line for line in path.read_text(encoding="utf-8").split() if line}


def write_keys(folder: Path, office: OfficeSet) -> None:
    (folder / KEYS_FILE).write_text("".join(f"{k}\n" for k in sorted(office.keys)), "utf-8")


# --- scores on partial labels ---------------------------------------------------------


def _per_row(rows: Sequence[Row], predictions: Sequence[Prediction]) -> dict[str, np.ndarray]:
    """Each head's per-row counts (true positives, false positives, false negatives),
    so a score over any resample of rows is a sum: (rows, 3) for the complaint and the
    topics (micro), (rows, sectors, 3) for the sectors (macro); NaN-free, zero where a
    row does not give that head's answer."""
    n = len(rows)
    complaint = np.zeros((n, 3))
    for i, (r, p) in enumerate(zip(rows, predictions, strict=True)):
        if r.is_complaint is not None:
            t, q = bool(r.is_complaint), bool(p.is_complaint)
            complaint[i] = (t and q, q and not t, t and not q)
    sectors = sorted({r.sector for r in rows if r.sector is not None})
    sector = np.zeros((n, len(sectors), 3))
    for i, (r, p) in enumerate(zip(rows, predictions, strict=True)):
        if r.sector is not None and r.is_complaint is not False:
            for k, name in enumerate(sectors):
                t, q = r.sector == name, p.sector == name
                sector[i, k] = (t and q, q and not t, t and not q)
    topic = np.zeros((n, 3))
    for i, (r, p) in enumerate(zip(rows, predictions, strict=True)):
        if r.complaint and r.topics is not None:
            truth = np.array([t in r.topics for t in TOPICS])
            said = np.array([t in p.topics for t in TOPICS])
            topic[i] = ((truth & said).sum(), (said & ~truth).sum(), (truth & ~said).sum())
    return {"complaint_f1": complaint, "sector_macro_f1": sector, "topic_micro_f1": topic}


def _head_rows(rows: Sequence[Row]) -> dict[str, np.ndarray]:
    """Which rows each head is scored on."""
    return {
        "complaint_f1": np.array([r.is_complaint is not None for r in rows]),
        "sector_macro_f1": np.array(
            [r.sector is not None and r.is_complaint is not False for r in rows]
        ),
        "topic_micro_f1": np.array([r.complaint and r.topics is not None for r in rows]),
    }


def _f1(counts: np.ndarray) -> np.ndarray:
    """F1 from summed (..., 3) counts; 0 where there is nothing to find or say."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)


def _score(head: str, summed: np.ndarray) -> np.ndarray:
    if head != "sector_macro_f1":
        return _f1(summed)
    support = summed[..., 0] + summed[..., 2]  # sectors present in the truth
    f1 = _f1(summed)
    present = support > 0
    return np.divide(
        (f1 * present).sum(axis=-1),
        present.sum(axis=-1),
        out=np.zeros(f1.shape[:-1]),
        where=present.sum(axis=-1) > 0,
    )


def office_scores(rows: Sequence[Row], predictions: Sequence[Prediction]) -> dict[str, float]:
    """Each head's score on the rows that give its answer, and how many rows that is."""
    counts = _per_row(rows, predictions)
    used = _head_rows(rows)
    out: dict[str, float] = {}
    for head in HEADS:
        out[head] = round(float(_score(head, counts[head].sum(axis=0))), 4)
        out[f"{head}_rows"] = int(used[head].sum())
    out["count"] = len(rows)
    return out


# --- held-out predictions -------------------------------------------------------------


def office_folds(office: OfficeSet, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped, stratified folds of the office's labels (near-duplicates together)."""
    from sklearn.model_selection import StratifiedGroupKFold

    from monitor.classify.samples import near_duplicate_groups

    groups = near_duplicate_groups([r.text for r in office.rows])
    strata = [r.sector or str(r.is_complaint) for r in office.rows]
    counts = {s: strata.count(s) for s in set(strata)}
    strata = [s if counts[s] >= folds else "rare" for s in strata]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
    return list(splitter.split(np.zeros(len(strata)), strata, groups))


def held_out_predictions(
    samples: Sequence[Sample],
    office: OfficeSet,
    folds: int,
    settings: Settings = DEFAULT_SETTINGS,
    blind: Sequence[Sample] = (),
    progress: Progress = lambda message: None,
) -> list[Prediction]:
    """Each office label predicted by a model trained on the samples and the other
    folds, with thresholds chosen as for the final model (on the blind set)."""
    from monitor.classify.train import choose_thresholds

    predictions: list[Prediction | None] = [None] * len(office)
    for number, (train_idx, test_idx) in enumerate(office_folds(office, folds), 1):
        progress(f"  office labels: fold {number}/{folds}")
        model = fit(samples, settings=settings, office=[office.rows[i] for i in train_idx])
        if blind:
            chosen = choose_thresholds(model, blind)
            model.complaint_threshold = chosen["complaint"]
            model.heads.topic_thresholds = chosen["topics"].astype(np.float32)
        answers = model.predict([office.rows[i].text for i in test_idx])
        for i, answer in zip(test_idx, answers, strict=True):
            predictions[i] = answer
    return [p for p in predictions if p is not None]


# --- the gate -------------------------------------------------------------------------


@dataclass
class HeadVerdict:
    head: str
    rows: int
    new: float
    active: float
    low: float  # the 95% interval of new - active
    high: float
    judged: bool

    @property
    def worse(self) -> bool:
        return self.judged and self.high < 0

    def text(self) -> str:
        name = HEAD_NAMES[self.head]
        if not self.judged:
            return f"{name}: not judged, only {self.rows} held-out label(s) (need {MIN_ROWS})"
        verdict = "WORSE" if self.worse else "not worse"
        return (
            f"{name}: new {self.new:.3f}, active {self.active:.3f}, difference "
            f"{self.new - self.active:+.3f} (95% interval {self.low:+.3f} to {self.high:+.3f}) "
            f"on {self.rows} labels: {verdict}"
        )


@dataclass
class GateDecision:
    passed: bool
    reason: str
    heads: list[HeadVerdict] = field(default_factory=list)
    labels: int = 0  # office labels the active model never trained on

    def text(self) -> str:
        lines = [self.reason, *(f"  {h.text()}" for h in self.heads)]
        return "\n".join(lines)


def gate(
    office: OfficeSet,
    new: Sequence[Prediction],
    active: Sequence[Prediction],
    active_keys: set[str],
    active_version: str,
) -> GateDecision:
    """Is the new model (held-out answers ``new``) not worse than the active one
    (``active``) on the office labels the active model never trained on?"""
    from monitor.classify.samples import near_duplicate_groups

    unseen = [i for i, k in enumerate(office.keys) if k not in active_keys]
    if not unseen:
        return GateDecision(
            False,
            f"refused: every office label was used to train the active model "
            f"{active_version}, so none is left to compare on. Import or review new labels "
            "(monitor review export, monitor labels import) and train again, or activate it "
            "yourself after reading the comparison (monitor model activate VERSION).",
        )
    rows = [office.rows[i] for i in unseen]
    new_counts = _per_row(rows, [new[i] for i in unseen])
    active_counts = _per_row(rows, [active[i] for i in unseen])
    used = _head_rows(rows)
    groups = np.unique(near_duplicate_groups([r.text for r in rows]), return_inverse=True)[1]
    rng = np.random.default_rng(SEED)
    draws = rng.multinomial(
        groups.max() + 1, np.full(groups.max() + 1, 1 / (groups.max() + 1)), BOOTSTRAP
    )
    verdicts = []
    for head in HEADS:
        count = int(used[head].sum())
        by_group_new = _by_group(new_counts[head], groups)
        by_group_active = _by_group(active_counts[head], groups)
        new_score = float(_score(head, by_group_new.sum(axis=0)))
        active_score = float(_score(head, by_group_active.sum(axis=0)))
        if count < MIN_ROWS:
            verdicts.append(HeadVerdict(head, count, new_score, active_score, 0, 0, False))
            continue
        difference = _score(head, np.tensordot(draws, by_group_new, axes=1)) - _score(
            head, np.tensordot(draws, by_group_active, axes=1)
        )
        low, high = np.percentile(difference, [2.5, 97.5])
        verdicts.append(
            HeadVerdict(head, count, new_score, active_score, float(low), float(high), True)
        )
    worse = [v for v in verdicts if v.worse]
    judged = [v for v in verdicts if v.judged]
    if worse:
        reason = (
            f"refused: the new model is worse than the active model {active_version} on "
            + ", ".join(HEAD_NAMES[v.head] for v in worse)
            + f", beyond the noise of {len(unseen)} held-out office labels"
        )
    elif not judged:
        reason = (
            f"refused: too few office labels the active model {active_version} never saw "
            f"({len(unseen)}) to judge any head; import or review more"
        )
    else:
        reason = (
            f"passed: not worse than the active model {active_version} on any head judged, "
            f"on {len(unseen)} held-out office labels"
        )
    return GateDecision(not worse and bool(judged), reason, verdicts, len(unseen))


def _by_group(counts: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = np.zeros((groups.max() + 1, *counts.shape[1:]))
    np.add.at(out, groups, counts)
    return out
