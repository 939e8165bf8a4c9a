"""The readable model card (MODEL_CARD.md) written beside card.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.classify.evaluate import Evaluation


def write_card_markdown(card: dict[str, Any], evaluation: Evaluation, folder: Path) -> Path:
    t = card["thresholds"]
    topic_thresholds = ", ".join(f"`{k}` {v:.2f}" for k, v in t["topics"].items())
    libraries = ", ".join(f"{k} {v}" for k, v in card["library_versions"].items())
    s = evaluation.summary()
    text = f"""# Model card: {card["version"]}

**What it does.** For a public post in Indonesian (formal, social-media slang or Kupang Malay) it
predicts whether the post is a complaint about a public service (`is_complaint`, with a
probability), which of {len(card["labels"]["sectors"])} service sectors it is about (`sector`),
and which of {len(card["labels"]["topics"])} kinds of failure it reports (`topics`, multi-label,
aligned with the Ombudsman RI's forms of maladministration). Labels: `shared/TAXONOMY.md`.

**Trained** {card["trained_at"]} on {card["samples"]["count"]} hand-written labeled samples
(`labeled_samples/`, SHA-256 `{card["samples"]["sha256"][:16]}…`), seed {card["seed"]}. The same
samples give the same `vocabulary.json` and `weights.npz`, byte for byte.

**Features.** {card["features"]["word"]}; {card["features"]["char"]};
{card["features"]["phrase"]}.

**Estimators.** Complaint: {card["estimators"]["complaint"]}.
Sector: {card["estimators"]["sector"]}.
Topics: {card["estimators"]["topics"]}.

**Thresholds.** Complaint at {t["complaint"]}. Topics (chosen on out-of-fold predictions):
{topic_thresholds}. `needs_review` is true when the {t["needs_review"]}.

## Metrics ({evaluation.source})

| measure | value |
|---|---|
| complaint F1 | {s["complaint_f1"]:.3f} |
| sector macro F1 | {s["sector_macro_f1"]:.3f} |
| sector micro F1 (accuracy) | {s["sector_micro_f1"]:.3f} |
| topic micro F1 (on complaints) | {s["topic_micro_f1"]:.3f} |
| topic macro F1 (on complaints) | {s["topic_macro_f1"]:.3f} |
| complaint Brier score | {s["complaint_brier"]:.3f} |

Per label, the confusion matrix and the reliability table: `evaluation.md` / `evaluation.html`.

**Limits.** These figures come from samples the project wrote; posts written by others (other
cities, other styles, other years) will score lower, and nobody has measured how much yet.
Sarcasm, posts about several services at once and very short posts are the usual errors; check
posts marked `needs_review`. The model never sees who wrote a post.

**Loading.** `card.json` holds the SHA-256 of `vocabulary.json` and `weights.npz`; loading checks
both before reading anything, and reads no pickles (`numpy.load(allow_pickle=False)`, JSON).

**Libraries.** {libraries}.
"""
    path = folder / "MODEL_CARD.md"
    path.write_text(text, encoding="utf-8")
    return path
