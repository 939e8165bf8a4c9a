"""The labeled samples: loading, validation, and near-duplicate groups.

Near-duplicates are grouped, transitively, so that cross-validation keeps each
group on one side of a split: a model must not be scored on a copy of a training
example. What a near-duplicate is (word 3-shingles of the normalised content words,
Jaccard >= ``NEAR_DUPLICATE_JACCARD``, short texts never) is the rule cases are
made by, written once in ``monitor.text.shingles``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from monitor.labels import SECTORS, TOPICS
from monitor.text.shingles import NEAR_DUPLICATE_JACCARD, comparable, shingles

REQUIRED = {"id": str, "text": str, "is_complaint": bool, "sector": str, "topics": list}
# Where a post of this kind is written (REAL_POSTS.md's channel types) and where its
# writer set it; optional, for the share tables of scripts/check_samples.py.
CHANNELS = ("portal", "mention", "timeline", "comment", "whatsapp", "review", "news")
REGIONS = (
    "jawa",
    "sumatra",
    "kalimantan",
    "sulawesi",
    "bali_nusra",
    "ntt",
    "maluku",
    "papua",
    "nasional",
)
# topics_agreed (blind set only): both annotators chose the same topics, so the
# post's topics count in the topic scores.
OPTIONAL = {"note": str, "channel": str, "region": str, "hard": bool, "topics_agreed": bool}


@dataclass
class Sample:
    id: str
    text: str
    is_complaint: bool
    sector: str
    topics: list[str]
    note: str = ""
    channel: str = ""
    region: str = ""
    hard: bool = False  # a boundary case, a non-service use of complaint words, or no names
    topics_agreed: bool = True


@dataclass
class SampleReport:
    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file:line: reason"


def samples_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "labeled_samples"


def blind_set_path() -> Path:
    """The blind set: written apart from the training samples, never trained on."""
    return samples_dir() / "blind" / "blind_set.jsonl"


def routing_set_path() -> Path:
    return samples_dir() / "routing" / "routing_set.jsonl"


def load_samples(paths: Iterable[Path]) -> SampleReport:
    """Every valid sample of the given JSONL files, and every problem found."""
    report = SampleReport()
    seen_ids: dict[str, str] = {}
    for path in sorted(paths):
        with Path(path).open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                where = f"{Path(path).name}:{number}"
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    report.problems.append(f"{where}: not a JSON line ({exc})")
                    continue
                problem = _check(record)
                if problem:
                    report.problems.append(f"{where}: {problem}")
                    continue
                if record["id"] in seen_ids:
                    report.problems.append(
                        f"{where}: id {record['id']} already used at {seen_ids[record['id']]}"
                    )
                    continue
                seen_ids[record["id"]] = where
                report.samples.append(
                    Sample(
                        id=record["id"],
                        text=record["text"],
                        is_complaint=record["is_complaint"],
                        sector=record["sector"],
                        topics=list(record["topics"]),
                        note=record.get("note", ""),
                        channel=record.get("channel", ""),
                        region=record.get("region", ""),
                        hard=record.get("hard", False),
                        topics_agreed=record.get("topics_agreed", True),
                    )
                )
    return report


def _check(record: object) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    for key, kind in REQUIRED.items():
        if not isinstance(record.get(key), kind):
            return f"'{key}' missing or not {kind.__name__}"
    unknown = set(record) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        return f"unknown keys {sorted(unknown)}"
    for key, kind in OPTIONAL.items():
        if key in record and not isinstance(record[key], kind):
            return f"'{key}' is not {kind.__name__}"
    if "channel" in record and record["channel"] not in CHANNELS:
        return f"unknown channel '{record['channel']}' (one of {', '.join(CHANNELS)})"
    if "region" in record and record["region"] not in REGIONS:
        return f"unknown region '{record['region']}' (one of {', '.join(REGIONS)})"
    if not record["text"].strip():
        return "empty text"
    if record["sector"] not in SECTORS:
        return f"unknown sector '{record['sector']}'"
    bad = [t for t in record["topics"] if t not in TOPICS]
    if bad:
        return f"unknown topics {bad}"
    if len(set(record["topics"])) != len(record["topics"]):
        return "a topic listed twice"
    if not record["is_complaint"] and record["topics"]:
        return "topics on a non-complaint"
    return None


def near_duplicate_pairs(
    texts: list[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[int, int, float]]:
    """(i, j, jaccard) with i < j for every pair of near-duplicate texts (the rule of
    ``monitor.text.shingles``; ``threshold`` only to explore another one).

    One sparse product of the shingle matrix with itself gives every pair's overlap
    at once; fast for tens of thousands of texts. Texts too short to be compared
    have no row entries, so they pair with nothing.
    """
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, text in enumerate(texts):
        mine = shingles(text)
        if not comparable(mine):
            continue
        for shingle in sorted(mine):
            rows.append(i)
            cols.append(vocabulary.setdefault(shingle, len(vocabulary)))
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), len(vocabulary))
    )
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    overlap = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    union = sizes[overlap.row] + sizes[overlap.col] - overlap.data
    # In float64, as monitor.text.shingles.jaccard computes it: a pair exactly at the
    # threshold (3/5) must not fall below it by a float32 rounding.
    similarity = overlap.data.astype(np.float64) / np.maximum(union.astype(np.float64), 1)
    keep = similarity >= threshold
    return sorted(
        (int(i), int(j), float(s))
        for i, j, s in zip(overlap.row[keep], overlap.col[keep], similarity[keep], strict=True)
    )


def near_duplicate_groups(texts: list[str], threshold: float = NEAR_DUPLICATE_JACCARD) -> list[int]:
    """A group number per text; near-duplicates (transitively) share one."""
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in near_duplicate_pairs(texts, threshold):
        parent[root(i)] = root(j)
    return [root(i) for i in range(len(texts))]


def label_counts(samples: list[Sample]) -> dict[str, Counter]:
    return {
        "is_complaint": Counter(str(s.is_complaint).lower() for s in samples),
        "sector": Counter(s.sector for s in samples),
        "topic": Counter(t for s in samples for t in s.topics),
    }
