"""Runs: the lock, the database as a run opens it, and the run record, in one place.

Every command that changes the database (``monitor run``, ``collect``, ``process``,
``digest``, ``purge``, ``outbox resend|drop``) and every scheduler job goes through
``recorded_run``: take the lock next to the database (or refuse at once), open the
store, start a run record, and finish it whatever happens, with its status, the
posts it processed and its errors (secrets masked by the store). A run still
marked "running" under the lock is therefore a run that died; the next run
recounts what it may have left stale.

Writers that must not wait for the lock (the push endpoint, a scheduler job that
failed before it could record itself) record a run that is finished the moment it
is written (``Store.record_finished_run``): it is never seen "running".

Light on purpose: no heavy library is imported here, so a locked run is refused
before anything else is loaded.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.secrets import secret_values
from monitor.store import Store, StoreError, check_database_folder


class RunLocked(Exception):
    """Another run holds the lock on this database."""


@contextmanager
def run_lock(database: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock next to the database.

    The kernel drops a flock when its process dies, so a run killed with SIGKILL
    leaves nothing that blocks the next one.
    """
    lock_path = Path(f"{database}.lock")
    check_database_folder(database)
    try:
        handle = open(lock_path, "a+")
    except OSError as exc:
        raise StoreError(
            f"cannot take the run lock {lock_path}: {exc.strerror}. The database's folder "
            "must be writable; choose another path with --db or 'database' in the config."
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunLocked(
                f"another monitor run (pid {holder}) is working on {database}; "
                "this one stops without touching anything"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def open_store(config: Config) -> Store:
    """Open the configured database (secrets masked in what it keeps) and mirror the
    config's agencies into it."""
    store = Store.open(config.database, secret_values(config))
    store.sync_agencies(config.agencies)
    return store


@dataclass
class RunRecord:
    """The run in progress: the body sets ``status`` ("ok" or "partial"), ``processed``
    and ``errors``; a body that raises leaves it "failed" with the exception named."""

    store: Store
    id: int
    status: str = "failed"
    processed: int = 0
    errors: list[str] = field(default_factory=list)
    checked: Any = None  # what ``refuse`` returned


@contextmanager
def recorded_run(
    config: Config, command: str, refuse: Callable[[Store], Any] | None = None
) -> Iterator[RunRecord]:
    """Lock, open, record: the one way a command or a job runs (see the module text).
    ``refuse(store)``, called under the lock before the run is recorded, may raise to
    refuse the command with nothing recorded; what it returns is ``record.checked``.
    On leaving, ``errors`` holds what the store kept (secrets masked)."""
    with run_lock(config.database), open_store(config) as store:
        checked = refuse(store) if refuse else None
        run = RunRecord(store, store.start_run(command), checked=checked)
        try:
            yield run
        except BaseException as exc:
            run.status = "failed"
            if isinstance(exc, Exception):
                run.errors.append(f"{type(exc).__name__}: {exc}")
                exc.recorded_run_id = run.id  # type: ignore[attr-defined]  # no second record
            raise
        finally:
            run.errors = store.finish_run(run.id, run.status, run.processed, run.errors)
