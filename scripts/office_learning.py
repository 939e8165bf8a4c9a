"""Measure how an office's own labels are best combined with the project's samples.

No office has given us its records, so an office is stood in for by a set of posts
the general model does not train on, written in a style of their own:

- ``portal``: the portal-style samples (samples_e_portal, samples_j_long), as in an
  office's LAPOR!-like case records; the general model trains on the other files;
- ``east``: the eastern-Indonesia samples (samples_i_east: Kupang Malay and its
  neighbours), a region with words of its own;
- ``blind``: the blind set, written apart by other writers; the general model
  trains on every sample;
- ``merged``: ``portal`` as an office whose categories are coarser than ours and mapped
  many-to-one (``--map``): its hospital complaints filed under health, roads and
  transport under one, sub-district offices under civil registration. Its labels then
  disagree with the samples on the same kind of post, as a real office's often do.

For each, grouped k-fold over the stand-in's posts (near-duplicates together): each
method trains on the general samples plus k-1 folds and is scored on the held-out
fold, complaint decided at 0.5 and topics at 0.5 (the same for every method, so the
comparison is fair). Prints one table per stand-in and writes them to --out.

    python scripts/office_learning.py --proxies portal,blind --folds 3 --out docs/office_learning.md
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.classify.evaluate import evaluate_model  # noqa: E402
from monitor.classify.samples import Sample, blind_set_path, load_samples, samples_dir  # noqa: E402
from monitor.classify.train import DEFAULT_SETTINGS, Row, fit, group_folds  # noqa: E402

PROXIES = {
    "portal": ("samples_e_portal.jsonl", "samples_j_long.jsonl"),
    "east": ("samples_i_east.jsonl",),
    "blind": (),
    "merged": ("samples_e_portal.jsonl", "samples_j_long.jsonl"),
}
# The "merged" office's coarser categories, as its --map would send them to our sectors.
MERGED = {
    "rumah_sakit": "kesehatan",
    "perhubungan": "pekerjaan_umum",
    "pemerintahan_wilayah": "adminduk",
}
# (name, method, office_share); "general" without office rows is the model as shipped.
OPTIONS = (
    ("general model only", "none", 0.0),
    ("office model only", "office", 0.0),
    ("pooled, weight 1 each", "pooled", 0.0),
    ("pooled, office half the weight", "pooled", 0.5),
    ("feature augmentation, weight 1", "augment", 0.0),
    ("feature augmentation, office half", "augment", 0.5),
    ("blend of log-odds, half and half", "blend", 0.5),
)


def split(proxy: str) -> tuple[list[Sample], list[Sample]]:
    files = sorted(samples_dir().glob("*.jsonl"))
    own = PROXIES[proxy]
    general = load_samples([f for f in files if f.name not in own]).samples
    office = (
        load_samples([f for f in files if f.name in own]).samples
        if own
        else load_samples([blind_set_path()]).samples
    )
    if proxy == "merged":
        office = [replace(s, sector=MERGED.get(s.sector, s.sector)) for s in office]
    return general, sorted(office, key=lambda s: s.id)


def office_rows(samples: list[Sample]) -> list[Row]:
    return [Row.of_sample(s) for s in samples]


def measure(proxy: str, folds: int, only: set[str]) -> list[tuple[str, dict[str, float]]]:
    general, office = split(proxy)
    print(f"{proxy}: {len(general)} general samples, {len(office)} office posts", flush=True)
    splits = group_folds(office, folds)
    results = []
    for name, method, share in OPTIONS:
        if only and method not in only:
            continue
        started = time.monotonic()
        predictions: list = [None] * len(office)
        cached = None
        for train_idx, test_idx in splits:
            if method == "none":
                cached = cached or fit(general)
                model = cached
            else:
                settings = replace(DEFAULT_SETTINGS, office_method=method, office_share=share)
                model = fit(
                    general, settings=settings, office=office_rows([office[i] for i in train_idx])
                )
            for i, p in zip(
                test_idx, model.predict([office[i].text for i in test_idx]), strict=True
            ):
                predictions[i] = p
        scored = _score(office, predictions)
        results.append((name, scored))
        print(
            f"  {name:38s} complaint {scored['complaint_f1']:.3f}  "
            f"sector {scored['sector_macro_f1']:.3f}  "
            f"topics {scored['topic_micro_f1']:.3f}  ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    return results


def _score(office: list[Sample], predictions: list) -> dict[str, float]:
    class Replay:
        version = "replay"

        def predict(self, texts):
            return predictions

    return evaluate_model(Replay(), office, "held-out folds").summary()


def table(proxy: str, folds: int, results: list[tuple[str, dict[str, float]]]) -> str:
    general, office = split(proxy)
    lines = [
        f"### {proxy}: {len(office)} office posts, {folds}-fold, {len(general)} general samples",
        "",
        "| method | complaint F1 | sector macro F1 | topic micro F1 |",
        "|---|---|---|---|",
    ]
    best = {
        k: max(r[k] for _, r in results)
        for k in ("complaint_f1", "sector_macro_f1", "topic_micro_f1")
    }
    for name, r in results:
        cells = [
            f"**{r[k]:.3f}**" if np.isclose(r[k], best[k]) else f"{r[k]:.3f}"
            for k in ("complaint_f1", "sector_macro_f1", "topic_micro_f1")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--proxies", default="portal,east,blind")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--methods", default="", help="only these methods (none,office,pooled,augment,blend)"
    )
    parser.add_argument("--out", help="write the tables (Markdown) here")
    args = parser.parse_args()
    only = {m for m in args.methods.split(",") if m}
    tables = []
    for proxy in args.proxies.split(","):
        tables.append(table(proxy, args.folds, measure(proxy, args.folds, only)))
        if args.out:  # after each stand-in: an interrupted run keeps what it measured
            Path(args.out).write_text("\n".join(tables), encoding="utf-8")
    if args.out:
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
