"""`monitor labels import|list|export`: an office's own labelled records, in and out of
the database. Each action calls one function of monitor.office_labels."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.cli.common import EXIT_OK, EXIT_USAGE, UsageError, load


def cmd_labels(args: argparse.Namespace) -> int:
    actions = {"import": _import, "list": _list, "export": _export}
    return actions[args.action or "list"](args)


def _import(args: argparse.Namespace) -> int:
    from monitor.office_labels import LabelFileError, import_label_file

    config = load(args)
    path = Path(args.file)
    try:
        report = import_label_file(
            config,
            path,
            columns=args.column or (),
            category_map=Path(args.map) if args.map else None,
            imported_by=args.by,
        )
    except (LabelFileError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"{path.name}: {report.read:,} rows read, {report.stored:,} labels stored, "
        f"{report.already_imported:,} already imported, {len(report.rejected):,} rejected"
    )
    if report.ignored_columns:
        print(f"{path.name}: columns not read: {', '.join(report.ignored_columns)}")
    for line, reason in report.rejected:
        print(f"{path.name}:{line}: {reason}")
    if not report.valid:
        args.stderr(f"monitor: {path.name}: no valid label found; nothing was stored")
        return EXIT_USAGE
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from monitor.labels import sector_name
    from monitor.office_labels import label_summary
    from monitor.secrets import secret_values
    from monitor.store import Store

    config = load(args)
    with Store.open(config.database, secret_values(config)) as store:
        summary = label_summary(store)
    print(f"Office labels: {summary.total:,}")
    if not summary.total:
        print("None imported yet: monitor labels import FILE")
        return EXIT_OK
    print("By source file:")
    for name, count in summary.by_file:
        print(f"  {count:>8,}  {name}")
    print("By sector:")
    for key, count in summary.by_sector:
        shown = f"{key} ({sector_name(key)})" if key else "(no sector)"
        print(f"  {count:>8,}  {shown}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from monitor.office_labels import LabelFileError, export_labels
    from monitor.secrets import secret_values
    from monitor.store import Store

    config = load(args)
    with Store.open(config.database, secret_values(config)) as store:
        try:
            written = export_labels(store, Path(args.file))
        except LabelFileError as exc:
            raise UsageError(str(exc)) from None
    print(f"{args.file}: {written:,} labels written")
    return EXIT_OK
