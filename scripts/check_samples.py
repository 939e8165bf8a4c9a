#!/usr/bin/env python3
"""Check the labeled samples: schema, known labels, duplicates, near-duplicates, counts.

    python scripts/check_samples.py                    # labeled_samples/*.jsonl
    python scripts/check_samples.py path/to/file.jsonl --threshold 0.5

Exits 1 when a sample is invalid, a text is repeated, a near-duplicate pair is
found, or a label is below the floor the classifier issue sets (sector >= 120,
topic >= 80 positives, non-complaints >= 30%).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.classify.samples import (  # noqa: E402
    NEAR_DUPLICATE_JACCARD,
    label_counts,
    load_samples,
    near_duplicate_pairs,
    samples_dir,
)
from monitor.labels import SECTORS, TOPICS  # noqa: E402

MIN_PER_SECTOR = 120
MIN_PER_TOPIC = 80
MIN_NON_COMPLAINT_SHARE = 0.30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "files", nargs="*", type=Path, help="JSONL files (default: labeled_samples/*.jsonl)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=NEAR_DUPLICATE_JACCARD,
        help=f"near-duplicate Jaccard of word 3-shingles (default {NEAR_DUPLICATE_JACCARD})",
    )
    parser.add_argument(
        "--show", type=int, default=20, help="how many problems of each kind to print"
    )
    args = parser.parse_args(argv)
    files = args.files or sorted(samples_dir().glob("*.jsonl"))
    report = load_samples(files)
    samples = report.samples
    failed = False

    print(f"{len(samples)} valid samples in {len(files)} file(s)")
    if report.problems:
        failed = True
        print(f"\nINVALID: {len(report.problems)}")
        for problem in report.problems[: args.show]:
            print(f"  {problem}")

    by_text: dict[str, str] = {}
    repeated = []
    for sample in samples:
        key = " ".join(sample.text.lower().split())
        if key in by_text:
            repeated.append(f"{sample.id} repeats {by_text[key]}")
        by_text.setdefault(key, sample.id)
    if repeated:
        failed = True
        print(f"\nREPEATED TEXTS: {len(repeated)}")
        for line in repeated[: args.show]:
            print(f"  {line}")

    pairs = near_duplicate_pairs([s.text for s in samples], args.threshold)
    print(f"\nnear-duplicate pairs (Jaccard >= {args.threshold}): {len(pairs)}")
    for i, j, score in sorted(pairs, key=lambda p: -p[2])[: args.show]:
        print(f"  {samples[i].id} ~ {samples[j].id}  {score:.2f}")
    failed |= bool(pairs)

    counts = label_counts(samples)
    non_complaints = counts["is_complaint"]["false"]
    share = non_complaints / max(len(samples), 1)
    print(f"\nnon-complaints: {non_complaints} ({share:.1%}; floor {MIN_NON_COMPLAINT_SHARE:.0%})")
    failed |= share < MIN_NON_COMPLAINT_SHARE
    print(f"\n{'sector':<24}{'samples':>8}")
    for sector in SECTORS:
        n = counts["sector"][sector]
        flag = "  BELOW FLOOR" if n < MIN_PER_SECTOR else ""
        failed |= n < MIN_PER_SECTOR
        print(f"{sector:<24}{n:>8}{flag}")
    print(f"\n{'topic':<24}{'positives':>10}")
    for topic in TOPICS:
        n = counts["topic"][topic]
        flag = "  BELOW FLOOR" if n < MIN_PER_TOPIC else ""
        failed |= n < MIN_PER_TOPIC
        print(f"{topic:<24}{n:>10}{flag}")
    print("\nresult: " + ("PROBLEMS FOUND" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
