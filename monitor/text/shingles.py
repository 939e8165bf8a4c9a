"""The near-duplicate rule, in one place: when two texts are copies of each other.

Two texts are near-duplicates when each has at least ``MIN_SHINGLES`` shingles and
the Jaccard similarity of their shingle sets is at least ``NEAR_DUPLICATE_JACCARD``.

- A **shingle** is three consecutive content words of the normalised text
  (``monitor.text.normalize.normalize``): slang and abbreviations read as standard
  words, case and elongation folded; mentions, hashtags, numbers, money, emoji and
  ``!``/``?`` left out (a copy-paste campaign changes exactly these: who it tags,
  which hashtag, which figures). A hashtag's split words stay content words.
- **Short texts** (fewer than ``MIN_SHINGLES`` shingles, i.e. under five content
  words) are never near-duplicates: "ktp belum jadi" is written by thousands of
  people independently; an exact repeat is a different check.
- **The threshold, 0.6**: a copy with a word added ("... tolong") stays above it,
  so does one with a split hashtag added once it has seven content words, or a word
  changed once it has fourteen; two people writing their own words about the same
  problem rarely reach it. It is the rule users read in the counts (README: a
  near-copy joins the case it copies), and the eight-hash sketch that finds
  candidates (``monitor.aggregate``) suits it: in a simulation, pairs at exactly
  0.6 shared the two hashes it takes to be found every time when the two together
  had up to 20 shingles, and all but about once in 2,000 with 100 to 400.

Used by ``monitor.aggregate`` (streaming posts into cases: sketch lookup, then this
rule) and ``monitor.classify.samples`` (the labeled samples: all pairs at once,
then this rule), so the two agree on which pairs are near-duplicates
(tests/test_samples_near_duplicates.py gives both the same texts).
"""

from __future__ import annotations

from monitor.text.normalize import normalize

NEAR_DUPLICATE_JACCARD = 0.6
MIN_SHINGLES = 3
SHINGLE_WORDS = 3

_NOT_CONTENT = ("@", "#", "emoji_")
_NOT_CONTENT_WORDS = frozenset({"angka", "nominaluang", "!", "?"})


def content_words(normalized: str) -> list[str]:
    """Words of a normalised text that carry the complaint: no mentions, hashtags,
    numbers, emoji."""
    return [
        t
        for t in normalized.split()
        if not t.startswith(_NOT_CONTENT) and t not in _NOT_CONTENT_WORDS
    ]


def shingles(text: str, normalized: str | None = None) -> set[str]:
    """Word 3-shingles of a text's content words; ``normalized`` (its stored
    ``normalize(text)``) saves normalising again."""
    words = content_words(normalize(text) if normalized is None else normalized)
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def comparable(shingle_set: set[str]) -> bool:
    """Long enough to be called a copy of something (``MIN_SHINGLES``)."""
    return len(shingle_set) >= MIN_SHINGLES


def near_duplicates(a: set[str], b: set[str]) -> bool:
    """The rule, for two shingle sets."""
    return comparable(a) and comparable(b) and jaccard(a, b) >= NEAR_DUPLICATE_JACCARD
