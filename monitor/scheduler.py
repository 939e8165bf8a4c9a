"""The long-running mode: APScheduler (3.x) jobs built from the config.

Jobs: each enabled source on its own ``schedule``; processing (classify +
aggregate) every ``schedule.process_every``; the digest daily at
``digest.send_time`` local time. Jobs run one at a time (a single worker
thread), each with ``max_instances=1``, coalescing and a misfire grace time,
and each under the same database lock as ``monitor run``, so a cron run and the
scheduler never work at once. A failing job is logged and recorded in the runs
table; it never stops the scheduler. SIGTERM/SIGINT let the current job finish,
then the scheduler exits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config, SourceConfig, parse_interval_seconds
from monitor.operations import purge_job
from monitor.pipeline import collect_job, digest_job, process_job
from monitor.runs import RunLocked, open_store
from monitor.service import wait_for_stop_signal

log = logging.getLogger(__name__)


def trigger_for(schedule: str, timezone: str) -> IntervalTrigger | CronTrigger:
    """'every 15m' -> an interval; a 5-field cron expression -> cron in local time."""
    seconds = parse_interval_seconds(schedule)
    if seconds is not None:
        return IntervalTrigger(seconds=seconds, timezone=ZoneInfo(timezone))
    return CronTrigger.from_crontab(schedule, timezone=ZoneInfo(timezone))


def record_failure(config: Config, command: str, error: str) -> None:
    """Put a failed job in the runs table, so doctor and the digest can tell."""
    try:
        with open_store(config) as store:  # no lock: another run may hold it
            store.record_finished_run(command, "failed", [error])
    except Exception:  # the database itself may be what failed
        log.exception("could not record the failure of %s", command)


class Scheduler:
    def __init__(self, config: Config, progress: Callable[[str], None] = lambda message: None):
        self.config = config
        self.progress = progress
        self.failures: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=ZoneInfo(config.timezone),
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": config.schedule.misfire_grace_seconds,
            },
        )
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED)
        tz = config.timezone
        for source in config.sources:
            if source.enabled:
                self._add(
                    f"collect:{source.name}",
                    trigger_for(source.schedule, tz),
                    _collect_one(config, source),
                )
        self._add(
            "process",
            trigger_for(config.schedule.process_every, tz),
            lambda: process_job(config, command="schedule:process"),
        )
        self._add(
            "purge",
            CronTrigger(hour=3, minute=30, timezone=ZoneInfo(tz)),
            lambda: purge_job(config, command="schedule:purge"),
        )
        hour, minute = (int(part) for part in config.digest.send_time.split(":"))
        self._add(
            "digest",
            CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(tz)),
            lambda: digest_job(config, command="schedule:digest"),
        )

    @property
    def job_ids(self) -> list[str]:
        return [job.id for job in self.scheduler.get_jobs()]

    def _add(self, job_id: str, trigger: Any, work: Callable[[], Any]) -> None:
        self.scheduler.add_job(self._guarded(job_id, work), trigger, id=job_id, name=job_id)

    def _guarded(self, job_id: str, work: Callable[[], Any]) -> Callable[[], None]:
        def job() -> None:
            if self._stop.is_set():
                return
            try:
                result = work()
            except RunLocked as exc:
                log.info("job %s skipped: %s", job_id, exc)
                return
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.exception("job %s failed", job_id)
                self.failures.append((job_id, error))
                if not getattr(exc, "recorded_run_id", None):  # failed before recording
                    record_failure(self.config, f"schedule:{job_id}", error)
                self.progress(f"job {job_id} FAILED: {error}")
                return
            self.progress(f"job {job_id} done: {_summary(result)}")

        return job

    def _missed(self, event: JobExecutionEvent) -> None:
        log.warning("job %s missed its time %s", event.job_id, event.scheduled_run_time)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        """Let the running job finish, run no other, and stop."""
        self._stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then finish the current job and return."""
        self.start()
        try:
            jobs = ", ".join(self.job_ids)
            self.progress(f"scheduler running {len(self.job_ids)} job(s): {jobs}")
            wait_for_stop_signal()
        finally:
            self.stop()
            self.progress("scheduler stopped")


def _collect_one(config: Config, source: SourceConfig) -> Callable[[], Any]:
    """The scheduled job that collects ``source`` alone (each source has its own job)."""
    return lambda: collect_job(config, [source], command=f"schedule:collect:{source.name}")


def _summary(result: Any) -> str:
    if isinstance(result, list) and result and hasattr(result[0], "new"):
        return ", ".join(
            f"{r.source}: {r.new} new" + (f" (FAILED: {r.error})" if r.error else "")
            for r in result
        )
    if isinstance(result, tuple):
        return f"{result[0]} posts processed"
    if isinstance(result, list):
        return ", ".join(str(item) for item in result)
    return "ok"
