"""The OPD gazetteer: which agency a post is about, with evidence and confidence.

Rules, in order:
1. **Named**: an alias, the name, a handle (``@...``) or a hashtag of an agency
   appears as whole tokens of the normalised text (so ``capil`` reads as
   ``dukcapil`` and ``rs`` as ``rumah sakit``); the longest phrase wins where two
   overlap. A generic alias (``pdam``, ``samsat``, ``dukcapil``: the kind of agency,
   not which one) counts only when the post's region is one the agency serves or is
   unknown; one several agencies share is decided by the region, else the post stays
   unresolved. When a post
   names several agencies, the one whose sector is the post's sector wins, else
   the first named; the others are listed in the evidence.
2. **Typo**: no name matched, but a token is a near-spelling (rapidfuzz ratio >=
   ``FUZZY_CUTOFF``) of a distinctive gazetteer word (``lerick`` -> ``lerik``,
   ``joanes`` -> ``johannes``); the names are matched again on the corrected text.
   Ordinary words (the lexicon's, the stemmer's dictionary) are never corrected.
3. **Area**: no agency named, but the post names a place of an agency's own area
   (``places`` in its config: a kecamatan's kelurahan) and is of that agency's
   sector: "kantor lurah Oebufu tutup" is about Kecamatan Oebobo.
4. Otherwise **tidak teridentifikasi** (agency id ""), never dropped and never
   guessed: the post keeps its sector, and the region is kept when the text names
   a place or the source has one.

Places are matched on the words as written (``plain_tokens``), never through the
slang lexicon: Kupang Malay "tarus" means "terus", and the village of Tarus is
not in every "trs". A generic alias is not trusted when the post names a place
outside the configured regions ("PDAM Makassar").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

from monitor.config import AgencyConfig, RegionConfig
from monitor.intake import agency_handles
from monitor.labels import UNRESOLVED_AGENCY
from monitor.records import AgencyMatch
from monitor.text.normalize import normalize, plain_tokens, slang_lexicon, stem, stopwords
from monitor.text.redact import handle_key

NAMED_CONFIDENCE = 0.95
TAG_CONFIDENCE = 0.9
FUZZY_CONFIDENCE = 0.8
GENERIC_ALIAS_CONFIDENCE = 0.75
AREA_CONFIDENCE = 0.7
FUZZY_CUTOFF = 85.0  # ratio 0..100; tested in tests/test_agencies.py
FUZZY_MIN_LENGTH = 5
# Place names that are also everyday words but not in the stemmer's dictionary.
ORDINARY_PLACE_WORDS = frozenset({"semau", "air", "mata"})


@lru_cache(maxsize=1)
def _stemmer_words() -> frozenset[str]:
    from monitor.text.normalize import _stemmer

    return frozenset(_stemmer().delegatedStemmer.dictionary.words)


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


def _place(text: str) -> tuple[str, ...]:
    return plain_tokens(text)


@lru_cache(maxsize=1)
def other_places() -> tuple[str, ...]:
    """Indonesian provinces, cities and regencies outside Kupang (data/other_places.txt)."""
    text = resources.files("monitor.data").joinpath("other_places.txt").read_text("utf-8")
    return tuple(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


class Gazetteer:
    def __init__(
        self,
        agencies: list[AgencyConfig],
        regions: list[RegionConfig],
        default_region: str = "",
    ):
        self.agencies = {a.id: a for a in agencies}
        self._by_handle = agency_handles(agencies)
        self.default_region = default_region
        self._within = {r.id: r.within for r in regions if r.within}
        specific: dict[tuple[str, ...], str] = {}
        generic: dict[tuple[str, ...], list[str]] = {}
        self._tags: set[str] = set()
        for agency in agencies:
            for text in (*agency.aliases, agency.name, agency.short_name):
                if text:
                    specific.setdefault(_phrase(text), agency.id)
            for tag in (*agency.handles, *agency.hashtags):
                tag = tag.lower()
                specific.setdefault((tag,), agency.id)
                self._tags.add(tag)
            for text in agency.generic_aliases:
                ids = generic.setdefault(_phrase(text), [])
                if agency.id not in ids:
                    ids.append(agency.id)
        # A phrase names one agency ("id"), or a kind of agency ("*id1|id2": the region
        # decides); a phrase that names one agency somewhere is never generic.
        names = {phrase: "*" + "|".join(ids) for phrase, ids in generic.items()}
        names.update(specific)
        self._names = PhraseIndex(names)
        places: dict[tuple[str, ...], str] = {}
        for region in regions:
            for place in region.places:
                places.setdefault(_place(place), region.id)
        for place in other_places():
            places.setdefault(_place(place), "")  # "" = outside the configured regions
        self._places = PhraseIndex(places)
        self._weak_places = frozenset(phrase for phrase in places if self._is_ordinary(phrase))
        self._areas = PhraseIndex(
            {_place(place): agency.id for agency in agencies for place in agency.places}
        )
        self._everyday = self._everyday_words()
        self._vocabulary = self._distinctive_words(names, regions, self._everyday)
        self._vocab_set = frozenset(self._vocabulary)
        self._correct = lru_cache(maxsize=50_000)(self._correct_uncached)

    @staticmethod
    def _is_ordinary(phrase: tuple[str, ...]) -> bool:
        """A place name made only of ordinary words ("kelapa lima", "merdeka", "semau"):
        counted only when the post names no other place."""
        dictionary = _stemmer_words()
        lexicon = slang_lexicon()
        return all(w in dictionary or w in lexicon or w in ORDINARY_PLACE_WORDS for w in phrase)

    @staticmethod
    def _everyday_words() -> frozenset[str]:
        lexicon = slang_lexicon()
        words = set(lexicon) | {w for meaning in lexicon.values() for w in meaning.split()}
        return frozenset(words | stopwords())

    @staticmethod
    def _distinctive_words(
        names: dict[tuple[str, ...], str],
        regions: Iterable[RegionConfig],
        everyday: frozenset[str],
    ) -> list[str]:
        """Words that tell one agency or place from another: what typos are corrected to.

        Words shared by many agencies ("kota", "dinas", "kupang") and everyday words
        (the lexicon's, the stop words) are left out, so ordinary text is never
        "corrected" into a name.
        """
        agencies_of: dict[str, set[str]] = {}
        for phrase, agency_ids in names.items():
            for word in phrase:
                agencies_of.setdefault(word, set()).update(agency_ids.lstrip("*").split("|"))
        agencies_using = Counter({word: len(ids) for word, ids in agencies_of.items()})
        candidates = {w for w, count in agencies_using.items() if count <= 2}
        candidates |= {w for r in regions for place in r.places for w in _place(place)}
        return sorted(
            w
            for w in candidates
            if len(w) >= FUZZY_MIN_LENGTH and w.isalpha() and w not in everyday
        )

    def _correct_uncached(self, token: str) -> str:
        if (
            len(token) < FUZZY_MIN_LENGTH
            or not token.isalpha()
            or token in self._vocab_set
            or token in self._everyday
            or stem(token) != token  # an affixed ordinary word ("pelayanan")
        ):
            return token
        best = process.extractOne(
            token, self._vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
        )
        return best[0] if best else token

    def agency_of_handle(self, handle: str) -> str:
        """The agency whose own account ``handle`` is ("" when none)."""
        return self._by_handle.get(handle_key(handle), "")

    # --- resolution -----------------------------------------------------------------

    def region_of(self, text: str, source_region: str = "") -> tuple[str, str]:
        """(region id, how it was decided); the region is "" when unknown or outside.

        Places named in the text come first (read as written, see ``plain_tokens``);
        else the source's region. The configured default region is not used here: a
        post that says nothing of where it is from is not placed anywhere.
        """
        matches = self._places.find(_place(text))
        strong = [(p, r) for _, p, r in matches if p not in self._weak_places]
        found = strong or [(p, r) for _, p, r in matches]
        ours = [(p, r) for p, r in found if r]
        if ours:
            hits = Counter(r for _, r in ours)
            region = max(hits, key=lambda r: hits[r])  # most named; the first on a tie
            phrase = next(p for p, r in ours if r == region)
            return region, f"tempat '{' '.join(phrase)}'"
        if found:
            return "", f"di luar wilayah: '{' '.join(found[0][0])}'"
        if source_region:
            return source_region, "wilayah sumber"
        return "", "wilayah tidak diketahui"

    def _regions_up(self, region: str) -> list[str]:
        """The region and every region it lies within, nearest first."""
        chain = []
        while region and region not in chain:
            chain.append(region)
            region = self._within.get(region, "")
        return chain

    def _named(
        self, tokens: Sequence[str], sector: str, region: str, outside: bool
    ) -> tuple[str, str, str, bool] | None:
        """(agency id, matched phrase, others, generic) of the agency a post names, if any.

        A shared generic alias needs the post's region to pick its agency; a generic
        alias ("pdam", "samsat") is dropped when the post is about somewhere else.
        """
        chosen_by_phrase: list[tuple[str, str, bool]] = []
        up = self._regions_up(region)
        for _, words, value in self._names.find(tokens):
            generic = value.startswith("*")
            ids = value.lstrip("*").split("|")
            shared = len(ids) > 1
            if generic:
                if outside:
                    continue  # "pdam" in a post about Makassar is not our PDAM
                serving = [a for a in ids if self.agencies[a].region in up]
                if shared or region:
                    nearest = [a for a in serving if self.agencies[a].region == region]
                    ids = nearest if len(nearest) == 1 else serving
                    if len(ids) != 1:
                        continue
            chosen_by_phrase.append((ids[0], " ".join(words), generic))
        if not chosen_by_phrase:
            return None
        named = list(dict.fromkeys(agency for agency, _, _ in chosen_by_phrase))
        same_sector = [a for a in named if self.agencies[a].sector == sector]
        if len(same_sector) > 1:
            # "dirujuk dari RS Lerik ke Johannes, di Johannes kamar penuh": the grievance
            # is about the agency named most, and on a tie the one named last.
            mentions = Counter(agency for agency, _, _ in chosen_by_phrase)
            last = {agency: i for i, (agency, _, _) in enumerate(chosen_by_phrase)}
            chosen = max(same_sector, key=lambda a: (mentions[a], last[a]))
        else:
            chosen = same_sector[0] if same_sector else named[0]
        phrase, shared = next((p, s) for a, p, s in chosen_by_phrase if a == chosen)
        others = ", ".join(a for a in named if a != chosen)
        return chosen, phrase, others, shared

    def resolve(self, text: str, sector: str = "", source_region: str = "") -> AgencyMatch:
        """The agency a post (raw text) is about, given the sector the model gave it."""
        tokens = normalize(text).split()
        region, how = self.region_of(text, source_region)
        outside = how.startswith("di luar")
        named = self._named(tokens, sector, region, outside)
        if named:
            agency_id, phrase, others, shared = named
            if phrase in self._tags:
                confidence = TAG_CONFIDENCE
            elif shared:
                confidence = GENERIC_ALIAS_CONFIDENCE
            else:
                confidence = NAMED_CONFIDENCE
            evidence = f"nama: '{phrase}'"
            if shared:
                evidence += f" ({how})"
            if others:
                evidence += f"; juga disebut: {others}"
            return AgencyMatch(agency_id, confidence, evidence, self.agencies[agency_id].region)
        corrected = [self._correct(t) for t in tokens]
        if corrected != tokens:
            named = self._named(corrected, sector, region, outside)
            if named:
                agency_id, phrase, others, _ = named
                fixes = ", ".join(
                    f"'{a}'→'{b}'" for a, b in zip(tokens, corrected, strict=True) if a != b
                )
                evidence = f"nama mirip: '{phrase}' ({fixes})"
                if others:
                    evidence += f"; juga disebut: {others}"
                return AgencyMatch(
                    agency_id, FUZZY_CONFIDENCE, evidence, self.agencies[agency_id].region
                )
        if sector:
            plain = _place(text)
            areas = self._areas.find(plain) or self._areas.find([self._correct(t) for t in plain])
            for _, area, agency_id in areas:
                if self.agencies[agency_id].sector == sector:
                    return AgencyMatch(
                        agency_id,
                        AREA_CONFIDENCE,
                        f"wilayah kerja: '{' '.join(area)}'",
                        self.agencies[agency_id].region,
                    )
        where = f"wilayah '{region}' ({how})" if region else how
        return AgencyMatch(
            UNRESOLVED_AGENCY,
            0.0,
            f"tidak ada nama instansi; sektor '{sector or '-'}', {where}",
            region,
        )
