"""File import: posts from CSV or JSON-lines exports prepared by people.

Facebook, Instagram and TikTok exports, LAPOR! hand-overs and spreadsheets kept
by staff all become posts through one column mapping (``columns``: post field ->
column or key name). The file is streamed, never read whole: it is read as
bytes, one physical line at a time, and each line is decoded on its own, so a
line that is not valid in the configured encoding is rejected with its number
while the rest of the file is imported.

For CSV, the decoded lines are fed to ``csv.reader`` (a record may span several
lines when a quoted cell holds line breaks); a record is rejected when any of
the lines it was parsed from could not be decoded (those lines are decoded with
replacement characters only so that the CSV parser keeps its place). The reader
is strict about quoting, so a malformed record is rejected instead of guessed,
and a quote that is never closed does not swallow the rest of the file: the
record is rejected by its first line and reading goes on from the next line
(the rule is at ``csv_records.csv_records``; ``monitor classify --format csv`` uses it too).

Every row becomes a post through the collectors' shared check (``storable``,
``parse_record``): a JSON line too deeply nested or holding a string that cannot
be stored as UTF-8 (a lone surrogate) is rejected with its line number.

Times without an offset are local time in the configured timezone. Every row is
checked on its own; rejected rows are reported as ``file.csv:12: reason``.

Re-importing a file adds nothing, since the store keeps one post per
(source, source_id). The cursor is only a shortcut: it records each imported
file's size, modification time and the SHA-256 of its first 64 KB (and a hash of
the options it was read with), so an unchanged file read with unchanged options
is reported as already imported without being read again.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from monitor.collectors import (
    Batch,
    CollectContext,
    CollectorError,
    SourceType,
    parse_record,
    storable,
)
from monitor.collectors.csv_records import csv_records, decoded_lines
from monitor.collectors.replay import time_problem
from monitor.config.keys import Key, one_of
from monitor.config.sections import SourceConfig
from monitor.records import Post
from monitor.text.html import html_to_text

log = logging.getLogger(__name__)

BATCH_SIZE = 500
REQUIRED_FIELDS = ("id", "text", "created_at")
OPTIONAL_FIELDS = ("url", "author", "platform", "lang", "reply_to", "repost_of")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
DEFAULT_PLATFORM = "import"
FINGERPRINT_BYTES = 64 * 1024
MAX_FILES_IN_CURSOR = 100
FORMATS = ("csv", "jsonl")

# The keys a source of type "file_import" takes besides the common ones.
OPTIONS = {
    "format": Key(str, "csv", check=one_of(FORMATS)),
    "columns": Key("dict[str,str]", dict),  # post field -> column (CSV) or key (JSON)
    "time_format": Key(str, ""),  # strptime format of created_at; "" = ISO 8601
    "platform": Key(str, ""),  # stored as the posts' platform when a row names none
    "encoding": Key(str, "utf-8"),
    "delimiter": Key(str, ","),
}


# --- the cursor: which files were imported already ------------------------------------


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Size, modification time and SHA-256 of the first 64 KB: cheap to compute, and
    different as soon as the file is replaced or appended to."""
    stat = path.stat()
    with path.open("rb") as handle:
        head = handle.read(FINGERPRINT_BYTES)
    return {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256_64k": hashlib.sha256(head).hexdigest(),
    }


