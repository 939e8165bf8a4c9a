"""Counting what happened: cases and daily counts.

- **Cases**: a repost joins its original's case; a near-duplicate (the one rule of
  ``monitor.text.shingles``: word 3-shingle Jaccard >= ``NEAR_DUPLICATE_JACCARD``)
  of a post from the surrounding ``CASE_WINDOW`` joins that post's case. Complaints
  are counted as cases, so a copy-paste campaign of fifty posts is one complaint
  amplified fifty times.
- **Daily counts**: per local day x agency x sector x topic, recomputed only for
  the days a run touched; the result equals a recomputation from scratch.

Spikes are read from these counts by the reports: ``monitor.report.spikes``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from monitor.clock import day_bounds_utc, local_date, parse_iso, to_iso
from monitor.records import StoredPost
from monitor.store import Store
from monitor.text.shingles import (
    NEAR_DUPLICATE_JACCARD,
    comparable,
    content_words,
    jaccard,
    near_duplicates,
    shingles,
)

# content_words is also read from here (monitor.report.spikes).
__all__ = ["CASE_WINDOW", "aggregate_days", "assign_cases", "content_words", "days_of"]

CASE_WINDOW = timedelta(days=7)
SKETCH_SIZE = 8


# --- cases ----------------------------------------------------------------------------


def _hash(shingle: str) -> int:
    value = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
    return value - (1 << 64) if value >= 1 << 63 else value  # SQLite's signed 64-bit


def sketch(shingle_set: set[str]) -> list[int]:
    """The ``SKETCH_SIZE`` smallest shingle hashes: near-duplicates share most of them."""
    return sorted(_hash(s) for s in shingle_set)[:SKETCH_SIZE]


def assign_cases(store: Store, posts: Sequence[StoredPost]) -> dict[int, int]:
    """Give every post without a case its case; returns {post id: case id}.

    Earlier posts of the same batch are found through an in-memory index of their
    sketch hashes (linear in the batch), stored ones through the post_sketch table.
    The sketches only find candidates; which of them are copies is the one rule of
    ``monitor.text.shingles``, the rule the labeled samples are grouped by.
    """
    cases: dict[int, int] = {}
    sketches: dict[int, list[int]] = {}
    shingle_sets: dict[int, set[str]] = {}
    by_hash: dict[int, list[int]] = {}
    created = {p.id: p.created_at for p in posts}
    todo = sorted((p for p in posts if p.case_id is None), key=lambda p: p.id)
    parents = store.parent_cases(
        [(p.source, p.parent_source_id) for p in todo if p.is_repost and p.parent_source_id]
    )
    for post in todo:
        if post.is_repost and (post.source, post.parent_source_id) in parents:
            cases[post.id] = parents[(post.source, post.parent_source_id)]
            continue
        mine = shingles(post.text)
        case = post.id
        if comparable(mine):
            hashes = sketch(mine)
            shared = Counter(other for h in hashes for other in by_hash.get(h, ()))
            in_batch = [
                (other, cases[other], shingle_sets[other])
                for other, count in shared.items()
                if count >= 2 and abs(created[other] - post.created_at) <= CASE_WINDOW
            ]
            case = _matching_case(store, post, mine, hashes, in_batch)
            sketches[post.id] = hashes
            shingle_sets[post.id] = mine
            for h in hashes:
                by_hash.setdefault(h, []).append(post.id)
        cases[post.id] = case
    store.save_cases(cases, sketches)
    return cases


def _matching_case(
    store: Store,
    post: StoredPost,
    mine: set[str],
    hashes: list[int],
    in_batch: list[tuple[int, int, set[str]]],
) -> int:
    """The case of the most similar earlier near-duplicate, or the post's own id."""
    since, until = (to_iso(post.created_at - CASE_WINDOW), to_iso(post.created_at + CASE_WINDOW))
    stored = [
        (other, case)
        for other, case, shared in store.sketch_matches(hashes, since, until)
        if shared >= 2 and other != post.id
    ]
    texts = store.post_texts([other for other, _ in stored])
    # Stored candidates were analysed in earlier batches: their normalised text is kept,
    # so they are not normalised again (that was most of the cost of finding cases).
    candidates = [
        (other, case, shingles(*texts[other])) for other, case in stored if other in texts
    ]
    best_case, best_score = post.id, NEAR_DUPLICATE_JACCARD
    for other, case, theirs in sorted(candidates + in_batch, key=lambda c: c[0]):
        if other < post.id and near_duplicates(mine, theirs):
            score = jaccard(mine, theirs)
            if score >= best_score:
                best_case, best_score = case, score
    return best_case


# --- daily counts ---------------------------------------------------------------------


def days_of(created_at: Iterable[str], tz: str) -> set[date]:
    """The local days that posts created at these UTC times fall on."""
    return {local_date(parse_iso(moment), tz) for moment in created_at}


def aggregate_days(store: Store, days: Iterable[date], tz: str, model_version: str) -> list[date]:
    """Recompute daily_counts for each day; the result equals a from-scratch recompute."""
    done = sorted(set(days))
    for day in done:
        start, end = day_bounds_utc(day, tz)
        store.recompute_day(day.isoformat(), start, end, model_version)
    return done
