"""The `monitor` command: parses arguments, calls the library, maps results to exit codes.

Exit codes: 0 success; 1 the run finished but some sources failed (or doctor
found something that needs a person); 2 usage, config or database error; 3
another run holds the lock.

The parser and its help texts are in ``parser``; the commands, each a call of one
library function and the printing of its result, in ``commands`` and
``model_commands``. Nothing heavy is imported before a command runs, so `monitor
--help`, `--version` and `init` answer at once.
"""

from __future__ import annotations

from monitor.cli.common import (
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_SOURCES_FAILED,
    EXIT_USAGE,
    Stderr,
    UsageError,
    setup_logging,
)
from monitor.cli.parser import build_parser

__all__ = [
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_SOURCES_FAILED",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "main",
]


def _failure(exc: Exception) -> tuple[int, str] | None:
    """The exit code and message for an error a person can act on; None for a bug,
    which keeps its traceback.

    The error classes are imported here rather than at the top so that starting the
    command line loads none of the library; by the time one of them is raised, its
    module is loaded anyway.
    """
    import sqlite3
    import sys

    from monitor.config import ConfigError
    from monitor.store import StoreError

    if isinstance(exc, ConfigError):
        return EXIT_USAGE, f"monitor: config error: {exc}"
    if isinstance(exc, StoreError):
        return EXIT_USAGE, f"monitor: {exc}"
    # A model that does not load (the error's module, with numpy, is loaded by then).
    model_module = sys.modules.get("monitor.classify.model")
    if model_module is not None and isinstance(exc, model_module.ModelError):
        return EXIT_USAGE, f"monitor: model error: {exc}"
    if isinstance(exc, sqlite3.Error):
        # a database error, as the README's exit codes say: not a source
        return EXIT_USAGE, (
            f"monitor: database error: {exc}. The interrupted transaction was rolled back; "
            "nothing stored is lost. 'monitor doctor' checks the database."
        )
    from monitor.pipeline import RunLocked

    if isinstance(exc, RunLocked):
        return EXIT_LOCKED, f"monitor: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: return, don't exit
        return int(exc.code or 0)
    stderr = Stderr(json_lines=args.log_format == "json")
    setup_logging(args)
    args.stderr = stderr
    args.progress = (lambda message: None) if args.quiet else stderr
    try:
        return args.func(args)
    except UsageError as exc:
        stderr.error(f"monitor: {exc}")
        return EXIT_USAGE
    except Exception as exc:
        failure = _failure(exc)
        if failure is None:
            raise
        code, message = failure
        stderr.error(message)
        return code
