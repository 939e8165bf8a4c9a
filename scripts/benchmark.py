#!/usr/bin/env python3
"""Measure monitor's speed on a deterministic synthetic corpus.

    python scripts/benchmark.py                 # 10,000 posts, a few seconds
    python scripts/benchmark.py --posts 100000 --repeat 5 --out bench.json

The corpus is built from the labeled samples' texts with seeded perturbations
(slang and Kupang Malay swaps, typos, elongation, agency mentions from the
default gazetteer, lengths from one line to a paragraph), so every run on every
machine measures the same texts. Each stage runs --repeat times in this one
process; the median and the spread (min-max) are reported.

Stages measured so far:
  text      normalise + redact + resolve agency (no classifier, no database)
  classify  the shipped model's predict, in chunks of 1,000, normalisation included,
            beside a bare baseline (word TF-IDF + LinearSVC, no normalisation)
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.agencies import Gazetteer  # noqa: E402
from monitor.config import example_config  # noqa: E402
from monitor.text.normalize import normalize, slang_lexicon  # noqa: E402
from monitor.text.redact import redact  # noqa: E402


def sample_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "labeled_samples").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return texts


def synthetic_corpus(size: int, seed: int = 20261122) -> list[str]:
    """``size`` post texts, the same for the same seed."""
    rng = random.Random(seed)
    base = sample_texts()
    slang_for: dict[str, list[str]] = {}
    for word, meaning in slang_lexicon().items():
        if " " not in meaning:
            slang_for.setdefault(meaning, []).append(word)
    aliases = [alias for agency in example_config(ROOT).agencies for alias in agency.aliases]
    posts = []
    for _ in range(size):
        words = rng.choice(base).split()
        if rng.random() < 0.2:  # a longer post: two joined
            words += rng.choice(base).split()
        if rng.random() < 0.3:  # a one-liner
            words = words[: rng.randint(4, 10)]
        out = []
        for word in words:
            roll = rng.random()
            lower = word.lower()
            if roll < 0.15 and lower in slang_for:
                word = rng.choice(slang_for[lower])
            elif roll < 0.18 and len(word) > 4:  # a typo: two letters swapped
                i = rng.randrange(len(word) - 1)
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif roll < 0.20 and word[-1:].isalpha():
                word += word[-1] * rng.randint(2, 4)  # elongation
            out.append(word)
        if rng.random() < 0.4:
            out.insert(rng.randrange(len(out) + 1), rng.choice(aliases))
        posts.append(" ".join(out))
    return posts


def measure(name: str, work: Callable[[], int], repeat: int) -> dict:
    """Run ``work`` (which returns how many items it handled) ``repeat`` times."""
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        items = work()
        rates.append(items / (time.perf_counter() - started))
    return {
        "stage": name,
        "items": items,
        "median_per_s": round(statistics.median(rates)),
        "min_per_s": round(min(rates)),
        "max_per_s": round(max(rates)),
    }


def bench_text(texts: list[str], repeat: int) -> dict:
    config = example_config(ROOT)
    gazetteer = Gazetteer(config.agencies, config.regions, config.default_region)

    def work() -> int:
        for text in texts:
            redact(text)
            gazetteer.resolve(normalize(text), "adminduk", "")
        return len(texts)

    work()  # warm the per-token caches, as a long-running process has them
    return measure("text: normalise + redact + resolve", work, repeat)


def bench_classify(texts: list[str], repeat: int) -> list[dict]:
    """Our model (normalisation included) in chunks of 1,000, as `monitor classify`
    runs it, against a bare baseline on the same texts: plain word TF-IDF +
    LinearSVC predict with no normalisation, trained on the same samples."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from monitor.classify import load_model
    from monitor.classify.samples import load_samples, samples_dir

    model = load_model()
    samples = load_samples(samples_dir().glob("*.jsonl")).samples
    bare = make_pipeline(TfidfVectorizer(), LinearSVC())
    bare.fit([s.text for s in samples], [s.is_complaint for s in samples])
    chunks = [texts[i : i + 1000] for i in range(0, len(texts), 1000)]

    def ours() -> int:
        for chunk in chunks:
            model.predict(chunk)
        return len(texts)

    def baseline() -> int:
        for chunk in chunks:
            bare.predict(chunk)
        return len(texts)

    ours()  # warm the per-token caches
    mine = measure(f"classify: {model.version} (with normalisation)", ours, repeat)
    reference = measure(
        "bare baseline: word TF-IDF + LinearSVC, no normalisation", baseline, repeat
    )
    mine["ratio_to_bare_baseline"] = round(mine["median_per_s"] / reference["median_per_s"], 3)
    return [mine, reference]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000, help="corpus size (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per stage (default 3)")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    print(f"building a corpus of {args.posts} posts (seed {args.seed}) ...", file=sys.stderr)
    texts = synthetic_corpus(args.posts, args.seed)
    results = [bench_text(texts, args.repeat), *bench_classify(texts, args.repeat)]
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "system": platform.platform(),
    }
    print(f"\n{args.posts} posts, {args.repeat} repetitions, one process; {machine['system']}\n")
    print("| stage | median / s | min / s | max / s |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['stage']} | {r['median_per_s']:,} | {r['min_per_s']:,} | {r['max_per_s']:,} |")
    for r in results:
        if "ratio_to_bare_baseline" in r:
            print(f"\n{r['stage']}: {r['ratio_to_bare_baseline']} × the bare baseline's speed")
    if args.out:
        args.out.write_text(
            json.dumps({"posts": args.posts, "machine": machine, "results": results}, indent=2)
        )
        print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
