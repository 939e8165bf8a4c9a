"""`monitor doctor` finds what needs a person and exits non-zero for it."""

from __future__ import annotations

import shutil
from datetime import timedelta

from monitor.classify.model import WEIGHTS_FILE, shipped_model_dir
from monitor.clock import to_iso, utc_now
from monitor.config import SourceConfig
from monitor.doctor import FAIL, OK, WARN, needs_a_person, run_doctor
from monitor.records import SourceRun
from monitor.store import Store
from tests.httpserver import Reply


def by_area(checks, prefix):
    return [c for c in checks if c.area.startswith(prefix)]


def with_a_source(config):
    config.sources = [SourceConfig(name="demo", type="replay")]
    return config


def test_a_fresh_setup_is_all_good(config):
    checks = run_doctor(with_a_source(config), environ={})
    assert not needs_a_person(checks)
    assert by_area(checks, "model")[0].status == OK


def test_no_enabled_source_needs_a_person(config):
    """Missing data never reads as "all good": a setup that collects nothing fails."""
    config.sources = [SourceConfig(name="x1", type="x", enabled=False)]
    checks = run_doctor(config, environ={})
    [sources] = by_area(checks, "sources")
    assert sources.status == FAIL and "no source is enabled" in sources.detail
    assert needs_a_person(checks)


def test_a_tampered_model_needs_a_person(config, tmp_path, monkeypatch):
    copy = tmp_path / "model"
    shutil.copytree(shipped_model_dir(), copy)
    data = bytearray((copy / WEIGHTS_FILE).read_bytes())
    data[100] ^= 1
    (copy / WEIGHTS_FILE).write_bytes(bytes(data))
    monkeypatch.setenv("MONITOR_MODEL_DIR", str(copy))
    checks = run_doctor(config, environ={})
    [model] = by_area(checks, "model")
    assert model.status == FAIL and "does not match its card" in model.detail


def test_missing_credentials_failing_and_stale_sources(config):
    config.sources = [
        SourceConfig(name="x1", type="x", credentials={"bearer_token": "X_TOKEN_FOR_TEST"}),
        SourceConfig(name="down", type="rss", schedule="every 1h"),
        SourceConfig(name="stale", type="rss", schedule="every 1h"),
    ]
    with Store.open(config.database) as store:
        run_id = store.start_run("test")
        store.record_source_run(run_id, SourceRun("down", error="GET https://x: timed out"))
        store.record_source_run(run_id, SourceRun("stale", new=3))
        store.db.execute(
            "UPDATE run_sources SET finished_at = ? WHERE source = 'stale'",
            [to_iso(utc_now() - timedelta(hours=5))],
        )
    checks = run_doctor(config, environ={})
    assert by_area(checks, "source x1")[0].status == FAIL
    assert "X_TOKEN_FOR_TEST" in by_area(checks, "source x1")[0].detail
    assert by_area(checks, "last run down")[0].status == FAIL
    assert by_area(checks, "last run stale")[0].status == WARN
    assert needs_a_person(checks)


def test_an_interrupted_send_needs_a_person(config):
    with Store.open(config.database) as store:
        store.enqueue_mail("2026-11-21", "all", ["staf@example.org"], "s", b"m")
        [mail] = store.outbox()
        store.set_mail_status(mail["id"], "unconfirmed")
    [outbox] = by_area(run_doctor(config, environ={}), "outbox")
    assert outbox.status == FAIL and "not resent" in outbox.detail


def test_an_unconfirmed_digest_names_the_command_to_resend_it_and_a_dropped_one_is_ok(config):
    from datetime import date

    from monitor.report.mail import drop, droppable

    with_a_source(config)
    with Store.open(config.database) as store:
        store.enqueue_mail("2026-11-21", "all", ["staf@example.org"], "s", b"m")
        store.enqueue_mail("2026-11-21", "rsud-sk-lerik", ["humas@example.org"], "s", b"m")
        for mail in store.outbox():
            store.set_mail_status(mail["id"], "unconfirmed")
    checks = run_doctor(config, environ={})
    full, part = by_area(checks, "outbox")
    assert (full.status, part.status) == (FAIL, FAIL) and needs_a_person(checks)
    assert "the digest of 2026-11-21 (all)" in full.detail
    assert "send it again with 'monitor outbox resend 2026-11-21';" in full.detail
    assert "if it did, 'monitor outbox drop 2026-11-21'" in full.detail
    assert "'monitor outbox resend 2026-11-21 --scope rsud-sk-lerik'" in part.detail

    with Store.open(config.database) as store:
        for scope in ("all", "rsud-sk-lerik"):
            drop(store, droppable(store, date(2026, 11, 21), scope))
    checks = run_doctor(config, environ={})
    assert [(c.status, c.detail) for c in by_area(checks, "outbox")] == [(OK, "nothing waiting")]
    assert not needs_a_person(checks)


def test_a_rate_limit_stop_is_not_a_failure_for_run_or_doctor(tmp_path, http_server, monkeypatch):
    """The README says a rate-limit stop needs nothing: `run` exits 0, doctor is content,
    and the stop is still said (stdout, the database, doctor) with when it resumes."""
    import subprocess
    import sys

    from monitor.config import example_config_text

    monkeypatch.setenv("TEST_X_STOP_TOKEN", "x-token-for-a-stop-test")
    reset = int((utc_now() + timedelta(hours=2)).timestamp())
    http_server.route(
        "GET",
        "/2/tweets/search/recent",
        Reply(status=429, headers={"x-rate-limit-reset": str(reset)}, json={"title": "Too Many"}),
    )
    path = tmp_path / "monitor.toml"
    path.write_text(
        example_config_text()
        + '\n[[sources]]\nname = "x-stop"\ntype = "x"\nregion = "kota-kupang"\n'
        f'queries = ["dukcapil kupang"]\nbase_url = "{http_server.url}"\n'
        'credentials = { bearer_token = "TEST_X_STOP_TOKEN" }\n',
        encoding="utf-8",
    )

    def monitor(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(path), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    ran = monitor("run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "x-stop" in ran.stderr and "stopped for this run, goes on next run" in ran.stderr
    with Store.open(tmp_path / "monitor.db") as store:
        [health] = [h for h in store.source_health(since="") if h.source == "x-stop"]
        error, stopped = health.last_error, health.last_stopped
    assert error == "" and "rate limit" in stopped and "may resume at" in stopped
    # The digest does not call it a failure either: no warning, a calm note in the footer.
    [digest] = (tmp_path / "reports").glob("digest-*.html")
    html = digest.read_text(encoding="utf-8")
    assert "Data tidak lengkap" not in html and "Gagal:" not in html
    assert "dilanjutkan otomatis pada run berikutnya" in html.split("Kesehatan data")[-1]
    checked = monitor("doctor")
    assert checked.returncode == 0, checked.stdout
    [line] = [x for x in checked.stdout.splitlines() if "last run x-stop" in x]
    assert "stopped early, goes on by itself" in line and "FAIL" not in line
