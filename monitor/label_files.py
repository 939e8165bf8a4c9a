"""Reading an office's label file row by row: CSV (Excel's BOM and ``;`` or tab
separators too), JSON lines, or XLSX (first sheet, first row the header). Each row
comes with its line (or row) number, or the problem that makes it unreadable, so one
bad row is named and the rest are still read. Then which file column is which of ours
(``--column SRC=DST``) and which office category is which sector (``--map FILE``).
``monitor.office_labels`` checks and stores what these give."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from monitor.csvsafe import FORMULA_START
from monitor.labels import SECTORS

LABEL_FIELDS = ("is_complaint", "sector", "topics", "agency")
FIELDS = ("text", *LABEL_FIELDS)
# A file with this column (a review batch, `monitor review export`) holds the model's answers
# pre-filled: only rows a person marked reviewed (ya, y, 1, true) become labels, so a row
# nobody looked at never teaches the model its own answer.
REVIEWED = "reviewed"

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}


class LabelFileError(Exception):
    """The file cannot be imported at all (unreadable, wrong format, no text column);
    the message says why and what to do."""


# --- reading rows -------------------------------------------------------------------------

# (line or row number, the row as {column: value} or None, the problem when None)
Row = tuple[int, dict[str, Any] | None, str]


def _unescape_formula(cell: str) -> str:
    """A cell our CSV export wrote as "'=..." (monitor.csvsafe) reads back as "=..."."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


def _csv_rows(path: Path) -> tuple[list[str], Iterator[Row]]:
    # The project's robust reader: a line that is not UTF-8 or a quote never closed is
    # named by its line and the rows after it are still read.
    from monitor.collectors.csv_records import csv_records, decoded_lines, header_delimiter

    handle = path.open("rb")
    lines = decoded_lines(handle, "utf-8")
    ahead = []
    for item in lines:  # blank lines before the header
        ahead.append(item)
        if item[1].strip():
            break
    delimiter = header_delimiter(ahead[-1][1] if ahead else "")
    records = csv_records(itertools.chain(ahead, lines), delimiter)
    header: list[str] | None = None
    for number, row, problems in records:
        if row is not None and not any(cell.strip() for cell in row):
            continue
        if row is None or problems:
            handle.close()
            raise LabelFileError(f"{path.name}:{number}: the header is not readable: {problems}")
        header = [cell.strip() for cell in row]
        break
    if header is None:
        handle.close()
        raise LabelFileError(f"{path.name} is empty: no header row")
    width = len(header)

    def rows() -> Iterator[Row]:
        try:
            number, row, problems = records.send(width)
            while True:
                if row is None:
                    yield number, None, "; ".join(problems)
                elif not any(cell.strip() for cell in row):
                    pass
                elif problems:
                    yield number, None, "not valid UTF-8: " + "; ".join(problems)
                elif len(row) != width:
                    yield number, None, f"{width} columns expected, the row has {len(row)}"
                else:
                    cells = [_unescape_formula(cell) for cell in row]
                    yield number, dict(zip(header, cells, strict=True)), ""
                number, row, problems = next(records)
        except StopIteration:
            return
        finally:
            handle.close()

    return header, rows()


def _jsonl_rows(path: Path) -> tuple[list[str], Iterator[Row]]:
    from monitor.collectors import parse_record

    def rows() -> Iterator[Row]:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    record = parse_record(raw)
                except ValueError as exc:
                    yield number, None, str(exc)
                    continue
                if not isinstance(record, dict):
                    yield number, None, "not a JSON object"
                    continue
                yield number, record, ""

    # JSON lines have no header: every row names its own fields.
    return [], rows()


def _xlsx_rows(path: Path) -> tuple[list[str], Iterator[Row]]:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise LabelFileError(f"{path.name} is not readable as an Excel workbook: {exc}") from None
    sheet = workbook.worksheets[0]
    values = enumerate(sheet.iter_rows(values_only=True), start=1)
    header: list[str] | None = None
    for _, cells in values:
        if any(cell not in (None, "") for cell in cells):
            header = [cell_text(cell) for cell in cells]
            break
    if header is None:
        workbook.close()
        raise LabelFileError(f"{path.name}: the first sheet is empty: no header row")
    columns = header

    def rows() -> Iterator[Row]:
        try:
            for number, cells in values:
                if all(cell in (None, "") for cell in cells):
                    continue
                padded = list(cells) + [None] * (len(columns) - len(cells))
                if any(cell not in (None, "") for cell in padded[len(columns) :]):
                    yield number, None, "a value beyond the header's last column"
                    continue
                yield number, dict(zip(columns, padded[: len(columns)], strict=True)), ""
        finally:
            workbook.close()

    return header, rows()


