#!/usr/bin/env python3
"""Choose the model on the blind set, not on cross-validation.

Fits each candidate setting on labeled_samples/*.jsonl and scores it on the blind
set (labeled_samples/blind/blind_set.jsonl, written apart and never trained on),
with the keyword rule beside them. Prints one row per candidate: complaint F1,
sector macro F1 (on complaints), topic micro F1 (on complaints with agreed
topics), and classify speed. The defaults of monitor.classify.train.Settings are
the row chosen here; the README quotes the table.

    python scripts/select_model.py                 # every candidate (about 10 minutes)
    python scripts/select_model.py --quick         # the default and two others
    python scripts/select_model.py --blind FILE    # another labelled file
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.classify.baseline import KeywordBaseline  # noqa: E402
from monitor.classify.evaluate import evaluate_model  # noqa: E402
from monitor.classify.samples import blind_set_path, load_samples, samples_dir  # noqa: E402
from monitor.classify.train import DEFAULT_SETTINGS, Settings, fit  # noqa: E402

CANDIDATES: dict[str, Settings] = {
    "chosen (defaults)": DEFAULT_SETTINGS,
    "no surface words": dataclasses.replace(DEFAULT_SETTINGS, surface=False),
    "first generation weight 0.5": dataclasses.replace(
        DEFAULT_SETTINGS, first_generation_weight=0.5
    ),
    "first generation weight 0.25": dataclasses.replace(
        DEFAULT_SETTINGS, first_generation_weight=0.25
    ),
    "complaint C 3": dataclasses.replace(DEFAULT_SETTINGS, complaint_c=3.0),
    "complaint C 30": dataclasses.replace(DEFAULT_SETTINGS, complaint_c=30.0),
    "sector C 5": dataclasses.replace(DEFAULT_SETTINGS, sector_c=5.0),
    "sector C 50": dataclasses.replace(DEFAULT_SETTINGS, sector_c=50.0),
    "sector balanced": dataclasses.replace(DEFAULT_SETTINGS, sector_balanced=True),
    "sector on complaints only": dataclasses.replace(DEFAULT_SETTINGS, sector_on_complaints=True),
    "topic C 3": dataclasses.replace(DEFAULT_SETTINGS, topic_c=3.0),
    "topic C 30": dataclasses.replace(DEFAULT_SETTINGS, topic_c=30.0),
    "no surface, first generation weight 0.5": dataclasses.replace(
        DEFAULT_SETTINGS, surface=False, first_generation_weight=0.5
    ),
    "no surface, first generation weight 0.25": dataclasses.replace(
        DEFAULT_SETTINGS, surface=False, first_generation_weight=0.25
    ),
    "no surface, topic C 3": dataclasses.replace(DEFAULT_SETTINGS, surface=False, topic_c=3.0),
    "no surface, complaint C 3": dataclasses.replace(
        DEFAULT_SETTINGS, surface=False, complaint_c=3.0
    ),
    "no surface, sector balanced": dataclasses.replace(
        DEFAULT_SETTINGS, surface=False, sector_balanced=True
    ),
}
QUICK = ("chosen (defaults)", "no surface words", "first generation weight 0.5")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--blind", nargs="*", type=Path, help="labelled JSONL (default: blind set)")
    parser.add_argument("--quick", action="store_true", help="three candidates only")
    parser.add_argument("--only", nargs="*", help="candidate names to run")
    args = parser.parse_args(argv)
    training = load_samples(sorted(samples_dir().glob("*.jsonl")))
    if training.problems:
        print("invalid samples; run python scripts/check_samples.py", file=sys.stderr)
        return 1
    blind = load_samples(args.blind or [blind_set_path()]).samples
    print(f"training on {len(training.samples)} samples; scoring on {len(blind)} blind posts")
    rows = []
    baseline = evaluate_model(KeywordBaseline(), blind, "blind")
    rows.append(("keyword rule", baseline.summary(), 0.0))
    names = args.only or (QUICK if args.quick else list(CANDIDATES))
    for name in names:
        started = time.monotonic()
        model = fit(training.samples, settings=CANDIDATES[name])
        fitted = time.monotonic() - started
        started = time.monotonic()
        evaluation = evaluate_model(model, blind, "blind")
        speed = len(blind) / (time.monotonic() - started)
        rows.append((name, evaluation.summary(), speed))
        print(f"  {name}: fitted in {fitted:.0f} s", file=sys.stderr, flush=True)
    print(
        "\n| candidate | complaint F1 | sector macro F1 | topic micro F1 | Brier "
        "| posts/s (warm) |\n|---|---|---|---|---|---|"
    )
    for name, s, speed in rows:
        print(
            f"| {name} | {s['complaint_f1']:.3f} | {s['sector_macro_f1']:.3f} | "
            f"{s['topic_micro_f1']:.3f} | {s['complaint_brier']:.3f} | "
            f"{speed:,.0f} |"
            if speed
            else f"| {name} | {s['complaint_f1']:.3f} | {s['sector_macro_f1']:.3f} | "
            f"{s['topic_micro_f1']:.3f} | {s['complaint_brier']:.3f} | - |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
