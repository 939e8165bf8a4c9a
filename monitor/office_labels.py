"""An office's own labelled records: read, map, check, store and export them.

Offices keep years of complaints with categories (SP4N-LAPOR! exports, case
spreadsheets). ``import_labels`` reads such a file - CSV (Excel's BOM and ``;``
separators too), JSON lines or XLSX (first sheet, first row the header) - and stores
every valid row in the database's ``office_labels``; each bad row is named with its
line and the reason. A file's columns are ``text`` and any of ``is_complaint``,
``sector``, ``topics`` and ``agency``; other names are mapped to these
(``columns``), and an office's own categories to our sector keys (``category_map``,
read by ``read_category_map``).

A row is the same label when its text (whitespace and Unicode form aside) and its
labels are the same: importing a file again - or a re-saved copy, or our own export -
adds nothing. ``export_labels`` writes what is stored, as CSV or JSON lines, in the
columns ``import_labels`` reads back.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.clock import to_iso, utc_now
from monitor.csvsafe import SafeDictWriter
from monitor.label_files import (
    FIELDS,
    JSONL_SUFFIXES,
    LABEL_FIELDS,
    REVIEWED,
    LabelFileError,
    cell_text,
    columns_of,
    fold_text,
    parse_column_options,
    read_category_map,
    read_rows,
)
from monitor.labels import SECTORS, TOPICS
from monitor.store import OfficeLabel, Store

if TYPE_CHECKING:
    from monitor.config import Config

log = logging.getLogger(__name__)

EXPORT_FIELDS = [
    *FIELDS,
    "source_file",
    "source_row",
    "imported_at",
    "imported_by",
]
MAX_AGENCIES_NAMED = 20

_TRUE = {"1", "true", "ya", "y", "yes"}
_FALSE = {"0", "false", "tidak", "n", "no"}


@dataclass
class LabelImport:
    """What one import did: rows read (header and blank rows aside) = stored +
    already_imported + rejected + not_reviewed."""

    path: Path
    read: int = 0
    stored: int = 0
    already_imported: int = 0
    not_reviewed: int = 0  # rows of a review batch nobody marked reviewed: skipped
    rejected: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.stored + self.already_imported


@dataclass(frozen=True)
class LabelSummary:
    total: int
    by_file: list[tuple[str, int]]
    by_sector: list[tuple[str, int]]


@dataclass(frozen=True)
class Vocabulary:
    """What values are allowed: sectors (with the office's categories), topics and,
    when a config is known, its agencies (ids, names and short names)."""

    category_map: Mapping[str, str] = field(default_factory=dict)
    agencies: Mapping[str, str] | None = None  # folded id or name -> id
    agency_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, category_map: Mapping[str, str], config: Config | None) -> Vocabulary:
        if config is None:
            return cls(category_map)
        agencies: dict[str, str] = {}
        for agency in config.agencies:
            for name in (agency.name, agency.short_name, *agency.aliases):
                if name:
                    agencies.setdefault(fold_text(name), agency.id)
        for agency in config.agencies:
            agencies[fold_text(agency.id)] = agency.id
        return cls(category_map, agencies, tuple(a.id for a in config.agencies))

    def sector(self, value: str) -> str:
        key = fold_text(value)
        if key in self.category_map:
            return self.category_map[key]
        for sector, name in SECTORS.items():
            if key in (sector, name.casefold()):
                return sector
        hint = "" if self.category_map else " (map the office's categories with --map FILE)"
        raise ValueError(f"sector '{value}' is not a sector{hint}; known: {', '.join(SECTORS)}")

    def agency(self, value: str) -> str:
        if self.agencies is None:
            return value
        if fold_text(value) in self.agencies:
            return self.agencies[fold_text(value)]
        known = ", ".join(self.agency_ids[:MAX_AGENCIES_NAMED])
        more = len(self.agency_ids) - MAX_AGENCIES_NAMED
        rest = f", and {more} more" if more > 0 else ""
        raise ValueError(f"agency '{value}' is not an agency in the config; known: {known}{rest}")


def _yes_no(value: Any, column: str = "is_complaint") -> bool | None:
    """A yes/no cell: True, False, or None when empty; ValueError naming ``column`` else."""
    if isinstance(value, bool):
        return value
    text = cell_text(value).casefold()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{column} '{cell_text(value)}' is not 1/0, true/false, ya/tidak or y/n")


def _topics(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list):
        items = [cell_text(item) for item in value]
    elif isinstance(value, dict):
        raise ValueError("topics is not a list or text")
    else:
        items = cell_text(value).replace(";", ",").split(",")
    items = [item.strip() for item in items if item.strip()]
    if not items:
        return None
    unknown = [item for item in items if item.casefold() not in TOPICS]
    if unknown:
        names = ", ".join(f"'{item}'" for item in unknown)
        raise ValueError(
            f"topic {names} {'is' if len(unknown) == 1 else 'are'} not a topic; "
            f"known: {', '.join(TOPICS)}"
        )
    return tuple(sorted({item.casefold() for item in items}))


def label_key(
    text: str,
    is_complaint: bool | None,
    sector: str | None,
    topics: tuple[str, ...] | None,
    agency: str | None,
) -> str:
    """The identity of a label: the same text (whitespace and Unicode form aside) with
    the same labels is the same label, whichever file it came from."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    identity = [text, is_complaint, sector, list(topics) if topics else None, agency]
    return hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()


def check_row(record: Mapping[str, Any], vocabulary: Vocabulary) -> OfficeLabel:
    """The label of one row (our column names), or ValueError with every reason."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    raw_text = record.get("text")
    text = raw_text.strip() if isinstance(raw_text, str) else cell_text(raw_text)
    if isinstance(raw_text, dict | list):
        problems.append("text is not text")
        text = ""
    elif not text:
        problems.append("missing or empty 'text'")
    checks: dict[str, Callable[[Any], Any]] = {
        "is_complaint": _yes_no,
        "sector": lambda v: vocabulary.sector(cell_text(v)) if cell_text(v) else None,
        "topics": _topics,
        "agency": lambda v: vocabulary.agency(cell_text(v)) if cell_text(v) else None,
    }
    for name, check in checks.items():
        value = record.get(name)
        if isinstance(value, dict) or (isinstance(value, list) and name != "topics"):
            problems.append(f"{name} is not text")
            continue
        try:
            values[name] = check(value)
        except ValueError as exc:
            problems.append(str(exc))
    if not problems and all(values.get(name) is None for name in LABEL_FIELDS):
        problems.append(f"no label: {', '.join(LABEL_FIELDS)} are all empty")
    if problems:
        raise ValueError("; ".join(problems))
    return OfficeLabel(
        text=text,
        is_complaint=values["is_complaint"],
        sector=values["sector"],
        topics=values["topics"],
        agency=values["agency"],
        label_key=label_key(
            text, values["is_complaint"], values["sector"], values["topics"], values["agency"]
        ),
    )


# --- importing ----------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def default_importer() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name in some containers
        return "unknown"


def read_labels(
    path: Path,
    *,
    columns: Mapping[str, str] | None = None,
    vocabulary: Vocabulary | None = None,
    imported_by: str | None = None,
) -> tuple[LabelImport, list[OfficeLabel]]:
    """The valid rows of ``path`` as labels ready to store, and the report so far (rows
    read, rejected with line and reason). Touches no database, so a file that cannot be
    imported at all (LabelFileError) is refused before the run lock is taken."""
    path = Path(path)
    vocabulary = vocabulary or Vocabulary()
    header, rows = read_rows(path)
    if header:
        mapping, ignored = columns_of(header, columns or {}, path)
        if "text" not in mapping.values():
            raise LabelFileError(
                f"{path.name}: no 'text' column; its columns: "
                f"{', '.join(name for name in header if name)}. Name the column that holds "
                "the complaint's text with --column NAME=text"
            )
        if not set(LABEL_FIELDS) & set(mapping.values()):
            raise LabelFileError(
                f"{path.name}: no label column ({', '.join(LABEL_FIELDS)}); its columns: "
                f"{', '.join(name for name in header if name)}. Map one with --column NAME=sector"
            )
    else:
        mapping, ignored = {}, []
    report = LabelImport(path, ignored_columns=ignored)
    sha256 = file_sha256(path)
    now = to_iso(utc_now())
    who = imported_by or default_importer()
    json_columns = {fold_text(k): v for k, v in (columns or {}).items()}
    labels: list[OfficeLabel] = []
    for number, row, problem in rows:
        report.read += 1
        if row is None:
            report.rejected.append((number, problem))
            continue
        if header:
            record = {mapping[name]: value for name, value in row.items() if name in mapping}
            if REVIEWED in mapping.values():
                try:
                    reviewed = _yes_no(record.pop(REVIEWED, ""), REVIEWED)
                except ValueError as exc:
                    report.rejected.append((number, str(exc)))
                    continue
                if not reviewed:
                    report.not_reviewed += 1
                    continue
        else:  # JSON lines: each object's own keys, mapped like a header's
            record = {}
            for name, value in row.items():
                key = fold_text(str(name))
                target = json_columns[key] if key in json_columns else key
                if target in FIELDS:
                    record[target] = value
        try:
            label = check_row(record, vocabulary)
        except ValueError as exc:
            report.rejected.append((number, str(exc)))
            continue
        labels.append(
            OfficeLabel(
                **{
                    **label.__dict__,
                    "source_file": path.name,
                    "source_row": number,
                    "source_sha256": sha256,
                    "imported_at": now,
                    "imported_by": who,
                }
            )
        )
    return report, labels


def store_labels(store: Store, report: LabelImport, labels: list[OfficeLabel]) -> LabelImport:
    """Store what ``read_labels`` read (one transaction) and complete its report."""
    report.stored = store.add_office_labels(labels)
    report.already_imported = len(labels) - report.stored
    log.info(
        "%s: %d rows read, %d labels stored, %d already imported, %d rejected",
        report.path.name,
        report.read,
        report.stored,
        report.already_imported,
        len(report.rejected),
    )
    return report


def import_labels(
    store: Store,
    path: Path,
    *,
    columns: Mapping[str, str] | None = None,
    vocabulary: Vocabulary | None = None,
    imported_by: str | None = None,
) -> LabelImport:
    """Read ``path``, store its valid rows as office labels (one transaction), and say
    what was read, stored, already there and rejected (line and reason). LabelFileError
    when the file cannot be imported at all."""
    report, labels = read_labels(
        path, columns=columns, vocabulary=vocabulary, imported_by=imported_by
    )
    return store_labels(store, report, labels)


def import_label_file(
    config: Config,
    path: Path,
    *,
    columns: Sequence[str] = (),
    category_map: Path | None = None,
    imported_by: str | None = None,
) -> LabelImport:
    """``monitor labels import``: the options and the file read and checked, then the
    valid rows stored under the run lock with a run record. ValueError for a malformed
    option, LabelFileError when the file (or the map) cannot be read at all; neither
    takes the lock or records a run."""
    from monitor.runs import recorded_run

    column_map = parse_column_options(columns)
    categories = read_category_map(category_map) if category_map else {}
    vocabulary = Vocabulary.of(categories, config)
    report, labels = read_labels(
        path, columns=column_map, vocabulary=vocabulary, imported_by=imported_by
    )
    with recorded_run(config, "labels import") as run:
        store_labels(run.store, report, labels)
        run.processed = report.stored
        run.errors = [f"{path.name}:{line}: {reason}" for line, reason in report.rejected[:20]]
        if len(report.rejected) > 20:
            run.errors.append(f"... and {len(report.rejected) - 20} more rejected rows")
        run.status = "partial" if report.rejected else "ok"
    return report


# --- listing and exporting ----------------------------------------------------------------


def label_summary(store: Store) -> LabelSummary:
    by_file, by_sector = store.office_label_counts()
    return LabelSummary(
        total=sum(count.labels for count in by_file),
        by_file=[(count.name, count.labels) for count in by_file],
        by_sector=[(count.name, count.labels) for count in by_sector],
    )


def _export_row(label: OfficeLabel) -> dict[str, Any]:
    return {
        "text": label.text,
        "is_complaint": label.is_complaint,
        "sector": label.sector,
        "topics": list(label.topics) if label.topics is not None else None,
        "agency": label.agency,
        "source_file": label.source_file,
        "source_row": label.source_row,
        "imported_at": label.imported_at,
        "imported_by": label.imported_by,
    }


def export_labels(store: Store, path: Path) -> int:
    """Write every office label to ``path`` - CSV (cells a spreadsheet would run are
    escaped) or JSON lines, by its extension - all at once: a half-written file never
    replaces a good one. Returns how many were written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", *JSONL_SUFFIXES}:
        raise LabelFileError(f"{path.name}: export to a .csv or .jsonl file")
    if not path.parent.is_dir():
        raise LabelFileError(f"cannot write {path}: the folder {path.parent} does not exist")
    written = 0
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=path.parent, suffix=".part", delete=False
    )
    try:
        with handle:
            if suffix == ".csv":
                writer = SafeDictWriter(handle, fieldnames=EXPORT_FIELDS)
                writer.writeheader()
            for label in store.office_labels():
                row = _export_row(label)
                if suffix == ".csv":
                    row["is_complaint"] = (
                        "" if label.is_complaint is None else int(label.is_complaint)
                    )
                    row["topics"] = ";".join(label.topics or ())
                    writer.writerow({k: "" if v is None else v for k, v in row.items()})
                else:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                written += 1
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return written
