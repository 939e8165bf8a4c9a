#!/usr/bin/env python3
"""Build the blind set from two independent labellings, and report their agreement.

The blind set (labeled_samples/blind/) is written by writers who never saw the
training samples or each other's work; each writer labels their own posts
(annotator A, ``writer_*.jsonl``). A second annotator (B), who sees only the
texts, labels every post again (``annotator_b.jsonl``). Only posts on which
both agree are kept:

- complaint or not must agree;
- for a complaint, the sector must agree;
- topics are kept from annotator A, and ``topics_agreed`` says whether B chose
  the same set; only agreed topic sets count in the topic scores;
- a post that repeats or nearly repeats a training sample (word 3-shingle Jaccard
  >= 0.5, or the same text: short posts such as "mantap min" are written by
  everyone) is left out, so the model is never judged on what it trained on.

    python scripts/blind_set.py export --out texts.jsonl   # id + text, for annotator B
    python scripts/blind_set.py merge                      # blind_set.jsonl + AGREEMENT.md

Cohen's kappa is reported for complaint-or-not, for the sector of posts both call
complaints, and for each topic on those posts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.classify.samples import (  # noqa: E402
    NEAR_DUPLICATE_JACCARD,
    load_samples,
    near_duplicate_pairs,
    samples_dir,
)
from monitor.labels import SECTORS, TOPICS  # noqa: E402

BLIND = samples_dir() / "blind"


def cohen_kappa(first: list, second: list) -> float:
    """Agreement beyond chance between two labellings of the same items."""
    n = len(first)
    if n == 0:
        return float("nan")
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[k] * count_b[k] for k in set(count_a) | set(count_b)) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def writer_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("writer_*.jsonl"))


def read_annotations(path: Path) -> tuple[dict[str, dict], list[str]]:
    labels, problems = {}, []
    if not path.exists():
        return labels, problems
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            assert isinstance(record["is_complaint"], bool), "is_complaint not true/false"
            assert record["sector"] in SECTORS, f"unknown sector {record['sector']!r}"
            topics = record.get("topics", [])
            assert all(t in TOPICS for t in topics), f"unknown topic in {topics}"
            labels[str(record["id"])] = record
        except (json.JSONDecodeError, KeyError, AssertionError) as exc:
            problems.append(f"{path.name}:{number}: {exc}")
    return labels, problems


def cmd_export(args: argparse.Namespace) -> int:
    report = load_samples(writer_files(args.dir))
    done, _ = read_annotations(args.dir / "annotator_b.jsonl")
    todo = [s for s in report.samples if s.id not in done]
    with Path(args.out).open("w", encoding="utf-8") as out:
        for sample in todo:
            out.write(json.dumps({"id": sample.id, "text": sample.text}, ensure_ascii=False) + "\n")
    print(f"{len(todo)} texts to label written to {args.out} ({len(done)} already labelled)")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    report = load_samples(writer_files(args.dir))
    for problem in report.problems:
        print(f"skipped (writer file): {problem}")
    second, problems = read_annotations(args.dir / "annotator_b.jsonl")
    for problem in problems:
        print(f"skipped (annotator B): {problem}")
    both = [s for s in report.samples if s.id in second]
    training = load_samples(sorted(args.dir.parent.glob("*.jsonl"))).samples
    seen = [s.text for s in training]
    pairs = near_duplicate_pairs(seen + [s.text for s in both], NEAR_DUPLICATE_JACCARD)
    known = {" ".join(t.lower().split()) for t in seen}
    repeats = {j - len(seen) for i, j, _ in pairs if i < len(seen) <= j}
    repeats |= {k for k, s in enumerate(both) if " ".join(s.text.lower().split()) in known}
    repeated_ids = {both[k].id for k in repeats}
    complaint_a = [s.is_complaint for s in both]
    complaint_b = [second[s.id]["is_complaint"] for s in both]
    complaints = [s for s in both if s.is_complaint and second[s.id]["is_complaint"]]
    sector_a = [s.sector for s in complaints]
    sector_b = [second[s.id]["sector"] for s in complaints]
    kept, topics_agreed = [], 0
    for sample in both:
        if sample.id in repeated_ids:
            continue
        other = second[sample.id]
        if other["is_complaint"] != sample.is_complaint:
            continue
        if sample.is_complaint and other["sector"] != sample.sector:
            continue
        agreed = set(other.get("topics", [])) == set(sample.topics)
        topics_agreed += agreed and sample.is_complaint
        record = {
            "id": sample.id,
            "text": sample.text,
            "is_complaint": sample.is_complaint,
            "sector": sample.sector,
            "topics": sample.topics,
            "channel": sample.channel,
            "region": sample.region,
            "hard": sample.hard,
        }
        if sample.is_complaint:
            record["topics_agreed"] = agreed
        kept.append({k: v for k, v in record.items() if v != ""})
    out = args.dir / "blind_set.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        for record in kept:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    kappa_complaint = cohen_kappa(complaint_a, complaint_b)
    kappa_sector = cohen_kappa(sector_a, sector_b)
    topic_rows = []
    for topic in TOPICS:
        a = [topic in s.topics for s in complaints]
        b = [topic in second[s.id].get("topics", []) for s in complaints]
        topic_rows.append((topic, sum(a), sum(b), cohen_kappa(a, b)))
    kept_complaints = sum(r["is_complaint"] for r in kept)
    channels = Counter(r.get("channel", "") for r in kept)
    lines = [
        "# Blind set: agreement between the two annotators",
        "",
        "Made by `python scripts/blind_set.py merge`. Annotator A is each post's writer;",
        "annotator B labelled the texts alone, without A's labels. A post is kept when both",
        "agree on complaint-or-not and, for complaints, on the sector, and it does not repeat",
        "a training sample (the same text, or word 3-shingle Jaccard >= 0.5).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| posts written | {len(report.samples)} |",
        f"| posts labelled by both | {len(both)} |",
        f"| complaint-or-not: agreement | {_share(complaint_a, complaint_b)} |",
        f"| complaint-or-not: Cohen's kappa | {kappa_complaint:.3f} |",
        f"| sector (posts both call complaints, {len(complaints)}): agreement | "
        f"{_share(sector_a, sector_b)} |",
        f"| sector: Cohen's kappa | {kappa_sector:.3f} |",
        f"| left out: repeat or nearly repeat a training sample | {len(repeated_ids)} |",
        f"| **kept in the blind set** | **{len(kept)}** ({kept_complaints} complaints) |",
        f"| complaints whose topic sets agree (scored for topics) | {topics_agreed} |",
        "",
        "Channels kept: " + ", ".join(f"{k or '-'} {v}" for k, v in channels.most_common()),
        "",
        "| topic | A | B | Cohen's kappa |",
        "|---|---|---|---|",
        *[f"| {t} | {a} | {b} | {k:.3f} |" for t, a, b, k in topic_rows],
        "",
    ]
    (args.dir / "AGREEMENT.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"written: {out}")
    return 0


def _share(first: list, second: list) -> str:
    same = sum(a == b for a, b in zip(first, second, strict=True))
    return f"{same} of {len(first)} ({same / max(len(first), 1):.1%})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dir", type=Path, default=BLIND, help=f"the blind set's folder (default: {BLIND})"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="texts not yet labelled by annotator B")
    export.add_argument("--out", required=True, help="JSONL file of id and text")
    export.set_defaults(func=cmd_export)
    merge = sub.add_parser("merge", help="keep the agreed posts; write AGREEMENT.md")
    merge.set_defaults(func=cmd_merge)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
