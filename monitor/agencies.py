"""The OPD gazetteer: which agency a post is about, with evidence and confidence.

Rules, in order:
1. an alias, handle or hashtag of an agency appears in the normalised text
   (word boundaries; the longest alias wins where two overlap);
2. otherwise, when the service sector is clear, the first agency the config lists
   for that sector in the post's region (place names in the text, else the
   source's region, else the default region), with lower confidence;
3. otherwise the post is "tidak teridentifikasi" (agency id ""), never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.config import AgencyConfig, RegionConfig
from monitor.labels import UNRESOLVED_AGENCY
from monitor.records import AgencyMatch
from monitor.text.normalize import normalize

NAMED_CONFIDENCE = 0.95
SECTOR_FALLBACK_CONFIDENCE = 0.5


def _pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    unique = sorted({p for p in phrases if p}, key=len, reverse=True)
    if not unique:
        return None
    return re.compile(r"(?<![\w#@])(" + "|".join(map(re.escape, unique)) + r")(?![\w])")


class Gazetteer:
    def __init__(
        self,
        agencies: list[AgencyConfig],
        regions: list[RegionConfig],
        default_region: str = "",
    ):
        self.agencies = {a.id: a for a in agencies}
        self.default_region = default_region
        self._by_phrase: dict[str, str] = {}
        for agency in agencies:
            for phrase in (*agency.aliases, agency.name, agency.short_name):
                if phrase:
                    self._by_phrase.setdefault(normalize(phrase), agency.id)
            for tag in (*agency.handles, *agency.hashtags):
                self._by_phrase.setdefault(tag.lower(), agency.id)
        self._agency_pattern = _pattern(self._by_phrase)
        self._by_place: dict[str, str] = {}
        for region in regions:
            for place in region.places:
                self._by_place.setdefault(normalize(place), region.id)
        self._place_pattern = _pattern(self._by_place)
        self._sector_region: dict[tuple[str, str], str] = {}
        for agency in agencies:
            self._sector_region.setdefault((agency.sector, agency.region), agency.id)

    def region_of(self, normalized_text: str, source_region: str = "") -> str:
        if self._place_pattern and (match := self._place_pattern.search(normalized_text)):
            return self._by_place[match.group(1)]
        return source_region or self.default_region

    def resolve(
        self, normalized_text: str, sector: str = "", source_region: str = ""
    ) -> AgencyMatch:
        if self._agency_pattern:
            found = [m.group(1) for m in self._agency_pattern.finditer(normalized_text)]
            if found:
                agency_id = self._by_phrase[found[0]]
                others = sorted({self._by_phrase[f] for f in found} - {agency_id})
                evidence = f"nama: '{found[0]}'"
                if others:
                    evidence += f"; juga disebut: {', '.join(others)}"
                return AgencyMatch(agency_id, NAMED_CONFIDENCE, evidence)
        if sector and sector != "lainnya":
            region = self.region_of(normalized_text, source_region)
            agency_id = self._sector_region.get((sector, region))
            if agency_id:
                return AgencyMatch(
                    agency_id,
                    SECTOR_FALLBACK_CONFIDENCE,
                    f"sektor '{sector}' di wilayah '{region}'",
                )
        return AgencyMatch(UNRESOLVED_AGENCY, 0.0, "tidak ada nama instansi atau sektor yang jelas")
