"""Counting what happened: cases, daily counts, and spikes.

- **Cases**: a repost joins its original's case; a near-duplicate (word 3-shingle
  Jaccard >= ``CASE_JACCARD`` with a post from the surrounding ``CASE_WINDOW``)
  joins that post's case. Complaints are counted as cases, so a copy-paste
  campaign of fifty posts is one complaint amplified fifty times.
- **Daily counts**: per local day x agency x sector x topic, recomputed only for
  the days a run touched; the result equals a recomputation from scratch.
- **Spikes**: for each agency (and agency x topic), the day's complaints against
  what the agency's trailing four weeks lead one to expect on that weekday; a
  one-sided Poisson test (p < ``SPIKE_ALPHA``) with at least ``SPIKE_MIN_COUNT``
  complaints and at least ``SPIKE_MIN_RATIO`` times the expectation, so an agency
  going from 0 to 1 is never an alarm.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scipy.stats import poisson

from monitor.clock import day_bounds_utc, local_date, parse_iso, to_iso
from monitor.records import StoredPost
from monitor.store import Store
from monitor.text.normalize import normalize, stopwords

CASE_JACCARD = 0.6
CASE_WINDOW = timedelta(days=7)
SKETCH_SIZE = 8
MIN_SHINGLES = 3  # shorter posts are too short to call copies of each other

SPIKE_WEEKS = 4
SPIKE_ALPHA = 0.01
SPIKE_MIN_COUNT = 5
SPIKE_MIN_RATIO = 2.0
BACKGROUND_PER_HOUR = 24  # complaints per hour read for distinctive terms' yardstick
SPIKE_FLOOR = 0.2  # expected complaints a day, at least: a quiet agency is not "0 expected"

_NOT_CONTENT = ("@", "#", "emoji_")
_NOT_CONTENT_WORDS = frozenset({"angka", "nominaluang", "!", "?"})


# --- cases ----------------------------------------------------------------------------


def content_words(normalized: str) -> list[str]:
    """Words of a normalised text that carry the complaint: no mentions, hashtags,
    numbers, emoji."""
    return [
        t
        for t in normalized.split()
        if not t.startswith(_NOT_CONTENT) and t not in _NOT_CONTENT_WORDS
    ]


def shingles(text: str, normalized: str | None = None) -> set[str]:
    """Word 3-shingles of a post's content words; ``normalized`` (its stored
    ``normalize(text)``) saves normalising again."""
    words = content_words(normalize(text) if normalized is None else normalized)
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def _hash(shingle: str) -> int:
    value = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
    return value - (1 << 64) if value >= 1 << 63 else value  # SQLite's signed 64-bit


def sketch(shingle_set: set[str]) -> list[int]:
    """The ``SKETCH_SIZE`` smallest shingle hashes: near-duplicates share most of them."""
    return sorted(_hash(s) for s in shingle_set)[:SKETCH_SIZE]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def assign_cases(store: Store, posts: Sequence[StoredPost]) -> dict[int, int]:
    """Give every post without a case its case; returns {post id: case id}.

    Earlier posts of the same batch are found through an in-memory index of their
    sketch hashes (linear in the batch), stored ones through the post_sketch table.
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
        if len(mine) >= MIN_SHINGLES:
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
    """The case of the most similar earlier post, or the post's own id."""
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
    best_case, best_score = post.id, CASE_JACCARD
    for other, case, theirs in sorted(candidates + in_batch, key=lambda c: c[0]):
        score = _jaccard(mine, theirs)
        if score >= best_score and other < post.id:
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


# --- spikes ---------------------------------------------------------------------------


@dataclass
class Spike:
    agency_id: str
    topic: str  # '' = all topics
    day: date
    observed: int
    expected: float
    p_value: float
    topics: list[tuple[str, int]] = field(default_factory=list)  # (topic key, complaints)
    terms: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else math.inf


def weekday_factors(totals_by_day: dict[date, int], first: date, days: int) -> list[float]:
    """How busy each weekday is relative to the average day, from every agency's totals."""
    per_weekday: dict[int, list[int]] = {w: [] for w in range(7)}
    for offset in range(days):
        day = first + timedelta(days=offset)
        per_weekday[day.weekday()].append(totals_by_day.get(day, 0))
    overall = sum(sum(v) for v in per_weekday.values()) / max(days, 1)
    if overall == 0:
        return [1.0] * 7
    factors = []
    for weekday in range(7):
        values = per_weekday[weekday]
        mean = sum(values) / len(values) if values else overall
        # Shrink toward 1: four weeks give only four values per weekday.
        factors.append(0.5 + 0.5 * (mean / overall))
    return factors


def is_spike(observed: int, expected: float) -> tuple[bool, float]:
    """(flagged, one-sided Poisson p-value of at least ``observed`` given ``expected``)."""
    expected = max(expected, SPIKE_FLOOR)
    p_value = float(poisson.sf(observed - 1, expected))
    flagged = (
        observed >= SPIKE_MIN_COUNT
        and observed >= SPIKE_MIN_RATIO * expected
        and p_value < SPIKE_ALPHA
    )
    return flagged, p_value


