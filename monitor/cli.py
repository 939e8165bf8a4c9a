"""The `monitor` command: parses arguments, calls the library, maps results to exit codes.

Exit codes: 0 success; 1 the run finished but some sources failed (or doctor
found something that needs a person); 2 usage, config or database error; 3
another run holds the lock.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sqlite3
import sys
import threading
from datetime import date
from pathlib import Path

from monitor import __version__
from monitor.config import (
    Config,
    ConfigError,
    SourceConfig,
    example_config,
    example_config_text,
    load_config,
)
from monitor.pipeline import (
    RunLocked,
    check_digest_day,
    collect_job,
    digest_job,
    process_job,
    run,
)
from monitor.store import StoreError

EXIT_OK = 0
EXIT_SOURCES_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3

DEFAULT_CONFIG = "monitor.toml"
DEMO_DIR = "monitor-demo"
DEMO_REGION = "kota-kupang"  # where the bundled invented posts are set

log = logging.getLogger("monitor")


class UsageError(Exception):
    pass


_STDERR_JSON = False  # set by main() for --log-format json


def _stderr(message: str, level: str = "INFO") -> None:
    """A progress line or a refusal on stderr: plain text, or one JSON object per line
    with --log-format json (so a log collector reads all of stderr alike)."""
    if _STDERR_JSON:
        from monitor.logsetup import json_line

        message = json_line(message, level, "monitor.cli")
    print(message, file=sys.stderr, flush=True)


def _error(message: str) -> None:
    _stderr(message, "ERROR")


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def _load(args: argparse.Namespace) -> Config:
    path = _config_path(args)
    if not path.exists() and not args.config and not os.environ.get("MONITOR_CONFIG"):
        raise UsageError(
            f"no config file {path} here. Create one with 'monitor init' (it writes the "
            "documented Kota Kupang example), or pass --config PATH. To try the tool "
            "without any config, run 'monitor demo'."
            + (
                f" The demo's own config is {DEMO_DIR}/monitor.toml: add "
                f"--config {DEMO_DIR}/monitor.toml."
                if (Path(DEMO_DIR) / "monitor.toml").is_file()
                else ""
            )
        )
    config = load_config(path)
    if args.db:
        config.database = Path(args.db)
    _setup_logging(args, config)
    return config


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date YYYY-MM-DD") from None


def _chosen_sources(config: Config, names: list[str] | None) -> list[SourceConfig] | None:
    if not names:
        return None
    return [config.source(name) for name in names]


def _print_run(report) -> None:
    out = sys.stdout
    failed = report.failed_sources
    print(
        f"Run {report.run_id}: {sum(s.new for s in report.sources)} new posts from "
        f"{len(report.sources)} source(s), {report.processed} processed.",
        file=out,
    )
    for path in report.digest_paths:
        print(f"Digest: {path}", file=out)
    for source in failed:
        print(f"SOURCE FAILED: {source.source}: {source.error}", file=out)
    for problem in report.errors:
        print(f"PROBLEM: {problem}", file=out)


# --- commands -------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
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


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    try:
        day = check_digest_day(config, getattr(args, "date", None))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report = run(
        config,
        command=args.command,
        sources=_chosen_sources(config, getattr(args, "source", None)),
        digest_day=day,
        progress=args.progress,
    )
    _print_run(report)
    if report.failed_sources or report.errors:
        return EXIT_SOURCES_FAILED
    if not any(source.enabled for source in config.sources) and args.command == "run":
        _stderr(
            "monitor: no source is enabled, so nothing was collected; the digest says its "
            "data is incomplete. Set enabled = true on a source in the config."
        )
        return EXIT_SOURCES_FAILED
    if config.operations.heartbeat_url:
        from monitor.operations import ping_heartbeat

        ping_heartbeat(config)  # logs its own warning; a down monitor never fails the run
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    config = _load(args)
    results = collect_job(config, _chosen_sources(config, args.source), progress=args.progress)
    failed = [r for r in results if r.error]
    print(f"Collected {sum(r.new for r in results)} new posts from {len(results)} source(s).")
    for result in failed:
        print(f"SOURCE FAILED: {result.source}: {result.error}")
    return EXIT_SOURCES_FAILED if failed else EXIT_OK


def cmd_process(args: argparse.Namespace) -> int:
    count, days = process_job(_load(args), progress=args.progress)
    print(f"Processed {count} posts; {len(days)} day(s) re-aggregated.")
    return EXIT_OK


def cmd_digest(args: argparse.Namespace) -> int:
    config = _load(args)
    try:
        day = check_digest_day(config, args.date)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for path in digest_job(config, day):
        print(f"Digest: {path}")
    return EXIT_OK


DEMO_MARKER = ".monitor-demo"
DEMO_MADE = (
    "monitor.toml",
    "monitor.db",
    "monitor.db-wal",
    "monitor.db-shm",
    "monitor.db.lock",
    "reports",
    "site",
)
DEMO_CONFIG_HEADER = """\
# Made by 'monitor demo': the shipped example config, plus one source that replays
# the bundled invented posts. Every command works on the demo with
#   monitor --config {path} COMMAND
# Running 'monitor demo' again deletes and remakes this file.
"""


def _clear_demo_folder(folder: Path) -> None:
    """Remove what an earlier demo made in ``folder``, and only that.

    The demo writes a marker file in its folder; without the marker it never deletes
    anything: a folder that already holds a database or reports is someone's data (an
    operator trying the demo in the production folder), and the demo refuses to start.
    """
    found = [name for name in DEMO_MADE if (folder / name).exists()]
    if found and not (folder / DEMO_MARKER).is_file():
        raise UsageError(
            f"{folder} already holds {', '.join(found)}, not made by 'monitor demo'; the demo "
            "deletes nothing it did not make. Choose an empty folder: monitor demo --dir "
            "FOLDER"
        )
    for name in found:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).write_text(
        "Made by 'monitor demo': the demo may delete what it made here: "
        + ", ".join(DEMO_MADE)
        + ".\n",
        encoding="utf-8",
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.classify import load_model
    from monitor.report.site import build_site
    from monitor.store import Store

    folder = Path(args.dir)
    _clear_demo_folder(folder)
    # A real config file, so that every command works on the demo afterwards.
    config_path = folder / "monitor.toml"
    config_path.write_text(
        DEMO_CONFIG_HEADER.format(path=config_path)
        + example_config_text()
        + '\n[[sources]]\nname = "demo"\ntype = "replay"    # the bundled invented posts\n'
        f'region = "{DEMO_REGION}"\nschedule = "every 60m"\n',
        encoding="utf-8",
    )
    config = load_config(config_path)
    report = run(config, command="demo", progress=args.progress)
    site = folder / "site"
    with Store.open(config.database) as store:
        complaints = store.complaint_counts()
        pages = build_site(config, store, load_model().version, site)

    def shown(path: Path | str) -> str:  # short where it can be: relative to here
        relative = os.path.relpath(Path(path).resolve())
        return str(Path(path).resolve()) if relative.startswith("..") else relative

    print(
        f"Demo: {sum(s.new for s in report.sources)} invented posts over the last 30 days, "
        f"{complaints[0]} classified as complaints, {complaints[1] or 0} tied to an agency."
    )
    print(f"Digest:   {shown(report.digest_paths[0])}")
    print("          the daily digest for Ombudsman staff (the .txt beside it is the e-mail text)")
    print(f"Site:     {shown(pages[0])}")
    agency_pages = sum(1 for p in pages if p.suffix == ".html") - 1
    print(f"          {agency_pages} agency trend pages, each with its CSV and JSON downloads")
    print(f"Database: {shown(config.database)}")
    print(f"Config:   {shown(config_path)}")
    print("Open the digest and the site in a browser. Every command works on the demo, e.g.")
    print(f"  monitor --config {shown(config_path)} doctor")
    print(f"  monitor --config {shown(config_path)} trend --agency rsud-sk-lerik --format csv")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from monitor.doctor import needs_a_person, run_doctor

    checks = run_doctor(_load(args))
    width = max(len(c.area) for c in checks)
    for check in checks:
        print(f"{check.area:<{width}}  {check.status:<5} {check.detail}")
    problems = sum(c.status == "FAIL" for c in checks)
    print("doctor: " + ("all good" if not problems else f"{problems} thing(s) need a person"))
    return EXIT_SOURCES_FAILED if needs_a_person(checks) else EXIT_OK


def cmd_outbox(args: argparse.Namespace) -> int:
    from monitor.operations import drop_job, outbox_listing, resend_job
    from monitor.report.mail import OutboxError

    config = _load(args)
    action = args.action or "list"
    if action == "list":
        rows = outbox_listing(config, everything=args.all)
        if not rows:
            print("The outbox is empty: no digest e-mail queued.")
            return EXIT_OK
        width = max(len(row["scope"]) for row in rows)
        print(f"{'DAY':<10}  {'SCOPE':<{width}}  {'STATUS':<11}  TRIES  SENT AT")
        for row in rows:
            print(
                f"{row['day']:<10}  {row['scope']:<{width}}  {row['status']:<11}  "
                f"{row['attempts']:>5}  {row['sent_at'] or '-'}"
            )
            if row["status"] != "sent" and row["last_error"]:
                print(f"    {row['last_error']}")
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


def cmd_import(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from monitor.collectors.file_import import already_imported
    from monitor.store import Store

    config = _load(args)
    candidates = [s for s in config.sources if s.type == "file_import"]
    if args.source:
        source = config.source(args.source)
        if source.type != "file_import":
            raise UsageError(f"source '{source.name}' is of type {source.type}, not file_import")
    elif len(candidates) == 1:
        source = candidates[0]
    else:
        names = ", ".join(s.name for s in candidates) or "none configured"
        raise UsageError(f"name the file_import source with --source (configured: {names})")
    path = Path(args.file).resolve()
    source = replace(source, path=str(path))
    if config.database.exists():
        with Store.open(config.database) as store:
            if already_imported(path, source, store.get_cursor(source.name)):
                print(f"{path.name}: already imported, unchanged; nothing to do.")
                return EXIT_OK
    [result] = collect_job(config, [source], command="import", progress=args.progress)
    print(
        f"{path.name}: {result.fetched} rows read, {result.new} new, "
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


def _gazetteer(args: argparse.Namespace):
    """The config's gazetteer when there is a config, else the shipped example's."""
    from monitor.agencies import Gazetteer

    path = _config_path(args)
    config = _load(args) if path.exists() else example_config(Path.cwd())
    return Gazetteer(config.agencies, config.regions, config.default_region)


def _model(args: argparse.Namespace):
    from monitor.classify import load_model

    return load_model(Path(args.model) if getattr(args, "model", None) else None)


def cmd_train(args: argparse.Namespace) -> int:
    from monitor.classify import train_model
    from monitor.classify.samples import samples_dir

    paths = [Path(p) for p in args.samples] or sorted(samples_dir().glob("*.jsonl"))
    paths = [q for p in paths for q in (sorted(p.glob("*.jsonl")) if p.is_dir() else [p])]
    if not paths:
        raise UsageError("no labeled samples found; pass --samples FILE_OR_DIR")
    try:
        model, evaluation, folder = train_model(
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

    model = _model(args)
    if not hasattr(model, "heads"):
        raise UsageError("no trained model to evaluate; run 'monitor train' or pass --model")
    data = Path(args.data) if args.data else blind_set_path()
    if not data.exists():
        raise UsageError(f"{data} does not exist; pass --data FILE (labeled JSONL)")
    report = load_samples([data])
    for problem in report.problems[:20]:
        _stderr(f"skipped: {problem}")
    if not report.samples:
        raise UsageError(f"{data}: no valid labeled lines")
    what = str(data) if args.data else "blind set"
    source = f"{len(report.samples)} posts of the {what}"
    args.progress(f"testing {model.version} on {len(report.samples)} posts ...")
    evaluation = evaluate_model(model, report.samples, source)
    baseline = evaluate_model(KeywordBaseline(), report.samples, source)
    columns = [
        (f"{what}: this model", evaluation.summary()),
        (f"{what}: keyword rule", baseline.summary()),
    ]
    if args.cv:
        samples = load_samples(sorted(samples_dir().glob("*.jsonl")))
        if samples.problems:
            raise UsageError("invalid labeled samples; run python scripts/check_samples.py")
        cv, _ = cross_validate(samples.samples, args.folds, args.progress)
        columns.append(("cross-validation (rerun)", cv.summary()))
    elif "cross_validation" in model.card.get("metrics", {}):
        card_cv = model.card["metrics"]["cross_validation"]
        columns.append(
            (
                "cross-validation (model card)",
                {k: v for k, v in card_cv.items() if isinstance(v, float)},
            )
        )
    parts = [
        f"# Evaluation of {model.version}",
        "",
        comparison_markdown(columns),
        "",
    ]
    routing_path = Path(args.routing) if args.routing else routing_set_path()
    if routing_path.exists():
        config = _load(args) if args.routing_config else None
        routing, problems = score_routing_set(model, routing_path, config)
        for problem in problems[:20]:
            _stderr(f"skipped: {problem}")
        parts += [routing_markdown(routing), ""]
    parts.append(to_markdown(evaluation, model.version).replace("# Evaluation", "# Details", 1))
    markdown = "\n".join(parts)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"evaluation-{model.version}"
    stem.with_suffix(".md").write_text(markdown, encoding="utf-8")
    stem.with_suffix(".html").write_text(to_html(evaluation, model.version), encoding="utf-8")
    print(markdown)
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
            bad=lambda number, reason: _stderr(f"{args.input}:{number}: skipped: {reason}"),
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


def cmd_trend(args: argparse.Namespace) -> int:
    from monitor.classify import load_model
    from monitor.pipeline import open_store
    from monitor.report.digest import write_atomic
    from monitor.report.trend import build_trend, render_trend

    config = _load(args)
    try:
        with open_store(config) as store:
            trend = build_trend(config, store, load_model().version, args.agency, args.weeks)
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
    from monitor.classify import load_model
    from monitor.pipeline import open_store
    from monitor.report.site import build_site

    config = _load(args)
    try:
        with open_store(config) as store:
            paths = build_site(config, store, load_model().version, Path(args.out), args.weeks)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"Site: {paths[0]} ({len(paths)} files)")
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    from monitor.operations import purge_job

    print(purge_job(_load(args)).summary())
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from monitor.operations import BackupError, backup

    config = _load(args)
    try:
        path = backup(config, Path(args.path), overwrite=args.overwrite)
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    print(f"Backup: {path}")
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace) -> int:
    from monitor.scheduler import Scheduler

    Scheduler(_load(args), progress=args.progress).run_forever()
    return EXIT_OK


def cmd_serve_ingest(args: argparse.Namespace) -> int:
    from monitor.ingest import make_server
    from monitor.service import wait_for_stop_signal

    config = _load(args)
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


# --- parser ---------------------------------------------------------------------------

DESCRIPTION = """\
Watch public-service complaints on Indonesian social media.

