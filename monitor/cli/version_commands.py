"""`monitor model list|activate VERSION|rollback`: which model version the database
uses. Each action calls one function of monitor.classify.versions or
monitor.activation; the parser entries are here too (``add_model_parser``), so the
argument parser stays one call long for them."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from monitor.cli.common import EXIT_OK, UsageError, action_parsers, load

MODEL_HELP = """\
The model versions this database can use, and which one it uses.

  monitor model list              the versions there are; * marks the one in use
  monitor model activate VERSION  use VERSION from now on
  monitor model rollback          go back to the version in use before

Versions are the models shipped with the package and those in the 'models'
folder beside the database, where 'monitor train' writes them.
Every command that classifies (run, process, schedule, digest, classify,
evaluate) uses the database's active model, and trend, site and review show its
results; with none activated, the newest shipped one. $MONITOR_MODEL_DIR, or
--model on evaluate and classify, overrides it.

Activating analyses the posts of the last [model] reanalyse_days days (30 unless
set) with the new model, then recounts those days and records the activation in
one transaction: older days keep the analyses and counts they have. It takes the
run lock (exit 3 while another run works) and is recorded in the runs table. If it
is killed part-way, the old model stays active with its counts untouched; running
it again goes on where it stopped.

  monitor model list
  monitor model activate id-20261215-1a2b3c4d --reason "trained with office labels"
  monitor model rollback"""


def add_model_parser(
    add: Callable[..., argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    epilog: str,
) -> None:
    """The `model` command and its actions, added with the parser's own ``add``."""
    p = add(
        "model",
        cmd_model,
        "list the model versions, activate one, or roll back",
        MODEL_HELP,
    )
    action = action_parsers(p, common, epilog)

    action(
        "list",
        "the model versions there are; * marks the one in use (the default)",
        "The shipped models and those in the data folder's models/ with their blind-set\n"
        "scores, and the database's activations, newest first.",
    )
    a = action(
        "activate",
        "use VERSION from now on (re-analyses the last reanalyse_days days)",
        "Make VERSION the database's model: analyse the posts of the last [model]\n"
        "reanalyse_days days with it, then recount those days and record the activation\n"
        "in one transaction. Older days keep their analyses and counts. Killed part-way,\n"
        "the old model stays active; running it again goes on where it stopped.\n\n"
        "  monitor model activate id-20261215-1a2b3c4d --reason 'retrained with office labels'",
    )
    a.add_argument("version", metavar="VERSION", help="a version from 'monitor model list'")
    a.add_argument("--reason", default="", help="why, kept with the activation (optional)")
    a.add_argument("--by", metavar="NAME", help="who activates (default: the login name)")
    a = action(
        "rollback",
        "go back to the version in use before the active one",
        "Activate again the version that was in use before the active one, the same way\n"
        "'monitor model activate' does (the last reanalyse_days days re-analysed where\n"
        "needed, then recounted). Refused when no model was ever activated here.",
    )
    a.add_argument("--by", metavar="NAME", help="who rolls back (default: the login name)")


def cmd_model(args: argparse.Namespace) -> int:
    actions = {"list": _list, "activate": _activate, "rollback": _rollback}
    return actions[args.action or "list"](args)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _list(args: argparse.Namespace) -> int:
    import os

    from monitor.classify.locate import MODEL_DIR_ENV
    from monitor.classify.versions import list_models, models_dir
    from monitor.secrets import secret_values
    from monitor.store import Store

    config = load(args)
    store = None
    if config.database.is_file():
        store = Store.open(config.database, secret_values(config))
    try:
        entries = list_models(config, store)
        history = store.model_activations() if store is not None else []
    finally:
        if store is not None:
            store.close()
    header = ("", "version", "where", "trained", "complaint F1", "sector F1", "topic F1", "office")
    rows = [header]
    for e in entries:
        rows.append(
            (
                "*" if e.active else "",
                e.version,
                e.where,
                e.trained_at[:10] or "-",
                _number(e.complaint_f1),
                _number(e.sector_macro_f1),
                _number(e.topic_micro_f1),
                "-" if e.office_labels is None else str(e.office_labels),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    if not entries:
        print(f"(no model found: none shipped and none in {models_dir(config)})")
    print("F1 scores are on the blind set; office = office labels it was trained with.")
    print(f"Data folder models: {models_dir(config)}")
    if history:
        current = history[0]
        if not any(e.active for e in entries):
            print(f"ACTIVE MODEL NOT FOUND: {current.version} in {current.folder}")
        print("Activations, newest first:")
        for step in history[:10]:
            reason = f", {step.reason}" if step.reason else ""
            print(
                f"  {step.activated_at[:16].replace('T', ' ')} UTC  {step.version}  by "
                f"{step.activated_by} (before: {step.previous_version or '-'}{reason})"
            )
    else:
        print("No model was activated in this database: * is the newest shipped model.")
    if os.environ.get(MODEL_DIR_ENV):
        print(f"Note: ${MODEL_DIR_ENV} is set: commands in this shell use that folder instead.")
    return EXIT_OK


def print_activation_report(report, verb: str) -> None:
    print(f"Model {report.version} {verb} (before: {report.previous_version}).")
    print(
        f"Re-analysis window {report.first_day.isoformat()} to {report.last_day.isoformat()}: "
        f"{report.posts_reanalysed:,} posts analysed, {report.days_recounted} days recounted."
    )
    print(
        f"Complaints in those days: {report.complaints_before:,} before, "
        f"{report.complaints_after:,} now."
    )
    print("Older days keep the analyses and counts they had; 'monitor model rollback' undoes it.")


def _activate(args: argparse.Namespace) -> int:
    from monitor.activation import ActivationError, activate_model

    config = load(args)
    try:
        report = activate_model(
            config, args.version, args.by or "", progress=args.progress, reason=args.reason
        )
    except ActivationError as exc:
        raise UsageError(str(exc)) from None
    print_activation_report(report, "is now active")
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    from monitor.activation import ActivationError, rollback_model

    config = load(args)
    try:
        report = rollback_model(config, args.by or "", progress=args.progress)
    except ActivationError as exc:
        raise UsageError(str(exc)) from None
    print_activation_report(report, "is active again")
    return EXIT_OK
