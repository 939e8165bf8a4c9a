"""The readable model card (MODEL_CARD.md) written beside card.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.classify.evaluate import Evaluation, comparison_markdown


def write_card_markdown(card: dict[str, Any], evaluation: Evaluation, folder: Path) -> Path:
    t = card["thresholds"]
    topic_thresholds = ", ".join(f"`{k}` {v:.2f}" for k, v in t["topics"].items())
    libraries = ", ".join(f"{k} {v}" for k, v in card["library_versions"].items())
    metrics = card.get("metrics", {})
    columns = [
        (name, {k: v for k, v in metrics[key].items() if isinstance(v, float)})
        for key, name in (
            ("blind", "blind set: this model"),
            ("keyword_rule_blind", "blind set: keyword rule"),
            ("cross_validation", "cross-validation (own samples)"),
        )
        if key in metrics
    ]
    blind = metrics.get("blind", {})
    cv = metrics.get("cross_validation", {})
    gap = ""
    if blind and cv:
        gap = (
            "Cross-validation minus the blind set: complaint F1 "
            f"{cv['complaint_f1'] - blind['complaint_f1']:+.3f}, sector macro F1 "
            f"{cv['sector_macro_f1'] - blind['sector_macro_f1']:+.3f}, topic micro F1 "
            f"{cv['topic_micro_f1'] - blind['topic_micro_f1']:+.3f}: how much better (or, when "
            "negative, worse) the model does on writing like its own than on posts written apart."
        )
    fair = metrics.get("blind_cross_fitted")
    if fair:
        gap += (
            "\n\nThe thresholds were chosen on the blind set, which flatters the figures measured "
            "on it a little. Scored with thresholds chosen on the other half of the blind set "
            f"instead: complaint F1 {fair['complaint_f1']:.3f}, sector macro F1 "
            f"{fair['sector_macro_f1']:.3f}, topic micro F1 {fair['topic_micro_f1']:.3f}."
        )
    routing = metrics.get("routing")
    routing_text = (
        f"**Routing.** On the written routing set (`labeled_samples/routing/`, "
        f"{routing['count']} posts labelled with the agency a staffer would route them to, "
        f"or none), {routing['accuracy']:.1%} go to the right agency or rightly to none: "
        f"{routing['named_accuracy']:.1%} of posts that name an agency, "
        f"{routing['unresolved_accuracy']:.1%} of posts that name none; posts by an agency's "
        f"own account kept out of the complaints: {routing['own_account_not_complaint']}."
        if routing
        else ""
    )
    selection = f"Thresholds and the review band were chosen on the {t['chosen_on']}" + (
        f"; the review band holds {t['review_band_catches']:.0%} of the blind set's "
        f"complaint errors and flags {t['review_band_flags']:.0%} of its posts."
        if "review_band_catches" in t
        else "."
    )
    office = card.get("office_labels")
    office_text = (
        f"\n\n**Office labels.** Also trained on {office['count']} labels from the office's own "
        f"records (the database's `office_labels`; their keys in `office_label_keys.txt`), "
        f"combined by {office['method']} with the office carrying {office['share']:.0%} of the "
        "training weight. What it is worth on them, beside the model it replaces and the keyword "
        "rule: `comparison.md`."
        if office
        else ""
    )
    text = f"""# Model card: {card["version"]}

**What it does.** For a public post in Indonesian (formal, social-media slang or Kupang Malay) it
predicts whether the post is a complaint about a public service (`is_complaint`, with a
probability), which of {len(card["labels"]["sectors"])} service sectors it is about (`sector`),
and which of {len(card["labels"]["topics"])} kinds of failure it reports (`topics`, multi-label,
aligned with the Ombudsman RI's forms of maladministration). Labels: `docs/TAXONOMY.md`.

**Trained** {card["trained_at"]} on {card["samples"]["count"]} hand-written labeled samples
(`labeled_samples/`, SHA-256 `{card["samples"]["sha256"][:16]}…`), seed {card["seed"]}. The same
samples give the same `vocabulary.json` and `weights.npz`, byte for byte.{office_text}

**Features.** {card["features"]["word"]}; {card["features"]["char"]};
{card["features"]["phrase"]}.

**Estimators.** Complaint: {card["estimators"]["complaint"]}.
Sector: {card["estimators"]["sector"]}.
Topics: {card["estimators"]["topics"]}.

**Thresholds.** Complaint at {t["complaint"]}. Topics: {topic_thresholds}. `needs_review` is
true when the {t["needs_review"]}. {selection}

## Metrics

Blind set first: posts written apart from the training samples, by writers who never saw them,
each kept only when two annotators agreed (`labeled_samples/blind/AGREEMENT.md`). The keyword
rule stands beside it; cross-validation on the project's own samples comes last.

{comparison_markdown(columns)}

{gap}

{routing_text}

Per label, the confusion matrix and the reliability table ({evaluation.source}):
`evaluation.md` / `evaluation.html`.

**Limits.** Every figure here comes from posts the project wrote, even the blind set (written
apart, from briefs that describe real channels). Posts written by others (other cities, other
styles, other years) are measured outside the project, and they score lower.
Sarcasm, posts about several services at once and very short posts are the usual errors; check
posts marked `needs_review`. The model never sees who wrote a post.

**Loading.** `card.json` holds the SHA-256 of `vocabulary.json` and `weights.npz`; loading checks
both before reading anything, and reads no pickles (`numpy.load(allow_pickle=False)`, JSON).

**Libraries.** {libraries}.
"""
    path = folder / "MODEL_CARD.md"
    path.write_text(text, encoding="utf-8")
    return path
