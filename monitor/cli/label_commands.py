"""`monitor labels import|list|export`: an office's own labelled records, in and out of
the database. Each action calls one function of monitor.office_labels. `monitor review
export FILE`: a batch of posts to label, which `monitor labels import` reads back."""

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
    if report.not_reviewed:
        print(
            f"{path.name}: {report.not_reviewed:,} rows not marked reviewed were skipped "
            "(mark a row 'ya' in the reviewed column once a person has checked it)"
        )
    if report.ignored_columns:
        print(f"{path.name}: columns not read: {', '.join(report.ignored_columns)}")
    for line, reason in report.rejected:
        print(f"{path.name}:{line}: {reason}")
    if not report.valid:
        why = (
            "no row is marked reviewed"
            if report.not_reviewed and not report.rejected
            else "no valid label found"
        )
        args.stderr(f"monitor: {path.name}: {why}; nothing was stored")
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


def cmd_review(args: argparse.Namespace) -> int:
    """`monitor review export FILE`: the posts to look at first, for a spreadsheet."""
    from monitor.classify.locate import model_version
    from monitor.review import ReviewFileError, complaint_threshold, review_batch, write_batch
    from monitor.secrets import secret_values
    from monitor.store import Store

    config = load(args)
    path = Path(args.file)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(
            f"{path.name}: unknown file type '{path.suffix}'; write the batch to a .csv or "
            ".xlsx file"
        )
    if args.n < 1:
        raise UsageError(f"--n {args.n}: ask for at least 1 post")
    if not Path(config.database).is_file():
        raise UsageError(
            f"no database at {config.database} yet: run 'monitor run' (or 'monitor process') "
            "first, or name the database with --db"
        )
    with Store.open(config.database, secret_values(config)) as store:
        try:
            version = model_version(store=store)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        threshold = complaint_threshold(store=store)
        batch = review_batch(store, version, threshold, args.n)
    try:
        write_batch(path, batch, version, config.timezone)
    except ReviewFileError as exc:
        raise UsageError(str(exc)) from None
    sectors = ", ".join(f"{sector} {count}" for sector, count in batch.sectors()) or "none"
    print(
        f"wrote {len(batch.posts):,} posts to {args.file} "
        f"(from {batch.candidates:,} candidates; sectors: {sectors})"
    )
    if not batch.candidates:
        print(
            f"No post analysed by model {version} is waiting for review: run 'monitor run' "
            "or 'monitor process' first."
        )
    return EXIT_OK
