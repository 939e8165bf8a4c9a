#!/usr/bin/env python3
"""Check the labeled samples: schema, known labels, duplicates, near-duplicates, counts.

    python scripts/check_samples.py                    # labeled_samples/*.jsonl
    python scripts/check_samples.py path/to/file.jsonl --threshold 0.5

Exits 1 when a sample is invalid, a text is repeated, a near-duplicate pair is
found, or a floor is not met: at least 12,000 samples, sector >= 120 and topic
>= 80 positives, non-complaints >= 30%, hard cases >= 30%. Also reports the
length distribution (overall and per channel) and the share per channel and
region, so the samples can be compared with shared/REAL_POSTS.md.

The blind set (labeled_samples/blind/) is not read by default: it is checked by
scripts/blind_set.py, and the model never trains on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.classify.samples import (  # noqa: E402
    CHANNELS,
    NEAR_DUPLICATE_JACCARD,
    REGIONS,
    label_counts,
    load_samples,
    near_duplicate_pairs,
    samples_dir,
)
from monitor.labels import SECTORS, TOPICS  # noqa: E402

MIN_PER_SECTOR = 120
MIN_PER_TOPIC = 80
MIN_NON_COMPLAINT_SHARE = 0.30
MIN_HARD_SHARE = 0.30
MIN_SAMPLES = 12_000


def length_row(name: str, lengths: list[int]) -> str:
    """name, count, p10 / median / p90 / max of the text lengths in characters."""
    if not lengths:
        return f"{name:<14}{0:>7}"
    ordered = sorted(lengths)

    def at(q: float) -> int:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"{name:<14}{len(ordered):>7}{at(0.1):>7}{at(0.5):>8}{at(0.9):>7}{ordered[-1]:>7}"


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
    parser.add_argument(
        "--no-floors",
        dest="floors",
        action="store_false",
        help="check one file alone: report the counts but do not fail on the floors",
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

    total = len(samples)
    print(f"\nsamples: {total} (floor {MIN_SAMPLES:,})")
    failed |= bool(args.floors) and total < MIN_SAMPLES
    hard = sum(s.hard for s in samples)
    print(f"hard cases: {hard} ({hard / max(total, 1):.1%}; floor {MIN_HARD_SHARE:.0%})")
    failed |= bool(args.floors) and hard / max(total, 1) < MIN_HARD_SHARE

    print(
        f"\nlength in characters\n{'channel':<14}{'posts':>7}{'p10':>7}{'median':>8}"
        f"{'p90':>7}{'max':>7}"
    )
    print(length_row("all", [len(s.text) for s in samples]))
    for channel in (*CHANNELS, ""):
        lengths = [len(s.text) for s in samples if s.channel == channel]
        if lengths:
            print(length_row(channel or "(not given)", lengths))

    for key, values in (("channel", CHANNELS), ("region", REGIONS)):
        print(f"\n{key:<14}{'posts':>7}{'share':>8}{'complaints':>12}{'hard':>7}")
        for value in (*values, ""):
            group = [s for s in samples if getattr(s, key) == value]
            if group:
                print(
                    f"{value or '(not given)':<14}{len(group):>7}{len(group) / total:>8.1%}"
                    f"{sum(s.is_complaint for s in group) / len(group):>12.0%}"
                    f"{sum(s.hard for s in group) / len(group):>7.0%}"
                )

    counts = label_counts(samples)
    non_complaints = counts["is_complaint"]["false"]
    share = non_complaints / max(len(samples), 1)
    print(f"\nnon-complaints: {non_complaints} ({share:.1%}; floor {MIN_NON_COMPLAINT_SHARE:.0%})")
    failed |= bool(args.floors) and share < MIN_NON_COMPLAINT_SHARE
    print(f"\n{'sector':<24}{'samples':>8}")
    for sector in SECTORS:
        n = counts["sector"][sector]
        flag = "  BELOW FLOOR" if n < MIN_PER_SECTOR and args.floors else ""
        failed |= bool(flag)
        print(f"{sector:<24}{n:>8}{flag}")
    print(f"\n{'topic':<24}{'positives':>10}")
    for topic in TOPICS:
        n = counts["topic"][topic]
        flag = "  BELOW FLOOR" if n < MIN_PER_TOPIC and args.floors else ""
        failed |= bool(flag)
        print(f"{topic:<24}{n:>10}{flag}")
    print("\nresult: " + ("PROBLEMS FOUND" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
