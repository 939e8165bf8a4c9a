"""One near-duplicate rule (monitor.text.shingles): the streaming posts' cases
(monitor.aggregate: sketch lookup) and the labeled samples' groups
(monitor.classify.samples: all pairs at once) call the same pairs near-duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations

import pytest

from monitor.aggregate import assign_cases
from monitor.classify.samples import near_duplicate_groups, near_duplicate_pairs
from monitor.text.shingles import NEAR_DUPLICATE_JACCARD, jaccard, shingles
from tests.conftest import make_post
from tests.test_aggregate import add, cases_of, stored

ORIGINAL = (
    "Sudah tiga bulan KTP saya belum jadi di Dukcapil Kota Kupang, "
    "petugas bilang blanko habis terus"
)
PDAM = "Air PDAM di Oebobo mati sudah tiga hari, tolong segera diperbaiki pak"
TEXTS = {
    "original": ORIGINAL,
    "tagged": f"@dukcapil_kota {ORIGINAL} #KTPLambat",  # mention and split hashtag added
    "slang": "sdh tiga bln KTP sy blm jadi di dukcapil kota kupang, petugas bilang blanko "
    "habis trs 😡😡",  # the same words as the original once normalised
    "plea": ORIGINAL + ". Tolong!!",
    "changed": ORIGINAL.replace("habis", "kosong"),
    "pdam": PDAM,
    "pdam_shouted": PDAM.upper() + " 🙏 @pdam_kupang",
    "pdam_other_day": PDAM.replace("tiga", "dua"),  # 7 of 13 shingles shared: 0.54
    "road": "jalan depan pasar inpres rusak berat",
    "road_worse": "jalan depan pasar inpres rusak parah",  # 3 of 5 shared: exactly 0.6
    "road_elsewhere": "jalan depan pasar oeba rusak berat",
    "short": "ktp belum jadi",  # too short to be anyone's copy, however alike
    "short_again": "KTP belum jadi!!",
    "four_words": "ktp saya belum jadi",
    "four_words_again": "ktp saya belum jadi 😡",
    "thanks": "terima kasih petugas puskesmas oesapa sudah melayani dengan sabar",
}
KTP = ("original", "tagged", "slang", "plea", "changed")
EXPECTED = {
    *combinations(KTP, 2),
    ("pdam", "pdam_shouted"),
    ("road", "road_worse"),
}
NAMES = list(TEXTS)
BASE = datetime(2026, 11, 1, tzinfo=UTC)


def _sample_pairs() -> set[tuple[str, str]]:
    texts = [TEXTS[n] for n in NAMES]
    return {(NAMES[i], NAMES[j]) for i, j, _ in near_duplicate_pairs(texts)}


def _case_pairs(store, batches: int) -> set[tuple[str, str]]:
    """Every pair of texts as two posts an hour apart, each pair 30 days from the next
    (outside each other's window); a pair is a near-duplicate when the second post
    joins the first one's case. In one batch the second post is found in the batch's
    own index; in two batches through the stored sketches and texts."""
    pairs = list(combinations(range(len(NAMES)), 2))
    firsts = [
        make_post(f"{k}a", TEXTS[NAMES[i]], created_at=BASE + timedelta(days=30 * k))
        for k, (i, _) in enumerate(pairs)
    ]
    seconds = [
        make_post(f"{k}b", TEXTS[NAMES[j]], created_at=BASE + timedelta(days=30 * k, hours=1))
        for k, (_, j) in enumerate(pairs)
    ]
    if batches == 1:
        add(store, firsts + seconds)
    else:
        add(store, firsts)
        assign_cases(store, stored(store))
        add(store, seconds)
    assign_cases(store, stored(store))
    cases = cases_of(store)
    return {
        (NAMES[i], NAMES[j]) for k, (i, j) in enumerate(pairs) if cases[f"{k}b"] == cases[f"{k}a"]
    }


def test_the_texts_say_what_they_are_meant_to():
    similarity = {pair: jaccard(*(shingles(TEXTS[n]) for n in pair)) for pair in EXPECTED}
    assert min(similarity.values()) == NEAR_DUPLICATE_JACCARD == 0.6  # road/road_worse
    assert jaccard(shingles(TEXTS["pdam"]), shingles(TEXTS["pdam_other_day"])) == 7 / 13
    assert shingles(TEXTS["short"]) == shingles(TEXTS["short_again"])


def test_the_samples_find_the_pairs_of_the_rule():
    assert _sample_pairs() == EXPECTED
    groups = near_duplicate_groups([TEXTS[n] for n in NAMES])
    assert len({groups[NAMES.index(n)] for n in KTP}) == 1
    assert len(set(groups)) == len(NAMES) - len(KTP) + 1 - 2


@pytest.mark.parametrize("batches", [1, 2])
def test_cases_and_samples_agree_on_every_pair(store, batches):
    assert _case_pairs(store, batches) == _sample_pairs() == EXPECTED
