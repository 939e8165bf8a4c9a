"""What every command shares: exit codes, the stderr voice, finding and loading the config.

Only the standard library is imported at the top: `monitor --help` and `--version`
must answer without loading the library behind the commands.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import Config, SourceConfig

EXIT_OK = 0
EXIT_SOURCES_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3

DEFAULT_CONFIG = "monitor.toml"


class UsageError(Exception):
    """The command cannot run as asked; the message says what to do (exit 2)."""


class Stderr:
    """Progress lines and refusals on stderr: plain text, or one JSON object per line
    with --log-format json (so a log collector reads all of stderr alike)."""

    def __init__(self, json_lines: bool = False):
        self.json_lines = json_lines

    def __call__(self, message: str, level: str = "INFO") -> None:
        if self.json_lines:
            from monitor.logsetup import json_line

            message = json_line(message, level, "monitor.cli")
        print(message, file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        self(message, "ERROR")


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load(args: argparse.Namespace) -> Config:
    """The config the command line names (or ./monitor.toml), with --db applied; sets
    up logging to its log file."""
    from monitor.config import load_config

    path = config_path(args)
    if not path.exists() and not args.config and not os.environ.get("MONITOR_CONFIG"):
        from monitor.demo import DEMO_DIR

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
    setup_logging(args, config)
    return config


def action_parsers(
    command: argparse.ArgumentParser,
    common: argparse.ArgumentParser,
    epilog: str,
    required: bool = False,
) -> Callable[..., argparse.ArgumentParser]:
    """The ACTION subcommands of a command (`monitor labels import`, `monitor model
    list`, ...): returns ``action(name, help, description=None)``, which adds one with
    the global options and the exit codes. Without ``required`` the action is None when
    none is given (the command's default action)."""
    if not required:
        command.set_defaults(action=None)
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=required)

    def action(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        return actions.add_parser(
            name,
            help=help,
            description=description,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=epilog,
        )

    return action


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date YYYY-MM-DD") from None


def chosen_sources(config: Config, names: list[str] | None) -> list[SourceConfig] | None:
    if not names:
        return None
    return [config.source(name) for name in names]


def _log_level(args: argparse.Namespace) -> int:
    if args.quiet:
        return logging.ERROR
    return [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]


def setup_logging(args: argparse.Namespace, config: Config | None = None) -> None:
    """stderr logs (text or JSON lines); with a config, also its log file, and every
    secret the config names masked as *** wherever it would appear."""
    from monitor.logsetup import setup_logging as setup
    from monitor.secrets import secret_values

    if config is None:
        setup(_log_level(args), args.log_format)
        return
    ops = config.operations
    setup(
        _log_level(args),
        args.log_format,
        ops.log_file,
        ops.log_max_bytes,
        ops.log_backups,
        secrets=secret_values(config),
    )