Typical use:
  monitor demo                         try it offline, no config needed
  monitor init                         write monitor.toml (Kota Kupang example)
  monitor doctor                       check config, credentials and database
  monitor run                          collect, process and write the digest (for cron)
  monitor site --out site/             agency trend pages, for agency staff
"""

EPILOG = """\
exit codes: 0 ok, 1 some sources failed (doctor: something needs a person),
2 usage/config/database error, 3 another run is in progress.
The config is --config PATH, else $MONITOR_CONFIG, else ./monitor.toml."""


def _global_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before and after the command name.

    After it they default to SUPPRESS, so 'monitor --config X run' keeps X.
    """

    def default(value):
        return argparse.SUPPRESS if suppress else value

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=default(None),
        help="config file (default: $MONITOR_CONFIG or ./monitor.toml)",
    )
    common.add_argument(
        "--db",
        metavar="PATH",
        default=default(None),
        help="database file, overriding the config's 'database'",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default(0),
        help="more log output (-vv for debug)",
    )
    common.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=default("text"),
        help="log lines as text (default) or JSON, one object a line",
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default(False),
        help="only errors and the final summary",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _global_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="monitor",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func, help: str, description: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help,
            description=description or help,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=EPILOG,
        )
        p.set_defaults(func=func)
        return p

    p = add(
        "init",
        cmd_init,
        "write the documented example config",
        "Write the documented Kota Kupang / NTT example config to PATH. Edit it,\n"
        "enable the sources you have credentials for, then run 'monitor doctor'.",
    )
    p.add_argument(
        "path",
        nargs="?",
        default=DEFAULT_CONFIG,
        help="where to write it (default: monitor.toml)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = add(
        "collect",
        cmd_collect,
        "fetch new posts from the sources",
        "Fetch new posts from every enabled source (or only those named with\n"
        "--source) and store them. A failing source is reported; the others go on.",
    )
    p.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="only this source (repeatable)",
    )

    add(
        "process",
        cmd_process,
        "classify new posts and update the daily counts",
        "Normalise, redact, classify and tie to an agency every post the current\n"
        "model has not seen yet, then recompute the daily counts of the days touched.",
    )

    p = add(
        "digest",
        cmd_digest,
        "write the daily digest",
        "Write the digest for one day (default: yesterday, local time) to the\n"
        "reports folder as HTML and plain text. Any past day can be re-created.",
    )
    p.add_argument(
        "--date",
        type=_parse_date,
        metavar="YYYY-MM-DD",
        help="the day (default: yesterday)",
    )

    p = add(
        "run",
        cmd_run,
        "collect, process, aggregate and write the digest (for cron)",
        "One full pass: collect from enabled sources, process new posts, update the\n"
        "daily counts and write the digest. Safe to run from cron: a second run\n"
        "while one is working exits at once with code 3.\n\n"
        "crontab example (every morning 06:30 WITA on a server set to UTC):\n"
        "  30 22 * * *  monitor --config /etc/monitor/monitor.toml run --quiet",
    )
    p.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="only this source (repeatable)",
    )
    p.add_argument(
        "--date",
        type=_parse_date,
        metavar="YYYY-MM-DD",
        help="digest day (default: yesterday)",
    )

    p = add(
        "import",
        cmd_import,
        "import posts from a CSV or JSON-lines export",
        "Read posts from FILE (Facebook/Instagram/TikTok exports, LAPOR! hand-overs,\n"
        "spreadsheets) with the column mapping of a file_import source in the config.\n"
        "Bad rows are listed with their line numbers; re-importing a file adds nothing.",
    )
    p.add_argument("file", metavar="FILE", help="the CSV or JSONL file")
    p.add_argument("--source", metavar="NAME", help="the file_import source whose mapping to use")

    p = add(
        "train",
        cmd_train,
        "train the classifier on the labeled samples",
        "Cross-validate on the labeled samples (folds keep near-duplicates together),\n"
        "fit on all of them, choose the thresholds and review band on the blind set\n"
        "(labeled_samples/blind/blind_set.jsonl, never trained on), score the blind set\n"
        "with the keyword rule beside it and the routing set, and write\n"
        "models/<version>/ with the model files, card.json (their SHA-256),\n"
        "MODEL_CARD.md and evaluation.md/.html. The same samples give the same model\n"
        "files. Takes about five minutes on 15,000 samples.",
    )
    p.add_argument(
        "--samples",
        nargs="*",
        default=[],
        metavar="PATH",
        help="JSONL files or folders (default: labeled_samples/)",
    )
    p.add_argument("--out", default="models", help="where model folders go (default: models)")
    p.add_argument("--version", help="model version (default: id-<date>-<samples hash>)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")

    p = add(
        "evaluate",
        cmd_evaluate,
        "blind-set and routing-set figures, keyword rule beside",
        "The model scored on the blind set (labeled_samples/blind/blind_set.jsonl:\n"
        "posts written apart from the training samples, two annotators agreeing),\n"
        "with the keyword rule beside it and cross-validation from the model card\n"
        "(--cv runs it again); then the routing set (labeled_samples/routing/): the\n"
        "share of posts tied to the right agency, or rightly to none, with every\n"
        "wrong route listed. Prints Markdown; writes .md and .html.\n\n"
        "  monitor evaluate\n"
        "  monitor evaluate --data hasil_label_kantor.jsonl --model models/id-...",
    )
    p.add_argument("--data", metavar="FILE", help="labeled JSONL to score instead of the blind set")
    p.add_argument("--cv", action="store_true", help="run cross-validation again (a few minutes)")
    p.add_argument("--routing", metavar="FILE", help="routing set JSONL (default: the shipped one)")
    p.add_argument(
        "--routing-config",
        action="store_true",
        help="route with the agencies of --config instead of the shipped example",
    )
    p.add_argument("--model", metavar="DIR", help="model folder (default: the shipped one)")
    p.add_argument("--out", default="reports", help="folder for the report (default: reports)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")

    p = add(
        "classify",
        cmd_classify,
        "classify posts from a file or stdin",
        'Read JSONL lines {"id": ..., "text": ...} (or CSV with id and text columns,\n'
        "--format csv; optional fields region and author) and write one result per line:\n"
        "is_complaint, complaint_score, sector, sector_score, topics, topic_scores, agency,\n"
        "agency_confidence, agency_evidence, region, needs_review, model_version; other\n"
        "input fields are passed through. A post by an agency's own handle (author) is\n"
        "never a complaint against it. Bad lines\n"
        "are reported on stderr with their line number and skipped. Streams: any size.\n\n"
        "  monitor classify --input posts.jsonl --output hasil.jsonl\n"
        "  cat posts.csv | monitor classify --input - --output - --format csv",
    )
    p.add_argument("--input", required=True, metavar="FILE", help="input file, - for stdin")
    p.add_argument("--output", required=True, metavar="FILE", help="output file, - for stdout")
    p.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="jsonl (default) or csv"
    )
    p.add_argument("--model", metavar="DIR", help="model folder (default: the shipped one)")

    add(
        "purge",
        cmd_purge,
        "apply the retention settings now",
        "Remove raw payloads older than [privacy] raw_retention_days and, when\n"
        "post_retention_days is set, whole posts older than that (their daily counts\n"
        "stay). Compacts the file when much was freed. 'monitor run' does this too.",
    )
    p = add(
        "backup",
        cmd_backup,
        "a consistent copy of the database, while runs go on",
        "Copy the database with SQLite's online backup API to PATH (a file, or a\n"
        "folder that gets monitor-YYYYMMDD-HHMMSS.db), checked with integrity_check.\n"
        "  15 23 * * *  cd /srv/monitor && monitor backup /srv/backup/",
    )
    p.add_argument("path", metavar="PATH", help="file or folder to write the copy to")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")

    p = add(
        "trend",
        cmd_trend,
        "one agency's complaints per week and topic",
        "Complaints about one agency per ISO week (Monday-Sunday, local time) and\n"
        "topic, the comparison with the period before, and the latest complaints.\n"
        "The CSV and JSON hold exactly the numbers of the page's table.\n\n"
        "  monitor trend --agency rsud-sk-lerik --weeks 12 --format csv --output lerik.csv",
    )
    p.add_argument("--agency", required=True, metavar="ID", help="agency id from the config")
    p.add_argument("--weeks", type=int, default=12, help="how many weeks (default 12)")
    p.add_argument("--format", choices=("html", "csv", "json"), default="html")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout")

    p = add(
        "site",
        cmd_site,
        "write the static site of agency trend pages",
        "An index of all agencies with sparklines and one page per agency with its\n"
        "chart, tables and CSV/JSON downloads. Plain files, no JavaScript, relative\n"
        "links: open from disk or copy to any intranet web server.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the site into")
    p.add_argument("--weeks", type=int, default=12, help="how many weeks (default 12)")

    add(
        "schedule",
        cmd_schedule,
        "run in the foreground, collecting and reporting on the config's schedule",
        "The long-running mode: each enabled source runs on its own 'schedule',\n"
        "processing every [schedule] process_every, the digest daily at\n"
        "[digest] send_time (local time). Jobs run one at a time and never\n"
        "overlap with a 'monitor run' from cron. A failing job is logged and\n"
        "recorded; the scheduler keeps going. SIGTERM or Ctrl-C finishes the\n"
        "current job and exits 0. For systemd, see README (Operations).",
    )

    p = add(
        "serve-ingest",
        cmd_serve_ingest,
        "accept signed batches of posts from partners over HTTP",
        "Listen on [ingest] host:port for POST /ingest batches in the post schema,\n"
        "signed with HMAC-SHA256 of '<timestamp>.<body>' using the shared secret in\n"
        "the environment variable named by [ingest] secret_env. Unsigned, stale,\n"
        "replayed or oversized requests are refused before parsing. See README\n"
        "(Sources: push endpoint) for a signing example.",
    )
    p.add_argument("--port", type=int, help="listen on this port instead of [ingest] port")

    p = add(
        "demo",
        cmd_demo,
        "run the whole pipeline offline on bundled invented posts",
        "Replay 300+ invented posts about Kota Kupang agencies (last 30 days) through\n"
        "the same pipeline as 'monitor run', into a fresh database in ./monitor-demo/,\n"
        "and write what the product makes: the digest for yesterday and the site with a\n"
        "trend page per agency; it prints where each is. It also writes monitor.toml there,\n"
        "so every command works on the demo (monitor --config monitor-demo/monitor.toml\n"
        "doctor). Needs no network and no config. Running it again starts fresh; it only\n"
        "ever deletes what it made itself (it marks its folder) and refuses a folder that\n"
        "already holds someone else's monitor.toml, monitor.db, reports/ or site/.",
    )
    p.add_argument(
        "--dir",
        default=DEMO_DIR,
        help="folder for the demo's config, database, digest and site (default: monitor-demo)",
    )

    p = add(
        "outbox",
        cmd_outbox,
        "list the digest e-mails; resend or drop one never confirmed",
        "Without an action (or with 'list'): the digest e-mails in the outbox, newest\n"
        "day first, with their state: pending (sent by the next run), sent, unconfirmed\n"
        "(the sending was interrupted: it may or may not have arrived), dropped.\n\n"
        "Runs send each e-mail at most once and never resend an unconfirmed one. Ask\n"
        "the recipients whether it arrived, then decide:\n"
        "  monitor outbox resend DAY [--scope SCOPE]   send it now (exit 0 when the\n"
        "      mail server took it; 1 when not, it then stays queued for the next run)\n"
        "  monitor outbox drop DAY [--scope SCOPE]     never send it\n"
        "SCOPE is 'all' (the full digest, default) or an agency id (its own part).\n"
        "Both take the run lock and are recorded in the runs table; 'monitor doctor'\n"
        "names the command for each unconfirmed e-mail.\n\n"
        "  monitor outbox\n"
        "  monitor outbox resend 2026-11-21\n"
        "  monitor outbox resend 2026-11-21 --scope rsud-sk-lerik",
    )
    p.add_argument("--all", action="store_true", help="list every e-mail, not just the recent")
    p.set_defaults(action=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser(
        "list",
        help="the digest e-mails and their state (the default)",
        parents=[common],
    ).add_argument("--all", action="store_true", help="every e-mail, not just the recent")
    for action, what, description in (
        (
            "resend",
            "put one digest e-mail back in the queue and send it now",
            "Put the digest e-mail of DAY (and SCOPE) back in the queue and send it now,\n"
            "through the same path as 'monitor run', under the run lock, recorded in the\n"
            "runs table. For an unconfirmed e-mail the recipients confirmed they did not\n"
            "get (or a dropped one). An e-mail already sent, or one not in the outbox, is\n"
            "refused (exit 2). Exit 1 when the mail server did not take it: it then stays\n"
            "queued and the next run sends it.",
        ),
        (
            "drop",
            "never send one digest e-mail (it arrived, or is not wanted)",
            "Mark the digest e-mail of DAY (and SCOPE) as dropped: no run sends it and\n"
            "'monitor doctor' no longer reports it. 'monitor outbox resend' still can.",
        ),
    ):
        a = actions.add_parser(
            action,
            help=what,
            description=description,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=EPILOG,
        )
        a.add_argument("day", type=_parse_date, metavar="DAY", help="the digest's day, YYYY-MM-DD")
        a.add_argument(
            "--scope",
            default="all",
            metavar="SCOPE",
            help="'all' (the full digest, default) or the agency id of its own part",
        )

    add(
        "doctor",
        cmd_doctor,
        "check config, credentials, database and last runs",
        "Check the config, that enabled sources have their credentials in the\n"
        "environment, the database's schema and integrity, and the last run of each\n"
        "source. Exits 1 when something needs a person.",
    )

    return parser


def _log_level(args: argparse.Namespace) -> int:
    if args.quiet:
        return logging.ERROR
    return [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]


def _setup_logging(args: argparse.Namespace, config: Config | None = None) -> None:
    """stderr logs (text or JSON lines); with a config, also its log file, and every
    secret the config names masked as *** wherever it would appear."""
    from monitor.logsetup import setup_logging
    from monitor.secrets import secret_values

    if config is None:
        setup_logging(_log_level(args), args.log_format)
        return
    ops = config.operations
    setup_logging(
        _log_level(args),
        args.log_format,
        ops.log_file,
        ops.log_max_bytes,
        ops.log_backups,
        secrets=secret_values(config),
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: return, don't exit
        return int(exc.code or 0)
    global _STDERR_JSON
    _STDERR_JSON = args.log_format == "json"
    _setup_logging(args)
    args.progress = (lambda message: None) if args.quiet else _stderr
    try:
        return args.func(args)
    except ConfigError as exc:
        _error(f"monitor: config error: {exc}")
        return EXIT_USAGE
    except (UsageError, StoreError) as exc:
        _error(f"monitor: {exc}")
        return EXIT_USAGE
    except RunLocked as exc:
        _error(f"monitor: {exc}")
        return EXIT_LOCKED
    except sqlite3.Error as exc:
        _error(
            f"monitor: database error: {exc}. The interrupted transaction was rolled back; "
            "nothing stored is lost. 'monitor doctor' checks the database."
        )
        return EXIT_USAGE  # a database error, as the README's exit codes say: not a source