def read_rows(path: Path) -> tuple[list[str], Iterator[Row]]:
    """The header (empty for JSON lines) and the rows of a CSV, JSONL or XLSX file,
    chosen by its extension. LabelFileError when the file cannot be read at all."""
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[Path], tuple[list[str], Iterator[Row]]]] = {
        **dict.fromkeys(CSV_SUFFIXES, _csv_rows),
        **dict.fromkeys(JSONL_SUFFIXES, _jsonl_rows),
        **dict.fromkeys(XLSX_SUFFIXES, _xlsx_rows),
    }
    if suffix not in readers:
        raise LabelFileError(
            f"{path.name}: unknown file type '{suffix}'; use .csv, .jsonl or .xlsx "
            "(save the spreadsheet as 'CSV UTF-8' or 'Excel Workbook')"
        )
    if not path.is_file():
        raise LabelFileError(f"cannot read {path}: no such file")
    try:
        return readers[suffix](path)
    except OSError as exc:
        raise LabelFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def cell_text(value: Any) -> str:
    """A cell as text: numbers as written ("3", not "3.0"), nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- mapping columns and categories -------------------------------------------------------


def fold_text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold()


def parse_column_options(options: Sequence[str]) -> dict[str, str]:
    """``SRC=DST`` options as {source column (folded): our column}; an empty DST
    ignores the column. ValueError naming a malformed one."""
    mapping: dict[str, str] = {}
    for option in options:
        source, sep, target = option.partition("=")
        target = target.strip().lower()
        if not sep or not source.strip():
            raise ValueError(f"--column {option!r}: write it as SRC=DST, e.g. uraian=text")
        if target and target not in FIELDS:
            raise ValueError(
                f"--column {option!r}: '{target}' is not a column we read; "
                f"use one of {', '.join(FIELDS)} (or nothing after '=' to ignore it)"
            )
        mapping[fold_text(source)] = target
    return mapping


def read_category_map(path: Path) -> dict[str, str]:
    """An office's categories mapped to our sector keys, from a two-column CSV or XLSX
    (their category, our sector key; a header row is allowed). LabelFileError naming
    the line of a sector key that does not exist."""
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise LabelFileError(f"--map {path.name}: use a .csv or .xlsx file with two columns")
    header, rows = read_rows(path)
    entries: list[tuple[int, list[str]]] = [(1, header)]
    for number, row, problem in rows:
        if row is None:
            raise LabelFileError(f"--map {path.name}:{number}: {problem}")
        entries.append((number, [cell_text(value) for value in row.values()]))
    mapping: dict[str, str] = {}
    for index, (number, cells) in enumerate(entries):
        cells = [cell for cell in cells if cell]
        if not cells:
            continue
        if len(cells) != 2:
            raise LabelFileError(
                f"--map {path.name}:{number}: {len(cells)} values; each row needs two: "
                "their category, our sector key"
            )
        category, sector = cells
        if sector not in SECTORS:
            if index == 0:
                continue  # a header row such as "kategori,sector"
            raise LabelFileError(
                f"--map {path.name}:{number}: '{sector}' is not a sector key; "
                f"known: {', '.join(SECTORS)}"
            )
        mapping[fold_text(category)] = sector
    if not mapping:
        raise LabelFileError(f"--map {path.name}: no category is mapped to a sector")
    return mapping


def columns_of(
    header: list[str], options: Mapping[str, str], path: Path
) -> tuple[dict[str, str], list[str]]:
    """{file column: our column} and the columns ignored."""
    folded = {fold_text(name): name for name in header if name}
    for source in options:
        if header and source not in folded:
            raise LabelFileError(
                f"{path.name}: --column names '{source}', which the file does not have; "
                f"its columns: {', '.join(name for name in header if name)}"
            )
    chosen: dict[str, str] = {}
    ignored: list[str] = []
    for name in header:
        key = fold_text(name)
        known = (*FIELDS, REVIEWED)
        target = options[key] if key in options else (key if key in known else "")
        if not target:
            if name:
                ignored.append(name)
            continue
        if target in chosen.values():
            other = next(k for k, v in chosen.items() if v == target)
            raise LabelFileError(
                f"{path.name}: both '{other}' and '{name}' would be the column '{target}'; "
                f"ignore one with --column '{name}='"
            )
        chosen[name] = target
    return chosen, ignored


# --- checking values ----------------------------------------------------------------------
