"""The commands that collect, store and report: each calls one library function and
prints what it did. The library is imported inside each command, so that a command
loads only what it uses and `monitor --help` loads none of it."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from monitor.cli.common import (
    EXIT_OK,
    EXIT_SOURCES_FAILED,
    UsageError,
    chosen_sources,
    load,
)


def cmd_init(args: argparse.Namespace) -> int:
    from monitor.config import example_config_text, load_config

    path = Path(args.path)
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example_config_text(), encoding="utf-8")
    load_config(path)  # the shipped example must always be valid
    print(f"Wrote {path}: the documented Kota Kupang / NTT example.")
    print("Next: enable the sources you have credentials for, then run 'monitor doctor'")
    print(f"and 'monitor --config {path} run'.")
    return EXIT_OK


def _print_run(report) -> None:
    print(
        f"Run {report.run_id}: {sum(s.new for s in report.sources)} new posts from "
        f"{len(report.sources)} source(s), {report.processed} processed."
    )
    for path in report.digest_paths:
        print(f"Digest: {path}")
    for source in report.failed_sources:
        print(f"SOURCE FAILED: {source.source}: {source.error}")
    for problem in report.errors:
        print(f"PROBLEM: {problem}")


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.pipeline import check_digest_day, run

    config = load(args)
    try:
        day = check_digest_day(config, getattr(args, "date", None))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report = run(
        config,
        command=args.command,
        sources=chosen_sources(config, getattr(args, "source", None)),
        digest_day=day,
        progress=args.progress,
    )
    _print_run(report)
    if report.failed_sources or report.errors:
        return EXIT_SOURCES_FAILED
    if not any(source.enabled for source in config.sources) and args.command == "run":
        args.stderr(
            "monitor: no source is enabled, so nothing was collected; the digest says its "
            "data is incomplete. Set enabled = true on a source in the config."
        )
        return EXIT_SOURCES_FAILED
    if config.operations.heartbeat_url:
        from monitor.operations import ping_heartbeat

        ping_heartbeat(config)  # logs its own warning; a down monitor never fails the run
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    from monitor.pipeline import collect_job

    config = load(args)
    results = collect_job(config, chosen_sources(config, args.source), progress=args.progress)
    failed = [r for r in results if r.error]
    print(f"Collected {sum(r.new for r in results)} new posts from {len(results)} source(s).")
    for result in failed:
        print(f"SOURCE FAILED: {result.source}: {result.error}")
    return EXIT_SOURCES_FAILED if failed else EXIT_OK


def cmd_process(args: argparse.Namespace) -> int:
    from monitor.pipeline import process_job

    count, days = process_job(load(args), progress=args.progress)
    print(f"Processed {count} posts; {len(days)} day(s) re-aggregated.")
    return EXIT_OK


def cmd_digest(args: argparse.Namespace) -> int:
    from monitor.pipeline import check_digest_day, digest_job

    config = load(args)
    try:
        day = check_digest_day(config, args.date)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for path in digest_job(config, day):
        print(f"Digest: {path}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from monitor.importing import ImportSourceError, import_file

    config = load(args)
    try:
        done = import_file(config, Path(args.file), args.source, progress=args.progress)
    except ImportSourceError as exc:
        raise UsageError(str(exc)) from None
    name = done.path.name
    if done.result is None:
        print(f"{name}: already imported, unchanged; nothing to do.")
        return EXIT_OK
    result = done.result
    print(
        f"{name}: {result.fetched} rows read, {result.new} new, "
        f"{result.duplicates} already stored, {result.rejected} rejected."
    )
    for reason in result.rejections[:20]:
        print(f"  rejected: {reason}")
    if result.rejected > 20:
        print(f"  ... and {result.rejected - 20} more (see 'monitor doctor' / the runs table)")
    if result.error:
        print(f"IMPORT FAILED: {result.error}")
        return EXIT_SOURCES_FAILED
    return EXIT_OK


def _shown(path: Path) -> str:
    """Short where it can be: relative to the current folder."""
    relative = os.path.relpath(path.resolve())
    return str(path.resolve()) if relative.startswith("..") else relative


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo import DemoFolderInUse, run_demo

    try:
        demo = run_demo(Path(args.dir), progress=args.progress)
    except DemoFolderInUse as exc:
        raise UsageError(str(exc)) from None
    config = _shown(demo.config_path)
    print(
        f"Demo: {demo.posts} invented posts over the last 30 days, "
        f"{demo.complaints} classified as complaints, {demo.tied_to_agency} tied to an agency."
    )
    print(f"Digest:   {_shown(demo.digest)}")
    print("          the daily digest for Ombudsman staff (the .txt beside it is the e-mail text)")
    print(f"Site:     {_shown(demo.site_pages[0])}")
    print(f"          {demo.agency_pages} agency trend pages, each with its CSV and JSON downloads")
    print(f"Database: {_shown(demo.database)}")
    print(f"Config:   {config}")
    print("Open the digest and the site in a browser. Every command works on the demo, e.g.")
    print(f"  monitor --config {config} doctor")
    print(f"  monitor --config {config} trend --agency rsud-sk-lerik --format csv")
    return EXIT_OK


def cmd_trend(args: argparse.Namespace) -> int:
    from monitor.classify import model_version
    from monitor.pipeline import open_store
    from monitor.report.digest import write_atomic
    from monitor.report.trend import build_trend, render_trend

    config = load(args)
    try:
        with open_store(config) as store:
            trend = build_trend(config, store, model_version(store=store), args.agency, args.weeks)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    text = render_trend(trend, args.format)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        write_atomic(Path(args.output), text)
        print(f"Trend {trend.agency_name}: {args.output}")
    return EXIT_OK


def cmd_site(args: argparse.Namespace) -> int:
    from monitor.classify import model_version
    from monitor.pipeline import open_store
    from monitor.report.site import build_site

    config = load(args)
    try:
        with open_store(config) as store:
            paths = build_site(
                config, store, model_version(store=store), Path(args.out), args.weeks
            )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"Site: {paths[0]} ({len(paths)} files)")
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace) -> int:
    from monitor.scheduler import Scheduler

    Scheduler(load(args), progress=args.progress).run_forever()
    return EXIT_OK


def cmd_serve_ingest(args: argparse.Namespace) -> int:
    from monitor.ingest import make_server
    from monitor.service import wait_for_stop_signal

    config = load(args)
    secret = os.environ.get(config.ingest.secret_env, "").encode()
    try:
        server = make_server(config, secret, args.port)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {config.ingest.host}:{args.port or config.ingest.port}: "
            f"{exc.strerror}; choose another [ingest] port or --port"
        ) from None
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    worker.start()
    args.progress(f"taking posts at {server.url}/ingest (Ctrl-C stops)")
    try:
        wait_for_stop_signal()
    finally:
        server.shutdown()
        worker.join()
        server.server_close()
        args.progress("serve-ingest stopped")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from monitor.doctor import needs_a_person, run_doctor

    checks = run_doctor(load(args))
    width = max(len(c.area) for c in checks)
    for check in checks:
        print(f"{check.area:<{width}}  {check.status:<5} {check.detail}")
    problems = sum(c.status == "FAIL" for c in checks)
    print("doctor: " + ("all good" if not problems else f"{problems} thing(s) need a person"))
    return EXIT_SOURCES_FAILED if needs_a_person(checks) else EXIT_OK


def _print_outbox(rows: list) -> None:
    if not rows:
        print("The outbox is empty: no digest e-mail queued.")
        return
    width = max(len(row["scope"]) for row in rows)
    print(f"{'DAY':<10}  {'SCOPE':<{width}}  {'STATUS':<11}  TRIES  SENT AT")
    for row in rows:
        print(
            f"{row['day']:<10}  {row['scope']:<{width}}  {row['status']:<11}  "
            f"{row['attempts']:>5}  {row['sent_at'] or '-'}"
        )
        if row["status"] != "sent" and row["last_error"]:
            print(f"    {row['last_error']}")


def cmd_outbox(args: argparse.Namespace) -> int:
    from monitor.operations import drop_job, outbox_listing, resend_job
    from monitor.report.mail import OutboxError

    config = load(args)
    action = args.action or "list"
    if action == "list":
        _print_outbox(outbox_listing(config, everything=args.all))
        return EXIT_OK
    try:
        if action == "drop":
            row = drop_job(config, args.day, args.scope)
            print(
                f"Dropped the digest e-mail {row['day']}/{row['scope']}: it will not be sent. "
                f"'monitor outbox resend {row['day']}"
                + ("" if row["scope"] == "all" else f" --scope {row['scope']}")
                + "' still can."
            )
            return EXIT_OK
        row, report = resend_job(config, args.day, args.scope)
    except OutboxError as exc:
        raise UsageError(str(exc)) from None
    label = f"{row['day']}/{row['scope']}"
    if row["status"] == "sent":
        print(f"Resent the digest e-mail {label}: the mail server took it.")
    elif row["status"] == "pending":
        print(f"NOT SENT: the digest e-mail {label} is queued again; the next run tries again.")
    else:
        print(f"NOT CONFIRMED: the digest e-mail {label} is {row['status']} again.")
    others = report.sent - (row["status"] == "sent")
    if others > 0:
        print(f"Also sent {others} other digest e-mail(s) that were waiting.")
    for problem in report.errors:
        print(f"PROBLEM: {problem}")
    return EXIT_OK if row["status"] == "sent" and not report.errors else EXIT_SOURCES_FAILED


def cmd_purge(args: argparse.Namespace) -> int:
    from monitor.operations import purge_job

    print(purge_job(load(args)).summary())
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from monitor.operations import BackupError, backup

    config = load(args)
    try:
        path = backup(config, Path(args.path), overwrite=args.overwrite)
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    print(f"Backup: {path}")
    return EXIT_OK
