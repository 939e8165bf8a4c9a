"""Reading exported text files line by line, and CSV records out of the lines.

Shared by the file_import collector and ``monitor classify --format csv``. A file is
read as bytes, one physical line at a time, and each line decoded on its own, so a line
that is not valid in the file's encoding is named by its number while the rest is read.
"""

from __future__ import annotations

import codecs
import csv
from collections import deque
from collections.abc import Generator, Iterator
from typing import IO

MAX_LINE_BYTES = 8 * 1024 * 1024  # a longer physical line is rejected, not read into memory
UTF8_BOM = codecs.BOM_UTF8


# --- reading lines ----------------------------------------------------------------------


def _physical_lines(handle: IO[bytes]) -> Iterator[tuple[bytes, str]]:
    """Each physical line as bytes (with its line ending) and a problem, if any."""
    while line := handle.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while rest := handle.readline(MAX_LINE_BYTES):  # skip to the next line
                if rest.endswith(b"\n"):
                    break
            yield b"\n", f"line longer than {MAX_LINE_BYTES // (1024 * 1024)} MB"
            continue
        yield line, ""


def _decode(line: bytes, number: int, encoding: str) -> tuple[str, str]:
    """The line as text and, if it is not valid in ``encoding``, what is wrong."""
    if number == 1 and encoding == "utf-8" and line.startswith(UTF8_BOM):
        line = line[len(UTF8_BOM) :]  # Excel's "CSV UTF-8" starts with a byte-order mark
    try:
        return line.decode(encoding), ""
    except UnicodeDecodeError as exc:
        bad = line[exc.start : exc.start + 1].hex()
        return (
            line.decode(encoding, "replace"),
            f"not valid {encoding} (byte 0x{bad} at position {exc.start + 1})",
        )


def decoded_lines(handle: IO[bytes], encoding: str) -> Iterator[tuple[int, str, str]]:
    """(line number, text, problem) for each physical line; a line that is not valid in
    ``encoding`` is decoded with replacement characters (so that the CSV parser keeps
    its place) and its problem named."""
    for number, (line, problem) in enumerate(_physical_lines(handle), start=1):
        text, bad = _decode(line, number, encoding)
        yield number, text, problem or bad


# --- CSV records, recovering after a quote that is never closed ---------------------------
#
# The rule: a quoted cell may hold line breaks (a post with paragraphs is valid CSV), but
# one record may span at most MAX_RECORD_LINES physical lines and MAX_RECORD_CHARS
# characters. A record is bad when
#   - csv.reader cannot parse it (e.g. a stray quote left open until the end of the file,
#     or text after a closing quote), or
#   - it grows past either bound (a quote that is never closed would swallow the rest of
#     the file), or
#   - it spans several lines and has the wrong number of columns (an opening quote that
#     was closed by some later row's quote).
# A bad record is rejected with the number of its first line, and reading goes on from
# the line after that first line, so the rows it swallowed are read again as rows of
# their own (each stored or named). A legitimate multi-line record has a closed quote and
# the header's number of columns, so it is kept whole. Re-reading is bounded: at most
# MAX_RECORD_LINES lines again per bad record.

MAX_RECORD_LINES = 200
MAX_RECORD_CHARS = 256 * 1024  # Facebook's own post limit is 63,206 characters


class _RecordTooLong(Exception):
    pass


class _RecordLines:
    """The line source of csv.reader: remembers the lines of the record being read and
    can put all but its first back, to be read again."""

    def __init__(self, lines: Iterator[tuple[int, str, str]]):
        self.source = lines
        self.pending: deque[tuple[int, str, str]] = deque()
        self.record: list[tuple[int, str, str]] = []
        self.chars = 0

    def __iter__(self) -> _RecordLines:
        return self

    def __next__(self) -> str:
        if self.record and (len(self.record) >= MAX_RECORD_LINES or self.chars > MAX_RECORD_CHARS):
            raise _RecordTooLong  # aborts csv.reader's record; its next call starts afresh
        item = self.pending.popleft() if self.pending else next(self.source)
        self.record.append(item)
        self.chars += len(item[1])
        return item[1]

    def start(self) -> None:
        self.record, self.chars = [], 0

    def read_again(self) -> None:
        """Read on from the line after the current record's first line."""
        self.pending.extendleft(reversed(self.record[1:]))
        self.start()


def csv_records(
    lines: Iterator[tuple[int, str, str]], delimiter: str = ","
) -> Generator[tuple[int, list[str] | None, list[str]], int | None, None]:
    """(first line number, cells or None, problems) per CSV record of ``lines``
    (``(number, text, problem)`` as ``decoded_lines`` gives them).

    Cells are None when the record is not readable (the problems say why). The
    caller sends the header's number of columns once it knows it (``send``), so that a
    multi-line record with the wrong number of columns is recognised as a runaway quote.
    See the rule above.
    """
    source = _RecordLines(lines)
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    width: int | None = None
    while True:
        source.start()
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RecordTooLong:
            first = source.record[0][0]
            source.read_again()
            reason = (
                f"not readable as CSV (a quoted cell runs over more than {MAX_RECORD_LINES} "
                f"lines or {MAX_RECORD_CHARS // 1024} KB: a quote that is never closed?)"
            )
            sent = yield first, None, [reason]
            width = sent if sent is not None else width
            continue
        except csv.Error as exc:
            if not source.record:  # nothing read: the error is not a record's
                raise
            first = source.record[0][0]
            source.read_again()
            sent = yield first, None, [f"not readable as CSV ({exc})"]
            width = sent if sent is not None else width
            continue
        record = source.record
        first = record[0][0]
        blank = not any(cell.strip() for cell in row)
        if len(record) > 1 and width is not None and not blank and len(row) != width:
            source.read_again()
            reason = (
                f"{len(row)} columns, the header has {width} (a quoted cell runs from "
                f"line {first} to line {record[-1][0]}: a quote that is never closed?)"
            )
            sent = yield first, None, [reason]
        else:
            problems = [
                problem if number == first else f"line {number}: {problem}"
                for number, _, problem in record
                if problem
            ]
            sent = yield first, row, problems
        width = sent if sent is not None else width


def header_delimiter(header: str) -> str:
    """The separator a CSV header line uses: ',' unless ';' or a tab occurs more often."""
    counts = {mark: header.count(mark) for mark in (",", ";", "\t")}
    best = max(counts, key=lambda mark: counts[mark])
    return best if counts[best] > counts[","] else ","
