"""Plain records passed between the stages. They know nothing of I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Post:
    """One public post as a collector delivers it (times in UTC)."""

    source: str  # the configured source name, e.g. "x-kupang"
    source_id: str  # the id the platform gives it; unique within the source
    text: str  # plain text as collected (HTML already stripped by the collector)
    created_at: datetime  # timezone-aware, UTC
    url: str = ""
    author_id: str = ""
    author_handle: str = ""
    lang: str = ""
    platform: str = ""  # x, mastodon, bluesky, youtube, news, ...
    region: str = ""  # default region of the source, used when the text names no place
    is_repost: bool = False
    is_reply: bool = False
    is_quote: bool = False
    parent_source_id: str = ""  # the original post of a repost/quote or the post replied to
    raw: dict | None = None  # the payload as received, kept only as long as privacy allows


@dataclass
class StoredPost:
    """A post read back from the store, ready to be understood."""

    id: int
    source: str
    source_id: str
    text: str
    created_at: datetime
    region: str = ""
    url: str = ""
    platform: str = ""
    is_repost: bool = False
    parent_source_id: str = ""
    case_id: int | None = None
    author_agency: str = ""  # the agency whose own account wrote it, if any


@dataclass
class AgencyMatch:
    agency_id: str  # "" when the post could not be tied to an agency
    confidence: float
    evidence: str  # the matched span or the rule that decided
    region: str = ""  # the region the post is about, when known (also for unresolved posts)


@dataclass
class Prediction:
    """What a classifier says of one text (before the agency is resolved)."""

    is_complaint: bool
    complaint_score: float
    sector: str
    sector_score: float
    topics: list[str]
    topic_scores: dict[str, float]
    needs_review: bool


@dataclass
class Analysis:
    """What the understanding stage concluded about one post, for one model version."""

    post_id: int
    model_version: str
    is_complaint: bool
    complaint_score: float
    sector: str
    sector_score: float
    topics: list[str]
    topic_scores: dict[str, float]
    agency_id: str
    agency_confidence: float
    agency_evidence: str
    needs_review: bool
    text_normalized: str = ""  # what the model and the gazetteer read
    region: str = ""  # the region the post is about, when known


@dataclass
class SourceRun:
    """What one source did in one run."""

    source: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str = ""
    duration_s: float = 0.0
    rejections: list[str] = field(default_factory=list)
    # A planned stop (rate limit, quota, time budget): not a failure; the source goes
    # on from its cursor next run, and this says why and when.
    stopped: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class RunReport:
    """What one pipeline run did, stage by stage."""

    run_id: int
    command: str
    sources: list[SourceRun] = field(default_factory=list)
    processed: int = 0
    days_aggregated: list[str] = field(default_factory=list)
    digest_paths: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed_sources(self) -> list[SourceRun]:
        return [s for s in self.sources if not s.ok]
