"""The typed rows the store gives back where a row is more than one value.

Named tuples stay tuples (callers unpack them as before) and name their fields for
everyone reading the code; rows the reports extend are plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass
class SourceHealth:
    source: str
    last_run_at: str
    last_success_at: str
    last_error: str
    new_in_window: int
    errors_in_window: int
    last_stopped: str = ""  # the latest run's planned stop (rate limit, quota, budget)


class UnfinishedRuns(NamedTuple):
    oldest_start: str | None  # None when there are none
    runs: int  # not "count": that would hide tuple.count


class SketchMatch(NamedTuple):
    post_id: int
    case_id: int
    shared: int  # how many of the asked hashes the post has


class DayAgencyTopic(NamedTuple):
    day: str  # local day, YYYY-MM-DD
    agency_id: str
    topic: str  # '' = all topics
    complaints: int


class MailBacklog(NamedTuple):
    status: str
    messages: int  # not "count": that would hide tuple.count
    last_error: str  # the greatest of the status's errors, secrets masked


class RawExpired(NamedTuple):
    posts: int
    payload_bytes: int


class PostsDeleted(NamedTuple):
    posts: int
    moved: int  # posts moved to another case because their case's head was deleted
    text_bytes: int


class ModelActivation(NamedTuple):
    id: int
    version: str
    folder: str  # absolute path of the model folder
    activated_at: str  # UTC ISO
    activated_by: str
    reason: str
    previous_version: str  # the version in use before ('' when unknown)


class UserRow(NamedTuple):
    id: int
    name: str
    role: str  # 'ombudsman' or 'agency'
    agency_id: str | None  # set exactly for the role 'agency'
    password_hash: str  # "scrypt$n$r$p$salt$hash" (monitor.accounts)
    disabled: bool
    created_at: str  # UTC ISO
    active_tokens: int  # API tokens not revoked


class AuditEntry(NamedTuple):
    at: str  # UTC ISO
    actor: str
    action: str  # e.g. 'user.add'
    detail: str
    ip: str
