"""One run: collect -> store -> understand -> aggregate -> report, with a run record.

The CLI and the scheduler call these same functions. Progress goes to the
``progress`` callback (the CLI prints it; tests collect it).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.clock import local_date, to_iso, utc_now
from monitor.config import Config, SourceConfig
from monitor.intake import Intake
from monitor.records import RunReport, SourceRun, StoredPost
from monitor.runs import RunLocked, open_store, recorded_run, run_lock
from monitor.store import Store

if TYPE_CHECKING:
    from monitor.report.digest import Digest
    from monitor.understand import Model

# The heavy libraries (scikit-learn, nltk, matplotlib, rapidfuzz) come in with the stages
# that use them, inside the functions below: a run that is refused (locked, a day in the
# future) answers before any of them is loaded.
__all__ = [
    "RunLocked",
    "check_digest_day",
    "collect",
    "collect_job",
    "digest_job",
    "analyse",
    "open_store",
    "process",
    "process_job",
    "reanalysis_start",
    "run",
    "run_lock",
]

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def collect(
    config: Config,
    store: Store,
    run_id: int,
    sources: list[SourceConfig] | None = None,
    progress: Progress = _quiet,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SourceRun]:
    """Fetch every given source (default: the enabled ones); one failing never stops the rest."""
    from monitor.collectors import CollectContext, CollectorError, build_collector
    from monitor.collectors.http import SourceStopped

    chosen = sources if sources is not None else [s for s in config.sources if s.enabled]
    now = utc_now()
    month_start = to_iso(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    intake = Intake(config, store)
    results = []
    for source in chosen:
        result = SourceRun(source.name)
        started = time.monotonic()
        context = CollectContext(
            now=now,
            timezone=config.timezone,
            http=config.http,
            sleep=sleep,
            fetched_this_month=store.fetched_since(source.name, month_start),
            deadline=started + config.http.source_budget_seconds,
        )
        try:
            collector = build_collector(source, context)
            for batch in collector.fetch(store.get_cursor(source.name)):
                new, duplicates = intake.add(
                    batch.posts,
                    cursor=(source.name, batch.cursor) if batch.cursor is not None else None,
                )
                result.fetched += len(batch.posts) + len(batch.rejected)
                result.new += new
                result.duplicates += duplicates
                result.rejected += len(batch.rejected)
                result.rejections.extend(batch.rejected)
                for reason in batch.rejected:
                    log.warning("source %s rejected a record: %s", source.name, reason)
        except SourceStopped as exc:  # planned: goes on from its cursor next run
            result.stopped = str(exc)
        except CollectorError as exc:
            result.error = str(exc)
        except Exception as exc:  # a broken collector must not stop the other sources
            log.exception("source %s failed", source.name)
            result.error = f"unexpected error: {type(exc).__name__}: {exc}"
        result.duration_s = time.monotonic() - started
        result = store.record_source_run(run_id, result)  # as stored: secrets masked
        status = (
            f"FAILED: {result.error}"
            if result.error
            else f"stopped for this run, goes on next run: {result.stopped}"
            if result.stopped
            else "ok"
        )
        progress(
            f"source {source.name}: {result.fetched} fetched, {result.new} new, "
            f"{result.duplicates} duplicates, {result.rejected} rejected ({status})"
        )
        results.append(result)
    return results


def interrupted_days(config: Config, store: Store, model_version: str, run_id: int) -> set[date]:
    """Days whose counts a killed run may have left stale.

    Called under the run lock, so a run still 'running' is a run that died. Its
    analyses are committed, but the days they touched were only in its memory:
    recount the days of every analysis written since the oldest such run began.
    The dead runs are marked only after that recount (``mark_interrupted``), so a
    run killed in turn leaves them for the next one.
    """
    from monitor.aggregate import days_of

    oldest, count = store.unfinished_runs(except_run_id=run_id)
    if not count or oldest is None:  # runs.started_at is NOT NULL: oldest is set if count
        return set()
    created = store.analysed_created_at(model_version, since=oldest)
    log.warning("%d interrupted run(s) found; recounting %d day(s)", count, len(created))
    return days_of(created, config.timezone)


def mark_interrupted(store: Store, run_id: int) -> None:
    store.mark_runs_interrupted(except_run_id=run_id)


def reanalysis_start(config: Config) -> str:
    """The start (UTC ISO) of the re-analysis window: posts created since then are
    analysed by the model in use even when another version analysed them before."""
    return to_iso(utc_now() - timedelta(days=config.model.reanalyse_days))


def analyse(
    config: Config,
    store: Store,
    model: Model,
    batches: Iterable[list[StoredPost]],
    progress: Progress = _quiet,
    done: int = 0,
) -> tuple[int, set[date]]:
    """Cases, then analyses by ``model``, for each batch of posts; returns (posts
    analysed, counting from ``done``; local days touched)."""
    from monitor.agencies import Gazetteer
    from monitor.aggregate import assign_cases, days_of
    from monitor.understand import understand_batch

    gazetteer = Gazetteer(config.agencies, config.regions, config.default_region)
    touched: set[date] = set()
    for batch in batches:
        assign_cases(store, batch)
        created = store.save_analyses(understand_batch(batch, model, gazetteer))
        touched |= days_of(created, config.timezone)
        done += len(batch)
        progress(f"processed: {done} posts")
    return done, touched


def process(
    config: Config,
    store: Store,
    model: Model,
    progress: Progress = _quiet,
    batch_size: int = 1000,
    also_days: Iterable[date] = (),
) -> tuple[int, set[date]]:
    """Understand every post the model has not seen yet that was never analysed or lies
    in the re-analysis window ([model] reanalyse_days); returns (count, local days
    touched). A day older than the window that is touched (a late post), or is among
    ``also_days`` (days to recount anyway), first has all its posts analysed by the
    model, so every day is counted whole by one model."""
    from monitor.clock import day_bounds_utc

    since = reanalysis_start(config)
    batches = store.posts_to_process(model.version, batch_size, reanalyse_since=since)
    done, touched = analyse(config, store, model, batches, progress)
    cutoff = retention_cutoff(config)
    if cutoff:
        # A post arriving late for a day already purged must not replace that day's
        # counts with its own: those days keep the counts they had.
        touched = {day for day in touched if day >= cutoff}
    for day in sorted(touched | {d for d in also_days if not cutoff or d >= cutoff}):
        start, end = day_bounds_utc(day, config.timezone)
        if start < since:  # partly or wholly before the window: make it whole
            whole = store.posts_to_process(
                model.version, batch_size, created_from=start, created_before=end
            )
            done, more = analyse(config, store, model, whole, progress, done)
            touched |= more
    return done, touched


def collect_job(
    config: Config,
    sources: list[SourceConfig] | None = None,
    command: str = "collect",
    progress: Progress = _quiet,
) -> list[SourceRun]:
    """Collect only, under the run lock, with its own run record."""
    with recorded_run(config, command) as record:
        results = collect(config, record.store, record.id, sources, progress)
        record.errors += [f"{r.source}: {r.error}" for r in results if r.error]
        record.status = "partial" if any(r.error for r in results) else "ok"
    return results


def process_job(
    config: Config,
    command: str = "process",
    progress: Progress = _quiet,
    model: Model | None = None,
) -> tuple[int, list[date]]:
    """Process and re-aggregate, under the run lock, with its own run record. ``model``:
    the one to classify with (default: the database's model, ``load_model(store=...)``,
    loaded once the lock is held)."""
    from monitor.aggregate import aggregate_days
    from monitor.classify import load_model

    with recorded_run(config, command) as record:
        store = record.store
        model = model or load_model(store=store)
        recovered = interrupted_days(config, store, model.version, record.id)
        record.processed, touched = process(config, store, model, progress, also_days=recovered)
        days = aggregate_days(store, touched | recovered, config.timezone, model.version)
        mark_interrupted(store, record.id)
        record.status = "ok"
    return record.processed, days


def deliver_digest(config: Config, store: Store, digest: Digest) -> list[str]:
    """Queue the digest for its recipients (all, and each agency its own part), then send
    what the outbox holds. Returns problems to report; a failed send stays queued."""
    from monitor.report.digest import email_parts, scoped
    from monitor.report.mail_message import queue_digest
    from monitor.report.mail_send import mail_due, send_pending

    if not mail_due(config):
        return []
    day = digest.day
    sender = config.digest.smtp.sender
    subject = f"Ringkasan pengaduan layanan publik, {digest.day_text}"
    if config.digest.recipients:
        html, text, images = email_parts(digest)
        queue_digest(
            store, day, "all", config.digest.recipients, subject, html, text, images, sender
        )
    for agency_id, recipients in config.digest.agency_recipients.items():
        if recipients:
            part = scoped(digest, agency_id)
            html, text, images = email_parts(part)
            queue_digest(
                store,
                day,
                agency_id,
                recipients,
                f"{subject} ({part.scope_name})",
                html,
                text,
                images,
                sender,
            )
    sent = send_pending(config, store)
    return sent.errors


def digest_job(
    config: Config,
    day: date | None = None,
    model: Model | None = None,
    command: str = "digest",
) -> list[Path]:
    """Write the digest of one local day (default yesterday) and deliver it (under the
    run lock: the outbox must never be sent by two processes at once)."""
    from monitor.classify import load_model
    from monitor.report.digest import write_digest

    day = check_digest_day(config, day)
    with recorded_run(config, command) as record:
        digest, paths = write_digest(
            config, record.store, model or load_model(store=record.store), day
        )
        for problem in deliver_digest(config, record.store, digest):
            log.warning("digest e-mail: %s", problem)
            record.errors.append(f"e-mail: {problem}")
        record.status = "partial" if record.errors else "ok"
    return paths


def retention_cutoff(config: Config) -> date | None:
    """The first local day whose posts are kept, when whole posts are purged."""
    days = config.privacy.post_retention_days
    return local_date(utc_now(), config.timezone) - timedelta(days=days) if days else None


def default_digest_day(config: Config) -> date:
    """Yesterday in local time: the last complete day when the morning run happens."""
    return local_date(utc_now(), config.timezone) - timedelta(days=1)


def check_digest_day(config: Config, day: date | None) -> date:
    """The digest day asked for (default yesterday); ValueError for a day in the future,
    which has no posts yet: an empty digest of it would read as "no complaints"."""
    today = local_date(utc_now(), config.timezone)
    if day is not None and day > today:
        raise ValueError(
            f"--date {day.isoformat()} is in the future (today is {today.isoformat()} in "
            f"{config.timezone}); a digest can only be made of a day that has begun"
        )
    return day or default_digest_day(config)


def run(
    config: Config,
    command: str = "run",
    sources: list[SourceConfig] | None = None,
    digest_day: date | None = None,
    progress: Progress = _quiet,
    model: Model | None = None,
) -> RunReport:
    """The cron entry point: collect, process, aggregate and write the digest. ``model``:
    the one to classify with (default: the database's model, ``load_model(store=...)``,
    loaded once the lock is held)."""
    digest_day = check_digest_day(config, digest_day)  # refuse before anything runs
    with recorded_run(config, command) as record:
        from monitor.aggregate import aggregate_days
        from monitor.classify import load_model
        from monitor.operations import purge
        from monitor.report.digest import write_digest

        store = record.store
        model = model or load_model(store=store)
        report = RunReport(run_id=record.id, command=command)
        report.errors = record.errors  # one list: what the run record keeps
        recovered = interrupted_days(config, store, model.version, record.id)
        report.sources = collect(config, store, record.id, sources, progress)
        report.processed, touched = process(config, store, model, progress, also_days=recovered)
        record.processed = report.processed
        report.days_aggregated = [
            d.isoformat()
            for d in aggregate_days(store, touched | recovered, config.timezone, model.version)
        ]
        mark_interrupted(store, record.id)
        try:
            digest, paths = write_digest(config, store, model, digest_day)
        except OSError as exc:
            # Disk full, folder gone, no permission: what was collected and
            # processed is committed; the next run writes the digest again.
            where = f" ({exc.filename})" if exc.filename else ""
            report.errors.append(f"digest not written: {exc.strerror or exc}{where}")
            log.error("digest not written: %s", exc)
        else:
            report.digest_paths = [str(p) for p in paths]
            report.errors += [f"e-mail: {e}" for e in deliver_digest(config, store, digest)]
        try:
            log.info("retention: %s", purge(config, store).summary())
        except (sqlite3.Error, OSError) as exc:
            report.errors.append(f"purge: {exc}")
        record.status = "partial" if report.failed_sources or report.errors else "ok"
    report.errors = record.errors  # as stored: secrets masked
    return report
