"""`monitor doctor`: is everything in order, and if not, what needs a person?

Each check gives a status: ``ok``, ``warn`` (worth a look) or ``FAIL`` (needs a
person; doctor exits non-zero so a monitoring system can call it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from monitor.clock import parse_iso, utc_now
from monitor.config import Config, parse_interval_seconds

OK, WARN, FAIL = "ok", "warn", "FAIL"
STALE_AFTER = timedelta(days=2)  # for cron-scheduled sources, when no interval is known


@dataclass
class Check:
    area: str
    status: str
    detail: str


def check_config(config: Config, environ=os.environ) -> list[Check]:
    checks = [Check("config", OK, str(config.path or "(built in)"))]
    from monitor.secrets import config_secret_warnings

    if config.path:
        for warning in config_secret_warnings(config.path):
            checks.append(Check("config", WARN, warning))
    for source in config.sources:
        missing = [env for env in source.credentials.values() if not environ.get(env)]
        if not source.enabled:
            checks.append(Check(f"source {source.name}", "off", f"{source.type}, disabled"))
        elif missing:
            checks.append(
                Check(f"source {source.name}", FAIL, f"credentials not set: {', '.join(missing)}")
            )
        else:
            checks.append(Check(f"source {source.name}", OK, source.type))
    if not any(source.enabled for source in config.sources):
        checks.append(
            Check(
                "sources",
                FAIL,
                "no source is enabled: runs collect nothing and every digest says its data is "
                "incomplete; set enabled = true on a source in the config",
            )
        )
    smtp = config.digest.smtp
    if smtp.host:
        for env in (smtp.username_env, smtp.password_env):
            if env and not environ.get(env):
                checks.append(Check("e-mail", FAIL, f"environment variable {env} is not set"))
    return checks


def _existing_store(config: Config | None):
    """The configured database when it exists and opens, else None (the database
    check says why)."""
    if config is None or not config.database.exists():
        return None
    from monitor.secrets import secret_values
    from monitor.store import Store, StoreError

    try:
        return Store.open(config.database, secret_values(config))
    except (StoreError, OSError):
        return None


def check_model(config: Config | None = None, environ=os.environ) -> list[Check]:
    """The model commands use: the database's active model, else the newest shipped one
    ($MONITOR_MODEL_DIR before both); an active model whose folder is gone or does not
    load is a FAIL."""
    from monitor.classify import MODEL_DIR_ENV, load_model
    from monitor.classify.locate import model_source
    from monitor.classify.model import ModelError

    store = _existing_store(config)
    warnings = []
    try:
        active = store.active_model() if store is not None else None
        if active is not None and environ.get(MODEL_DIR_ENV):
            warnings.append(
                Check(
                    "model",
                    WARN,
                    f"${MODEL_DIR_ENV} is set: commands in this environment use it, not the "
                    f"database's active model {active.version}",
                )
            )
        try:
            model = load_model(store=store)
        except (ModelError, ValueError, OSError) as exc:
            return [*warnings, Check("model", FAIL, str(exc))]
        source = model_source(store=store)
    finally:
        if store is not None:
            store.close()
    card = getattr(model, "card", None)
    if not card:
        return [
            *warnings,
            Check("model", WARN, f"{model.version}: no trained model, keyword baseline in use"),
        ]
    metrics = card.get("metrics", {})
    blind = metrics.get("blind")
    figure = (
        f"blind-set complaint F1 {blind.get('complaint_f1', 0):.3f}"
        if blind
        else "cross-validated complaint F1 "
        f"{metrics.get('cross_validation', metrics).get('complaint_f1', 0):.3f}"
    )
    return [
        *warnings,
        Check(
            "model",
            OK,
            f"{model.version} ({source}), files match card.json, trained "
            f"{card.get('trained_at', '?')[:10]}, " + figure,
        ),
    ]


def check_database(config: Config) -> list[Check]:
    from monitor.secrets import secret_values
    from monitor.store import SCHEMA_VERSION, Store, StoreError

    if not config.database.exists():
        from monitor.store import check_database_folder

        try:
            check_database_folder(config.database)
        except StoreError as exc:
            return [Check("database", FAIL, str(exc))]
        return [Check("database", OK, f"{config.database}: new, created by the first run")]
    try:
        store = Store.open(config.database, secret_values(config))
    except StoreError as exc:
        return [Check("database", FAIL, str(exc))]
    checks = []
    with store:
        integrity = store.integrity_check()
        size = config.database.stat().st_size
        checks.append(
            Check(
                "database",
                OK if integrity == "ok" else FAIL,
                f"{config.database}: schema {store.schema_version}/{SCHEMA_VERSION}, "
                f"{store.count_posts()} posts, {size / 1e6:.1f} MB, integrity {integrity}",
            )
        )
        checks += _check_runs(config, store)
        checks += _check_outbox(store)
    return checks


def _check_runs(config: Config, store) -> list[Check]:
    now = utc_now()
    checks = []
    schedules = {s.name: s for s in config.sources}
    for health in store.source_health(""):
        source = schedules.get(health.source)
        area = f"last run {health.source}"
        if not health.last_success_at:
            checks.append(Check(area, FAIL, f"never succeeded; last error: {health.last_error}"))
            continue
        age = now - parse_iso(health.last_success_at)
        interval = parse_interval_seconds(source.schedule) if source else None
        allowed = timedelta(seconds=3 * interval) if interval else STALE_AFTER
        detail = f"last success {_age(age)} ago"
        if health.last_error:
            checks.append(Check(area, FAIL, f"{detail}; failing now: {health.last_error}"))
        elif health.last_stopped:  # a rate limit, quota or time budget: nothing to do
            checks.append(
                Check(
                    area, OK, f"{detail}; stopped early, goes on by itself: {health.last_stopped}"
                )
            )
        elif source and source.enabled and age > allowed:
            checks.append(Check(area, WARN, f"{detail}, longer than its schedule allows"))
        else:
            checks.append(Check(area, OK, detail))
    return checks


def _check_outbox(store) -> list[Check]:
    from monitor.report.mail import DROPPED
    from monitor.report.mail_send import what_to_do

    checks = []
    for row in store.outbox_messages():
        if row["status"] == "unconfirmed":
            checks.append(
                Check(
                    "outbox",
                    FAIL,
                    f"the digest of {row['day']} ({row['scope']}): its sending was "
                    "interrupted, so it may or may not have arrived; it is not resent "
                    f"automatically. Check whether the recipients got it: {what_to_do(row)}",
                )
            )
    for status, count, error in store.outbox_backlog():
        if status not in ("unconfirmed", DROPPED):
            checks.append(Check("outbox", WARN, f"{count} {status} digest(s); last error: {error}"))
    return checks or [Check("outbox", OK, "nothing waiting")]


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def run_doctor(config: Config, environ=os.environ) -> list[Check]:
    return check_config(config, environ) + check_model(config, environ) + check_database(config)


def needs_a_person(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)
