"""The store: the SQLite database (through sqlite-utils) behind one ``Store`` interface.

Times are stored as UTC ISO-8601 text ('2026-11-21T08:15:00Z'), which sorts and
compares correctly as text. Every write is one transaction (``Store.transaction``); a
post is stored at most once per (source, source_id).

``Store`` is composed from one part per concern, each in its own module:

- ``schema``: the append-only migrations, opening, per-database secrets
- ``posts``: agencies, posts, analyses, source cursors
- ``cases``: reposts and near-duplicate copies collapsed into cases
- ``runs``: run records, per-source results and health, the push replay window
- ``counts``: the daily counts, written and read
- ``reports``: the report queries over posts and analyses
- ``outbox``: the mail outbox (at most once)
- ``labels``: the labels an office imports from its own records
- ``models``: which model version the database uses (its activations)
- ``review``: the posts a review batch is chosen from
- ``forwards``: cases forwarded to agencies and their answers
- ``accounts``: the web app's users, API tokens, login attempts and audit log
- ``maintenance``: purge in batches, vacuum, integrity, backup
- ``base``: errors, the connection, the secret mask, the one transaction helper
- ``rows``: the typed rows given back

No SQL lives outside this package (tests/test_store_interface.py checks it), so a
second backend needs only a second implementation of these methods.
"""

from __future__ import annotations

from monitor.store.accounts import AccountsMixin
from monitor.store.base import CopyFailed, StoreError, check_database_folder
from monitor.store.counts import CountsMixin
from monitor.store.forwards import CaseForward, CasePost, ForwardsMixin
from monitor.store.labels import WEB_REVIEW_SOURCE, LabelCount, LabelsMixin, OfficeLabel
from monitor.store.maintenance import MaintenanceMixin
from monitor.store.models import ModelsMixin
from monitor.store.outbox import OutboxMixin
from monitor.store.posts import PostsMixin
from monitor.store.reports import ReportsMixin
from monitor.store.review import ReviewCandidate, ReviewMixin
from monitor.store.rows import AuditEntry, ModelActivation, SourceHealth, UserRow
from monitor.store.runs import MAX_REJECTIONS_KEPT, RunsMixin
from monitor.store.schema import MIGRATIONS, SCHEMA_VERSION, SchemaMixin


class Store(
    SchemaMixin,
    PostsMixin,
    ReportsMixin,
    RunsMixin,
    CountsMixin,
    OutboxMixin,
    LabelsMixin,
    ModelsMixin,
    ReviewMixin,
    AccountsMixin,
    ForwardsMixin,
    MaintenanceMixin,
):
    """One SQLite database file. Open with ``Store.open(path)``; close when done."""


__all__ = [
    "MAX_REJECTIONS_KEPT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "WEB_REVIEW_SOURCE",
    "AuditEntry",
    "CaseForward",
    "CasePost",
    "CopyFailed",
    "LabelCount",
    "ModelActivation",
    "OfficeLabel",
    "ReviewCandidate",
    "SourceHealth",
    "Store",
    "StoreError",
    "UserRow",
    "check_database_folder",
]
