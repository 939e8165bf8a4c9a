"""Spikes: which agencies' complaints on a day are far above what they usually get.

For each agency (and agency x topic), the day's complaints against what the
agency's trailing four weeks lead one to expect on that weekday; a one-sided
Poisson test (p < ``SPIKE_ALPHA``) with at least ``SPIKE_MIN_COUNT`` complaints and
at least ``SPIKE_MIN_RATIO`` times the expectation, so an agency going from 0 to 1 is
never an alarm. Read from the daily counts ``monitor.aggregate`` keeps; the digest,
the trend pages and the site all call ``detect_spikes``, so they never disagree.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scipy.stats import poisson

from monitor.aggregate import content_words
from monitor.clock import day_bounds_utc, to_iso
from monitor.store import Store
from monitor.text.normalize import normalize, stopwords

SPIKE_WEEKS = 4
SPIKE_ALPHA = 0.01
SPIKE_MIN_COUNT = 5
SPIKE_MIN_RATIO = 2.0
BACKGROUND_PER_HOUR = 24  # complaints per hour read for distinctive terms' yardstick
SPIKE_FLOOR = 0.2  # expected complaints a day, at least: a quiet agency is not "0 expected"


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
