"""Keeping an unattended installation healthy: retention, backups, heartbeat, outbox.

- ``purge``: raw payloads and (optionally) whole posts past their retention time go,
  in short transactions; the daily counts stay; the file is compacted when much
  was freed.
- ``backup``: a consistent copy of the database while runs go on (SQLite's online
  backup API), checked before it is given its final name.
- ``ping_heartbeat``: tells an outside monitoring service that a run succeeded.
- ``outbox_listing`` / ``resend_job`` / ``drop_job``: ``monitor outbox``, a person's
  way to see the digest e-mails and resend (or drop) one that was never confirmed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor.clock import day_bounds_utc, local_date, to_iso, to_utc, utc_now
from monitor.config import Config
from monitor.secrets import secret_values
from monitor.store import CopyFailed, Store

log = logging.getLogger(__name__)

PURGE_BATCH = 5_000
VACUUM_FRACTION = 0.25  # compact when the free pages are more than this share of the file ...
VACUUM_MIN_BYTES = 50 * 1024 * 1024  # ... or more than this many bytes
BACKUP_PAGES_PER_STEP = 1024
BACKUP_PAUSE_SECONDS = 0.005
HEARTBEAT_TIMEOUT_SECONDS = 10.0


class BackupError(Exception):
    """The backup could not be made; nothing was left at the destination."""


# --- retention ------------------------------------------------------------------------


@dataclass
class PurgeReport:
    raw_cleared: int = 0  # posts whose raw payload was removed
    posts_deleted: int = 0  # whole posts removed (with their analyses, sketches, labels)
    bytes_before: int = 0  # database size (pages x page size) before the purge
    bytes_after: int = 0  # ... and after it (and after VACUUM, if one ran)
    vacuumed: bool = False
    cases_moved: int = 0  # remaining posts whose case pointed at a deleted post

    def summary(self) -> str:
        compacted = "compacted" if self.vacuumed else "not compacted"
        return (
            f"raw payloads cleared: {self.raw_cleared}, posts deleted: {self.posts_deleted}, "
            f"database {_megabytes(self.bytes_before)} -> {_megabytes(self.bytes_after)} "
            f"({compacted})"
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def purge(
    config: Config,
    store: Store,
    now: datetime | None = None,
    *,
    batch_size: int = PURGE_BATCH,
    vacuum_fraction: float = VACUUM_FRACTION,
    vacuum_min_bytes: int = VACUUM_MIN_BYTES,
) -> PurgeReport:
    """Apply the privacy retention settings to the database.

    1. ``posts.raw`` becomes NULL for posts collected more than
       ``privacy.raw_retention_days`` ago (for every post when it is 0: "never stored").
    2. With ``privacy.post_retention_days`` > 0, posts created before the start of
       the local day that many days ago are deleted, together with their
       ``analysis``, ``post_sketch`` and ``labels`` rows. Whole local days go, so a
       day is never left half-purged. ``daily_counts`` is never touched: the
       aggregates outlive the posts they were counted from.
    3. ``VACUUM`` when what was freed is more than ``vacuum_fraction`` of the file
       or more than ``vacuum_min_bytes``: the free pages (``freelist_count`` x
       ``page_size``), or the bytes of payload and text removed when that is more
       (a payload that fitted in its row's page leaves the page half empty, not
       free). VACUUM needs free disk space about the size of the database; when it
       fails (disk full, busy) the purge itself stands and this is logged.

    Each batch of ``batch_size`` posts is its own short transaction, so a huge purge
    never holds the write lock for long and an interrupted purge simply resumes.

    **Cases.** A post's ``case_id`` names the post that started its case (itself,
    or the original of a repost or copy). When that first post is deleted but later
    members remain, their ``case_id`` would point at nothing: the case would lose
    its head (``latest_complaints`` lists only heads) and ``case_sizes`` would miss
    it. Such members are moved to the oldest remaining member of the same case
    (earliest ``created_at``, then lowest id), which becomes the new head. All
    members move together and the new head was in no other case, so every
    "distinct cases" count over the remaining posts is unchanged: re-aggregating a
    remaining day gives the same numbers as before the purge.

    The caller holds the run lock (``purge_job`` does), so no ``process`` step is
    adding analyses for posts being deleted.
    """
    now = to_utc(now or utc_now())
    privacy = config.privacy
    store.end_implicit_transaction()
    report = PurgeReport(bytes_before=store.size_bytes())

    raw_cutoff = None
    if privacy.raw_retention_days > 0:
        raw_cutoff = to_iso(now - timedelta(days=privacy.raw_retention_days))
    report.raw_cleared, payload_freed = _clear_raw(store, raw_cutoff, batch_size)

    if privacy.post_retention_days > 0:
        oldest_kept = local_date(now - timedelta(days=privacy.post_retention_days), config.timezone)
        cutoff = day_bounds_utc(oldest_kept, config.timezone)[0]
        report.posts_deleted, report.cases_moved, deleted_bytes = _delete_posts(
            store, cutoff, batch_size
        )
        payload_freed += deleted_bytes

    free = max(store.free_bytes(), payload_freed)
    size = store.size_bytes()
    if free and (free > vacuum_fraction * size or free > vacuum_min_bytes):
        log.info(
            "compacting %s: about %s of %s free", store.path, _megabytes(free), _megabytes(size)
        )
        try:
            store.vacuum()
            report.vacuumed = True
        except sqlite3.OperationalError as exc:
            log.warning("could not compact %s (the purge itself is done): %s", store.path, exc)
    report.bytes_after = store.size_bytes()
    log.info("purge of %s: %s", store.path, report.summary())
    return report


def _clear_raw(store: Store, cutoff: str | None, batch_size: int) -> tuple[int, int]:
    """NULL the raw payloads collected before ``cutoff`` (all when None), batch by batch;
    returns (posts, bytes of payload removed)."""
    cleared = freed = 0
    for posts, payload_bytes in store.expire_raw_in_batches(cutoff, batch_size):
        cleared += posts
        freed += payload_bytes
    return cleared, freed


def _delete_posts(store: Store, cutoff: str, batch_size: int) -> tuple[int, int, int]:
    """Delete posts created before ``cutoff`` with their dependent rows.

    Returns (posts deleted, posts moved to another case, bytes of text removed).
    """
    deleted = moved = freed = 0
    for posts, moved_in_batch, text_bytes in store.delete_posts_in_batches(cutoff, batch_size):
        deleted += posts
        moved += moved_in_batch
        freed += text_bytes
        log.debug("purge: %d posts deleted so far", deleted)
    return deleted, moved, freed


def purge_job(config: Config, now: datetime | None = None, command: str = "purge") -> PurgeReport:
    """``purge`` under the run lock, with its run record (as ``monitor purge`` runs it
    outside ``monitor run``)."""
    from monitor.runs import recorded_run

    with recorded_run(config, command) as record:
        report = purge(config, record.store, now)
        record.status = "ok"
    return report


# --- backup ---------------------------------------------------------------------------


def backup(
    config: Config,
    destination: Path,
    *,
    overwrite: bool = False,
    pages_per_step: int = BACKUP_PAGES_PER_STEP,
    pause_seconds: float = BACKUP_PAUSE_SECONDS,
    now: datetime | None = None,
) -> Path:
    """Copy the configured database to ``destination`` while runs go on; returns the path.

    A destination that is an existing folder gets ``monitor-YYYYMMDD-HHMMSS.db``
    (UTC) inside. An existing file is refused unless ``overwrite``. The copy is
    made with SQLite's online backup API into a temporary file next to the
    destination, ``pages_per_step`` pages at a time with a short pause between
    steps, then switched to a self-contained single file (no -wal), checked with
    ``PRAGMA integrity_check`` and only then renamed into place.

    In WAL mode (as ``Store`` opens every database) the copy reads from one
    snapshot held for the whole backup: writers are never blocked, and commits
    during the backup neither restart it nor appear half in it. (Without that
    snapshot SQLite restarts a stepwise backup whenever another connection
    commits, so under steady writes it would never finish.) A database in the
    old rollback-journal mode is copied in one step, which makes writers wait for
    the copy (up to their busy timeout).
    """
    source_path = Path(config.database)
    if not source_path.is_file():
        raise BackupError(f"database {source_path} does not exist; nothing to back up")
    destination = Path(destination).expanduser()
    if destination.is_dir():
        stamp = to_utc(now or utc_now()).strftime("%Y%m%d-%H%M%S")
        destination = destination / f"monitor-{stamp}.db"
    if not destination.parent.is_dir():
        raise BackupError(f"folder {destination.parent} does not exist; create it first")
    if destination.exists() and not overwrite:
        raise BackupError(f"{destination} already exists; choose another name or overwrite it")
    if destination.resolve() == source_path.resolve():
        raise BackupError(f"{destination} is the database itself")

    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    try:
        _copy_database(source_path, temporary, pages_per_step, pause_seconds)
        _check_copy(temporary)
        _fsync(temporary)
        _move_into_place(temporary, destination, overwrite)
    finally:
        for leftover in (temporary, Path(f"{temporary}-journal")):
            leftover.unlink(missing_ok=True)
    _fsync(destination.parent)
    log.info("backup of %s written to %s", source_path, destination)
    return destination


def _copy_database(source: Path, target: Path, pages_per_step: int, pause: float) -> None:
    try:
        Store.copy_file(source, target, pages_per_step, pause)
    except CopyFailed as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None


def _check_copy(path: Path) -> None:
    result = Store.file_integrity(path)
    if result != ["ok"]:
        raise BackupError(f"the copy failed its integrity check: {'; '.join(result[:5])}")


def _move_into_place(temporary: Path, destination: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temporary, destination)
        return
    try:
        # A hard link fails if the name was taken meanwhile: no silent overwrite.
        os.link(temporary, destination)
    except FileExistsError:
        raise BackupError(f"{destination} already exists; nothing was overwritten") from None
    except OSError:  # a file system without hard links
        if destination.exists():
            raise BackupError(f"{destination} already exists; nothing was overwritten") from None
        os.replace(temporary, destination)


def _fsync(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on folders; the data itself is synced
    finally:
        os.close(descriptor)


# --- heartbeat ------------------------------------------------------------------------


def ping_heartbeat(config: Config, client_factory: Callable[..., Any] = httpx.Client) -> str | None:
    """GET ``operations.heartbeat_url`` after a successful run; None when it worked.

    Never raises: a monitoring service that is down must not fail the run. The
    answer is an error text (logged as a warning too) naming the host only, since
    such URLs usually carry a secret token in their path.
    """
    url = config.operations.heartbeat_url
    if not url:
        return None
    host = urlsplit(url).hostname or "the heartbeat service"
    try:
        from monitor.collectors.http import user_agent

        with client_factory(
            timeout=HEARTBEAT_TIMEOUT_SECONDS,
            headers={"User-Agent": user_agent(config.http.contact)},
            follow_redirects=True,
        ) as client:
            response = client.get(url)
        status = response.status_code
    except Exception as exc:  # anything at all: the run's result must not depend on it
        error = f"heartbeat to {host} failed: {type(exc).__name__}: {exc}"
    else:
        if status < 400:
            log.debug("heartbeat to %s: HTTP %d", host, status)
            return None
        error = f"heartbeat to {host} failed: HTTP {status}"
    error = _without_url(error, url)
    log.warning("%s", error)
    return error


def _without_url(text: str, url: str) -> str:
    parts = urlsplit(url)
    for secret_part in (url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.path):
        if len(secret_part) > 1:
            text = text.replace(secret_part, "…")
    return text


# --- outbox: a person resends or drops a digest e-mail --------------------------------


def outbox_listing(config: Config, everything: bool = False, recent_sent: int = 10) -> list[dict]:
    """The outbox, newest day first, without message bytes: every message not sent and
    the ``recent_sent`` latest sent ones (all with ``everything``). Read only, no lock."""
    if not config.database.exists():
        return []
    with Store.open(config.database, secret_values(config)) as store:
        rows = store.outbox_messages()
    if everything:
        return rows
    shown, sent = [], 0
    for row in rows:
        if row["status"] == "sent":
            sent += 1
            if sent > recent_sent:
                continue
        shown.append(row)
    return shown


def resend_job(config: Config, day: date, scope: str = "all", **send_options: Any):
    """``monitor outbox resend``: under the run lock and with its own run record, put one
    digest e-mail back in the queue and send it now (``mail.resend``). Raises
    ``OutboxError`` (before changing or recording anything) for an unknown or already
    sent message. Returns (the row afterwards, the SendReport)."""
    from monitor.report.mail import resend, resendable
    from monitor.runs import recorded_run

    _outbox_database(config)
    refuse = lambda store: resendable(config, store, day, scope)  # noqa: E731
    with recorded_run(config, "outbox resend", refuse) as record:
        record.errors.append(f"resending the digest e-mail {day}/{scope}")
        after, report = resend(config, record.store, record.checked, **send_options)
        record.errors[:] = report.errors
        record.status = "ok" if after["status"] == "sent" and not report.errors else "partial"
    return after, report


def drop_job(config: Config, day: date, scope: str = "all") -> dict:
    """``monitor outbox drop``: under the run lock and with a run record, mark one digest
    e-mail never to be sent (``mail.drop``). Returns the row afterwards."""
    from monitor.report.mail import drop, droppable
    from monitor.runs import recorded_run

    _outbox_database(config)
    refuse = lambda store: droppable(store, day, scope)  # noqa: E731
    with recorded_run(config, "outbox drop", refuse) as record:
        row = drop(record.store, record.checked)
        record.status = "ok"
    return row


def _outbox_database(config: Config) -> None:
    from monitor.report.mail import OutboxError

    if not config.database.exists():
        raise OutboxError(f"no database at {config.database} yet, so the outbox is empty")
