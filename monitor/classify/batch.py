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

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from monitor.agencies import Gazetteer
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
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad(number, f"not valid UTF-8 (byte {exc.start})")
            continue
        except json.JSONDecodeError as exc:
            bad(number, f"not valid JSON ({exc.msg})")
            continue
        if _checked(record, number, bad):
            yield record


def _records_csv(stream: IO[bytes], bad: Callable[[int, str], None]) -> Iterator[dict[str, Any]]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    reader = csv.DictReader(text)
    if not reader.fieldnames or not {"id", "text"} <= set(reader.fieldnames):
        bad(1, f"the header needs columns id and text (has: {', '.join(reader.fieldnames or [])})")
        return
    for row in reader:
        number = reader.line_num
        if None in row or None in row.values():
            bad(number, f"{len(reader.fieldnames)} columns expected, the row has another number")
            continue
        if "\ufffd" in row["text"]:
            bad(number, "not valid UTF-8")
            continue
        if _checked(row, number, bad):
            yield row


def _checked(record: Any, number: int, bad: Callable[[int, str], None]) -> bool:
    if not isinstance(record, dict):
        bad(number, "not a JSON object")
    elif record.get("id") in (None, ""):
        bad(number, "missing 'id'")
    elif not isinstance(record.get("text"), str) or not record["text"].strip():
        bad(number, "missing or empty 'text'")
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
    writer: csv.DictWriter | None = None
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
                    writer = csv.DictWriter(sink, fieldnames=RESULT_FIELDS + passthrough)
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
