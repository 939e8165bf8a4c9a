"""`monitor classify`: classify a stream of posts, chunk by chunk, in constant memory.

Input lines are JSON objects (or CSV rows) with ``id`` and ``text``, and
optionally ``region`` (the source's region id, used when the text names no place)
and ``author`` (the handle that wrote it: an agency's own account is never a
complaint against it); every other field is passed through. Output adds
``is_complaint``, ``complaint_score``, ``sector``, ``sector_score``, ``topics``,
``topic_scores``, ``agency``, ``agency_confidence``, ``agency_evidence``, ``region``,
``needs_review`` and ``model_version`` (the input ``text`` is not repeated). A bad
line is reported with its number and skipped.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from monitor.agencies import Gazetteer
from monitor.collectors import parse_record, value_problem
from monitor.collectors.csv_records import csv_records, decoded_lines, header_delimiter
from monitor.csvsafe import SafeDictWriter
from monitor.understand import Model, resolve

CHUNK = 1000
RESULT_FIELDS = [
    "id",
    "is_complaint",
    "complaint_score",
    "sector",
    "sector_score",
    "topics",
    "topic_scores",
    "agency",
    "agency_confidence",
    "agency_evidence",
    "region",
    "needs_review",
    "model_version",
]


@dataclass
class BatchReport:
    read: int = 0
    classified: int = 0
    rejected: int = 0


def _text_field(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def _records_jsonl(stream: IO[bytes], bad: Callable[[int, str], None]) -> Iterator[dict[str, Any]]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad(number, f"not valid UTF-8 (byte {exc.start})")
            continue
        try:
            # The collectors' shared check: broken JSON, nesting too deep for the
            # parser (RecursionError) or a string that cannot be written as UTF-8
            # (a lone surrogate) rejects this line only.
            record = parse_record(text)
        except ValueError as exc:
            bad(number, str(exc))
            continue
        if _checked(record, number, bad):
            yield record


def _records_csv(stream: IO[bytes], bad: Callable[[int, str], None]) -> Iterator[dict[str, Any]]:
    # Read as the file import reads CSV: line by line, a bad record named by its first
    # line, and a quote that is never closed rejected without swallowing the rows after
    # it (the rule is at monitor.collectors.csv_records.csv_records).
    lines = decoded_lines(stream, "utf-8")
    head = [line for line in itertools.islice(lines, 1)]
    # Excel saves "CSV" with ';' where the decimal mark is a comma (Indonesian settings
    # among them), or with tabs: the header's own separator decides.
    delimiter = header_delimiter(head[0][1] if head else "")
    records = csv_records(itertools.chain(head, lines), delimiter)
    header: list[str] | None = None
    while True:
        try:
            number, row, problems = records.send(len(header)) if header else next(records)
        except StopIteration:
            break
        if header is None:
            if row is not None and not any(cell.strip() for cell in row):
                continue  # blank lines before the header
            header = [cell.strip() for cell in row or []]
            if not {"id", "text"} <= set(header):
                bad(number, f"the header needs columns id and text (has: {', '.join(header)})")
                return
            continue
        if row is None:
            bad(number, "; ".join(problems))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            bad(number, f"{len(header)} columns expected, the row has {len(row)}")
            continue
        if problems:
            bad(number, "not valid UTF-8: " + "; ".join(problems))
            continue
        record = dict(zip(header, row, strict=True))
        if _checked(record, number, bad):
            yield record


def _checked(record: Any, number: int, bad: Callable[[int, str], None]) -> bool:
    if not isinstance(record, dict):
        bad(number, "not a JSON object")
    elif record.get("id") in (None, ""):
        bad(number, "missing 'id'")
    elif not isinstance(record.get("text"), str) or not record["text"].strip():
        bad(number, "missing or empty 'text'")
    elif problem := value_problem(record):
        bad(number, problem)
    else:
        return True
    return False


def classify_stream(
    source: IO[bytes],
    sink: IO[str],
    model: Model,
    gazetteer: Gazetteer,
    fmt: str = "jsonl",
    bad: Callable[[int, str], None] = lambda number, reason: None,
) -> BatchReport:
    """Read, classify in chunks of CHUNK, write; never holds more than a chunk."""
    report = BatchReport()

    def rejected(number: int, reason: str) -> None:
        report.rejected += 1
        bad(number, reason)

    records = _records_csv(source, rejected) if fmt == "csv" else _records_jsonl(source, rejected)
    writer: SafeDictWriter | None = None
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal writer
        predictions = model.predict([r["text"] for r in chunk])
        for record, result in zip(chunk, predictions, strict=True):
            _, match, sector, result = resolve(
                record["text"],
                result,
                gazetteer,
                _text_field(record, "region"),
                gazetteer.agency_of_handle(_text_field(record, "author")),
            )
            out = {k: v for k, v in record.items() if k != "text"}
            out.update(
                id=record["id"],
                is_complaint=result.is_complaint,
                complaint_score=result.complaint_score,
                sector=sector,
                sector_score=result.sector_score,
                topics=result.topics,
                topic_scores=result.topic_scores,
                agency=match.agency_id,
                agency_confidence=match.confidence,
                agency_evidence=match.evidence,
                region=match.region,
                needs_review=result.needs_review,
                model_version=model.version,
            )
            if fmt == "csv":
                if writer is None:
                    passthrough = [k for k in out if k not in RESULT_FIELDS]
                    # cells that start with = + - @ are written as text, never as formulas
                    writer = SafeDictWriter(sink, fieldnames=RESULT_FIELDS + passthrough)
                    writer.writeheader()
                out["topics"] = ";".join(out["topics"])
                out["topic_scores"] = json.dumps(out["topic_scores"])
                writer.writerow({k: out.get(k, "") for k in writer.fieldnames})
            else:
                sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        report.classified += len(chunk)
        chunk.clear()

    for record in records:
        report.read += 1
        chunk.append(record)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    report.read += report.rejected
    return report