def _imported_files(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except ValueError:
        return {}
    files = value.get("files") if isinstance(value, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def _import_record(path: Path, source: SourceConfig) -> dict[str, Any]:
    """What the cursor remembers of one import: the file's fingerprint and the options
    it was read with (after a fix of ``columns`` or ``time_format`` the same file is read
    again, so rows rejected before can come in)."""
    options = json.dumps(source.options, sort_keys=True, ensure_ascii=False, default=str)
    return file_fingerprint(path) | {
        "options_sha256": hashlib.sha256(options.encode()).hexdigest()[:16]
    }


def already_imported(path: Path, source: SourceConfig, cursor: str | None) -> bool:
    """True when ``cursor`` (the source's saved cursor) says this file, unchanged, was
    imported completely before with the same options. Re-importing it anyway is harmless."""
    path = Path(path)
    try:
        return _imported_files(cursor).get(str(path.resolve())) == _import_record(path, source)
    except OSError:
        return False


def _cursor_with(cursor: str | None, path: Path, record: dict[str, Any]) -> str:
    files = _imported_files(cursor)
    key = str(path.resolve())
    files.pop(key, None)
    files[key] = record  # newest last; the oldest are forgotten first
    kept = dict(list(files.items())[-MAX_FILES_IN_CURSOR:])
    return json.dumps({"files": kept}, ensure_ascii=False)


# --- settings ---------------------------------------------------------------------------


@dataclass
class _Settings:
    format: str
    columns: dict[str, str]  # post field -> column/key, only the ones configured
    time_format: str
    platform: str
    encoding: str
    delimiter: str
    timezone: ZoneInfo
    now: datetime  # the run's start: times too far from it are refused (time_problem)

    @classmethod
    def of(cls, source: SourceConfig, context: CollectContext) -> _Settings:
        # A blank option means its default (a mapping written in code may leave it "").
        options = {key: source.options.get(key) or rule.initial() for key, rule in OPTIONS.items()}
        where = f"source '{source.name}'"
        fmt = str(options["format"])
        if fmt not in FORMATS:
            raise CollectorError(f"{where}: format '{fmt}' is not one of {', '.join(FORMATS)}")
        columns = dict(options["columns"])
        unknown = sorted(set(columns) - set(FIELDS))
        if unknown:
            raise CollectorError(
                f"{where}: columns.{unknown[0]} is not a post field; "
                f"the fields are {', '.join(FIELDS)}"
            )
        empty = [field for field, column in columns.items() if not str(column).strip()]
        if empty:
            raise CollectorError(f"{where}: columns.{empty[0]} names no column")
        encoding = str(options["encoding"])
        try:
            codec = codecs.lookup(encoding)
        except LookupError:
            raise CollectorError(f"{where}: encoding '{encoding}' is not known") from None
        if "\n".encode(codec.name) != b"\n" or "a;,\t".encode(codec.name) != b"a;,\t":
            raise CollectorError(
                f"{where}: encoding '{encoding}' cannot be read line by line; "
                "convert the file to UTF-8 (for example save it as 'CSV UTF-8')"
            )
        delimiter = str(options["delimiter"])
        if fmt == "csv" and len(delimiter) != 1:
            raise CollectorError(
                f"{where}: delimiter must be one character, not {delimiter!r} "
                '(use "\\t" for tab-separated files)'
            )
        return cls(
            format=fmt,
            columns={field: str(column).strip() for field, column in columns.items()},
            time_format=str(options["time_format"]),
            platform=str(options["platform"]).strip().lower(),
            encoding=codec.name,
            delimiter=delimiter,
            timezone=ZoneInfo(context.timezone),
            now=context.now,
        )

    def column(self, field: str) -> str:
        return self.columns.get(field, field)


# --- rows to posts ----------------------------------------------------------------------


class _Importer:
    def __init__(self, path: Path, source: SourceConfig, settings: _Settings):
        self.path = path
        self.source = source
        self.settings = settings

    def reject(self, line: int, reason: str) -> str:
        return f"{self.path.name}:{line}: {reason}"

    def _time(self, value: Any) -> datetime:
        column = self.settings.column("created_at")
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, UTC)  # JSON exports: Unix seconds
            except (OverflowError, OSError, ValueError):
                raise ValueError(f"unreadable time {value!r} in key '{column}'") from None
        text = str(value if value is not None else "").strip()
        if not text:
            raise ValueError(f"missing created_at (column '{column}' is empty)")
        time_format = self.settings.time_format
        try:
            if time_format:
                moment = datetime.strptime(text, time_format)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            expected = f"format {time_format!r}" if time_format else "ISO-8601"
            raise ValueError(
                f"unreadable time {_short(text)!r} in column '{column}' (expected {expected})"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.settings.timezone)
        return moment.astimezone(UTC)

    def post(self, fields: dict[str, Any], raw: dict[str, Any]) -> Post:
        """A post from one row; ``fields`` maps post fields to the row's cells."""
        get = fields.get
        settings = self.settings
        post_id = _cell(get("id"))
        if not post_id:
            raise ValueError(f"missing id (column '{settings.column('id')}' is empty)")
        raw_text = get("text")
        if isinstance(raw_text, dict | list):
            raise ValueError(f"column '{settings.column('text')}' is not text")
        if raw_text is None or not str(raw_text).strip():
            raise ValueError(f"missing text (column '{settings.column('text')}' is empty)")
        created_at = self._time(get("created_at"))
        if problem := time_problem(created_at, settings.now):
            raise ValueError(problem)
        text = html_to_text(str(raw_text))
        if not text:
            raise ValueError("empty text (nothing left once HTML is removed)")
        repost_of, reply_to = _cell(get("repost_of")), _cell(get("reply_to"))
        platform = _cell(get("platform")).lower() or settings.platform or DEFAULT_PLATFORM
        return Post(
            source=self.source.name,
            source_id=post_id,
            text=text,
            created_at=created_at,
            url=_cell(get("url")),
            author_handle=_cell(get("author")),
            lang=_cell(get("lang")).lower(),
            platform=platform,
            region=self.source.region,
            is_repost=bool(repost_of),
            is_reply=bool(reply_to),
            parent_source_id=repost_of or reply_to,
            raw=raw,
        )

    # --- CSV ------------------------------------------------------------------------

    def csv_rows(self, handle: BinaryIO) -> Iterator[tuple[Post | None, str]]:
        """(post, "") for each good row, (None, reason) for each rejected one."""
        records = csv_records(
            decoded_lines(handle, self.settings.encoding), self.settings.delimiter
        )
        header: list[str] | None = None
        index: dict[str, int] = {}
        width: int | None = None
        while True:
            try:
                first, row, problems = records.send(width) if header else next(records)
            except StopIteration:
                break
            if header is None:
                if row is None:
                    raise CollectorError(
                        f"{self.path}: the header is not readable CSV ({'; '.join(problems)})"
                    )
                if not any(cell.strip() for cell in row):
                    continue  # blank lines before the header
                header = [cell.strip().lstrip("\ufeff") for cell in row]
                index = self._header_index(header)
                width = len(header)
                continue
            if row is None or problems:
                yield None, self.reject(first, "; ".join(problems))
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank line or a spreadsheet's empty row
            if len(row) != len(header):
                yield None, self.reject(first, f"{len(row)} columns, the header has {len(header)}")
                continue
            raw = dict(zip(header, row, strict=True))
            cells = {field: row[position] for field, position in index.items()}
            yield self._checked(cells, raw, first)
        if header is None:
            raise CollectorError(f"{self.path}: the file is empty (no header row)")

    def _checked(
        self, cells: dict[str, Any], raw: dict[str, Any], line: int
    ) -> tuple[Post | None, str]:
        try:
            return storable(self.post(cells, raw)), ""
        except ValueError as exc:
            return None, self.reject(line, str(exc))

    def _header_index(self, header: list[str]) -> dict[str, int]:
        """Post field -> position; every configured or required column must be there."""
        positions: dict[str, int] = {}
        for position, name in enumerate(header):
            positions.setdefault(name, position)
        wanted = {field: self.settings.column(field) for field in REQUIRED_FIELDS}
        wanted |= self.settings.columns
        missing = [(field, column) for field, column in wanted.items() if column not in positions]
        if missing:
            named = ", ".join(f"'{column}' (for {field})" for field, column in missing)
            present = ", ".join(f"'{name}'" for name in header) or "none"
            raise CollectorError(
                f"{self.path}: column {named} not in the header; columns present: {present}. "
                f"Name the right columns in source '{self.source.name}': "
                'columns = { id = "...", text = "...", created_at = "..." }'
                + (
                    f" (is the delimiter {self.settings.delimiter!r} right?)"
                    if len(header) == 1
                    else ""
                )
            )
        index = {field: positions[column] for field, column in wanted.items()}
        for field in OPTIONAL_FIELDS:  # same-named columns are used when not configured
            if field not in index and field in positions:
                index[field] = positions[field]
        return index

    # --- JSON lines -----------------------------------------------------------------

    def jsonl_rows(self, handle: BinaryIO) -> Iterator[tuple[Post | None, str]]:
        for number, text, problem in decoded_lines(handle, self.settings.encoding):
            if problem:
                yield None, self.reject(number, problem)
                continue
            if not text.strip():
                continue
            try:
                record = parse_record(text)  # broken, too deeply nested or not storable
            except ValueError as exc:
                yield None, self.reject(number, str(exc))
                continue
            if not isinstance(record, dict):
                yield None, self.reject(number, "not a JSON object")
                continue
            cells = {field: _lookup(record, self.settings.column(field)) for field in FIELDS}
            yield self._checked(cells, record, number)


def _cell(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _lookup(record: dict[str, Any], key: str) -> Any:
    """record[key], or a dotted path into nested objects ("user.name")."""
    if key in record:
        return record[key]
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- entry points -----------------------------------------------------------------------


def import_file(
    path: Path,
    source: SourceConfig,
    context: CollectContext,
    cursor: str | None = None,
) -> Iterator[Batch]:
    """Batches of about 500 rows from ``path``, read with ``source``'s options.

    The last batch carries the cursor recording this file as imported. When
    ``cursor`` (the source's saved cursor) says the unchanged file was imported
    already, nothing is yielded. Raises CollectorError for a missing file or a
    header without the configured columns.
    """
    settings = _Settings.of(source, context)
    path = Path(path)
    try:
        record = _import_record(path, source)
        handle = path.open("rb")
    except FileNotFoundError:
        raise CollectorError(
            f"import file {path} does not exist (source '{source.name}'); check the path"
        ) from None
    except OSError as exc:
        raise CollectorError(f"cannot read import file {path}: {exc.strerror}") from None
    if _imported_files(cursor).get(str(path.resolve())) == record:
        handle.close()
        log.warning(
            "%s: %s was already imported and has not changed since; nothing to do",
            source.name,
            path,
        )
        return
    importer = _Importer(path, source, settings)
    posts: list[Post] = []
    rejected: list[str] = []
    good = rejects = 0
    with handle:
        rows = (
            importer.csv_rows(handle) if settings.format == "csv" else importer.jsonl_rows(handle)
        )
        for post, reason in rows:
            if post is not None:
                posts.append(post)
            else:
                rejected.append(reason)
            if len(posts) + len(rejected) >= BATCH_SIZE:
                good, rejects = good + len(posts), rejects + len(rejected)
                yield Batch(posts, None, rejected)
                posts, rejected = [], []
    good, rejects = good + len(posts), rejects + len(rejected)
    log.info("%s: %s: %d rows imported, %d rejected", source.name, path.name, good, rejects)
    yield Batch(posts, _cursor_with(cursor, path, record), rejected)


class FileImportCollector:
    def __init__(self, source: SourceConfig, context: CollectContext):
        self.source = source
        self.context = context

    def fetch(self, cursor: str | None) -> Iterator[Batch]:
        if not self.source.path:
            raise CollectorError(
                f"source '{self.source.name}' has no path: set path = \"export.csv\" "
                "(relative to the config file) or use 'monitor import FILE --source "
                f"{self.source.name}'"
            )
        return import_file(Path(self.source.path), self.source, self.context, cursor)


def source_problems(source: SourceConfig) -> list[str]:
    if source.enabled and not source.path:
        return [
            "path: required for an enabled file_import source (the file each run reads); "
            "to use the source only as a column mapping for "
            f"'monitor import FILE --source {source.name}', set enabled = false"
        ]
    return []


SOURCE_TYPE = SourceType("file_import", OPTIONS, FileImportCollector, source_problems)
