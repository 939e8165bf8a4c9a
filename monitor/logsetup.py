"""Logging for an unattended program: readable or JSON lines, a rotated file, no secrets.

``setup_logging`` is called once by the command line (again is harmless: it
replaces the handlers it installed before and leaves others, such as a test
framework's, alone). Every handler it installs carries a ``SecretFilter`` that
replaces each secret value with ``***`` in the final message and traceback.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from monitor.secrets import SecretMask

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
FILE_TEXT_FORMAT = "%(utc_time)s " + TEXT_FORMAT  # a file is read later: it needs the time
DEFAULT_MAX_BYTES = 10_000_000
DEFAULT_BACKUPS = 5
QUIET_LOGGERS = ("httpx", "httpcore")  # they log every request URL at INFO


def utc_time(record: logging.LogRecord) -> str:
    """'2026-11-21T08:15:00.123Z'."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"


class SecretFilter(logging.Filter):
    """Masks secret values in the formatted message, the traceback and the stack.

    The message is formatted here (``msg % args``) so that a secret passed as an
    argument is masked too; the record then carries the finished text.
    """

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.mask = SecretMask(secrets)
        self.secrets = self.mask.secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            # A broken call such as log.info("%s %s", one): logging would print the
            # arguments unmasked in its error report; show them masked instead.
            message = f"{record.msg} [unformattable arguments: {_safe_repr(record.args)}]"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


class TextFormatter(logging.Formatter):
    def __init__(self, fmt: str = TEXT_FORMAT):
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        record.utc_time = utc_time(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message[, exception][, stack]."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def json_line(message: str, level: str = "INFO", logger: str = "monitor") -> str:
    """One JSON log line shaped like JsonFormatter's, for what the command line prints to
    stderr itself (progress, refusals): with --log-format json, stderr is all JSON."""
    record = logging.LogRecord(logger, logging.getLevelName(level), "", 0, message, None, None)
    return JsonFormatter().format(record)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (redirections, test capture)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _RotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotates at ``maxBytes``; with no backups the file is started afresh instead
    (the standard handler would then let it grow without limit)."""

    def doRollover(self) -> None:
        if self.backupCount > 0:
            super().doRollover()
            return
        if self.stream:
            self.stream.close()
        self.stream = open(self.baseFilename, "w", encoding=self.encoding, errors=self.errors)


def setup_logging(
    level: int,
    fmt: str = "text",
    log_file: str = "",
    max_bytes: int = DEFAULT_MAX_BYTES,
    backups: int = DEFAULT_BACKUPS,
    secrets: Iterable[str] = (),
) -> None:
    """Configure the root logger: stderr, plus a rotated ``log_file`` when given.

    ``fmt`` is ``"text"`` (``LEVEL name: message``; the file adds the UTC time in
    front) or ``"json"`` (one object per line, stderr and file alike). ``secrets``
    are masked as ``***`` in everything either handler writes.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {fmt!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_monitor_logsetup", False):
            root.removeHandler(handler)
            handler.close()

    secret_filter = SecretFilter(secrets)
    handlers: list[logging.Handler] = []
    stderr = _StderrHandler()
    stderr.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handlers.append(stderr)
    if log_file:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = _RotatingFileHandler(
            path, maxBytes=max(0, max_bytes), backupCount=max(0, backups), encoding="utf-8"
        )
        file_handler.setFormatter(
            JsonFormatter() if fmt == "json" else TextFormatter(FILE_TEXT_FORMAT)
        )
        handlers.append(file_handler)
    for handler in handlers:
        handler.addFilter(secret_filter)
        handler._monitor_logsetup = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        )
