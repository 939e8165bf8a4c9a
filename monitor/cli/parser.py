"""The argument parser: every command, option and help text of `monitor`.

The help texts teach the tool, so they say what a command does, when to use it and an
example. Building the parser imports no part of the library behind the commands.
"""

from __future__ import annotations

import argparse

from monitor import __version__
from monitor.cli.classifier_parser import add_classifier_parsers
from monitor.cli.commands import (
    cmd_backup,
    cmd_collect,
    cmd_demo,
    cmd_digest,
    cmd_doctor,
    cmd_import,
    cmd_init,
    cmd_outbox,
    cmd_process,
    cmd_purge,
    cmd_run,
    cmd_schedule,
    cmd_serve_ingest,
    cmd_site,
    cmd_trend,
)
from monitor.cli.common import DEFAULT_CONFIG, action_parsers, parse_date
from monitor.cli.label_commands import cmd_labels, cmd_review
from monitor.cli.serve_commands import add_serve_parser
from monitor.cli.user_commands import add_user_parser
from monitor.cli.version_commands import add_model_parser
from monitor.demo import DEMO_DIR

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
2 usage/config/database error, 3 another run is in progress,
4 train --activate refused by its gate (the model is kept, not activated).
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
        type=parse_date,
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
        type=parse_date,
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

    add_classifier_parsers(add)
    add_model_parser(add, common, EPILOG)
    add_serve_parser(add, common, EPILOG)
    add_user_parser(add, common, EPILOG)

    p = add(
        "labels",
        cmd_labels,
        "import, list or export the office's own labelled records",
        "The office's own labelled complaints (case spreadsheets, SP4N-LAPOR! exports),\n"
        "kept in the database for 'monitor train'.\n\n"
        "  monitor labels import FILE   read CSV, JSONL or XLSX (first sheet, first row the\n"
        "      header): a column 'text' and any of is_complaint (1/0, true/false, ya/tidak,\n"
        "      y/n), sector (a sector key), topics (keys separated by ',' or ';'), agency\n"
        "      (an agency id or name of the config). Every bad row is named with its line\n"
        "      and the reason; importing the same rows again adds nothing. Exit 2 when the\n"
        "      file cannot be read or holds no valid row.\n"
        "  monitor labels list          counts by source file and by sector\n"
        "  monitor labels export FILE   all of them as .csv or .jsonl (imports back)\n\n"
        "  monitor labels import riwayat_pengaduan.csv\n"
        "  monitor labels import kasus.xlsx --column uraian=text --column kategori=sector \\\n"
        "      --map kategori_ke_sektor.csv --by 'Maria (Asisten)'",
    )
    action = action_parsers(p, common, EPILOG)
    a = action(
        "import",
        "store the labelled rows of a CSV, JSONL or XLSX file",
        "Store the labelled rows of FILE (see 'monitor labels --help').",
    )
    a.add_argument("file", metavar="FILE", help="the .csv, .jsonl or .xlsx file")
    a.add_argument(
        "--column",
        action="append",
        metavar="SRC=DST",
        help="read the file's column SRC as DST (text, is_complaint, sector, topics, agency); "
        "SRC= ignores SRC (repeatable)",
    )
    a.add_argument(
        "--map",
        metavar="FILE",
        help="two-column CSV/XLSX: the office's category, our sector key",
    )
    a.add_argument("--by", metavar="NAME", help="who imports (default: the login name)")
    action("list", "counts by source file and by sector (the default)")
    a = action(
        "export",
        "write every office label to a .csv or .jsonl file",
        "Write every office label to FILE (.csv or .jsonl, by its extension)\n"
        "with the columns text, is_complaint, sector, topics, agency, source_file,\n"
        "source_row, imported_at, imported_by. 'monitor labels import' reads it back.",
    )
    a.add_argument("file", metavar="FILE", help="the .csv or .jsonl file to write")

    p = add(
        "review",
        cmd_review,
        "write a batch of posts for staff to label in a spreadsheet",
        "Choose the posts a person should look at first and write them to a spreadsheet\n"
        "to correct; 'monitor labels import' reads the file back.\n\n"
        "  monitor review export FILE [--n 200]   .csv (UTF-8, opens in Excel) or .xlsx\n\n"
        "The batch holds original posts the current model analysed that nobody labelled\n"
        "yet (no label with the same text): those the model was least sure of (flagged\n"
        "for review, or a complaint score near its threshold), spread over sectors and\n"
        "agencies. The columns text, is_complaint, sector, topics and agency hold the\n"
        "model's answers: correct them, delete the rows nobody checked, then import. The\n"
        "columns post_id, url, created_at, model_complaint_score and model_version are\n"
        "for reading only. Texts are the redacted ones. Exit 2 for another file type or\n"
        "when there is no database yet.\n\n"
        "  monitor review export tinjau.xlsx --n 100\n"
        "  monitor labels import tinjau.xlsx",
    )
    a = action_parsers(p, common, EPILOG, required=True)(
        "export",
        "write the posts to look at first to a .csv or .xlsx file",
        "Write the posts to look at first to FILE (see 'monitor review --help').",
    )
    a.add_argument("file", metavar="FILE", help="the .csv or .xlsx file to write")
    a.add_argument(
        "--n",
        type=int,
        default=200,
        metavar="N",
        help="how many posts (default 200)",
    )

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
    action = action_parsers(p, common, EPILOG)
    action("list", "the digest e-mails and their state (the default)").add_argument(
        "--all", action="store_true", help="every e-mail, not just the recent"
    )
    for name, what, description in (
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
        a = action(name, what, description)
        a.add_argument("day", type=parse_date, metavar="DAY", help="the digest's day, YYYY-MM-DD")
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
