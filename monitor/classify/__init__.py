"""Deciding what a post is: complaint or not, sector, topics.

``load_model()`` gives the model ``monitor process`` / ``run`` / ``classify``
use: the trained model shipped in ``models/`` (or the folder in
$MONITOR_MODEL_DIR), else the transparent keyword baseline, and every report
names which. ``train_model()`` builds a new one from ``labeled_samples/``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.classify.locate import MODEL_DIR_ENV, model_folder, model_version

if TYPE_CHECKING:
    from monitor.classify.baseline import KeywordBaseline
    from monitor.classify.model import TextModel
    from monitor.store import Store

log = logging.getLogger(__name__)

__all__ = ["MODEL_DIR_ENV", "KeywordBaseline", "load_model", "model_version", "train_model"]


def __getattr__(name: str):
    # KeywordBaseline on demand: importing this package stays light (no scikit-learn).
    if name == "KeywordBaseline":
        from monitor.classify.baseline import KeywordBaseline

        return KeywordBaseline
    raise AttributeError(name)


def load_model(
    folder: Path | None = None, *, store: Store | None = None
) -> TextModel | KeywordBaseline:
    """The model to classify with: ``folder``, else $MONITOR_MODEL_DIR, else ``store``'s
    active model, else the newest shipped one, else the keyword baseline. A named folder
    or an active model that fails to load is an error (ModelError).
    Only the version is needed? ``model_version()`` reads it from the card."""
    import os

    from monitor.classify.baseline import KeywordBaseline
    from monitor.classify.model import ModelError, TextModel

    if not folder and not os.environ.get(MODEL_DIR_ENV) and store is not None:
        active = store.active_model()
        if active is not None:
            try:
                if not Path(active.folder).is_dir():
                    raise ModelError(f"its folder {active.folder} is gone")
                return TextModel.load(Path(active.folder))
            except (ModelError, OSError, ValueError) as exc:
                back = f" (back to {active.previous_version})" if active.previous_version else ""
                raise ModelError(
                    f"the database's active model {active.version} cannot be loaded: {exc}. "
                    f"Run 'monitor model rollback'{back} or 'monitor model activate VERSION' "
                    "('monitor model list' shows the versions there are)"
                ) from None
    found = model_folder(folder)
    if found is None:
        log.warning("no trained model found in models/; using the keyword baseline")
        return KeywordBaseline()
    return TextModel.load(found)


def train_model(
    sample_paths: list[Path],
    out_root: Path,
    version: str | None = None,
    folds: int = 5,
    progress: Callable[[str], None] = lambda message: None,
    blind_path: Path | None = None,
):
    """Cross-validate, fit on every sample, choose thresholds on the blind set, score the
    blind set (with the keyword rule beside) and the routing set, and write
    models/<version>/ with its card.

    Returns (model, evaluation, folder): the blind-set evaluation when there is a
    blind set, else cross-validation's. Raises ValueError listing invalid samples.
    """
    from monitor.classify.card import write_card_markdown
    from monitor.classify.evaluate import (
        cross_fitted_evaluation,
        cross_validate,
        evaluate_model,
        to_html,
        to_markdown,
    )
    from monitor.classify.samples import blind_set_path, load_samples
    from monitor.classify.train import samples_sha256, train

    report = load_samples(sample_paths)
    if report.problems:
        raise ValueError(
            f"{len(report.problems)} invalid sample(s); fix them first "
            "(python scripts/check_samples.py):\n  " + "\n  ".join(report.problems[:20])
        )
    samples = report.samples
    blind_file = blind_path or blind_set_path()
    blind = load_samples([blind_file]).samples if blind_file.exists() else []
    version = version or f"id-{datetime.now(UTC):%Y%m%d}-{samples_sha256(samples)[:8]}"
    progress(f"{len(samples)} samples; {folds}-fold cross-validation ...")
    cv, thresholds = cross_validate(samples, folds, progress)
    progress("training the final model ...")
    model = train(samples, version, thresholds, blind=blind)
    metrics = {"cross_validation": cv.as_card_metrics()}
    evaluation = cv
    if blind:
        progress(f"testing on the blind set ({len(blind)} posts) ...")
        source = f"blind set: {len(blind)} posts written apart, two annotators agreeing"
        evaluation = evaluate_model(model, blind, source)
        baseline = evaluate_model(KeywordBaseline(), blind, source)
        fair = cross_fitted_evaluation(model, blind, source + ", thresholds from the other half")
        metrics = {
            "blind": evaluation.as_card_metrics(),
            "keyword_rule_blind": baseline.as_card_metrics(),
            "blind_cross_fitted": fair.summary(),
            **metrics,
        }
    routing = _routing_summary(model)
    if routing:
        metrics["routing"] = routing
    model.card["metrics"] = metrics
    folder = out_root / version
    model.save(folder)
    (folder / "evaluation.md").write_text(to_markdown(evaluation, version), encoding="utf-8")
    (folder / "evaluation.html").write_text(to_html(evaluation, version), encoding="utf-8")
    if blind:
        (folder / "evaluation-cross-validation.md").write_text(
            to_markdown(cv, version), encoding="utf-8"
        )
    write_card_markdown(model.card, evaluation, folder)
    return model, evaluation, folder


def _routing_summary(model) -> dict:
    """The routing set scored with the shipped gazetteer, or {} without a routing set."""
    from monitor.classify.routing import score_routing_set
    from monitor.classify.samples import routing_set_path

    path = routing_set_path()
    return score_routing_set(model, path)[0].summary() if path.exists() else {}


__all__ = ["KeywordBaseline", "ModelError", "TextModel", "load_model", "train_model"]
