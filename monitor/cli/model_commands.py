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


EXIT_REFUSED = 4  # `train --activate`: the model was written, the gate refused it


def cmd_train(args: argparse.Namespace) -> int:
    from monitor.classify import load_model, train_model
    from monitor.classify.samples import samples_dir
    from monitor.office_training import OfficeSet

    paths = [Path(p) for p in args.samples] or sorted(samples_dir().glob("*.jsonl"))
    paths = [q for p in paths for q in (sorted(p.glob("*.jsonl")) if p.is_dir() else [p])]
    if not paths:
        raise UsageError("no labeled samples found; pass --samples FILE_OR_DIR")
    if args.blind and not Path(args.blind).is_file():
        raise UsageError(f"--blind {args.blind}: no such file")
    config = load(args) if (args.activate or config_path(args).exists()) else None
    office, active = None, None
    if config is not None and Path(config.database).is_file():
        from monitor.secrets import secret_values
        from monitor.store import Store

        with Store.open(config.database, secret_values(config)) as store:
            if not args.no_office_labels:
                office = OfficeSet.of(list(store.office_labels()))
            try:
                active = load_model(store=store)
            except Exception as exc:  # a broken active model: compare with nothing
                args.stderr(f"the active model cannot be loaded, not compared: {exc}")
    else:
        active = load_model()
    out = _train_out(args, config)
    if args.activate and not office:
        raise UsageError(
            "--activate compares the new model with the active one on the office's own "
            "labels, and the database holds none: import some first (monitor labels "
            "import FILE), or train without --activate and use 'monitor model activate'"
        )
    if args.activate and active is not None:
        from monitor.office_training import trained_keys

        seen = trained_keys(getattr(active, "folder", None))
        if office and seen.issuperset(office.keys):
            raise UsageError(
                f"--activate: every office label in the database was used to train the active "
                f"model {active.version}, so none is left to compare a new model on. Import or "
                "review new labels first (monitor review export, monitor labels import)"
            )
    if office and config is not None:
        args.progress(f"training with {len(office):,} office labels from {config.database}")
    try:
        trained = train_model(
            paths,
            out,
            args.version,
            args.folds,
            args.progress,
            blind_path=Path(args.blind) if args.blind else None,
            office=office,
            office_folds=args.office_folds,
            active=active,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    model, folder = trained.model, trained.folder
    print(f"Model {model.version} written to {folder}")
    print()
    print(trained.comparison)
    if "routing" in model.card["metrics"]:
        print(f"Routing set: {model.card['metrics']['routing']['accuracy']:.1%} routed right")
    print(f"Details: {folder / 'comparison.md'}, {folder / 'MODEL_CARD.md'}")
    if not args.activate:
        return EXIT_OK
    return _gate_and_activate(args, config, trained, active)


def _train_out(args: argparse.Namespace, config) -> Path:
    """--out, else the data folder's models folder (with a config), else models/."""
    if args.out:
        return Path(args.out)
    if config is not None:
        from monitor.classify.versions import models_dir

        return models_dir(config)
    return Path("models")


def _gate_and_activate(args: argparse.Namespace, config, trained, active) -> int:
    from monitor.activation import ActivationError, activate_model, default_user
    from monitor.cli.version_commands import print_activation_report
    from monitor.office_training import gate, trained_keys

    office = trained.office
    decision = gate(
        office,
        trained.held_out,
        trained.active_answers,
        trained_keys(getattr(active, "folder", None)),
        active.version,
    )
    print(decision.text())
    (trained.folder / "gate.txt").write_text(decision.text() + "\n", encoding="utf-8")
    if not decision.passed:
        args.stderr(
            f"monitor: {trained.model.version} was not activated; it stays in "
            f"{trained.folder} ('monitor model activate {trained.model.version}' "
            "activates it anyway)"
        )
        return EXIT_REFUSED
    try:
        report = activate_model(
            config,
            trained.model.version,
            by=default_user(),
            progress=args.progress,
            reason=f"monitor train --activate: {decision.reason}",
        )
    except ActivationError as exc:
        raise UsageError(str(exc)) from None
    print_activation_report(report, "is now active")
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
