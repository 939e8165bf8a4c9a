"""Intake: the privacy rule at the door, the one way collected or pushed posts are stored.

Before a post is kept, its shown text is redacted (personal data out, agencies'
own accounts kept as written), its author becomes a keyed pseudonym (the same
person on the same platform gets the same pseudonym, nobody can reverse it
without the key), an agency's own account is recognised (its posts are never
complaints against it), and the raw payload is kept only when
``privacy.raw_retention_days`` allows. Collection (``pipeline.collect``) and the
push endpoint (``ingest.store_batch``) both store through ``Intake``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

from monitor.config import AgencyConfig, Config
from monitor.records import Post
from monitor.store import Store
from monitor.text.redact import handle_key, pseudonymise, redact

# An account whose name spells one of an agency's names is that agency's: at least this
# many letters and digits, so that no short word ("dinsos") is taken for one agency.
MIN_NAME_HANDLE = 8


def agency_handles(agencies: Iterable[AgencyConfig]) -> dict[str, str]:
    """Each official handle (``handle_key``) -> its agency id: the one table intake,
    redaction and the gazetteer use to tell an agency's own accounts.

    The handles listed in the config, and every handle that spells one of the agency's
    own names or aliases (@dukcapilkotakupang, @rsud_sk_lerik): such an account is the
    agency's or speaks in its name, never a private person to pseudonymise.
    """
    table: dict[str, str] = {}
    agencies = list(agencies)
    for agency in agencies:
        for name in (agency.short_name, agency.name, *agency.aliases):
            key = handle_key(name)
            if len(key) >= MIN_NAME_HANDLE:
                table.setdefault(key, agency.id)
    for agency in agencies:  # a listed handle always names its agency
        for handle in agency.handles:
            if key := handle_key(handle):
                table[key] = agency.id
    return table


def pseudonym_key(config: Config, store: Store) -> bytes:
    """The key for author pseudonyms: from the environment, else a per-database secret."""
    from_env = os.environ.get(config.privacy.pseudonym_key_env, "")
    return (from_env or store.secret("pseudonym_key")).encode()


def display_redactor(config: Config, handles: dict[str, str] | None = None) -> Callable[[str], str]:
    """The redaction for shown text: personal data out, agencies' own handles kept.
    ``handles``: ``agency_handles(config.agencies)`` when the caller has it already."""
    if config.privacy.show_author_handles:
        return lambda text: redact(text, keep_handles=None)
    official = frozenset(agency_handles(config.agencies) if handles is None else handles)
    return lambda text: redact(text, keep_handles=official)


def author_agency_of(
    config: Config, handles: dict[str, str] | None = None
) -> Callable[[Post], str]:
    """The agency whose own account wrote a post ("" for everyone else), by handle.

    Read at intake, before the author is pseudonymised: an agency's replies and
    announcements are never complaints against it."""
    by_handle = agency_handles(config.agencies) if handles is None else handles
    if not by_handle:
        return lambda post: ""
    return lambda post: by_handle.get(handle_key(post.author_handle), "")


class Intake:
    """Stores posts into ``store`` under the privacy rule above (built once per run)."""

    def __init__(self, config: Config, store: Store):
        self.store = store
        key = pseudonym_key(config, store)
        handles = agency_handles(config.agencies)  # built once for both
        self.display_text = display_redactor(config, handles)
        self.author_agency = author_agency_of(config, handles)
        self.keep_raw = config.privacy.raw_retention_days > 0

        def author_key(post: Post) -> str:
            author = post.author_id or post.author_handle
            return pseudonymise(key, post.platform or post.source, author)

        self.author_key = author_key

    def add(self, posts: Sequence[Post], cursor: tuple[str, str] | None = None) -> tuple[int, int]:
        """Store ``posts`` (and ``cursor`` in the same transaction); (new, duplicates)."""
        return self.store.add_posts(
            posts,
            display_text=self.display_text,
            author_key=self.author_key,
            author_agency=self.author_agency,
            keep_raw=self.keep_raw,
            cursor=cursor,
        )
