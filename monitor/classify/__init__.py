"""Deciding what a post is: complaint or not, sector, topics.

``load_model()`` gives the model ``monitor process`` / ``run`` / ``classify``
use: the trained model shipped in ``models/`` (or the folder in
$MONITOR_MODEL_DIR), else the transparent keyword baseline, and every report
names which. ``train_model()`` builds a new one from ``labeled_samples/``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from monitor.classify.baseline import KeywordBaseline
from monitor.classify.model import ModelError, TextModel, shipped_model_dir

log = logging.getLogger(__name__)

MODEL_DIR_ENV = "MONITOR_MODEL_DIR"


def load_model(folder: Path | None = None) -> TextModel | KeywordBaseline:
    """The model to classify with. A named folder that fails to load is an error."""
    named = folder or (Path(os.environ[MODEL_DIR_ENV]) if os.environ.get(MODEL_DIR_ENV) else None)
    if named:
        return TextModel.load(named)
    shipped = shipped_model_dir()
    if shipped is None:
        log.warning("no trained model found in models/; using the keyword baseline")
        return KeywordBaseline()
    return TextModel.load(shipped)


def train_model(
    sample_paths: list[Path],
    out_root: Path,
    version: str | None = None,
    folds: int = 5,
    progress: Callable[[str], None] = lambda message: None,
):
    """Cross-validate, fit on every sample, write models/<version>/ with its card.

    Returns (model, evaluation, folder). Raises ValueError listing invalid samples.
    """
    from monitor.classify.card import write_card_markdown
    from monitor.classify.evaluate import cross_validate, to_html, to_markdown
    from monitor.classify.samples import load_samples
    from monitor.classify.train import samples_sha256, train

    report = load_samples(sample_paths)
    if report.problems:
        raise ValueError(
            f"{len(report.problems)} invalid sample(s); fix them first "
            "(python scripts/check_samples.py):\n  " + "\n  ".join(report.problems[:20])
        )
    samples = report.samples
    version = version or f"id-{datetime.now(UTC):%Y%m%d}-{samples_sha256(samples)[:8]}"
    progress(f"{len(samples)} sampel; validasi silang {folds} lipatan ...")
    evaluation, thresholds = cross_validate(samples, folds, progress)
    progress("melatih model akhir ...")
    model = train(samples, version, thresholds, evaluation.as_card_metrics())
    folder = out_root / version
    model.save(folder)
    (folder / "evaluation.md").write_text(to_markdown(evaluation, version), encoding="utf-8")
    (folder / "evaluation.html").write_text(to_html(evaluation, version), encoding="utf-8")
    write_card_markdown(model.card, evaluation, folder)
    return model, evaluation, folder


__all__ = ["KeywordBaseline", "ModelError", "TextModel", "load_model", "train_model"]
