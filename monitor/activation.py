"""Changing the model a database uses: ``monitor model activate VERSION`` and
``monitor model rollback``.

An activation runs under the run lock with its own run record. It loads the model
(its files checked against its card), analyses the posts of the re-analysis window
([model] reanalyse_days, from the start of the local day it begins on) with it, in
batches through the same code as ``process``, and saves those analyses under the new
version: harmless while the old model is active, since counts read only the active
version's analyses. Then ONE transaction recounts every local day of the window with
the new version and records the activation. Killed before that commit, the old model
stays active with its counts untouched; the next activation of the same version
skips the analyses already saved. Days before the window keep their analyses and
their counts.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.clock import day_bounds_utc, local_date, parse_iso, utc_now
from monitor.config import Config
from monitor.runs import recorded_run

if TYPE_CHECKING:
    from monitor.classify.model import TextModel
    from monitor.classify.versions import ModelEntry
    from monitor.store import Store

Progress = Callable[[str], None]


class ActivationError(Exception):
    """The activation cannot be done as asked; the message says why and what to do.
    Nothing was changed."""


@dataclass
class ActivationReport:
    version: str
    folder: Path
    previous_version: str
    run_id: int
    first_day: date  # the window's first local day
    last_day: date  # today (local)
    days_recounted: int
    posts_reanalysed: int
    complaints_before: int  # in the window's days, by the model active before
    complaints_after: int  # the same days, by the new model


def _quiet(_: str) -> None:
    pass


def default_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name in some containers
        return "unknown"


def _in_use_version(store: Store) -> str:
    """The version the database uses now ($MONITOR_MODEL_DIR aside)."""
    from monitor.classify.locate import BASELINE_VERSION, read_card, shipped_model_dir

    active = store.active_model()
    if active is not None:
        return active.version
    shipped = shipped_model_dir()
    if shipped is None:
        return BASELINE_VERSION
    try:
        return str(read_card(shipped)["version"])
    except ValueError:
        return ""  # unknown: a rollback to it is refused


def _load(entry: ModelEntry) -> TextModel:
    from monitor.classify.model import ModelError, TextModel

    try:
        return TextModel.load(entry.folder)
    except (ModelError, OSError, ValueError) as exc:
        raise ActivationError(
            f"model {entry.version} in {entry.folder} cannot be loaded: {exc}. Nothing was changed"
        ) from None


def _complaints(store: Store, first: date, last: date) -> int:
    rows = store.complaints_per_day(first.isoformat(), last.isoformat())
    return sum(int(row["complaints"] or 0) for row in rows)


def _run(
    config: Config,
    command: str,
    choose: Callable[[Store], ModelEntry],
    by: str,
    reason: Callable[[str], str],
    progress: Progress,
    batch_size: int,
) -> ActivationReport:
    from monitor.aggregate import aggregate_days
    from monitor.pipeline import analyse, reanalysis_start

    def refuse(store: Store) -> tuple[ModelEntry, TextModel]:
        entry = choose(store)
        return entry, _load(entry)

    with recorded_run(config, command, refuse=refuse) as record:
        store = record.store
        entry, model = record.checked
        previous = _in_use_version(store)
        tz = config.timezone
        first_day = local_date(parse_iso(reanalysis_start(config)), tz)
        today = local_date(utc_now(), tz)
        start = day_bounds_utc(first_day, tz)[0]
        before = _complaints(store, first_day, today)
        progress(
            f"activating {entry.version}: analysing the posts since {first_day.isoformat()} "
            f"({config.model.reanalyse_days} days back) with it"
        )
        batches = store.posts_to_process(entry.version, batch_size, created_from=start)
        done, touched = analyse(config, store, model, batches, progress)
        days = {first_day + timedelta(days=n) for n in range((today - first_day).days + 1)}
        days |= {day for day in touched if day > today}  # posts dated ahead of the clock
        progress(f"recounting {len(days)} day(s) with {entry.version}")
        with store.transaction():  # the recount and the activation commit together
            aggregate_days(store, days, tz, entry.version)
            store.record_activation(
                entry.version, str(entry.folder), by or default_user(), previous, reason(previous)
            )
        after = _complaints(store, first_day, today)
        record.processed = done
        record.status = "ok"
    return ActivationReport(
        version=entry.version,
        folder=entry.folder,
        previous_version=previous,
        run_id=record.id,
        first_day=first_day,
        last_day=today,
        days_recounted=len(days),
        posts_reanalysed=done,
        complaints_before=before,
        complaints_after=after,
    )


def activate_model(
    config: Config,
    version: str,
    by: str = "",
    progress: Progress = _quiet,
    reason: str = "",
    batch_size: int = 1000,
) -> ActivationReport:
    """Make ``version`` (shipped, or in the data folder's models/) the database's model
    (see the module text). ActivationError when there is no such version, it is
    already active or its files do not load; nothing is changed then."""
    from monitor.classify.versions import UnknownModel, find_model

    def choose(store: Store) -> ModelEntry:
        try:
            entry = find_model(config, store, version)
        except UnknownModel as exc:
            raise ActivationError(str(exc)) from None
        active = store.active_model()
        if active is not None and active.version == entry.version:
            raise ActivationError(
                f"{version} is already the active model (since {active.activated_at}); "
                "nothing was changed"
            )
        return entry

    return _run(config, "model activate", choose, by, lambda previous: reason, progress, batch_size)


def rollback_model(
    config: Config, by: str = "", progress: Progress = _quiet, batch_size: int = 1000
) -> ActivationReport:
    """Activate again the version that was in use before the active one. ActivationError
    when no model was activated here, or that version is no longer there."""
    from monitor.classify.locate import BASELINE_VERSION, CARD_FILE
    from monitor.classify.versions import (
        DATA_FOLDER,
        SHIPPED,
        UnknownModel,
        entry_of,
        find_model,
        models_dir,
    )

    def choose(store: Store) -> ModelEntry:
        active = store.active_model()
        if active is None:
            raise ActivationError(
                "no model was ever activated in this database, so there is nothing to roll "
                "back to; 'monitor model list' shows the versions, 'monitor model activate "
                "VERSION' activates one"
            )
        previous = active.previous_version
        if not previous or previous == BASELINE_VERSION:
            raise ActivationError(
                f"before {active.version} the database used "
                f"{previous or 'an unknown model'}, which cannot be activated; choose a "
                "version with 'monitor model activate VERSION' ('monitor model list')"
            )
        for row in store.model_activations():  # the same folder as before, if still there
            if row.version == previous and (Path(row.folder) / CARD_FILE).is_file():
                folder = Path(row.folder)
                inside = models_dir(config) in folder.resolve().parents
                try:
                    entry = entry_of(folder, DATA_FOLDER if inside else SHIPPED)
                except ValueError:
                    continue
                if entry.version == previous:
                    return entry
        try:
            return find_model(config, store, previous)
        except UnknownModel as exc:
            raise ActivationError(f"cannot roll back to {previous}: {exc}") from None

    return _run(
        config,
        "model rollback",
        choose,
        by,
        lambda previous: f"rollback from {previous}",
        progress,
        batch_size,
    )
