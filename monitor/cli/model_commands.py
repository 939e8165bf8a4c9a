"""The commands about the classifier: train it, evaluate it, classify a file with it.
They import scikit-learn through the library, inside each command, never at the top."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.cli.common import EXIT_OK, UsageError, config_path, load


def _model(args: argparse.Namespace):
    """--model DIR, else (with a config whose database exists) the database's active
    model, else $MONITOR_MODEL_DIR or the shipped one (see ``load_model``)."""
    from monitor.classify import load_model

    if getattr(args, "model", None):
        return load_model(Path(args.model))
    if config_path(args).exists():
        config = load(args)
        if config.database.is_file():
            from monitor.secrets import secret_values
            from monitor.store import Store

            with Store.open(config.database, secret_values(config)) as store:
                return load_model(store=store)
    return load_model()


def _gazetteer(args: argparse.Namespace):
    """The config's gazetteer when there is a config, else the shipped example's."""
    from monitor.agencies import Gazetteer
    from monitor.config import example_config

    config = load(args) if config_path(args).exists() else example_config(Path.cwd())
    return Gazetteer(config.agencies, config.regions, config.default_region)


def cmd_train(args: argparse.Namespace) -> int:
    from monitor.classify import train_model
    from monitor.classify.samples import samples_dir

    paths = [Path(p) for p in args.samples] or sorted(samples_dir().glob("*.jsonl"))
    paths = [q for p in paths for q in (sorted(p.glob("*.jsonl")) if p.is_dir() else [p])]
    if not paths:
        raise UsageError("no labeled samples found; pass --samples FILE_OR_DIR")
    try:
        model, _, folder = train_model(
            paths, Path(args.out), args.version, args.folds, args.progress
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"Model {model.version} written to {folder}")
    metrics = model.card["metrics"]
    for key, name in (
        ("blind", "Blind set"),
        ("keyword_rule_blind", "Keyword rule on the blind set"),
        ("cross_validation", "Cross-validated"),
    ):
        if key in metrics:
            m = metrics[key]
            print(
                f"{name}: complaint F1 {m['complaint_f1']:.3f}, sector macro F1 "
                f"{m['sector_macro_f1']:.3f}, topic micro F1 {m['topic_micro_f1']:.3f}"
            )
    if "routing" in metrics:
        print(f"Routing set: {metrics['routing']['accuracy']:.1%} routed right")
    print(f"Details: {folder / 'MODEL_CARD.md'}, {folder / 'evaluation.md'}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from monitor.classify.evaluation_report import (
        EvaluationError,
        evaluation_report,
        write_evaluation,
    )

    model = _model(args)
    try:
        report = evaluation_report(
            model,
            data=Path(args.data) if args.data else None,
            routing=Path(args.routing) if args.routing else None,
            config=load(args) if args.routing_config else None,
            cross_validation_folds=args.folds if args.cv else None,
            progress=args.progress,
            skipped=lambda problem: args.stderr(f"skipped: {problem}"),
        )
    except EvaluationError as exc:
        raise UsageError(str(exc)) from None
    stem = write_evaluation(report, Path(args.out))
    print(report.markdown)
    print(f"Written: {stem}.md and {stem}.html")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    from monitor.classify.batch import classify_stream

    model, gazetteer = _model(args), _gazetteer(args)
    source = sys.stdin.buffer if args.input == "-" else None
    try:
        source = source or open(args.input, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {args.input}: {exc.strerror}") from None
    sink = (
        sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8", newline="")
    )  # noqa: SIM115
    try:
        report = classify_stream(
            source,
            sink,
            model,
            gazetteer,
            args.format,
            bad=lambda number, reason: args.stderr(f"{args.input}:{number}: skipped: {reason}"),
        )
    finally:
        if source is not sys.stdin.buffer:
            source.close()
        if sink is not sys.stdout:
            sink.close()
    args.progress(
        f"{report.classified} classified, {report.rejected} skipped, with {model.version}"
    )
    return EXIT_OK
