"""Logging as cron runs it: stderr and a rotated file, text or JSON lines, no secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from monitor.config import SourceConfig
from monitor.logsetup import setup_logging
from monitor.secrets import secret_values

SECRET = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0+uSeid/ULvsea4J"
OTHER_SECRET = "hunter2-smtp"
log = logging.getLogger("monitor.collectors.x")


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, value in quiet.items():
        logging.getLogger(name).setLevel(value)


def fail_with_secret():
    try:
        raise ValueError(f"401 from https://api.x.com/2/search?token={SECRET}")
    except ValueError:
        log.exception("source x-kupang failed with %s", OTHER_SECRET)


def ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_monitor_logsetup", False)]


def test_text_on_stderr_masks_secrets_in_message_and_traceback(capsys):
    setup_logging(logging.INFO, secrets=[SECRET, OTHER_SECRET])
    log.warning("calling with bearer %s", SECRET)
    fail_with_secret()
    err = capsys.readouterr().err
    assert SECRET not in err and OTHER_SECRET not in err
    assert "WARNING monitor.collectors.x: calling with bearer ***" in err
    assert "ERROR monitor.collectors.x: source x-kupang failed with ***" in err
    assert "Traceback (most recent call last)" in err and "token=***" in err


def test_json_lines_on_stderr_and_file_parse_and_carry_no_secret(capsys, tmp_path):
    log_file = tmp_path / "logs" / "monitor.log"
    setup_logging(logging.INFO, fmt="json", log_file=str(log_file), secrets=[SECRET])
    log.info("fetched 3 posts for query %s", "dukcapil kupang")
    log.info("token is %s", SECRET)
    fail_with_secret()
    for text in (capsys.readouterr().err, log_file.read_text(encoding="utf-8")):
        assert SECRET not in text
        entries = [json.loads(line) for line in text.splitlines()]
        assert [e["message"] for e in entries] == [
            "fetched 3 posts for query dukcapil kupang",
            "token is ***",
            f"source x-kupang failed with {OTHER_SECRET}",
        ]
        first = entries[0]
        assert set(first) == {"time", "level", "logger", "message"}
        assert first["level"] == "INFO" and first["logger"] == "monitor.collectors.x"
        assert first["time"].endswith("Z") and first["time"][10] == "T"
        assert "token=***" in entries[2]["exception"]
        assert entries[2]["exception"].startswith("Traceback")


def test_text_file_has_the_time_and_no_secret(tmp_path, capsys):
    log_file = tmp_path / "monitor.log"
    setup_logging(logging.INFO, log_file=str(log_file), secrets=[SECRET, OTHER_SECRET])
    fail_with_secret()
    text = log_file.read_text(encoding="utf-8")
    assert SECRET not in text and OTHER_SECRET not in text
    first = text.splitlines()[0]
    assert (
        first[10] == "T" and " ERROR monitor.collectors.x: source x-kupang failed with ***" in first
    )
    assert "token=***" in text
    assert SECRET not in capsys.readouterr().err


def test_secrets_from_the_environment_named_by_the_config_are_masked(config, capsys, tmp_path):
    config.sources = [SourceConfig("x-kupang", "x", credentials={"bearer_token": "X_BEARER"})]
    environ = {"X_BEARER": SECRET, "MONITOR_INGEST_SECRET": "ingest-shared-secret"}
    setup_logging(logging.DEBUG, secrets=secret_values(config, environ))
    logging.getLogger("httpx").debug(
        "HTTP Request: GET https://x.invalid/?key=ingest-shared-secret"
    )
    log.error("header Authorization: Bearer %s", SECRET)
    log.error("url-encoded: %s", "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2FULvsea4J")
    err = capsys.readouterr().err
    assert "Bearer ***" in err and "url-encoded: ***" in err and "?key=***" in err
    assert SECRET not in err and "%2BuSeid" not in err


def test_rotation_happens_at_max_bytes(tmp_path):
    log_file = tmp_path / "monitor.log"
    setup_logging(logging.INFO, log_file=str(log_file), max_bytes=2_000, backups=2)
    for number in range(200):
        log.info("line %03d %s", number, "x" * 40)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["monitor.log", "monitor.log.1", "monitor.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2_000
    assert "line 199" in log_file.read_text(encoding="utf-8")
    assert "line 000" not in "".join((tmp_path / n).read_text() for n in files)


def test_without_backups_the_file_starts_afresh_instead_of_growing(tmp_path):
    log_file = tmp_path / "monitor.log"
    setup_logging(logging.INFO, log_file=str(log_file), max_bytes=1_000, backups=0)
    for number in range(100):
        log.info("line %03d %s", number, "x" * 40)
    assert [p.name for p in tmp_path.iterdir()] == ["monitor.log"]
    assert log_file.stat().st_size <= 1_000
    assert "line 099" in log_file.read_text(encoding="utf-8")


def test_calling_twice_replaces_its_own_handlers_and_keeps_others(tmp_path, capsys, caplog):
    setup_logging(logging.INFO, log_file=str(tmp_path / "a.log"))
    setup_logging(logging.WARNING, fmt="json", log_file=str(tmp_path / "b.log"), secrets=[SECRET])
    assert len(ours()) == 2
    assert caplog.handler in logging.getLogger().handlers  # pytest's own handler stays
    log.info("not shown at WARNING")
    log.warning("shown once %s", SECRET)
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["shown once ***"]
    assert (tmp_path / "a.log").read_text() == ""
    assert json.loads((tmp_path / "b.log").read_text())["message"] == "shown once ***"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "shown once ***"
    ]


def test_httpx_is_quiet_unless_debugging(capsys):
    setup_logging(logging.INFO)
    logging.getLogger("httpx").info("HTTP Request: GET https://api.x.com/2/tweets")
    logging.getLogger("httpcore").info("connect_tcp.started")
    assert capsys.readouterr().err == ""
    assert logging.getLogger("httpx").level == logging.WARNING
    setup_logging(logging.DEBUG)
    logging.getLogger("httpx").debug("HTTP Request: GET https://api.x.com/2/tweets")
    assert "HTTP Request" in capsys.readouterr().err


def test_short_or_empty_secrets_are_ignored_and_bad_format_is_refused(capsys):
    setup_logging(logging.INFO, secrets=["", "abc"])
    log.info("abc and a cab")
    assert "abc and a cab" in capsys.readouterr().err
    with pytest.raises(ValueError, match="text' or 'json"):
        setup_logging(logging.INFO, fmt="xml")


def test_a_broken_log_call_neither_raises_nor_leaks(capsys):
    setup_logging(logging.INFO, secrets=[SECRET])
    # Handed to our handler directly: pytest's own capture handler raises on such calls.
    record = log.makeRecord(
        log.name, logging.INFO, __file__, 1, "two placeholders %s %s", (SECRET,), None
    )
    [stderr_handler] = ours()
    stderr_handler.handle(record)
    err = capsys.readouterr().err
    assert "two placeholders %s %s [unformattable arguments: ('***',)]" in err
    assert SECRET not in err


def test_log_file_folder_is_created(tmp_path):
    log_file = tmp_path / "deep" / "er" / "monitor.log"
    setup_logging(logging.INFO, log_file=str(log_file))
    log.warning("hello")
    assert (
        Path(log_file).read_text(encoding="utf-8").endswith("WARNING monitor.collectors.x: hello\n")
    )
