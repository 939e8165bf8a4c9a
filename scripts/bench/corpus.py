"""The benchmark's corpus: deterministic post texts and raw source payloads.

Every text is one of the labeled samples (or two joined), perturbed with seeded slang
and Kupang Malay swaps, typos, elongation and agency mentions, so every run on every
machine measures the same texts.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from bench.measure import ROOT, Throttle

# Platforms as Ombudsman NTT staff see complaints arrive, with their share and post URL.
PLATFORMS = [
    ("x", 0.35, "https://x.com/{author}/status/{id}"),
    ("facebook", 0.25, "https://www.facebook.com/{author}/posts/{id}"),
    ("instagram", 0.15, "https://www.instagram.com/p/{id}/"),
    ("tiktok", 0.10, "https://www.tiktok.com/@{author}/video/{id}"),
    ("youtube", 0.10, "https://www.youtube.com/watch?v=bench{id}"),
    ("mastodon", 0.05, "https://mastodon.social/@{author}/{id}"),
]
FIRST_NAMES = (
    "yanti ferdi maria yohanes agus melki novi sinta frans dewi rudi ayu kornelis "
    "marlin yosef nona oma ardi siska benny elsa gusti imelda jefri lusi petrus"
).split()
LAST_NAMES = (
    "kupang ndoen manafe tefa lay bessie foeh nope adoe pah oematan liu benu "
    "sabu rote alor flores timor"
).split()
SEPARATORS = ("_", ".", "", "_ntt")
# Local posting hours (WITA): quiet at night, busy from morning to late evening.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 9, 8, 8, 8, 8, 8, 9, 9, 8, 6, 4, 2]
REPOST_SHARE = 0.1
CORPUS_DAYS = 30


def sample_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "labeled_samples").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return texts


def iter_texts(size: int, seed: int = 20261122) -> Iterator[str]:
    """``size`` post texts, one at a time, the same for the same seed."""
    from monitor.config import example_config
    from monitor.text.normalize import slang_lexicon

    rng = random.Random(seed)
    base = sample_texts()
    slang_for: dict[str, list[str]] = {}
    for word, meaning in slang_lexicon().items():
        if " " not in meaning:
            slang_for.setdefault(meaning, []).append(word)
    aliases = [alias for agency in example_config(ROOT).agencies for alias in agency.aliases]
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
        yield " ".join(out)


def synthetic_corpus(size: int, seed: int = 20261122) -> list[str]:
    """``size`` post texts, the same for the same seed (in memory: for small sizes only)."""
    return list(iter_texts(size, seed))


def author_name(index: int) -> str:
    """An invented handle, the same for the same index."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    rest, _ = divmod(index, len(FIRST_NAMES))
    last = LAST_NAMES[rest % len(LAST_NAMES)]
    rest //= len(LAST_NAMES)
    separator = SEPARATORS[rest % len(SEPARATORS)]
    number = rest // len(SEPARATORS)
    return f"{first}{separator}{last}{number or ''}"


def _iso(moment: datetime, local_offset: timedelta | None) -> str:
    if local_offset is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (moment + local_offset).strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def write_corpus(path: Path, size: int, seed: int, anchor: datetime) -> dict:
    """Write ``size`` raw posts as JSON lines, one at a time, in the 30 local days before
    ``anchor`` (a local midnight, in UTC); returns what was written."""
    rng = random.Random(seed + 1)  # not the texts' generator: the texts stay as they were
    platforms, weights = [p[0] for p in PLATFORMS], [p[1] for p in PLATFORMS]
    urls = {p[0]: p[2] for p in PLATFORMS}
    pool = max(200, size // 10)  # invented authors; a few post a lot, most a little
    recent: deque[tuple[str, str, datetime]] = deque(maxlen=5000)  # originals to repost
    wita = timedelta(hours=8)
    reposts = 0
    progress = Throttle("corpus", size)
    with path.open("w", encoding="utf-8") as handle:
        for index, text in enumerate(iter_texts(size, seed)):
            post_id = str(1_860_000_000_000_000_000 + index * 37)
            author = author_name(int(pool * rng.random() ** 3))
            plat = rng.choices(platforms, weights)[0]
            days_back = rng.randrange(CORPUS_DAYS) + 1
            hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
            created = anchor - timedelta(days=days_back, hours=-hour, seconds=-rng.randrange(3600))
            record = {"id": post_id, "text": text}
            if recent and rng.random() < REPOST_SHARE:
                original_id, original_text, original_at = rng.choice(recent)
                record["text"] = original_text
                record["repost_of"] = original_id
                later = original_at + timedelta(seconds=rng.randrange(60, 2 * 86_400))
                created = min(later, anchor - timedelta(seconds=1))
                reposts += 1
            else:
                recent.append((post_id, text, created))
            record["created_at"] = _iso(created, wita if rng.random() < 0.3 else None)
            record["platform"] = plat
            record["author"] = author
            record["url"] = urls[plat].format(author=author, id=post_id)
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            progress(index + 1)
    return {
        "posts": size,
        "reposts": reposts,
        "author_pool": pool,
        "days": CORPUS_DAYS,
        "first_day": (anchor + wita - timedelta(days=CORPUS_DAYS)).date().isoformat(),
        "last_day": (anchor + wita - timedelta(days=1)).date().isoformat(),
        "anchor_utc": anchor.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bytes": path.stat().st_size,
    }


def local_midnight_utc(tz: str) -> datetime:
    """The start of today in the configured zone, in UTC: the corpus ends there, so its
    last day is yesterday's complete local day (the one the morning digest reports)."""
    from monitor.clock import day_bounds_utc, local_date, parse_iso, utc_now

    return parse_iso(day_bounds_utc(local_date(utc_now(), tz), tz)[0])
