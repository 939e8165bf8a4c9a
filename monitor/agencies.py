"""The OPD gazetteer: which agency a post is about, with evidence and confidence.

Rules, in order (all on normalised text, see monitor.text.normalize):
1. **Named**: an alias, the name, a handle (``@...``) or a hashtag of an agency
   appears as whole tokens; the longest phrase wins where two overlap. When a
   post names several agencies, the one whose sector is the post's sector wins,
   else the first named; the others are listed in the evidence.
2. **Typo**: no name matched, but a token is a near-spelling (rapidfuzz ratio >=
   ``FUZZY_CUTOFF``) of a distinctive gazetteer word (``lerick`` -> ``lerik``,
   ``joanes`` -> ``johannes``); the names are matched again on the corrected text.
3. **Sector in region**: no agency named, but the service sector is clear
   ("ktp saya belum jadi"): the first agency the config lists for that sector in
   the post's region. The region comes from place names in the text
   ("oesapa", "oelamasi"), else the source's region, else the default region.
4. Otherwise **tidak teridentifikasi** (agency id ""), never dropped.

"Dukcapil Kota Kupang" and "Dukcapil Kabupaten Kupang" are different aliases of
different agencies; "dukcapil kupang" names neither and falls to rule 3.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from monitor.config import AgencyConfig, RegionConfig
from monitor.labels import UNRESOLVED_AGENCY
from monitor.records import AgencyMatch
from monitor.text.normalize import normalize, slang_lexicon, stopwords

NAMED_CONFIDENCE = 0.95
TAG_CONFIDENCE = 0.9
FUZZY_CONFIDENCE = 0.8
PLACE_SECTOR_CONFIDENCE = 0.6
SECTOR_FALLBACK_CONFIDENCE = 0.5
FUZZY_CUTOFF = 85.0  # ratio 0..100; tested in tests/test_agencies.py
FUZZY_MIN_LENGTH = 5


class PhraseIndex:
    """Finds known multi-token phrases in a token list, longest first, without regex."""

    def __init__(self, phrases: dict[tuple[str, ...], str]):
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase, value in phrases.items():
            if phrase:
                self._by_first.setdefault(phrase[0], []).append((phrase, value))
        for candidates in self._by_first.values():
            candidates.sort(key=lambda item: len(item[0]), reverse=True)

    def find(self, tokens: Sequence[str]) -> list[tuple[int, tuple[str, ...], str]]:
        """(position, phrase, value) of each match, left to right, not overlapping."""
        found = []
        i, n = 0, len(tokens)
        while i < n:
            for phrase, value in self._by_first.get(tokens[i], ()):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    found.append((i, phrase, value))
                    i += len(phrase)
                    break
            else:
                i += 1
        return found


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(normalize(text).split())


class Gazetteer:
    def __init__(
        self,
        agencies: list[AgencyConfig],
        regions: list[RegionConfig],
        default_region: str = "",
    ):
        self.agencies = {a.id: a for a in agencies}
        self.default_region = default_region
        names: dict[tuple[str, ...], str] = {}
        self._tags: set[str] = set()
        for agency in agencies:
            for text in (*agency.aliases, agency.name, agency.short_name):
                if text:
                    names.setdefault(_phrase(text), agency.id)
            for tag in (*agency.handles, *agency.hashtags):
                tag = tag.lower()
                names.setdefault((tag,), agency.id)
                self._tags.add(tag)
        self._names = PhraseIndex(names)
        self._places = PhraseIndex(
            {_phrase(place): region.id for region in regions for place in region.places}
        )
        self._sector_region: dict[tuple[str, str], str] = {}
        for agency in agencies:
            self._sector_region.setdefault((agency.sector, agency.region), agency.id)
        self._vocabulary = self._distinctive_words(names, regions)
        self._vocab_set = frozenset(self._vocabulary)
        self._correct = lru_cache(maxsize=50_000)(self._correct_uncached)

    @staticmethod
    def _distinctive_words(
        names: dict[tuple[str, ...], str], regions: Iterable[RegionConfig]
    ) -> list[str]:
        """Words that tell one agency or place from another: what typos are corrected to.

        Words shared by many agencies ("kota", "dinas", "kupang") and everyday words
        (the lexicon's, the stop words) are left out, so ordinary text is never
        "corrected" into a name.
        """
        agencies_of: dict[str, set[str]] = {}
        for phrase, agency_id in names.items():
            for word in phrase:
                agencies_of.setdefault(word, set()).add(agency_id)
        agencies_using = Counter({word: len(ids) for word, ids in agencies_of.items()})
        everyday = set(slang_lexicon()) | {
            w for meaning in slang_lexicon().values() for w in meaning.split()
        }
        everyday |= stopwords()
        candidates = {w for w, count in agencies_using.items() if count <= 2}
        candidates |= {w for r in regions for place in r.places for w in _phrase(place)}
        return sorted(
            w
            for w in candidates
            if len(w) >= FUZZY_MIN_LENGTH and w.isalpha() and w not in everyday
        )

    def _correct_uncached(self, token: str) -> str:
        if len(token) < FUZZY_MIN_LENGTH or not token.isalpha() or token in self._vocab_set:
            return token
        best = process.extractOne(
            token, self._vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
        )
        return best[0] if best else token

    # --- resolution -----------------------------------------------------------------

    def region_of(self, tokens: Sequence[str], source_region: str = "") -> tuple[str, str]:
        """(region id, how it was decided)."""
        places = self._places.find(tokens)
        if places:
            return places[0][2], f"tempat '{' '.join(places[0][1])}'"
        if source_region:
            return source_region, "wilayah sumber"
        return self.default_region, "wilayah bawaan"

    def _named(self, tokens: Sequence[str], sector: str) -> tuple[str, str, str] | None:
        """(agency id, matched phrase, others) of the agency a post names, if any."""
        found = self._names.find(tokens)
        if not found:
            return None
        named = list(dict.fromkeys(value for _, _, value in found))
        same_sector = [a for a in named if self.agencies[a].sector == sector]
        chosen = same_sector[0] if same_sector else named[0]
        phrase = next(" ".join(p) for _, p, value in found if value == chosen)
        others = ", ".join(a for a in named if a != chosen)
        return chosen, phrase, others

    def resolve(
        self, normalized_text: str, sector: str = "", source_region: str = ""
    ) -> AgencyMatch:
        tokens = normalized_text.split()
        named = self._named(tokens, sector)
        if named:
            agency_id, phrase, others = named
            confidence = TAG_CONFIDENCE if phrase in self._tags else NAMED_CONFIDENCE
            evidence = f"nama: '{phrase}'" + (f"; juga disebut: {others}" if others else "")
            return AgencyMatch(agency_id, confidence, evidence)
        corrected = [self._correct(t) for t in tokens]
        if corrected != tokens:
            named = self._named(corrected, sector)
            if named:
                agency_id, phrase, others = named
                fixes = ", ".join(
                    f"'{a}'→'{b}'" for a, b in zip(tokens, corrected, strict=True) if a != b
                )
                evidence = f"nama mirip: '{phrase}' ({fixes})"
                if others:
                    evidence += f"; juga disebut: {others}"
                return AgencyMatch(agency_id, FUZZY_CONFIDENCE, evidence)
        if sector and sector != "lainnya":
            region, how = self.region_of(tokens, source_region)
            agency_id = self._sector_region.get((sector, region))
            if agency_id:
                confidence = (
                    PLACE_SECTOR_CONFIDENCE
                    if how.startswith("tempat")
                    else SECTOR_FALLBACK_CONFIDENCE
                )
                return AgencyMatch(
                    agency_id, confidence, f"sektor '{sector}' di wilayah '{region}' ({how})"
                )
        return AgencyMatch(UNRESOLVED_AGENCY, 0.0, "tidak ada nama instansi atau sektor yang jelas")