def top_topics(counts: Iterable[tuple[str, int]], limit: int = 3) -> list[tuple[str, int]]:
    """The most frequent topics, most first, ties by topic key: the one order the spike
    box and the agencies table both use, so they never disagree."""
    return sorted(((t, n) for t, n in counts if n), key=lambda x: (-x[1], x[0]))[:limit]


def detect_spikes(store: Store, day: date, tz: str) -> list[Spike]:
    """Agencies (and their topics) whose complaints on ``day`` are far above expectation."""
    history_days = SPIKE_WEEKS * 7
    first = day - timedelta(days=history_days)
    rows = store.complaints_by_day_agency_topic(first.isoformat(), day.isoformat())
    counts: dict[tuple[str, str], dict[date, int]] = {}
    totals: Counter[date] = Counter()
    for day_text, agency_id, topic, complaints in rows:
        d = date.fromisoformat(day_text)
        counts.setdefault((agency_id, topic), {})[d] = complaints
        if topic == "" and d < day:
            totals[d] += complaints
    factor = weekday_factors(totals, first, history_days)[day.weekday()]
    spikes: dict[str, Spike] = {}
    topic_spikes: list[Spike] = []
    for (agency_id, topic), series in counts.items():
        observed = series.get(day, 0)
        if not agency_id or observed < SPIKE_MIN_COUNT:
            continue
        history = sum(v for d, v in series.items() if d < day)
        expected = max(history / history_days * factor, SPIKE_FLOOR)
        flagged, p_value = is_spike(observed, expected)
        if flagged:
            spike = Spike(agency_id, topic, day, observed, round(expected, 2), p_value)
            if topic:
                topic_spikes.append(spike)
            else:
                spikes[agency_id] = spike
    for spike in topic_spikes:
        if spike.agency_id not in spikes:  # a topic jumped though the agency's total did not
            spikes[spike.agency_id] = spike
    background = background_terms(store, day, tz) if spikes else Counter()
    name_words = (
        {a: set(normalize(name).split()) for a, name in store.agency_names().items()}
        if spikes
        else {}
    )
    for spike in spikes.values():
        today = {
            topic: series.get(day, 0)
            for (agency, topic), series in counts.items()
            if agency == spike.agency_id and topic
        }
        spike.topics = top_topics(today.items())
        spike.terms = distinctive_terms(
            store, spike.agency_id, day, tz, background, exclude=name_words.get(spike.agency_id)
        )
    return sorted(spikes.values(), key=lambda s: (s.p_value, -s.observed))


def distinctive_terms(
    store: Store,
    agency_id: str,
    day: date,
    tz: str,
    background: Counter[str] | None = None,
    limit: int = 5,
    exclude: set[str] | None = None,
) -> list[str]:
    """Words much more frequent in the agency's complaints of the day than in all
    complaints of the four weeks before (so "kota", "kupang" and the like fall away).

    ``background`` (see ``background_terms``) can be shared by all spikes of a day;
    ``exclude``: words never to name (the agency's own name: it says nothing new)."""
    if background is None:
        background = background_terms(store, day, tz)
    day_start, day_end = day_bounds_utc(day, tz)
    today: Counter[str] = Counter()
    for text in store.complaint_texts(day_start, day_end, agency_id):
        today.update(_terms(text))
    total_today = max(sum(today.values()), 1)
    total_before = max(sum(background.values()), 1)
    scored = [
        (math.log((n + 0.5) / total_today) - math.log((background[w] + 0.5) / total_before), w)
        for w, n in today.items()
        if n >= 2 and w not in (exclude or ())
    ]
    return [w for _, w in sorted(scored, reverse=True)[:limit]]


def background_terms(store: Store, day: date, tz: str) -> Counter[str]:
    """How many complaints of the four weeks before ``day`` use each word, from a sample
    of at most ``BACKGROUND_PER_HOUR`` complaints per hour (all agencies).

    A sample, not every complaint: at a million posts a month, reading them all took
    half a minute per digest; a word's share among some 16,000 complaints is as good a
    yardstick, and the time stays the same however many posts a month brings."""
    first = datetime.combine(day - timedelta(days=SPIKE_WEEKS * 7), time(0), tzinfo=ZoneInfo(tz))
    hours = [
        (to_iso(first + timedelta(hours=h)), to_iso(first + timedelta(hours=h + 1)))
        for h in range(SPIKE_WEEKS * 7 * 24)
    ]
    background: Counter[str] = Counter()
    for text in store.complaint_text_sample(hours, BACKGROUND_PER_HOUR):
        background.update(_terms(text))
    return background


def _terms(normalized: str) -> set[str]:
    stop = stopwords()
    return {w for w in content_words(normalized or "") if len(w) > 3 and w not in stop}
