"""The evaluation report of one trained model, as `monitor evaluate` writes it.

The model scored on the blind set (or other labeled data) with the keyword rule beside
it, cross-validation from the model card (or run again), then the routing set: the share
of posts tied to the right agency, with every wrong route listed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config import Config

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


class EvaluationError(ValueError):
    """The model or the labeled data cannot be evaluated; the message says what to pass."""


@dataclass(frozen=True)
class EvaluationReport:
    model_version: str
    markdown: str
    html: str


def _quiet(_: str) -> None:
    pass


def _log_skipped(problem: str) -> None:
    log.warning("skipped: %s", problem)


def evaluation_report(
    model: Any,
    data: Path | None = None,
    routing: Path | None = None,
    config: Config | None = None,
    cross_validation_folds: int | None = None,
    progress: Progress = _quiet,
    skipped: Progress = _log_skipped,
) -> EvaluationReport:
    """Score ``model`` on ``data`` (default: the blind set) and on the routing set.

    ``routing``: the routing set (default: the shipped one; left out when missing);
    ``config``: route with its agencies instead of the shipped example's;
    ``cross_validation_folds``: run cross-validation again instead of quoting the card;
    ``skipped``: told each labeled line that could not be used (at most 20 a file).
    """
    from monitor.classify import KeywordBaseline
    from monitor.classify.evaluate import (
        comparison_markdown,
        cross_validate,
        evaluate_model,
        to_html,
        to_markdown,
    )
    from monitor.classify.routing import routing_markdown, score_routing_set
    from monitor.classify.samples import (
        blind_set_path,
        load_samples,
        routing_set_path,
        samples_dir,
    )

    if not hasattr(model, "heads"):
        raise EvaluationError("no trained model to evaluate; run 'monitor train' or pass --model")
    path = data or blind_set_path()
    if not path.exists():
        raise EvaluationError(f"{path} does not exist; pass --data FILE (labeled JSONL)")
    report = load_samples([path])
    for problem in report.problems[:20]:
        skipped(problem)
    if not report.samples:
        raise EvaluationError(f"{path}: no valid labeled lines")
    what = str(path) if data else "blind set"
    source = f"{len(report.samples)} posts of the {what}"
    progress(f"testing {model.version} on {len(report.samples)} posts ...")
    evaluation = evaluate_model(model, report.samples, source)
    baseline = evaluate_model(KeywordBaseline(), report.samples, source)
    columns = [
        (f"{what}: this model", evaluation.summary()),
        (f"{what}: keyword rule", baseline.summary()),
    ]
    if cross_validation_folds is not None:
        samples = load_samples(sorted(samples_dir().glob("*.jsonl")))
        if samples.problems:
            raise EvaluationError("invalid labeled samples; run python scripts/check_samples.py")
        cv, _ = cross_validate(samples.samples, cross_validation_folds, progress)
        columns.append(("cross-validation (rerun)", cv.summary()))
    elif "cross_validation" in model.card.get("metrics", {}):
        card_cv = model.card["metrics"]["cross_validation"]
        columns.append(
            (
                "cross-validation (model card)",
                {k: v for k, v in card_cv.items() if isinstance(v, float)},
            )
        )
    parts = [f"# Evaluation of {model.version}", "", comparison_markdown(columns), ""]
    routing_path = routing or routing_set_path()
    if routing_path.exists():
        routed, problems = score_routing_set(model, routing_path, config)
        for problem in problems[:20]:
            skipped(problem)
        parts += [routing_markdown(routed), ""]
    parts.append(to_markdown(evaluation, model.version).replace("# Evaluation", "# Details", 1))
    return EvaluationReport(model.version, "\n".join(parts), to_html(evaluation, model.version))


def write_evaluation(report: EvaluationReport, out: Path) -> Path:
    """Write the report as ``out/evaluation-<version>.md`` and ``.html``; returns the
    path without its suffix."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"evaluation-{report.model_version}"
    stem.with_suffix(".md").write_text(report.markdown, encoding="utf-8")
    stem.with_suffix(".html").write_text(report.html, encoding="utf-8")
    return stem
